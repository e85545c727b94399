"""The DCD method (baselines/dcd.py) on the pretraining loop, two ways in:

    python -m experiments.pretrain teacher=duo_distilled     # committed: checkpoints/duo_distilled-shakespeare-small
    python -m experiments.run method=dcd teacher=duo steps=K   # distil to K steps, then rows beside the controls

Both build the same recipe and export a Duo model after DCD (family duo_distilled): the student starts from the Duo
weights, the frozen round teacher (baselines/rounds.py) is refreshed from the student's EMA (`dcd.teacher_ema`) at
the start of every round of `dcd.update_teacher_every` optimizer steps, and dt doubles each round from
1/`dcd.base_steps`. The pretraining command trains `train.max_steps` steps with the `train:` settings; the method
trains exactly the rounds that end at dt = 1/K (log2(base_steps / K) + 1 rounds) with the `distill:` settings of
every distillation method, and exports the student as `<run_dir>/student`.
"""
from __future__ import annotations

import math

from omegaconf import OmegaConf

from core.errors import ConfigError
from experiments.naming import repo_relative
from experiments.recipe import Recipe
from experiments.setup import corpus_blocks, find_pretrained


def dcd_recipe(cfg, duo, duo_folder, provenance: dict, export_dir) -> Recipe:
    """Duo-DCD of a loaded Duo model `duo` (a registry.Teacher): the student is its network, made trainable."""
    from baselines.dcd import DCDSettings, dcd_loss, dcd_step_size
    from baselines.rounds import refresh_round_teacher, round_starts
    from core.networks import copy_for_training
    from teachers.registry import DUO_DISTILLED, save_teacher

    student = duo.network.train().requires_grad_(True)
    frozen = copy_for_training(student, frozen=True)
    settings = DCDSettings(base_steps=cfg.dcd.base_steps, update_teacher_every=cfg.dcd.update_teacher_every,
                           loss_type=cfg.dcd.loss_type, teacher_ema=cfg.dcd.teacher_ema)
    # the student is trained on blocks of the teacher's own length, whatever data.seq_len says
    train_blocks, valid_blocks, _ = corpus_blocks(OmegaConf.merge(cfg, {"data": {"seq_len": duo.seq_len}}),
                                                  duo.tokenizer_name)
    dt_now = {"dt": 0.0}

    def before_step(step, model, ema):
        if round_starts(step, settings.update_teacher_every):
            refresh_round_teacher(frozen, ema if settings.teacher_ema else model)
        dt_now["dt"] = dcd_step_size(step, base_steps=settings.base_steps,
                                     update_teacher_every=settings.update_teacher_every)

    def loss_fn(model, batch):
        x0, _ = batch
        return dcd_loss(duo.process, model, frozen, x0, dt=dt_now["dt"], settings=settings)

    def export(model, ema, step):
        save_teacher(export_dir, family=DUO_DISTILLED, network=model, process_config=duo.process.config(),
                     tokenizer_name=duo.tokenizer_name, seq_len=duo.seq_len, state=ema.full_state_dict(model),
                     dtype=cfg.train.export_dtype,
                     provenance={**provenance, "train_step": step, "distilled_from": repo_relative(duo_folder),
                                 "dcd": OmegaConf.to_container(cfg.dcd)})

    # the frozen teacher is part of the training state: a resumed run must not restart from the original Duo
    return Recipe(student, loss_fn, train_blocks, valid_blocks, export, "dcd_kl", before_step=before_step,
                  stateful={"dcd_frozen_teacher": frozen})


def dcd_pretrain_recipe(cfg, device, provenance, export_dir) -> Recipe:
    """`experiments.pretrain teacher=duo_distilled`: distil `teacher_path` (default the embedded Duo)."""
    from teachers.registry import DUO_DISTILLED, load_teacher

    source = find_pretrained(f"duo-{cfg.corpus}-{cfg.preset}", cfg.teacher_path)
    duo = load_teacher(source, device=device)
    if duo.family not in ("duo", DUO_DISTILLED):
        raise ConfigError(f"teacher={DUO_DISTILLED} distils a Duo model, but {source} holds a {duo.family!r} teacher")
    return dcd_recipe(cfg, duo, source, provenance, export_dir)


def dcd_rounds(base_steps: int, steps: int) -> int:
    """Rounds n = 0, 1, ... with dt = 2^n / base_steps until dt = 1/steps."""
    return int(math.log2(base_steps // steps)) + 1


def run_dcd(cfg, device):
    """`experiments.run method=dcd teacher=duo steps=K`."""
    from experiments.rounds import run_round_method

    return run_round_method(cfg, device, dcd_recipe,
                            total_steps=dcd_rounds(cfg.dcd.base_steps, cfg.steps) * cfg.dcd.update_teacher_every)
