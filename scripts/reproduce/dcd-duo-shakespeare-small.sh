#!/usr/bin/env bash
# checkpoints/dcd-duo-shakespeare-small: a Duo-DCD student of checkpoints/duo-shakespeare-small made by the method
# (baselines/dcd.py, experiments/dcd.py), distilled to 8 steps in 4 rounds of 60 optimizer steps of batch 32 (dt =
# 1/64, 2/64, 4/64, 8/64; the frozen teacher <- the student's EMA at every round start), lr 6e-5 (the Duo code's)
# with the distill: block's other settings; the student is the EMA after the last round. Not to be confused with
# checkpoints/duo_distilled-shakespeare-small, the Duo model after DCD that `experiments.pretrain
# teacher=duo_distilled` made from an earlier Duo.
# Options: see common.sh (DRY_RUN=1 prints the command).
#
# Hardware and time of the original: one thread (threads=1) on a shared 2-core Intel Xeon CPU, beside other runs;
# 10.6 minutes of distillation (elapsed_s of its log), then the rows; config.json holds its command and commit.
#
# One command distils (resumable: rerun after an interruption), then writes the student's row at 8 steps beside the
# Duo teacher at 8 and 1024 steps and the entropy-matched teacher into $RUN/results.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/dcd-duo-shakespeare-small}

run "$PY" -m experiments.run method=dcd teacher=duo steps=8 threads=1 dcd.update_teacher_every=60 distill.lr=6e-5 \
  distill.max_minutes=0 train.eval_batches=2 run_dir="$RUN" results_dir="$RUN/results"
echo "reproduced checkpoints/dcd-duo-shakespeare-small in $RUN/student; to use it:" \
     "rm -rf checkpoints/dcd-duo-shakespeare-small && cp -r $RUN/student checkpoints/dcd-duo-shakespeare-small"
