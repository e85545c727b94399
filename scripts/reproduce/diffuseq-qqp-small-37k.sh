#!/usr/bin/env bash
# checkpoints/diffuseq-qqp-small-37k: checkpoints/diffuseq-qqp-small-27k trained for 10,000 more updates of batch 32 in
# fp32: 37,000 in all. Same architecture, task vocabulary (6,076) and loss-aware timestep sampler; a fresh optimizer
# and loss-aware history; 200 warm-up steps to lr 1.5e-4, constant, then a linear decay to 1.5e-5 over the last
# 2,000. Half the peak lr of the earlier runs (a choice, not tuned): the 27k run re-warmed a decayed model to 3e-4,
# and its 10-step validation BLEU was 0.040 at update 1,000 and reached 0.066 only at 3,000 (results/STATUS.md).
# Options: see common.sh (DRY_RUN=1 prints the commands).
#
# Hardware and time of the original: 2 threads (threads=2) of an idle 2-core AMD EPYC CPU without native bf16, about
# 2 updates/s (results/training/README.md).
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/diffuseq-qqp-small-37k}

further "$RUN" 10000 checkpoints/diffuseq-qqp-small-27k task=qqp train.lr=1.5e-4 train.decay_steps=2000
done_message "$RUN" diffuseq-qqp-small-37k
