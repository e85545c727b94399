#!/usr/bin/env bash
# checkpoints/dlm_one-qqp-small-stage1 and -stage2: DLM-One one-step students of checkpoints/diffuseq-qqp-small,
# the two stages of DLM-One Table 5 (QQP rows) with the CPU-scale choices listed in dlm_one/README.md, 450 + 300
# generator updates of batch 32, each stage's best by 1-step validation BLEU on 64 sources of the valid split.
# Options: see common.sh (DRY_RUN=1 prints the command).
#
# Hardware and time of the original: one thread (threads=1) on a shared 2-core Intel Xeon CPU, beside other runs;
# stage 1 took 18.9 minutes (best at update 75 of 450), stage 2 11.1 minutes (best at update 300 of 300), by the
# elapsed_s of their logs; each folder's config.json holds the command, commit and update of its export.
#
# One command distils both stages (each resumable: rerun after an interruption), then writes the rows of both
# students into $RUN/results. The committed rows were then made from the committed folders with student_path=.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/dlm_one-qqp-small}

students "$RUN" dlm_one-qqp-small 2 task=qqp threads=1 dlm_one.stage1_steps=450 dlm_one.stage2_steps=300 \
  distill.max_minutes=22
