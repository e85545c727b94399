#!/usr/bin/env bash
# checkpoints/dlm_one-qg-small-15k-stage1 and -stage2: DLM-One one-step students of checkpoints/diffuseq-qg-small-15k
# (the qg teacher trained to 15,000 updates), with the settings and update counts of dlm_one-qg-small.sh: 450 + 300
# generator updates of batch 32, each stage's best by 1-step validation BLEU on 64 sources of the valid split.
# Options: see common.sh (DRY_RUN=1 prints the command).
#
# Hardware of the original: an idle 2-core AMD EPYC CPU without native bf16, both threads (threads=0), fp32
# (dlm_one.precision's default); each folder's config.json holds the command, commit and update of its export.
#
# One command distils both stages (each resumable: rerun after an interruption), then writes the rows of both
# students into $RUN/results. The committed rows were then made from the committed folders with student_path=.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/dlm_one-qg-small-15k}

students "$RUN" dlm_one-qg-small-15k 2 task=qg teacher_path=checkpoints/diffuseq-qg-small-15k \
  dlm_one.stage1_steps=450 dlm_one.stage2_steps=300 distill.max_minutes=0
