#!/usr/bin/env bash
# checkpoints/diffuseq-qqp-small: the DiffuSeq teacher on the embedded QQP split (task vocabulary 6,076, seq_len 64,
# 4.4M parameters), trained with DiffuSeq's loss-aware timestep sampler, 15,000 steps of batch 32 in two phases.
# Options: see common.sh (DRY_RUN=1 prints the commands).
#
# Hardware and time of the original: one thread (threads=1) on a shared 2-core Intel Xeon CPU, beside other runs;
# 110.7 minutes of training in all (about 4,600 tokens/s; results/training/README.md).
#
# Differences from the original run:
# * Phase 1 was stopped by hand at step 3,250, once it led a uniform-t run at every validation; here it is bounded by
#   that step (its lr is constant, so where it stopped does not change it).
# * Phase 2 of the original started with an empty loss-aware history (the history is saved with the checkpoint since
#   commit fcac1e4), and its validation losses entered that history (they do not since commit 7342eae).
# * Batches are drawn from core.seeding's derived streams since commit 6bab536: other batches of the same data.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/diffuseq-qqp-small}
COMMON=(teacher=diffuseq task=qqp preset=small threads=1 diffuseq.timestep_sampler=lossaware train.eval_every=500)

# 1. lr 3e-4 (configs/teachers/diffuseq.yaml), 200 warm-up steps, then constant.
#    originally: ... train.max_steps=20000 train.max_minutes=50, stopped by hand at step 3,250
phase "$RUN" 3250 "${COMMON[@]}"
# 2. constant 3e-4, then a linear decay to 3e-5 over the last 2,500 steps (wsd).
#    originally: the same command with train.max_minutes=100 (commit 66d2bc1, uncommitted changes)
phase "$RUN" 15000 "${COMMON[@]}" train.lr_schedule=wsd train.decay_steps=2500
done_message "$RUN" diffuseq-qqp-small
