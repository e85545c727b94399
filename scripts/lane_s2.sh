#!/usr/bin/env bash
# Session 2 compute: continue the three discrete teachers from their session-1 checkpoints (runs/<run>/checkpoint)
# with a final linear lr decay (wsd), then re-export. One lane per teacher, 1 thread each.
set -x
cd "$(dirname "$0")/.."
PY=.venv/bin/python
case "$1" in
  mdlm) $PY -m experiments.pretrain teacher=mdlm corpus=shakespeare preset=small threads=1 train.max_steps=6800 train.lr_schedule=wsd train.decay_steps=1500 train.max_minutes=95 ;;
  sedd) $PY -m experiments.pretrain teacher=sedd corpus=shakespeare preset=small threads=1 train.max_steps=5800 train.lr_schedule=wsd train.decay_steps=1500 train.max_minutes=95 ;;
  duo)  $PY -m experiments.pretrain teacher=duo corpus=shakespeare preset=small threads=1 train.max_steps=6000 train.lr_schedule=wsd train.decay_steps=1500 train.max_minutes=95 duo.curriculum_end=800 ;;
  # DiffuSeq on the strongest-signal task (Turk simplification: targets are near-copies of their sources).
  diffuseq-ts) $PY -m experiments.pretrain teacher=diffuseq task=ts preset=small threads=1 data.seq_len=96 train.lr=5e-4 train.max_steps=2400 train.lr_schedule=wsd train.decay_steps=700 train.max_minutes=80 train.eval_every=500 ;;
esac
