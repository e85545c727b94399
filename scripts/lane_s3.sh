#!/usr/bin/env bash
# Session 3 compute (2 cores, one lane each, 1 thread per process):
#   mdlm       continue MDLM from its session-2 checkpoint (runs/mdlm-shakespeare-small/checkpoint): the lr jumps back
#              to 6e-4 (below the 1e-3 peak, since the run resumes from a decayed state), stays there, then a second
#              wsd decay over the last 3000 steps. Afterwards: scripts/lane_s3_eval.sh mdlm (export + sweep).
#   sedd, duo  the same continuation as mdlm but shorter (to step 14000, decay over its last 3000 steps), so that it
#              and its evaluation fit one sitting: started in the last 40 minutes of session 3 (constant lr from
#              step ~6000; the wsd lr depends only on max_steps, so that segment is the same under either end step),
#              finished in session 4 by the same command. Afterwards: scripts/lane_s3_eval.sh sedd|duo.
#   diffuseq-qqp-lossaware   A/B against the session-1 qqp teacher: identical settings except DiffuSeq's own
#              "lossaware" timestep sampler (its training scripts' default) in place of uniform t.
set -x
cd "$(dirname "$0")/.."
PY=.venv/bin/python
case "$1" in
  mdlm) $PY -m experiments.pretrain teacher=mdlm corpus=shakespeare preset=small threads=1 train.max_steps=17800 train.lr=6e-4 train.lr_schedule=wsd train.decay_steps=3000 train.max_minutes=118 ;;
  sedd) $PY -m experiments.pretrain teacher=sedd corpus=shakespeare preset=small threads=1 train.max_steps=14000 train.lr=6e-4 train.lr_schedule=wsd train.decay_steps=3000 train.max_minutes=110 ;;
  duo)  $PY -m experiments.pretrain teacher=duo corpus=shakespeare preset=small threads=1 train.max_steps=14000 train.lr=6e-4 train.lr_schedule=wsd train.decay_steps=3000 train.max_minutes=110 duo.curriculum_end=800 ;;
  # first segment: constant lr, stopped by hand at step 3250 once it led the uniform run at every validation;
  # second segment: resumed with a wsd decay to the end
  diffuseq-qqp-lossaware)
    $PY -m experiments.pretrain teacher=diffuseq task=qqp preset=small threads=1 diffuseq.timestep_sampler=lossaware run_dir=runs/diffuseq-qqp-lossaware train.max_steps=20000 train.max_minutes=50 train.eval_every=500
    $PY -m experiments.pretrain teacher=diffuseq task=qqp preset=small threads=1 diffuseq.timestep_sampler=lossaware run_dir=runs/diffuseq-qqp-lossaware train.max_steps=15000 train.lr_schedule=wsd train.decay_steps=2500 train.max_minutes=100 train.eval_every=500 ;;
esac
