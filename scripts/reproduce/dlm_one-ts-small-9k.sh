#!/usr/bin/env bash
# checkpoints/dlm_one-ts-small-9k-stage1: the DLM-One one-step student of checkpoints/diffuseq-ts-small-9k (the ts
# teacher trained to 9,000 updates), with the settings and update count of dlm_one-ts-small.sh: the single stage of
# DLM-One Table 5's Wiki-Auto row, 450 generator updates of batch 32, the best by 1-step validation BLEU on 64
# sources of the valid split. Options: see common.sh (DRY_RUN=1 prints the command).
#
# Hardware of the original: an idle 2-core AMD EPYC CPU without native bf16, both threads (threads=0), fp32
# (dlm_one.precision's default); the folder's config.json holds the command, commit and update of its export.
#
# The command distils the stage (resumable: rerun after an interruption), then writes the student's row into
# $RUN/results. The committed rows were then made from the committed folder with student_path=.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/dlm_one-ts-small-9k}

run "$PY" -m experiments.run method=dlm_one task=ts teacher_path=checkpoints/diffuseq-ts-small-9k \
  dlm_one.stage1_steps=450 distill.max_minutes=0 run_dir="$RUN" results_dir="$RUN/results"
echo "reproduced checkpoints/dlm_one-ts-small-9k-stage1 in $RUN/stage1/student; to use it:" \
     "rm -rf checkpoints/dlm_one-ts-small-9k-stage1 && cp -r $RUN/stage1/student checkpoints/dlm_one-ts-small-9k-stage1"
