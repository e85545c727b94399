#!/usr/bin/env bash
# checkpoints/sdtt-mdlm-shakespeare-small: an SDTT student of checkpoints/mdlm-shakespeare-small (baselines/sdtt.py),
# distilled from 1024 to 8 steps in 7 rounds of 300 optimizer steps of batch 32 (the teacher <- the student and dt
# doubling at every round start) with the distill: block's settings, in fp32: the common budget of every
# distillation method (268,800 sequence passes at 128 per update, the Makefile's DISTILL_BUDGET). The student is the
# EMA after the last round. Options: see common.sh (DRY_RUN=1 prints the command).
#
# Hardware and time of the original: both cores of an idle 2-core Intel Xeon CPU (avx512_bf16, run in fp32);
# `provenance.cost` in config.json holds its CPU time, command and commit.
#
# One command distils (resumable: rerun after an interruption), then writes the student's row at 8 steps beside the
# teacher's sweeps at 8 and 1024 steps and the entropy-matched teacher into $RUN/results.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/sdtt-mdlm-shakespeare-small}

run "$PY" -m experiments.run method=sdtt teacher=mdlm steps=8 distill.budget=268800 distill.max_minutes=0 \
  distill.precision=fp32 sampling.num_samples=256 'eval.frontier_temperatures=[0.7,0.8]' \
  run_dir="$RUN" results_dir="$RUN/results"
echo "reproduced checkpoints/sdtt-mdlm-shakespeare-small in $RUN/student; to use it:" \
     "rm -rf checkpoints/sdtt-mdlm-shakespeare-small && cp -r $RUN/student checkpoints/sdtt-mdlm-shakespeare-small"
