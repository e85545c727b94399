#!/usr/bin/env bash
# Session 2: after scripts/lane_s2.sh <teacher> finishes, export its EMA weights to checkpoints/ and sweep the steps.
#   scripts/lane_s2_eval.sh mdlm|sedd|duo|dcd|diffuseq-ts
set -x
cd "$(dirname "$0")/.."
PY=.venv/bin/python
source scripts/lane_common.sh
case "$1" in
  mdlm|sedd|duo)
    export_run "experiments.pretrain teacher=$1 corpus" "$1-shakespeare-small" "$1-shakespeare-small"
    for k in 1024 256 128 64 32 16 8; do $PY -m experiments.run teacher=$1 steps=$k threads=1; done ;;
  dcd)   # re-distil from the new Duo teacher: wait for its export, start a fresh run (not a resume of the old one)
    while pgrep -f "experiments.pretrain teacher=duo corpus" >/dev/null; do sleep 20; done; sleep 60
    test ! -d runs/dcd-shakespeare-small || mv runs/dcd-shakespeare-small runs/dcd-shakespeare-small.old
    $PY -m experiments.pretrain teacher=dcd corpus=shakespeare preset=small threads=1 train.max_minutes=18
    export_run "experiments.pretrain teacher=dcd corpus" dcd-shakespeare-small dcd-shakespeare-small
    for k in 1 2 4 8 16 32 64; do $PY -m experiments.run teacher=dcd steps=$k threads=1; done ;;
  diffuseq-ts)   # 2000 steps on 32 sources and MBR-10 only at 1 and 10 steps: the CPU budget of this session
    export_run "experiments.pretrain teacher=diffuseq task=ts" diffuseq-ts-small diffuseq-ts-small
    for k in 1 10 100 1000; do $PY -m experiments.run teacher=diffuseq task=ts steps=$k sampling.num_samples=64 threads=1; done
    $PY -m experiments.run teacher=diffuseq task=ts steps=2000 sampling.num_samples=32 threads=1
    for k in 1 10; do $PY -m experiments.run teacher=diffuseq task=ts steps=$k sampling.num_samples=64 diffuseq.candidates=10 threads=1; done ;;
  diffuseq-qqp)  # re-score the qqp teacher under the tokenizer-view references (the session-1 rows used raw ones)
    while pgrep -f "lane_s2_eval.sh mdlm" >/dev/null; do sleep 20; done
    rm -f results/diffuseq-qqp-small-steps*
    for k in 1 10 100; do $PY -m experiments.run teacher=diffuseq task=qqp steps=$k sampling.num_samples=64 threads=1; done
    for k in 1 10; do $PY -m experiments.run teacher=diffuseq task=qqp steps=$k sampling.num_samples=64 diffuseq.candidates=10 threads=1; done
    $PY -m experiments.run teacher=diffuseq task=qqp steps=1000 sampling.num_samples=32 threads=1 ;;
esac
