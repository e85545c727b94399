#!/usr/bin/env bash
# DLM-One's CPU-scale settings re-checked on the valid split: stage 1 on TASK (default qqp) with the committed
# settings and with each of the three that were first set on test sources changed back to the paper's (DLM-One
# Table 5) or the SiDA code's choice:
#   default   t_init 1999, fake_lr 1e-4, discriminator read-out `linear` (experiments/configs/defaults.yaml)
#   tinit1490 dlm_one.t_init=1490      (Table 5's generator level)
#   fakelr    dlm_one.fake_lr=0        (Table 5's fake / discriminator lr)
#   mean      dlm_one.readout=mean     (SiDA's channel-mean logits)
# and, beside them, the same default settings distilling a teacher trained further (each for its own TASK):
#   teacher27k teacher_path=checkpoints/diffuseq-qqp-small-27k  (TASK=qqp: the qqp teacher trained to 27,000 updates)
#   teacher11k teacher_path=checkpoints/diffuseq-qg-small-11k   (TASK=qg: the qg teacher trained to 11,000 updates)
#   teacher15k teacher_path=checkpoints/diffuseq-qg-small-15k   (TASK=qg: the qg teacher trained to 15,000 updates)
# and, for that 15k teacher, whose students peaked after 50 updates and then fell, the two settings that pace the
# generator's opponent changed one at a time:
#   teacher15k-fakelr   dlm_one.fake_lr=0               (Table 5's fake / discriminator lr: 1e-5 on qg, a tenth of ours)
#   teacher15k-noadv    dlm_one.adversarial=false       (plain SiD: no discriminator term in either role)
# Every variant trains STEPS generator updates (default 450, the committed stage 1's) and validates every 25 on the
# first 64 valid sources (1-step BLEU; the checkpoint selection's metric). The validation records of each run are
# copied to results/training/dlm_one-<task>-settings-<variant>.log.jsonl, which `python -m experiments.reports all`
# tabulates in results/tables/dlm_one.md. Rerun after an interruption: each run resumes.
#   DRY_RUN=1 scripts/dlm_one_settings.sh    print the commands
#   ONLY="default mean" scripts/dlm_one_settings.sh    run these variants only
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PY:-.venv/bin/python}
TASK=${TASK:-qqp}
STEPS=${STEPS:-450}
RUN=${RUN:-runs/dlm_one-$TASK-settings}
declare -A VARIANTS=([default]="" [tinit1490]="dlm_one.t_init=1490" [fakelr]="dlm_one.fake_lr=0"
                     [mean]="dlm_one.readout=mean" [teacher27k]="teacher_path=checkpoints/diffuseq-qqp-small-27k"
                     [teacher11k]="teacher_path=checkpoints/diffuseq-qg-small-11k"
                     [teacher15k]="teacher_path=checkpoints/diffuseq-qg-small-15k"
                     [teacher15k-fakelr]="teacher_path=checkpoints/diffuseq-qg-small-15k dlm_one.fake_lr=0"
                     [teacher15k-noadv]="teacher_path=checkpoints/diffuseq-qg-small-15k dlm_one.adversarial=false")
for name in ${ONLY:-default tinit1490 fakelr mean}; do
  if [ -z "${VARIANTS[$name]+set}" ]; then echo "ONLY: unknown variant $name (${!VARIANTS[*]})" >&2; exit 2; fi
  # shellcheck disable=SC2086  # a variant is zero or more key=value words
  cmd=("$PY" -m experiments.run method=dlm_one task="$TASK" dlm_one.stages=1 dlm_one.stage1_steps="$STEPS"
       distill.max_minutes=0 ${VARIANTS[$name]} run_dir="$RUN/$name" results_dir="$RUN/$name/results")
  if [ -n "${DRY_RUN:-}" ]; then echo "${cmd[*]}"; continue; fi
  "${cmd[@]}"
  grep '"val/bleu"' "$RUN/$name/stage1/log.jsonl" > "results/training/dlm_one-$TASK-settings-$name.log.jsonl"
done
