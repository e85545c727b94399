#!/usr/bin/env bash
# checkpoints/diffuseq-ts-small-12k: checkpoints/diffuseq-ts-small-9k trained for 3,000 more updates of batch 32 in
# fp32: 12,000 in all. Same architecture, task vocabulary (10,802), seq_len 96 and loss-aware timestep sampler; a fresh
# optimizer and loss-aware history; 200 warm-up steps to lr 2.5e-4, constant, then a linear decay to 2.5e-5 over the
# last quarter, 750 steps. Half the peak lr of the 9k run, as the qqp teacher's second continuation halved its own
# (a choice, not tuned): re-warming the decayed 6,400-update model to 5e-4 first set its validation BLEU back.
# Options: see common.sh (DRY_RUN=1 prints the commands).
#
# Hardware and time of the original: 2 threads (threads=2) of an idle 2-core AMD EPYC CPU without native bf16
# (results/training/README.md).
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/diffuseq-ts-small-12k}

further "$RUN" 3000 checkpoints/diffuseq-ts-small-9k task=ts data.seq_len=96 train.lr=2.5e-4 train.decay_steps=750
done_message "$RUN" diffuseq-ts-small-12k
