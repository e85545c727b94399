#!/usr/bin/env bash
# checkpoints/mdlm-shakespeare-small: the MDLM teacher (DiT small, 4.1M parameters, char tinyshakespeare, seq_len 128),
# 17,800 steps of batch 32 in three phases. Options: see common.sh (DRY_RUN=1 prints the commands).
#
# Hardware and time of the original: one thread (threads=1) on a shared 2-core Intel Xeon CPU, beside other runs;
# 232.7 minutes of training in all (about 5,200 tokens/s; results/training/README.md), of which phase 1 took 54.9,
# phase 2 72.9 and phase 3 104.9 (minutes redone after restarts included).
#
# Differences from the original run:
# * Phase 1 ran as two time-bounded segments (45 + 32 minutes): the first used an EMA without warm-up, so the second
#   restarted it (train.reset_ema=true). The EMA warm-up rule, the default since, makes that restart unnecessary; the
#   phase is bounded by the step it reached instead (the lr is constant, so where it stopped does not change it).
# * Batches are drawn from core.seeding's derived streams since commit 6bab536 (before: torch seed 1,000,003·seed +
#   step): other batches of the same data.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/mdlm-shakespeare-small}
COMMON=(teacher=mdlm corpus=shakespeare preset=small threads=1)

# 1. lr 1e-3 (configs/teachers/mdlm.yaml), 200 warm-up steps, then constant.
#    originally: ... train.max_steps=8000 train.max_minutes=45, then train.max_minutes=32 train.reset_ema=true
#    (commit e96a0ac, uncommitted changes), stopped at step 3,143
phase "$RUN" 3143 "${COMMON[@]}"
# 2. constant 1e-3, then a linear decay to 1e-4 over the last 1,500 steps (wsd).
#    originally: the same command with train.max_minutes=95 (commit afdcb5b)
phase "$RUN" 6800 "${COMMON[@]}" train.lr_schedule=wsd train.decay_steps=1500
# 3. back to a peak of 6e-4 (below the first 1e-3: it resumes from a decayed state), constant, then a second linear
#    decay over the last 3,000 steps. originally: the same command with train.max_minutes=118 (commit a361fa1, clean)
phase "$RUN" 17800 "${COMMON[@]}" train.lr=6e-4 train.lr_schedule=wsd train.decay_steps=3000
done_message "$RUN" mdlm-shakespeare-small
