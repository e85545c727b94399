#!/usr/bin/env bash
# The test rows of a DiffuSeq teacher folder, as the committed teacher's were made: 1 and 10 steps on every test
# source, 2000 steps on the first 64 (about half a minute per source on 2 CPU threads). The rows land beside the
# committed teacher's in results/rows/ (their names end in -from-<folder>-<hash>); `python -m experiments.reports
# all` puts them in the "DiffuSeq teachers" table of results/tables/dlm_one.md, each paired per source against the
# reported teacher's row at the same steps (the committed one, unless experiments/reports/kinds.py's
# REPORTED_TEACHERS names a folder trained further).
#   scripts/teacher_rows.sh checkpoints/diffuseq-qg-small-11k
#   STEPS="1 10" scripts/teacher_rows.sh <folder>     some step counts only
#   DRY_RUN=1 scripts/teacher_rows.sh <folder>        print the commands
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PY:-.venv/bin/python}
RESULTS=${RESULTS:-results}
FOLDER=${1:?usage: scripts/teacher_rows.sh checkpoints/<diffuseq folder>}
if [ ! -f "$FOLDER/config.json" ]; then echo "$FOLDER/config.json: not found (a DiffuSeq teacher folder)" >&2; exit 2; fi
TASK=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("task", ""))' "$FOLDER/config.json")
# every test source, as the committed rows count them: qqp 427, qg 1,112, ts 201 with 8 references each
declare -A ALL_SOURCES=([qqp]="sampling.num_samples=444" [qg]="sampling.num_samples=1119" [ts]="sampling.num_samples=1608")
if [ -z "${ALL_SOURCES[$TASK]+set}" ]; then echo "$FOLDER/config.json: task '$TASK' is not qqp, qg or ts" >&2; exit 2; fi
for steps in ${STEPS:-1 10 2000}; do
  samples=${ALL_SOURCES[$TASK]}
  if [ "$steps" -gt 10 ]; then samples="sampling.num_samples=64"; fi
  # shellcheck disable=SC2086  # samples is one key=value
  cmd=("$PY" -m experiments.run results_dir="$RESULTS" teacher=diffuseq task="$TASK" steps="$steps" $samples
       teacher_path="$FOLDER")
  if [ -n "${DRY_RUN:-}" ]; then echo "${cmd[*]}"; else "${cmd[@]}"; fi
done
