#!/usr/bin/env bash
# checkpoints/diffuseq-qqp-small-45k-sc: checkpoints/diffuseq-qqp-small-37k trained for 8,000 more updates of batch 32
# in fp32 with self-conditioning (diffuseq.self_condition=true; teachers/diffuseq_self_condition.py): 45,000 in all.
# Everything else is the recipe of diffuseq-qqp-small-45k.sh, which trained the same folder the same 8,000 updates
# without it, so the two differ in self-conditioning alone: a fresh optimizer and loss-aware history, 200 warm-up
# steps to lr 1.5e-4, constant, then a linear decay to 1.5e-5 over the last 2,000. The new input's projection
# starts at zero, so training starts from the 37k teacher's function.
# Options: see common.sh (DRY_RUN=1 prints the commands).
#
# What differs from the original: it ran at commit 7388e0c, whose training flipped one self-conditioning coin per
# batch (Analog Bits' Algorithm 1); the code now flips one per example (same expectation, constant cost per update).
#
# Hardware and time of the original: 2 threads (threads=2) of an idle 2-core AMD EPYC CPU without native bf16, 81
# minutes (results/training/diffuseq-qqp-small-45k-sc.json).
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/diffuseq-qqp-small-45k-sc}

further "$RUN" 8000 checkpoints/diffuseq-qqp-small-37k task=qqp train.lr=1.5e-4 train.decay_steps=2000 \
  diffuseq.self_condition=true
done_message "$RUN" diffuseq-qqp-small-45k-sc
