#!/usr/bin/env bash
# checkpoints/dlm_one-qqp-small-27k-stage1 and -stage2: DLM-One one-step students of checkpoints/diffuseq-qqp-small-27k
# (the qqp teacher trained to 27,000 updates), with the settings and update counts of dlm_one-qqp-small.sh: 450 + 300
# generator updates of batch 32, each stage's best by 1-step validation BLEU on 64 sources of the valid split.
# Options: see common.sh (DRY_RUN=1 prints the command).
#
# Hardware of the original: an idle 2-core AMD EPYC CPU without native bf16, both threads (threads=0), fp32
# (dlm_one.precision's default); each folder's config.json holds the command, commit and update of its export.
#
# One command distils both stages (each resumable: rerun after an interruption), then writes the rows of both
# students into $RUN/results. The committed folders come from this distillation run as run_dir=runs/dlm_one-qqp-27k
# with sampling.num_samples=444 results_dir=results (their config.json records it; no key of these changes the
# training); the committed rows were then made from the committed folders with student_path=.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/dlm_one-qqp-small-27k}

students "$RUN" dlm_one-qqp-small-27k 2 task=qqp teacher_path=checkpoints/diffuseq-qqp-small-27k \
  dlm_one.stage1_steps=450 dlm_one.stage2_steps=300 distill.max_minutes=0
