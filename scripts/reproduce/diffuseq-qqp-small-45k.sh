#!/usr/bin/env bash
# checkpoints/diffuseq-qqp-small-45k: checkpoints/diffuseq-qqp-small-37k trained for 8,000 more updates of batch 32 in
# fp32: 45,000 in all. Same recipe as the 37k run (diffuseq-qqp-small-37k.sh): a fresh optimizer and loss-aware
# history, 200 warm-up steps to lr 1.5e-4, constant, then a linear decay to 1.5e-5 over the last 2,000.
# Options: see common.sh (DRY_RUN=1 prints the commands).
#
# Hardware and time of the original: 2 threads (threads=2) of an idle 2-core AMD EPYC CPU without native bf16, about
# 2 updates/s (results/training/README.md).
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/diffuseq-qqp-small-45k}

further "$RUN" 8000 checkpoints/diffuseq-qqp-small-37k task=qqp train.lr=1.5e-4 train.decay_steps=2000
done_message "$RUN" diffuseq-qqp-small-45k
