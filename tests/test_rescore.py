"""experiments.rescore: re-scoring a seq2seq row from its stored outputs, an unconditional row from its samples."""
import json
import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from core.data import load_lm_text, load_seq2seq  # noqa: E402
from core.errors import DataError  # noqa: E402
from core.evaluate.diversity import diversity_metrics, word_counts  # noqa: E402
from core.evaluate.results import SAMPLE_TEXTS, load_samples, write_result  # noqa: E402
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
    assert rescore_row(tmp_path / "row.json", bertscore=False) == path   # a name from before rows/: found there
    assert not (tmp_path / "row.json").exists()
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


def shakespeare_row(texts):
    """An unconditional row of 8 stored samples scored by the committed evaluator, without distribution metrics."""
    return {"method": "sample", "teacher": "mdlm", "corpus": "shakespeare", "steps": 8, "nfe": 8, "n_samples": 8,
            "seconds_per_sample": 0.1, "evaluator": "reference-ar:checkpoints/ar-shakespeare-small", "seed": 0,
            "command": "python -m experiments.run", "commit": "abc", "sample_length": 128,
            "metrics": {"gen_ppl": 9.0, "entropy": 3.0}, "samples": texts[:2], SAMPLE_TEXTS: texts}


def test_rescore_recomputes_an_unconditional_rows_distribution_metrics_from_its_samples(tmp_path):
    valid = load_lm_text("shakespeare", "valid")
    blocks = [valid[i * 126:(i + 1) * 126] for i in range(8)]
    path = write_result(shakespeare_row([f"<eos>{b}<eos>" for b in blocks]), tmp_path, "row")
    rescore_row(path)
    record = json.loads(path.read_text())
    assert record["metrics"]["gen_ppl"] == 9.0 and record["commit"] == "abc" and "rescored" in record
    # the boundary markers are no words: the metrics are those of the bare blocks
    train = word_counts(load_lm_text("shakespeare", "train"))
    assert record["metrics"]["diversity"] == pytest.approx(diversity_metrics(blocks, train))
    assert 0.3 < record["metrics"]["mauve_ar"] <= 1.0          # real text against the test split
    assert load_samples(path)[0].startswith("<eos>")           # the stored texts are left as they were


def test_rescore_refuses_samples_that_are_not_the_rows(tmp_path):
    path = write_result(shakespeare_row([f"sample {i}" for i in range(8)]), tmp_path, "row")
    write_result({**json.loads(path.read_text()), SAMPLE_TEXTS: ["other"] * 8}, tmp_path, "row")
    before = path.read_text()
    with pytest.raises(DataError, match=r"row\.json: its samples file holds 8 texts that are not the row's 8 samples"):
        rescore_row(path)
    assert path.read_text() == before
    (tmp_path / "old.json").write_text(json.dumps({k: v for k, v in shakespeare_row([]).items() if k != SAMPLE_TEXTS}))
    with pytest.raises(DataError, match=r"old\.json: no stored samples"):
        rescore_row(tmp_path / "old.json")
