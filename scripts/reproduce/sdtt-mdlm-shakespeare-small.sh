#!/usr/bin/env bash
# checkpoints/sdtt-mdlm-shakespeare-small: an SDTT student of checkpoints/mdlm-shakespeare-small (baselines/sdtt.py),
# distilled from 1024 to 8 steps in 7 rounds of 60 optimizer steps of batch 32 (the teacher <- the student and dt
# doubling at every round start), lr 3e-4 (the public code's) with the distill: block's other settings; the student
# is the EMA after the last round. Options: see common.sh (DRY_RUN=1 prints the command).
#
# Hardware and time of the original: one thread (threads=1) on a shared 2-core Intel Xeon CPU, beside other runs;
# 32.7 minutes of distillation (elapsed_s of its log), then the rows; config.json holds its command and commit.
#
# One command distils (resumable: rerun after an interruption), then writes the student's row at 8 steps beside the
# teacher at 8 and 1024 steps and the entropy-matched teacher into $RUN/results.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/sdtt-mdlm-shakespeare-small}

run "$PY" -m experiments.run method=sdtt teacher=mdlm steps=8 threads=1 sdtt.steps_per_round=60 distill.lr=3e-4 \
  distill.max_minutes=0 train.eval_batches=2 run_dir="$RUN" results_dir="$RUN/results"
echo "reproduced checkpoints/sdtt-mdlm-shakespeare-small in $RUN/student; to use it:" \
     "rm -rf checkpoints/sdtt-mdlm-shakespeare-small && cp -r $RUN/student checkpoints/sdtt-mdlm-shakespeare-small"
