#!/usr/bin/env bash
# checkpoints/diffuseq-qg-small-15k: checkpoints/diffuseq-qg-small-11k trained for 4,000 more updates of batch 32 in
# fp32: 15,000 in all, 3x the first qg teacher's 5,000. Same architecture, task vocabulary (15,627), seq_len 80 and
# loss-aware timestep sampler; a fresh optimizer, a fresh loss-aware history, and the same schedule shape again
# (200 warm-up steps to lr 5e-4, constant, then a linear decay to 5e-5 over the last quarter, 1,000 steps).
# Options: see common.sh (DRY_RUN=1 prints the commands).
#
# Hardware and time of the original: 2 threads (threads=2) of an idle 2-core AMD EPYC CPU without native bf16
# (results/training/README.md).
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/diffuseq-qg-small-15k}

further "$RUN" 4000 checkpoints/diffuseq-qg-small-11k task=qg data.seq_len=80 train.lr=5e-4 \
  train.decay_steps=1000
done_message "$RUN" diffuseq-qg-small-15k
