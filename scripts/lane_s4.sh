#!/usr/bin/env bash
# Session 4 compute.
#   diffuseq-rows TASK [N]   re-run the DiffuSeq result rows of TASK (qqp|ts) with the committed teacher (N samples
#              at 1000 and 2000 steps, default 64), after the fix that draws the sampler's noise from its own stream
#              (core/seeding.py): until then the prior noise of seed s was the embedding table the model was
#              initialised with under seed s.
#   SEDD and Duo finish with scripts/lane_s3.sh sedd|duo, then scripts/lane_s3_eval.sh sedd|duo.
set -x
cd "$(dirname "$0")/.."
PY=.venv/bin/python
case "$1" in
  diffuseq-rows)
    rm -f results/diffuseq-$2-small-steps*
    for k in 1 10 100; do $PY -m experiments.run teacher=diffuseq task=$2 steps=$k sampling.num_samples=64 threads=1; done
    for k in 1 10; do $PY -m experiments.run teacher=diffuseq task=$2 steps=$k sampling.num_samples=64 diffuseq.candidates=10 threads=1; done
    for k in 1000 2000; do $PY -m experiments.run teacher=diffuseq task=$2 steps=$k sampling.num_samples=${3:-64} threads=1; done ;;
esac
