"""Pretrain a teacher from scratch on an embedded corpus / task.

    python -m experiments.pretrain teacher=mdlm corpus=shakespeare preset=small
    python -m experiments.pretrain teacher=ar corpus=shakespeare            # the reference GenPPL evaluator
    python -m experiments.pretrain teacher=ar_lm seed=1                     # AR baselines (experiments.ar_baseline)
    python -m experiments.pretrain teacher=diffuseq task=qqp

Writes `<run_dir>/checkpoint` (resumable training state), `<run_dir>/pretrained` (EMA weights, HF-style: what
sampling, evaluation and distillation load), `<run_dir>/log.jsonl` and `<run_dir>/config.yaml`. Rerunning the same
command resumes; `train.max_minutes=N` stops cleanly after N minutes.
"""
from __future__ import annotations

import torch

from core.networks.hub import load_folder_weights
from core.paths import RUNS_DIR
from core.training import TrainSettings
from experiments import ar_baseline
from experiments.cli import run_cli
from experiments.config import parse_args
from experiments.data_identity import run_provenance
from experiments.data_lengths import warn_truncation
from experiments.dcd import (
    dcd_pretrain_recipe,  # the Duo model after DCD is made by its method (experiments.run method=dcd)
)
from experiments.naming import run_folder_name
from experiments.pretrain_recipes import ar_recipe, discrete_recipe
from experiments.recipe import train_recipe
from experiments.setup import resolve_device

# teacher -> recipe(cfg, device, provenance, export_dir) -> Recipe
RECIPES = {"mdlm": discrete_recipe, "sedd": discrete_recipe, "duo": discrete_recipe,
           "duo_distilled": dcd_pretrain_recipe, "ar": ar_recipe, "ar_lm": ar_baseline.lm_recipe,
           "ar_seq2seq": ar_baseline.seq2seq_recipe}


def settings_from(cfg) -> TrainSettings:
    t = cfg.train
    return TrainSettings(max_steps=t.max_steps, lr=t.lr, weight_decay=t.weight_decay, warmup_steps=t.warmup_steps,
                         lr_schedule=t.lr_schedule, decay_steps=t.decay_steps, grad_clip=t.grad_clip, ema_decay=t.ema_decay, ema_warmup=t.ema_warmup, reset_ema=t.reset_ema,
                         eval_every=t.eval_every, save_every=t.save_every, log_every=t.log_every,
                         precision=t.precision, max_minutes=t.max_minutes, micro_batch=t.batch_size, seed=cfg.seed)


def main(argv: list[str]) -> int:
    cfg = parse_args(argv, command="pretrain")
    if cfg is None:
        return 0
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    if cfg.teacher != "duo_distilled":   # DCD trains on blocks of its Duo teacher's length
        warn_truncation(cfg, "train", cfg.data.seq_len)
    run_dir = cfg.run_dir or str(RUNS_DIR / run_folder_name(cfg))
    provenance = run_provenance(cfg)
    if cfg.teacher == "diffuseq":
        from experiments.pretrain_diffuseq import diffuseq_recipe as recipe
    else:
        recipe = RECIPES[cfg.teacher]
    r = recipe(cfg, device, provenance, f"{run_dir}/pretrained")
    if cfg.train.init_from:   # a resumed run loads its own state over these weights; a recipe checks what the
        # weights cannot show (DiffuSeq's tokenizer)
        load_folder_weights(r.model, cfg.train.init_from, source=f"train.init_from={cfg.train.init_from}")
    summary = train_recipe(r, cfg, device, run_dir, settings_from(cfg), section=cfg.train)
    print(f"done: step {summary['step']} (finished={summary['finished']}), last eval {summary['last_eval']}")
    return 0


if __name__ == "__main__":
    run_cli(main)
