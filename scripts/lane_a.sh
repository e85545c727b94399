#!/usr/bin/env bash
# Session compute lane A: AR evaluator -> Duo -> DCD -> their sweeps. Each step is a project command.
set -x
cd "$(dirname "$0")/.."
PY=.venv/bin/python
while pgrep -f "teacher=ar corpus" >/dev/null; do sleep 20; done
rm -rf checkpoints/ar-shakespeare-small && cp -r runs/ar-shakespeare-small/pretrained checkpoints/ar-shakespeare-small
$PY -m experiments.pretrain teacher=duo corpus=shakespeare preset=small threads=1 train.max_steps=8000 train.max_minutes=35 duo.curriculum_end=800
rm -rf checkpoints/duo-shakespeare-small && cp -r runs/duo-shakespeare-small/pretrained checkpoints/duo-shakespeare-small
$PY -m experiments.pretrain teacher=dcd corpus=shakespeare preset=small threads=1 train.max_minutes=22
rm -rf checkpoints/dcd-shakespeare-small && cp -r runs/dcd-shakespeare-small/pretrained checkpoints/dcd-shakespeare-small
for k in 8 16 32 64 128 256 1024; do $PY -m experiments.run teacher=duo steps=$k threads=1; done
for k in 1 2 4 8 16 32 64; do $PY -m experiments.run teacher=dcd steps=$k threads=1; done
echo LANE_A_DONE
