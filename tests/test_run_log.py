"""The JSON-lines log of a run resumes after a kill mid-write: a torn last line is dropped, not a JSONDecodeError."""
import json

import pytest

from core.errors import DataError
from core.run_log import LOG_FILE, RunLog

RECORDS = "".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in (1, 2, 3))


def steps(run_dir):
    return [json.loads(line)["step"] for line in (run_dir / LOG_FILE).read_text().splitlines()]


@pytest.mark.parametrize("torn", ['{"step": 4, "lo', '{"step": 4, "loss": 0.2', '{"step": 4}\n{"st\n\n'])
def test_a_torn_last_line_is_dropped_on_resume(torn, tmp_path):
    (tmp_path / LOG_FILE).write_text(RECORDS + torn)
    log = RunLog(tmp_path, resume_step=3, tensorboard=False)   # the checkpoint was at step 3
    assert steps(tmp_path) == [1, 2, 3]
    assert (tmp_path / LOG_FILE).read_text() == RECORDS      # the records kept are the lines as written
    log.write({"step": 4, "loss": 0.5})
    assert steps(tmp_path) == [1, 2, 3, 4]


def test_a_broken_line_before_the_last_is_one_error_naming_it(tmp_path):
    (tmp_path / LOG_FILE).write_text(RECORDS.replace('{"step": 2', '{"step" 2'))
    before = (tmp_path / LOG_FILE).read_text()
    with pytest.raises(DataError, match=r"log.jsonl:2: malformed JSON \(Expecting ':' delimiter at column 9\)"):
        RunLog(tmp_path, resume_step=3, tensorboard=False)
    assert (tmp_path / LOG_FILE).read_text() == before


def test_the_summary_of_a_run_reads_past_a_torn_last_line(tmp_path):
    from core.data import read_jsonl

    (tmp_path / LOG_FILE).write_text(RECORDS + '{"step": 4, "lo')
    assert [record["step"] for _, record in read_jsonl(tmp_path / LOG_FILE, torn_tail=True)] == [1, 2, 3]
    with pytest.raises(DataError, match=r"log.jsonl:4: malformed JSON"):
        list(read_jsonl(tmp_path / LOG_FILE))
