#!/usr/bin/env bash
# Session compute lane C: DiffuSeq on qqp -> its step sweep (single sample) and MBR-10 rows.
set -x
cd "$(dirname "$0")/.."
PY=.venv/bin/python
$PY -m experiments.pretrain teacher=diffuseq task=qqp preset=small threads=1 train.max_steps=20000 train.max_minutes=45 train.eval_every=500
rm -rf checkpoints/diffuseq-qqp-small && cp -r runs/diffuseq-qqp-small/pretrained checkpoints/diffuseq-qqp-small
for k in 1 10 100 1000 2000; do $PY -m experiments.run teacher=diffuseq task=qqp steps=$k sampling.num_samples=64 threads=1; done
for k in 1 10 100; do $PY -m experiments.run teacher=diffuseq task=qqp steps=$k sampling.num_samples=64 diffuseq.candidates=10 threads=1; done
echo LANE_C_DONE
