#!/usr/bin/env bash
# checkpoints/diffuseq-qg-small: the DiffuSeq teacher on the embedded Quasar-T question-generation split (task
# vocabulary 15,627, seq_len 80, which covers 95% of the split's source + target rows; 5.6M parameters), trained with
# DiffuSeq's loss-aware timestep sampler, 5,000 steps of batch 32. Options: see common.sh.
#
# Hardware and time of the original: one thread (threads=1) on a shared 2-core Intel Xeon CPU, beside another run;
# 77.5 minutes of training (about 2,750 tokens/s; results/training/README.md).
#
# Differences from the original run:
# * Its validation losses entered the loss-aware history (they do not since commit 7342eae).
# * Batches are drawn from core.seeding's derived streams since commit 6bab536: other batches of the same data.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/diffuseq-qg-small}

# lr 5e-4, 200 warm-up steps, constant, then a linear decay to 5e-5 over the last 1,200 steps (wsd).
# originally: the same command with train.max_minutes=95 (commit d40db5d, uncommitted changes); it reached step 5,000
phase "$RUN" 5000 teacher=diffuseq task=qg preset=small threads=1 data.seq_len=80 diffuseq.timestep_sampler=lossaware \
  train.lr=5e-4 train.lr_schedule=wsd train.decay_steps=1200 train.eval_every=500
done_message "$RUN" diffuseq-qg-small
