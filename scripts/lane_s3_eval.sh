#!/usr/bin/env bash
# Session 3: after scripts/lane_s3.sh <teacher> finishes, export its EMA weights to checkpoints/ and sweep the steps.
# The 1024-step row (the "within 2× of real text" criterion) uses 256 samples, as does the real-text row, so the
# ratio is read against a bootstrap interval of about ±4% rather than ±7%.
#   scripts/lane_s3_eval.sh mdlm|sedd
set -x
cd "$(dirname "$0")/.."
PY=.venv/bin/python
case "$1" in
  mdlm|sedd)
    while pgrep -f "experiments.pretrain teacher=$1 corpus" >/dev/null; do sleep 20; done
    rm -rf "checkpoints/$1-shakespeare-small" && cp -r "runs/$1-shakespeare-small/pretrained" "checkpoints/$1-shakespeare-small"
    $PY -m experiments.run teacher=$1 steps=1024 sampling.num_samples=256 threads=1
    for k in 256 128 64 32 16 8; do $PY -m experiments.run teacher=$1 steps=$k threads=1; done ;;
esac
