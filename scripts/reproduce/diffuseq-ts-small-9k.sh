#!/usr/bin/env bash
# checkpoints/diffuseq-ts-small-9k: the committed ts teacher (checkpoints/diffuseq-ts-small, 6,400 updates) trained
# for 2,600 more updates of batch 32 in fp32: 9,000 in all. Same architecture, task vocabulary (10,802), seq_len 96
# and loss-aware timestep sampler; a fresh optimizer, a fresh loss-aware history, and the recipe of the qg teacher's
# continuations (diffuseq-qg-small-11k.sh): 200 warm-up steps to lr 5e-4, constant, then a linear decay to 5e-5
# over the last quarter, 650 steps. Options: see common.sh (DRY_RUN=1 prints the commands).
#
# Hardware and time of the original: 2 threads (threads=2) of an idle 2-core AMD EPYC CPU without native bf16
# (results/training/README.md).
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/diffuseq-ts-small-9k}

further "$RUN" 2600 checkpoints/diffuseq-ts-small task=ts data.seq_len=96 train.lr=5e-4 train.decay_steps=650
done_message "$RUN" diffuseq-ts-small-9k
