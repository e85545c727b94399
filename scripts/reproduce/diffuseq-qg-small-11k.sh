#!/usr/bin/env bash
# checkpoints/diffuseq-qg-small-11k: the committed qg teacher (checkpoints/diffuseq-qg-small, 5,000 updates) trained
# for 6,000 more updates of batch 32 in fp32: 11,000 in all. Same architecture, task vocabulary (15,627), seq_len 80
# and loss-aware timestep sampler; a fresh optimizer, a fresh loss-aware history, and the first run's schedule again
# (200 warm-up steps to lr 5e-4, constant, then a linear decay to 5e-5 over the last quarter, 1,500 steps).
# Options: see common.sh (DRY_RUN=1 prints the commands).
#
# Hardware and time of the original: 2 threads (threads=2) of an idle 2-core AMD EPYC CPU without native bf16, about
# 1.25 updates/s (results/training/README.md).
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/diffuseq-qg-small-11k}

further "$RUN" 6000 checkpoints/diffuseq-qg-small task=qg data.seq_len=80 train.lr=5e-4 train.decay_steps=1500
done_message "$RUN" diffuseq-qg-small-11k
