#!/usr/bin/env bash
# Session compute lane B: MDLM -> its sweep + real text -> SEDD -> its sweep -> DiffuSeq qqp.
set -x
cd "$(dirname "$0")/.."
PY=.venv/bin/python
while pgrep -f "teacher=mdlm corpus" >/dev/null; do sleep 20; done
rm -rf checkpoints/mdlm-shakespeare-small && cp -r runs/mdlm-shakespeare-small/pretrained checkpoints/mdlm-shakespeare-small
while [ ! -f checkpoints/ar-shakespeare-small/config.json ]; do sleep 20; done
$PY -m experiments.run method=real_text threads=1
for k in 8 16 32 64 128 256 1024; do $PY -m experiments.run teacher=mdlm steps=$k threads=1; done
$PY -m experiments.pretrain teacher=sedd corpus=shakespeare preset=small threads=1 train.max_steps=8000 train.max_minutes=32
rm -rf checkpoints/sedd-shakespeare-small && cp -r runs/sedd-shakespeare-small/pretrained checkpoints/sedd-shakespeare-small
for k in 8 16 32 64 128 256 1024; do $PY -m experiments.run teacher=sedd steps=$k threads=1; done
echo LANE_B_DONE
