#!/usr/bin/env bash
# checkpoints/duo_distilled-shakespeare-small: the Duo model after DCD, a few-step model (DiT small, 4.1M parameters),
# distilled with discrete consistency distillation from the Duo teacher at step 6,000 (phases 1-2 of
# duo-shakespeare-small.sh; not the committed step-14,000 Duo, which came later), 1,402 steps of batch 32. Options: see
# common.sh.
#
# Hardware and time of the original: one thread (threads=1) on a shared 2-core Intel Xeon CPU, beside other runs;
# 18.0 minutes of distillation (about 5,300 tokens/s; results/training/README.md), after the 110.3 minutes of its Duo.
#
# Differences from the original run:
# * The distillation was bounded by time (18 minutes); it is bounded by the step it reached here (its lr is constant,
#   so where it stopped does not change it).
# * Batches are drawn from core.seeding's derived streams since commit 6bab536: other batches of the same data.
# * The model was named dcd then (teacher=dcd, checkpoints/dcd-shakespeare-small, "family": "dcd" in its config.json,
#   which loads as duo_distilled); the run folder here is named after the model's name today.
source "$(dirname "$0")/common.sh"
DUO=${DUO:-runs/reproduce/duo-for-dcd}
RUN=${RUN:-runs/reproduce/duo_distilled-shakespeare-small}

# 1. the Duo teacher to step 6,000, in a run of its own (the full Duo continues to 14,000)
RUN="$DUO" UNTIL=6000 scripts/reproduce/duo-shakespeare-small.sh
# 2. DCD from that teacher: lr 1e-4 and 50 warm-up steps (configs/teachers/duo_distilled.yaml), constant; dt doubles
#    every 300 steps, when the frozen teacher is refreshed from the student's EMA.
#    originally: python -m experiments.pretrain teacher=dcd corpus=shakespeare preset=small threads=1
#    train.max_minutes=18 (commit e5e1ffc, uncommitted changes), with the then-committed Duo; stopped at step 1,402
phase "$RUN" 1402 teacher=duo_distilled corpus=shakespeare preset=small threads=1 teacher_path="$DUO/pretrained"
done_message "$RUN" duo_distilled-shakespeare-small
