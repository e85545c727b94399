#!/usr/bin/env bash
# checkpoints/diffuseq-ts-small-19k: checkpoints/diffuseq-ts-small-12k trained for 7,200 more updates of batch 32 in
# fp32: 19,200 in all, 3x the first ts teacher's 6,400. Same architecture, task vocabulary (10,802), seq_len 96 and
# loss-aware timestep sampler; a fresh optimizer and loss-aware history; 200 warm-up steps to lr 2.5e-4 (the 12k
# run's peak, under which validation still rose), constant, then a linear decay to 2.5e-5 over the last quarter,
# 1,800 steps (a choice, not tuned).
# Options: see common.sh (DRY_RUN=1 prints the commands).
#
# Hardware and time of the original: 2 threads (threads=2) of an idle 2-core AMD EPYC CPU without native bf16
# (results/training/README.md).
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/diffuseq-ts-small-19k}

further "$RUN" 7200 checkpoints/diffuseq-ts-small-12k task=ts data.seq_len=96 train.lr=2.5e-4 train.decay_steps=1800
done_message "$RUN" diffuseq-ts-small-19k
