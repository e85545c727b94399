#!/usr/bin/env bash
# Session 5 compute.
#   diffuseq-qg   the qg (Quasar-T question generation) DiffuSeq teacher: DiffuSeq's loss-aware timestep sampler as
#              for qqp; seq_len 80 covers 95% of the split's source+target rows (p95 = 70 tokens, task vocabulary
#              15,627); 5,000 steps fit one core in about 85 minutes.
#   diffuseq-ts-lossaware   the session-2 ts teacher (uniform t, 2,400 steps, still improving) continued in a copy of
#              its run with the loss-aware timestep sampler to step 6,400 (its loss history starts empty: uniform t
#              until every t has 10 losses).
#   diffuseq-rows TASK [N]   as in scripts/lane_s4.sh.
set -x
cd "$(dirname "$0")/.."
PY=.venv/bin/python
case "$1" in
  diffuseq-qg) $PY -m experiments.pretrain teacher=diffuseq task=qg preset=small threads=1 data.seq_len=80 diffuseq.timestep_sampler=lossaware train.lr=5e-4 train.max_steps=5000 train.lr_schedule=wsd train.decay_steps=1200 train.max_minutes=95 train.eval_every=500 ;;
  diffuseq-ts-lossaware)
    test -d runs/diffuseq-ts-lossaware || cp -r runs/diffuseq-ts-small runs/diffuseq-ts-lossaware
    $PY -m experiments.pretrain teacher=diffuseq task=ts preset=small threads=1 data.seq_len=96 diffuseq.timestep_sampler=lossaware run_dir=runs/diffuseq-ts-lossaware train.lr=3e-4 train.max_steps=6400 train.lr_schedule=wsd train.decay_steps=1200 train.max_minutes=80 train.eval_every=500 ;;
  diffuseq-rows) exec scripts/lane_s4.sh "$@" ;;
esac
