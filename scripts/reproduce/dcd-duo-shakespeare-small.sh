#!/usr/bin/env bash
# checkpoints/dcd-duo-shakespeare-small: a Duo-DCD student of checkpoints/duo-shakespeare-small made by the method
# (baselines/dcd.py, experiments/dcd.py), distilled to 8 steps in 4 rounds of 700 optimizer steps of batch 32 (dt =
# 1/64, 2/64, 4/64, 8/64; the frozen teacher <- the student's EMA at every round start), lr 6e-5 (the Duo code's)
# with the distill: block's other settings, in fp32: the common budget of every distillation method (268,800
# sequence passes at 96 per update, the Makefile's DISTILL_BUDGET). The student is the EMA after the last round.
# Not to be confused with checkpoints/duo_distilled-shakespeare-small, the Duo model after DCD that
# `experiments.pretrain teacher=duo_distilled` made from an earlier Duo.
# Options: see common.sh (DRY_RUN=1 prints the command).
#
# Hardware and time of the original: both cores of an idle 2-core AMD EPYC CPU (avx512_bf16, run in fp32);
# `provenance.cost` in config.json holds its CPU time, command and commit.
#
# One command distils (resumable: rerun after an interruption), then writes the student's row at 8 steps beside the
# Duo teacher's sweeps at 8 and 1024 steps and the entropy-matched teacher into $RUN/results. The 1024-step sweep
# is T = 0.7 and 1 only: those bracket the student's entropy, and each 256-sample temperature at 1024 steps costs
# about 38 minutes here.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/dcd-duo-shakespeare-small}

run "$PY" -m experiments.run method=dcd teacher=duo steps=8 dcd.update_teacher_every=700 distill.lr=6e-5 \
  distill.budget=268800 distill.max_minutes=0 distill.precision=fp32 sampling.num_samples=256 \
  'eval.frontier_temperatures=[0.7]' run_dir="$RUN" results_dir="$RUN/results"
echo "reproduced checkpoints/dcd-duo-shakespeare-small in $RUN/student; to use it:" \
     "rm -rf checkpoints/dcd-duo-shakespeare-small && cp -r $RUN/student checkpoints/dcd-duo-shakespeare-small"
