"""experiments.rescore: re-scoring a seq2seq row from its stored outputs."""
import json
import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from core.data import load_seq2seq  # noqa: E402
from core.errors import DataError  # noqa: E402
from core.evaluate.results import write_result  # noqa: E402
from core.tokenizers import load_tokenizer  # noqa: E402
from experiments.rescore import main as rescore_main, rescore_row  # noqa: E402
from experiments.seq2seq import viewed_references  # noqa: E402


def qqp_row(stored_bleu):
    """Three qqp test sources: two answered with their reference (BLEU 1), one with nothing (BLEU 0)."""
    refs = viewed_references(load_seq2seq("qqp", "test")[:3], load_tokenizer("bert"))
    return {"method": "sample", "teacher": "diffuseq", "task": "qqp", "steps": 10, "nfe": 10, "n_samples": 3,
            "seconds_per_sample": 0.1, "evaluator": "DiffuSeq BLEU", "seed": 0, "command": "python -m experiments.run",
            "commit": "abc", "metrics": {"single": {"bleu": stored_bleu}},
            "outputs": [[refs[0][0]], [refs[1][0]], [""]]}


def test_rescore_adds_per_source_bleu_and_keeps_provenance(tmp_path):
    path = write_result(qqp_row(2 / 3), tmp_path, "row")
    rescore_row(path, bertscore=False)
    record = json.loads(path.read_text())
    assert record["metrics"]["single"]["sentence_bleu"] == pytest.approx([1.0, 1.0, 0.0], abs=1e-9)
    assert record["command"] == "python -m experiments.run" and record["commit"] == "abc"
    assert set(record["rescored"]) == {"command", "commit", "timestamp"}


def test_rescore_refuses_a_row_whose_outputs_do_not_reproduce_its_bleu(tmp_path):
    path = write_result(qqp_row(0.5), tmp_path, "row")
    before = path.read_text()
    with pytest.raises(DataError, match=r"row\.json: stored single BLEU 0\.500000 but its outputs score 0\.666667"):
        rescore_row(path, bertscore=False)
    assert path.read_text() == before
    assert rescore_main([str(path)]) == 2
    assert rescore_main([str(tmp_path / "missing.json")]) == 2
