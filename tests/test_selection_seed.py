"""Checkpoint selection must not leak into reported rows: IDLM's validation samples (which pick the best student)
and the samples of the row reported for the same student come from different seeds."""
from types import SimpleNamespace

import torch

import experiments.rows as rows
import experiments.students as students
from core.paths import CHECKPOINTS_DIR
from core.seeding import validation_seed
from core.tokenizers import load_tokenizer
from experiments.config import load_config
from teachers.registry import load_teacher

TEACHER = CHECKPOINTS_DIR / "mdlm-shakespeare-small"
STUB_EVALUATOR = SimpleNamespace(config=SimpleNamespace(n_positions=128))   # only its context length is read


def test_validation_and_reported_samples_differ(monkeypatch):
    cfg = load_config(["method=idlm", "steps=2", "idlm.val_steps=2", "idlm.val_samples=4", "sampling.num_samples=4",
                       "sampling.batch_size=4"])
    teacher = load_teacher(TEACHER, device=torch.device("cpu"))
    tokenizer = load_tokenizer(teacher.tokenizer_name)
    seen = {}
    monkeypatch.setattr(students, "generative_perplexity",
                        lambda texts, *a, **k: seen.setdefault("validation", []).append(texts) or {"gen_ppl": 1.0})
    monkeypatch.setattr(rows, "evaluate_texts", lambda texts, *a, **k: seen.setdefault("reported", texts) and {})
    validate = students.validation("mdlm", teacher.process, tokenizer, cfg, torch.device("cpu"),
                                      (STUB_EVALUATOR, None, "evaluator"), teacher.seq_len, steps=cfg.idlm.val_steps)
    torch.manual_seed(123)                     # whatever ran before must not matter
    validate(teacher.network)
    validate(teacher.network)
    rows.score_model(teacher, cfg, torch.device("cpu"))
    first, again = seen["validation"]
    assert first == again                      # validation is reproducible (its own seed) ...
    assert len(first) == len(seen["reported"]) == 4
    assert not set(first) & set(seen["reported"])   # ... and shares no sample with the reported row
    assert validation_seed(cfg.seed) != cfg.seed
