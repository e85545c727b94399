"""What the distillation recipes of a discrete student share (IDLM, SDTT, Duo-DCD): the alternating loop's settings
from the `distill:` block, the sampled validation that selects and plots checkpoints, and the learning curve kept
beside the rows."""
from __future__ import annotations

from pathlib import Path

import torch

from core.checkpoint import atomic_write_text
from core.distill import DistillSettings, RoleSettings
from core.evaluate.unconditional import generative_perplexity, unigram_entropy
from core.seeding import validation_seed
from experiments.naming import results_dir


def distill_settings(cfg) -> DistillSettings:
    """The alternating loop's settings (core.distill) from the `distill:` block: both roles share its optimizer."""
    d = cfg.distill

    def role(lr: float) -> RoleSettings:
        return RoleSettings(lr=lr, betas=tuple(d.betas), weight_decay=d.weight_decay, warmup_steps=d.warmup_steps,
                            grad_clip=d.grad_clip)
    return DistillSettings(max_steps=d.max_steps, fake_steps=d.fake_steps, generator=role(d.lr), fake=role(d.fake_lr),
                           ema_decay=d.ema_decay, ema_warmup=d.ema_warmup, precision=d.precision,
                           eval_every=d.eval_every, save_every=d.save_every, log_every=d.log_every,
                           max_minutes=d.max_minutes, budget=d.budget, micro_batch=d.batch_size, seed=cfg.seed)


def validation(family: str, process, tokenizer, cfg, device, evaluator, seq_len: int, *, steps: int):
    """validate(network) -> {gen_ppl, entropy}: `idlm.val_samples` samples at `steps`, drawn from the validation
    seed (never the reported rows' seed, so checkpoint selection does not leak into them)."""
    from teachers.registry import sample_model

    model, eval_tokenizer, _ = evaluator

    def validate(network) -> dict:
        torch.manual_seed(validation_seed(cfg.seed))
        ids, _ = sample_model(family, process, network, predictor=cfg.sampling.predictor,
                              batch_size=cfg.idlm.val_samples, length=seq_len, steps=steps,
                              device=device, float64=cfg.sampling.float64)
        ppl = generative_perplexity(tokenizer.batch_decode(ids.tolist()), model, eval_tokenizer,
                                    batch_size=cfg.sampling.batch_size, max_length=model.config.n_positions,
                                    device=device, float64=cfg.eval.float64)
        return {"gen_ppl": ppl["gen_ppl"], "entropy": unigram_entropy(ids), "steps": steps}
    return validate


def keep_learning_curve(run_dir: Path, cfg) -> None:
    """The run's validation records beside the results (runs/ is not committed): the learning-curve figure's input."""
    lines = [line for line in (run_dir / "log.jsonl").read_text().splitlines() if '"val/' in line]
    atomic_write_text(results_dir(cfg) / "training" / f"{run_dir.name}.log.jsonl",
                      "".join(line + "\n" for line in lines))
