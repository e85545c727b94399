"""The pretraining recipes of the discrete teachers (MDLM, SEDD, Duo) and of the reference AR model, from scratch on
a corpus (`python -m experiments.pretrain`; the AR baselines reuse the AR one, experiments.ar_baseline)."""
from __future__ import annotations

from experiments.recipe import Recipe
from experiments.setup import corpus_blocks, corpus_tokenizer_name


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
