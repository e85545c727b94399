"""What the distillation recipes of a discrete student share (IDLM, DiDi-Instruct, SDTT, Duo-DCD): the alternating loop's settings
from the `distill:` block, the sampled validation that selects and plots checkpoints, and the learning curve kept
beside the rows."""
from __future__ import annotations

import math
from pathlib import Path

import torch

from omegaconf import OmegaConf

from core import distributed
from core.checkpoint import atomic_write_text
from core.distill import DistillSettings, RoleSettings, distill
from core.evaluate.unconditional import generative_perplexity, unigram_entropy
from core.seeding import derived_rng, validation_seed
from experiments.controls import write_student_rows
from experiments.data_identity import saved_run_config
from experiments.loading import evaluator_from, load_checked_teacher
from experiments.naming import results_dir
from experiments.setup import global_batch


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


def validation(family: str, process, tokenizer, cfg, device, evaluator, seq_len: int, *, steps: int,
               samples: int | None = None):
    """validate(network) -> {gen_ppl, entropy}: `samples` (default `idlm.val_samples`) samples at `steps`, drawn from
    the validation seed (never the reported rows' seed, so checkpoint selection does not leak into them)."""
    from teachers.registry import sample_model

    model, eval_tokenizer, _ = evaluator

    def validate(network) -> dict:
        torch.manual_seed(validation_seed(cfg.seed))
        ids, _ = sample_model(family, process, network, predictor=cfg.sampling.predictor,
                              batch_size=samples or cfg.idlm.val_samples, length=seq_len, steps=steps,
                              device=device, float64=cfg.sampling.float64)
        ppl = generative_perplexity(tokenizer.batch_decode(ids.tolist()), model, eval_tokenizer,
                                    batch_size=cfg.sampling.batch_size, max_length=model.config.n_positions,
                                    device=device, float64=cfg.eval.float64)
        return {"gen_ppl": ppl["gen_ppl"], "entropy": unigram_entropy(ids), "steps": steps,
                "predictor": cfg.sampling.predictor}
    return validate


def selecting_validation(cfg, teacher, process, device, evaluator, *, steps: int, samples: int,
                         min_entropy_ratio: float):
    """(validate_and_select, the teacher's validation record): validation at `steps` whose "select" metric is the
    GenPPL of a checkpoint whose sample entropy keeps at least `min_entropy_ratio` x the teacher's, else inf.
    (None, {}) without an evaluator (the processes of rank > 0 under torchrun)."""
    from core.tokenizers import load_tokenizer

    if evaluator is None:
        return None, {}
    validate = validation(teacher.family, process, load_tokenizer(teacher.tokenizer_name), cfg, device, evaluator,
                          teacher.seq_len, steps=steps, samples=samples)
    with torch.random.fork_rng(devices=[]):
        reference = validate(teacher.network)
    entropy_floor = min_entropy_ratio * reference["entropy"]
    print(f"teacher at {steps} steps: GenPPL {reference['gen_ppl']:.3f}, entropy "
          f"{reference['entropy']:.4f}; the best student must keep entropy >= {entropy_floor:.4f}")

    def validate_and_select(network) -> dict:
        metrics = validate(network)
        metrics["select"] = metrics["gen_ppl"] if metrics["entropy"] >= entropy_floor else math.inf
        return metrics
    return validate_and_select, reference


def keep_learning_curve(run_dir: Path, cfg) -> None:
    """The run's validation records beside the results (runs/ is not committed): the learning-curve figure's input."""
    lines = [line for line in (run_dir / "log.jsonl").read_text().splitlines() if '"val/' in line]
    atomic_write_text(results_dir(cfg) / "training" / f"{run_dir.name}.log.jsonl",
                      "".join(line + "\n" for line in lines))


def block_batches(cfg, blocks: torch.Tensor, device, name: str):
    """get_batch(step, k) for the loop: the global batch of rows of `blocks` drawn from a seed derived from the run's
    seed, `name`, the step and k, so a resumed run draws the same batches; each process trains on its share."""
    def get_batch(step: int, k: int) -> torch.Tensor:
        rng = derived_rng(cfg.seed, f"{name}-batch-{step}-{k}")
        return blocks[torch.randint(len(blocks), (global_batch(cfg.distill),), generator=rng)].to(device)
    return get_batch


def run_alternating(cfg, run_dir: Path, *, settings: DistillSettings, device, **loop) -> Path | None:
    """Run (or resume) the alternating loop in `run_dir` (loop: generator, fake, method, get_batch, on_checkpoint,
    cost), keep its learning curve, and return the folder of the best student (`student/`, else `last/`); None on
    processes of rank > 0."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if distributed.is_main():
        atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg))
    summary = distill(run_dir=run_dir, settings=settings, config=saved_run_config(cfg), device=device, **loop)
    print(f"distillation: step {summary['step']} (finished={summary['finished']}), best {summary['best']}")
    if not distributed.is_main():
        return None
    keep_learning_curve(run_dir, cfg)
    best = run_dir / "student"
    return best if (best / "config.json").is_file() else run_dir / "last"


def distil_and_write_rows(cfg, device, distil_student, *, fields, sampler_for=None) -> Path | None:
    """A student recipe's outline: load the checked teacher and the evaluator, distil with
    `distil_student(cfg, teacher, teacher_folder, device, evaluator)` (or take `student_path=`), then write the
    student's rows beside its controls, with `sampler_for(student_folder)` as its sampler when given."""
    teacher, teacher_folder = load_checked_teacher(cfg, device)
    evaluator = evaluator_from(cfg, device) if distributed.is_main() else None
    student_folder = Path(cfg.student_path) if cfg.student_path else distil_student(cfg, teacher, teacher_folder,
                                                                                    device, evaluator)
    if not distributed.is_main():   # under torchrun rank 0 alone evaluates and writes the rows
        return None
    sampler = sampler_for(student_folder) if sampler_for else None
    return write_student_rows(cfg, device, teacher, teacher_folder, student_folder, evaluator, sampler=sampler,
                              fields=fields)
