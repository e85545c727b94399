#!/usr/bin/env bash
# checkpoints/dlm_one-qqp-small-stage1 and -stage2: DLM-One one-step students of checkpoints/diffuseq-qqp-small,
# the two stages of DLM-One Table 5 (QQP rows) with the CPU-scale choices listed in dlm_one/README.md, 450 + 300
# generator updates of batch 32, each stage's best by 1-step validation BLEU on 64 sources of the valid split.
# Options: see common.sh (DRY_RUN=1 prints the command).
#
# Hardware and time of the original: one thread (threads=1) on a shared 2-core Intel Xeon CPU; see the provenance in
# each folder's config.json and runs/<run>/stage<s>/log.jsonl (elapsed_s) of a rerun.
#
# One command distils both stages (each resumable: rerun after an interruption), then writes the rows of both
# students into $RUN/results. The committed rows were then made from the committed folders with student_path=.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/dlm_one-qqp-small}

run "$PY" -m experiments.run method=dlm_one task=qqp threads=1 dlm_one.stage1_steps=450 dlm_one.stage2_steps=300 \
  distill.max_minutes=22 run_dir="$RUN" results_dir="$RUN/results"
for stage in 1 2; do
  echo "reproduced checkpoints/dlm_one-qqp-small-stage$stage in $RUN/stage$stage/student; to use it:" \
       "rm -rf checkpoints/dlm_one-qqp-small-stage$stage && cp -r $RUN/stage$stage/student checkpoints/dlm_one-qqp-small-stage$stage"
done
