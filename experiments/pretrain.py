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

import math

import torch
from omegaconf import OmegaConf

from core import distributed
from core.checkpoint import atomic_write_text
from core.paths import RUNS_DIR
from core.seeding import derived_generator
from core.training import TrainSettings, train
from experiments import ar_baseline
from experiments.cli import parse_args, run_cli
from experiments.config import run_folder_name
from experiments.data_identity import run_provenance, saved_run_config
from experiments.data_lengths import warn_truncation
from experiments.recipe import Recipe
from experiments.setup import corpus_blocks, corpus_tokenizer_name, global_batch, resolve_device

RECIPES = {}  # filled below: teacher -> recipe(cfg, device, provenance, export_dir) -> Recipe


def settings_from(cfg) -> TrainSettings:
    t = cfg.train
    return TrainSettings(max_steps=t.max_steps, lr=t.lr, weight_decay=t.weight_decay, warmup_steps=t.warmup_steps,
                         lr_schedule=t.lr_schedule, decay_steps=t.decay_steps, grad_clip=t.grad_clip, ema_decay=t.ema_decay, ema_warmup=t.ema_warmup, reset_ema=t.reset_ema,
                         eval_every=t.eval_every, save_every=t.save_every, log_every=t.log_every,
                         precision=t.precision, max_minutes=t.max_minutes, micro_batch=t.batch_size, seed=cfg.seed)


# Validation draws its noise (t, masks) from this fixed seed, inside a forked RNG, so every evaluation of a run sees
# the same noise and the numbers are comparable across evaluations and resumes; the value itself is arbitrary.
VALIDATION_SEED = 1234
# A step beyond any curriculum's end: Duo's loss reads the step to decide whether the curriculum's soft inputs still
# apply, and validation must measure the plain NELBO.
PAST_ANY_CURRICULUM = 10**12
# validation losses that are a mean negative log-likelihood per token (nats), where bits per token mean something;
# DCD's KL and DiffuSeq's MSE + rounding loss are not
PER_TOKEN_NLL_KEYS = ("nelbo", "nll")


def batch_sampler(blocks: torch.Tensor, batch_size: int, seed: int, device):
    """get_batch(step) -> (rows [B, L], step): a pure function of (seed, step) so resumed runs see the same data; B is
    the global batch, which the loop shares out over processes and micro-batches.
    Each step's rows come from their own derived stream (core.seeding), never from the model-init stream."""
    def get_batch(step: int):
        g = derived_generator(seed, f"pretrain-batch-{step}")
        return blocks[torch.randint(len(blocks), (batch_size,), generator=g)].to(device), step
    return get_batch


def held_out_eval(loss_fn, blocks: torch.Tensor, batch_size: int, device, key: str):
    """Mean loss over fixed validation blocks, with a fixed RNG so numbers are comparable across evaluations."""
    def eval_fn(model) -> dict:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(VALIDATION_SEED)
            losses = [loss_fn(model, (blocks[i:i + batch_size].to(device), PAST_ANY_CURRICULUM))[0].item()
                      for i in range(0, len(blocks), batch_size)]
        value = sum(losses) / len(losses)
        if key not in PER_TOKEN_NLL_KEYS:
            return {key: value}
        return {key: value, "bits_per_token": value / math.log(2.0)}
    return eval_fn


def recipe_eval_fn(r: Recipe, cfg, device, batch_size: int | None = None):
    """The periodic validation of a recipe: held-out loss on `train.eval_batches` batches (of batch_size, default
    train.batch_size) of fixed rows (its val_loss_fn when it has one), plus the recipe's extra metrics."""
    batch_size = batch_size or cfg.train.batch_size
    eval_rows = r.valid_rows[: cfg.train.eval_batches * batch_size]
    eval_fn = held_out_eval(r.val_loss_fn or r.loss_fn, eval_rows, batch_size, device, r.val_key)
    if r.extend_eval is not None:  # e.g. DiffuSeq adds BLEU of a few-step decode
        eval_fn = r.extend_eval(eval_fn)
    return eval_fn


def process_config_from(cfg, vocab_size: int) -> dict:
    if cfg.teacher != "duo" or not cfg.duo.curriculum:
        return {"vocab_size": vocab_size}
    return {"vocab_size": vocab_size, "curriculum": {"start": cfg.duo.curriculum_start, "end": cfg.duo.curriculum_end}}


def discrete_recipe(cfg, device, provenance, export_dir):
    """MDLM / SEDD / Duo from scratch: batches are (x0 [B, L], step) so Duo's curriculum knows where it is."""
    from core.networks.dit import DiT, dit_config
    from teachers.registry import build_process, save_teacher

    tokenizer_name = corpus_tokenizer_name(cfg.corpus)
    train_blocks, valid_blocks, tokenizer = corpus_blocks(cfg, tokenizer_name)
    process = build_process(cfg.teacher, process_config_from(cfg, tokenizer.vocab_size))
    network = DiT(dit_config(cfg.preset, process.network_vocab_size))

    def loss_fn(model, batch):
        x0, step = batch
        return process.loss(model, x0, step=step) if cfg.teacher == "duo" else process.loss(model, x0)

    def export(model, ema, step):
        # The exported process has no curriculum: it is a training-time device, sampling uses plain z_t.
        save_teacher(export_dir, family=cfg.teacher, network=model, process_config={**process.config(), "curriculum": None}
                     if cfg.teacher == "duo" else process.config(), tokenizer_name=tokenizer_name,
                     seq_len=cfg.data.seq_len, state=ema.full_state_dict(model), dtype=cfg.train.export_dtype,
                     provenance={**provenance, "train_step": step})

    return Recipe(network, loss_fn, train_blocks, valid_blocks, export, "nelbo")


def ar_recipe(cfg, device, provenance, export_dir, description: str | None = None):
    """The reference AR evaluator (teacher=ar); with `description`, a baseline of the same recipe (teacher=ar_lm)."""
    from core.evaluate.reference_ar import ar_config, ar_loss, build_ar_model, save_ar

    tokenizer_name = corpus_tokenizer_name(cfg.corpus)
    train_blocks, valid_blocks, tokenizer = corpus_blocks(cfg, tokenizer_name)
    model = build_ar_model(ar_config(cfg.preset, tokenizer.vocab_size, cfg.data.seq_len, eos_id=tokenizer.eos_id))

    def loss_fn(model, batch):
        loss = ar_loss(model, batch[0])
        return loss, {"nll": loss.detach()}

    def export(model, ema, step):
        with ema.swapped_in(model):
            save_ar(model, tokenizer_name, export_dir, provenance={**provenance, "train_step": step},
                    description=description)

    return Recipe(model, loss_fn, train_blocks, valid_blocks, export, "nll")


def dcd_recipe(cfg, device, provenance, export_dir):
    from experiments.dcd import dcd_pretrain_recipe  # Duo-DCD lives with its method (experiments.run method=dcd)
    return dcd_pretrain_recipe(cfg, device, provenance, export_dir)


RECIPES.update({"mdlm": discrete_recipe, "sedd": discrete_recipe, "duo": discrete_recipe, "dcd": dcd_recipe,
                "ar": ar_recipe, "ar_lm": ar_baseline.lm_recipe, "ar_seq2seq": ar_baseline.seq2seq_recipe})


def train_recipe(r: Recipe, cfg, device, run_dir, settings: TrainSettings, *, section, cost=None) -> dict:
    """Run the shared loop (core.training.train) on a recipe: pretraining, and the methods that train one student
    against a frozen, periodically refreshed copy (experiments.rounds). `section` is the config block (train or
    distill) whose global batch each step draws and whose batch_size the evaluation uses; `cost` (core/cost.py) is
    kept up to date by the loop. Returns the loop's summary."""
    if distributed.is_main():
        atomic_write_text(f"{run_dir}/config.yaml", OmegaConf.to_yaml(cfg))
    n_params = sum(p.numel() for p in r.model.parameters())
    print(f"{cfg.teacher} ({cfg.preset}, {n_params / 1e6:.2f}M parameters) on {len(r.train_rows)} training rows; "
          f"device {device}, {torch.get_num_threads()} threads -> {run_dir}")
    return train(model=r.model, loss_fn=r.loss_fn,
                 get_batch=batch_sampler(r.train_rows, global_batch(section), cfg.seed, device),
                 run_dir=run_dir, settings=settings, config=saved_run_config(cfg), device=device,
                 eval_fn=recipe_eval_fn(r, cfg, device, section.batch_size), on_checkpoint=r.export,
                 before_step=r.before_step, stateful=r.stateful, cost=cost)


def main(argv: list[str]) -> int:
    cfg = parse_args(argv, command="pretrain")
    if cfg is None:
        return 0
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    if cfg.teacher != "dcd":   # DCD trains on blocks of its Duo teacher's length
        warn_truncation(cfg, "train", cfg.data.seq_len)
    run_dir = cfg.run_dir or str(RUNS_DIR / run_folder_name(cfg))
    provenance = run_provenance(cfg)
    if cfg.teacher == "diffuseq":
        from experiments.pretrain_diffuseq import diffuseq_recipe as recipe
    else:
        recipe = RECIPES[cfg.teacher]
    r = recipe(cfg, device, provenance, f"{run_dir}/pretrained")
    summary = train_recipe(r, cfg, device, run_dir, settings_from(cfg), section=cfg.train)
    print(f"done: step {summary['step']} (finished={summary['finished']}), last eval {summary['last_eval']}")
    return 0


if __name__ == "__main__":
    run_cli(main)
