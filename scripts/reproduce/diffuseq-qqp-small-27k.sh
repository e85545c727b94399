#!/usr/bin/env bash
# checkpoints/diffuseq-qqp-small-27k: the committed qqp teacher (checkpoints/diffuseq-qqp-small, 15,000 updates)
# trained for 12,000 more updates of batch 32 in fp32: 27,000 in all. Same architecture, task vocabulary (6,076) and
# loss-aware timestep sampler; a fresh optimizer, a fresh loss-aware history, and the first run's schedule again
# (200 warm-up steps to lr 3e-4, constant, then a linear decay to 3e-5 over the last 2,500 steps).
# Options: see common.sh (DRY_RUN=1 prints the commands).
#
# Hardware and time of the original: 2 threads (threads=2) of an idle 2-core AMD EPYC CPU without native bf16, about
# 2 updates/s (results/training/README.md).
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/diffuseq-qqp-small-27k}

# one phase: a resumed run keeps its own state, so train.init_from only seeds the first start
phase "$RUN" 12000 teacher=diffuseq task=qqp preset=small threads=2 train.precision=fp32 \
  train.init_from=checkpoints/diffuseq-qqp-small diffuseq.timestep_sampler=lossaware train.lr=3e-4 \
  train.lr_schedule=wsd train.decay_steps=2500 train.eval_every=1000
done_message "$RUN" diffuseq-qqp-small-27k
