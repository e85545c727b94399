"""The distribution metric of the tables (MAUVE on the evaluator's features, experiments.distribution), recomputed on
the committed samples: it ranks held-out text above the MDLM teacher at 1024 steps, that above the teacher at 8 steps
and that above the colder teacher at 8 steps (T = 0.7), and it flags a sampler that repeats one sample."""
import os

import pytest
import torch

os.environ["HF_HUB_OFFLINE"] = "1"

from core.evaluate.results import load_samples  # noqa: E402
from core.evaluate.unconditional import load_evaluator  # noqa: E402
from core.paths import CHECKPOINTS_DIR, REPO_ROOT, rows_dir  # noqa: E402
from core.tokenizers import load_tokenizer  # noqa: E402
from experiments.config import load_config  # noqa: E402
from core.evaluate.diversity import diversity_metrics  # noqa: E402
from experiments.distribution import distribution_metrics, train_word_counts  # noqa: E402
from experiments.setup import held_out_texts  # noqa: E402

ROWS = ["mdlm-shakespeare-small-steps1024", "mdlm-shakespeare-small-steps8", "mdlm-shakespeare-small-steps8-T0.7"]


pytestmark = pytest.mark.e2e   # about a minute of MAUVE fits: the second tier


@pytest.fixture(scope="module")
def scores():
    """MAUVE of each committed row's 256 samples, of 256 held-out valid-split blocks, and of one sample x 256."""
    torch.set_num_threads(1)
    cfg = load_config(["teacher=mdlm", "eval.diversity=false"])   # MAUVE only: self-BLEU of 256 samples is slow
    evaluator = load_evaluator(CHECKPOINTS_DIR / "ar-shakespeare-small")
    tokenizer = load_tokenizer("char")
    sets = {name: load_samples(rows_dir(REPO_ROOT / "results") / f"{name}.json") for name in ROWS}
    assert all(len(texts) == 256 for texts in sets.values())
    sets["held-out"], _ = held_out_texts(cfg, tokenizer, 256, seq_len=128, split="valid")
    sets["collapsed"] = [sets[ROWS[0]][0]] * 256
    return {name: distribution_metrics(texts, cfg, "cpu", evaluator, tokenizer, seq_len=128)["mauve_ar"]
            for name, texts in sets.items()}, sets


def test_mauve_ranks_held_out_text_then_the_teacher_at_1024_then_at_8_then_colder(scores):
    mauve = [scores[0][name] for name in ["held-out", *ROWS]]
    assert mauve == sorted(mauve, reverse=True) and len(set(mauve)) == len(mauve), mauve


def test_a_sampler_repeating_one_sample_is_flagged(scores):
    mauve, sets = scores
    assert mauve["collapsed"] < 0.05 < mauve[ROWS[0]]
    vocabulary = train_word_counts("shakespeare")
    collapsed, teacher = (diversity_metrics(sets[name][:32], vocabulary) for name in ("collapsed", ROWS[0]))
    assert collapsed["self_bleu"] == pytest.approx(1.0) and teacher["self_bleu"] < 0.05
    assert collapsed["distinct_4"] < 0.05 < teacher["distinct_4"]
