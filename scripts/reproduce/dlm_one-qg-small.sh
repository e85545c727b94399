#!/usr/bin/env bash
# checkpoints/dlm_one-qg-small-stage1 and -stage2: DLM-One one-step students of checkpoints/diffuseq-qg-small, the
# two stages of DLM-One Table 5 (Quasar-T uses one row for both) with the CPU-scale choices of dlm_one/README.md and
# qqp's update counts (dlm_one-qqp-small.sh): 450 + 300 generator updates of batch 32, each stage's best by 1-step
# validation BLEU on 64 sources of the valid split. Options: see common.sh (DRY_RUN=1 prints the command).
#
# Hardware of the original: an idle 2-core Intel Xeon CPU (avx512_bf16, AMX), both threads (threads=0), fp32
# (dlm_one.precision's default); each folder's config.json holds the command, commit and update of its export.
#
# One command distils both stages (each resumable: rerun after an interruption), then writes the rows of both
# students into $RUN/results. The committed rows were then made from the committed folders with student_path=.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/dlm_one-qg-small}

students "$RUN" dlm_one-qg-small 2 task=qg dlm_one.stage1_steps=450 dlm_one.stage2_steps=300 distill.max_minutes=0
