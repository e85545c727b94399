"""Methods that train one student against a frozen copy of itself, refreshed every round while the step size
doubles (SDTT, Duo-DCD): `python -m experiments.run method=sdtt|dcd ... steps=K`.

1. load the teacher (committed, or teacher_path=), frozen, for the controls; the student starts from a second copy
   of its weights (dropout `distill.dropout`);
2. train on the one-model pretraining loop (`core.training.train` through `experiments.recipe.train_recipe`):
   the method's Recipe refreshes its frozen copy in `before_step`; the optimizer, EMA, clipping, precision and
   logging come from the `distill:` block, the length from the method's rounds. Resumable in
   runs/<method>-<teacher>-<corpus>-<preset>-steps<K>; a finished run is not retrained. The student is the EMA at the
   last step (neither method selects a checkpoint), exported to <run_dir>/student; or `student_path=<folder>` is
   evaluated without training;
3. the rows of every distilled student (`experiments.controls.write_student_rows`): the student at K beside the
   teacher at K,
   at 1024 steps and entropy-matched.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from omegaconf import OmegaConf

from core import distributed
from core.cost import RunCost
from core.training import TrainSettings
from experiments.controls import write_student_rows
from experiments.data_identity import run_provenance
from experiments.loading import evaluator_from, load_checked_teacher
from experiments.naming import method_run_dir, repo_relative
from experiments.recipe import train_recipe
from experiments.students import keep_learning_curve, validation
from core.networks import copy_for_training


def round_settings(cfg, total_steps: int) -> TrainSettings:
    """The `distill:` optimizer, EMA and logging settings on the pretraining loop; constant lr after warm-up."""
    d = cfg.distill
    return TrainSettings(max_steps=total_steps, lr=d.lr, weight_decay=d.weight_decay, betas=tuple(d.betas),
                         warmup_steps=d.warmup_steps, grad_clip=d.grad_clip, ema_decay=d.ema_decay,
                         ema_warmup=d.ema_warmup, eval_every=d.eval_every, save_every=d.save_every,
                         log_every=d.log_every, precision=d.precision, max_minutes=d.max_minutes,
                         budget=d.budget, micro_batch=d.batch_size, seed=cfg.seed)


def sampled_validation(cfg, device, teacher, evaluator):
    """extend_eval for the round methods: besides the held-out loss, the student's GenPPL and entropy at the target K,
    as IDLM validates (`idlm.val_samples` samples from the validation seed), so every method's learning curve is
    read on one scale. The training RNG is left as it was (a resumed run must not diverge)."""
    if evaluator is None:   # the processes other than rank 0 under torchrun
        return None
    from core.tokenizers import load_tokenizer

    validate = validation(teacher.family, teacher.process, load_tokenizer(teacher.tokenizer_name), cfg, device,
                          evaluator, teacher.seq_len, steps=cfg.steps)

    def extend(eval_fn):
        def evaluate(model):
            with torch.random.fork_rng(devices=[]):
                return {**eval_fn(model), **validate(model)}
        return evaluate
    return extend


def run_round_method(cfg, device, make_recipe, *, total_steps: int) -> Path:
    """make_recipe(cfg, init, init_folder, provenance, export_dir) -> Recipe, where `init` is a registry.Teacher whose
    network is the trainable student. Returns the student row's path."""
    teacher, teacher_folder = load_checked_teacher(cfg, device)
    evaluator = evaluator_from(cfg, device) if distributed.is_main() else None
    if cfg.student_path:
        student_folder = Path(cfg.student_path)
    else:
        run_dir = method_run_dir(cfg)
        student_folder = run_dir / "student"
        init = replace(teacher, network=copy_for_training(teacher.network, dropout=cfg.distill.dropout))
        provenance = run_provenance(cfg, method=cfg.method, corpus=cfg.corpus, run_dir=repo_relative(run_dir),
                                    distill=OmegaConf.to_container(cfg.distill),
                                    **{cfg.method: OmegaConf.to_container(cfg[cfg.method])})
        recipe, cost = make_recipe(cfg, init, teacher_folder, provenance, student_folder), RunCost()
        export = recipe.export

        def export_with_cost(model, ema, step):   # the recipe's export spreads `provenance` when it is called
            provenance["cost"] = cost.summary(step, distributed.world_size())
            export(model, ema, step)
        recipe = replace(recipe, export=export_with_cost, extend_eval=sampled_validation(cfg, device, teacher, evaluator))
        if distributed.is_main():
            run_dir.mkdir(parents=True, exist_ok=True)
        summary = train_recipe(recipe, cfg, device, run_dir, round_settings(cfg, total_steps),
                               section=cfg.distill, cost=cost)
        print(f"{cfg.method}: step {summary['step']} of {total_steps} (finished={summary['finished']})")
        if distributed.is_main():
            keep_learning_curve(run_dir, cfg)
        if not summary["finished"]:
            print(f"the student is from an unfinished run (step {summary['step']} of {total_steps}); rerun the same "
                  f"command to finish it")
    if not distributed.is_main():   # under torchrun rank 0 alone evaluates and writes the rows
        return None
    return write_student_rows(cfg, device, teacher, teacher_folder, student_folder, evaluator)
