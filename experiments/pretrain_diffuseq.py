"""The DiffuSeq pretraining recipe (called by `python -m experiments.pretrain teacher=diffuseq task=...`)."""
from __future__ import annotations

import torch

from core.data import seq2seq_pairs
from core.errors import ConfigError
from core.distributed import all_gather_cat
from core.seeding import derived_rng
from core.networks.diffuseq_net import DiffuSeqNet, diffuseq_config
from experiments.recipe import Recipe
from experiments.seq2seq import (build_tokenizer, encode_pairs, quick_bleu, train_pairs_and_examples,
                                 viewed_references)
from teachers.diffuseq import DiffuSeqProcess, make_timestep_sampler, target_recovery
from teachers.diffuseq_checkpoint import pretrained_config, save_pretrained
from teachers.diffuseq_decode import generate_texts
from teachers.diffuseq_self_condition import SelfConditionedTraining, for_sampling


def diffuseq_recipe(cfg, device, provenance, export_dir):
    train_pairs, valid_examples = train_pairs_and_examples(cfg)
    tokenizer, tokenizer_spec = build_tokenizer(cfg, train_pairs)
    train_rows = encode_pairs(train_pairs, tokenizer, cfg.data.seq_len)
    valid_rows = encode_pairs(seq2seq_pairs(valid_examples), tokenizer, cfg.data.seq_len)
    process = DiffuSeqProcess()
    # the loss-aware sampler's loss history is training state: without it a resumed run samples t uniformly until
    # every t has 10 losses again (~1.6k steps at batch 32)
    sampler = make_timestep_sampler(cfg.diffuseq.timestep_sampler, process.num_steps)
    if cfg.train.init_from and pretrained_config(cfg.train.init_from).get("tokenizer") != tokenizer_spec:
        # same-size vocabularies with other ids would load without complaint
        raise ConfigError(f"train.init_from={cfg.train.init_from}: its tokenizer differs from the one task={cfg.task} "
                          "builds from its training pairs")
    network = DiffuSeqNet(diffuseq_config(cfg.preset, tokenizer.vocab_size,
                                          max_position_embeddings=max(cfg.data.seq_len, 64),
                                          self_condition=cfg.diffuseq.self_condition))
    # The pretrain loop indexes rows; stack ids and mask so one tensor carries both.
    train_blocks = torch.stack([train_rows["input_ids"], train_rows["input_mask"]], dim=1)   # [N, 2, L]
    valid_blocks = torch.stack([valid_rows["input_ids"], valid_rows["input_mask"]], dim=1)
    val_sources = valid_examples[: cfg.diffuseq.val_sources]
    val_refs = viewed_references(val_sources, tokenizer)       # once, not at every validation
    recovery_ids = valid_rows["input_ids"][:128].to(device)
    recovery_mask = valid_rows["input_mask"][:128].to(device)

    def loss_fn(model, batch):
        """Training: t from the loop's sampler, which then learns from these losses (and only from these)."""
        rows, _ = batch
        t, weights = sampler.sample(rows.shape[0], rows.device)
        denoiser = SelfConditionedTraining(model) if cfg.diffuseq.self_condition else model
        per_example, metrics = process.training_losses(denoiser, rows[:, 0], rows[:, 1], t)
        sampler.update(*all_gather_cat(t, per_example.detach()))   # every process learns from all processes' losses
        return (per_example * weights).mean(), metrics

    def val_loss_fn(model, batch):
        """Validation: uniform t (the same expectation, comparable across evaluations), no sampler update; a
        self-conditioned network is scored without an estimate, so the loss compares with a plain one's."""
        rows, _ = batch
        loss, metrics = process.training_loss(model, rows[:, 0], rows[:, 1])
        return loss, {k: v for k, v in metrics.items() if k != "loss"}

    def eval_with_bleu(base_eval):
        def eval_fn(model):
            out = base_eval(model)
            candidates = generate_texts(process, for_sampling(model), val_sources, tokenizer, seq_len=cfg.data.seq_len,
                                        steps=cfg.diffuseq.val_steps, candidates=1, sampler="ddim", respace="kept",
                                        clamp=cfg.diffuseq.clamp, batch_size=cfg.train.batch_size, device=device)
            out[f"bleu_{cfg.diffuseq.val_steps}steps"] = quick_bleu(candidates, val_refs)
            # how much of the conditioning is learned: near T only the source can tell the target words
            rng = derived_rng(0, "diffuseq-recovery", device)   # not the model-init stream
            T = process.num_steps
            for t in (T // 2 - 1, 3 * T // 4 - 1, T - 1):
                out[f"recovery_t{t}"] = target_recovery(process, model, recovery_ids, recovery_mask, t,
                                                        ignore_id=tokenizer.pad_id, rng=rng)
            return out
        return eval_fn

    def export(model, ema, step):
        save_pretrained(model, process, export_dir, state=ema.full_state_dict(model),
                        extra={"tokenizer": tokenizer_spec, "seq_len": cfg.data.seq_len, "task": cfg.task,
                               "provenance": {**provenance, "train_step": step}})

    stateful = {"timestep_sampler": sampler} if hasattr(sampler, "state_dict") else {}
    return Recipe(network, loss_fn, train_blocks, valid_blocks, export, "loss", extend_eval=eval_with_bleu,
                  stateful=stateful, val_loss_fn=val_loss_fn)
