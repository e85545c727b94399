#!/usr/bin/env bash
# Session 3: after scripts/lane_s3.sh <teacher> finishes, export its EMA weights to checkpoints/ and sweep the steps.
# The MDLM 1024-step row (the "within 2× of real text" criterion) uses 256 samples, as does the real-text row, so the
# ratio is read against a bootstrap interval of about ±4% rather than ±7%; SEDD and Duo use 64 (cost, see below).
#   scripts/lane_s3_eval.sh mdlm|sedd|duo
#   scripts/lane_s3_eval.sh diffuseq-qqp      the lossaware qqp teacher replaces the committed one; few-step rows
#   scripts/lane_s3_eval.sh diffuseq-qqp-2000 its 2000-step row (run in parallel, on the other core)
set -x
cd "$(dirname "$0")/.."
PY=.venv/bin/python
source scripts/lane_common.sh
case "$1" in
  mdlm|sedd|duo)
    export_run "experiments.pretrain teacher=$1 corpus" "$1-shakespeare-small" "$1-shakespeare-small"
    # SEDD and Duo cannot reuse denoiser outputs as MDLM's cached sampler does (SEDD is σ-conditioned; Duo's x_t
    # changes at every step): 1,025 network calls per sample, about 15 min per batch of 32 on a shared core (session 2), so 64 samples
    n=256; [ "$1" = mdlm ] || n=64
    $PY -m experiments.run teacher=$1 steps=1024 sampling.num_samples=$n threads=1
    for k in 256 128 64 32 16 8; do $PY -m experiments.run teacher=$1 steps=$k threads=1; done ;;
  diffuseq-qqp)
    export_run "run_dir=runs/diffuseq-qqp-lossaware" diffuseq-qqp-lossaware diffuseq-qqp-small
    rm -f results/diffuseq-qqp-small-steps*
    for k in 1 10 100; do $PY -m experiments.run teacher=diffuseq task=qqp steps=$k sampling.num_samples=64 threads=1; done
    for k in 1 10; do $PY -m experiments.run teacher=diffuseq task=qqp steps=$k sampling.num_samples=64 diffuseq.candidates=10 threads=1; done
    $PY -m experiments.run teacher=diffuseq task=qqp steps=1000 sampling.num_samples=32 threads=1 ;;
  diffuseq-qqp-2000)
    while pgrep -f "run_dir=runs/diffuseq-qqp-lossaware" >/dev/null || pgrep -f "lane_s3_eval.sh mdlm" >/dev/null; do sleep 20; done
    sleep 30   # let the other lane swap the checkpoint in
    $PY -m experiments.run teacher=diffuseq task=qqp steps=2000 sampling.num_samples=32 threads=1 ;;
esac
