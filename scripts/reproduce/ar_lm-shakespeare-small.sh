#!/usr/bin/env bash
# checkpoints/ar_lm-shakespeare-small: the unconditional AR baseline (the IDLM paper's "Transformer AR" row): the
# reference evaluator's GPT-2 architecture and recipe (4 layers, 256 hidden, 3.2M parameters, char tinyshakespeare,
# context 128), trained as its own run with seed 1 (the evaluator: seed 0), 500 steps of batch 32. Options: see
# common.sh.
#
# Hardware and time of the original: one thread (threads=1) on a shared 2-core Intel Xeon CPU, beside four other
# jobs (load average 5-7): 21 + 6 minutes of training.
#
# Differences from the original run:
# * The first phase ran as teacher=ar (the same recipe, before the ar_lm name existed; only the model card's text
#   differs) with train.max_steps=1200 train.lr_schedule=wsd train.decay_steps=300 and was stopped by
#   train.max_minutes=21 at step 366, before its decay began: its lr was constant after warm-up, as here.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/ar_lm-shakespeare-small}

# lr 1e-3 (configs/teachers/ar_lm.yaml), 200 warm-up steps, then constant
phase "$RUN" 366 teacher=ar_lm corpus=shakespeare preset=small seed=1 threads=1
# then a linear decay to 1e-4 over the last 134 steps (wsd)
phase "$RUN" 500 teacher=ar_lm corpus=shakespeare preset=small seed=1 threads=1 train.lr_schedule=wsd \
  train.decay_steps=134
done_message "$RUN" ar_lm-shakespeare-small
