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

further "$RUN" 12000 checkpoints/diffuseq-qqp-small task=qqp train.lr=3e-4 train.decay_steps=2500
done_message "$RUN" diffuseq-qqp-small-27k
