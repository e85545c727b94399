# Sourced by every script in scripts/reproduce/. Each script retrains one committed model from scratch, phase by
# phase, into runs/reproduce/<folder> (never into a run of the same name you may already have in runs/).
#
#   scripts/reproduce/<folder>.sh              train; rerun it after an interruption and it continues where it stopped
#   DRY_RUN=1 scripts/reproduce/<folder>.sh    print the commands instead of running them
#   PY=python scripts/reproduce/<folder>.sh    another interpreter than the project's .venv
#
# A phase is one `python -m experiments.pretrain` command that resumes the run's checkpoint and trains it to a step
# count; its lr schedule is set by that command (constant, or wsd: constant, then a linear decay to 10% over the last
# train.decay_steps). A phase the run has already passed is skipped.
#
# What a script cannot give is a bit-identical copy: training runs in bf16 autocast on the CPU, and code changed
# between the phases of the original runs (each script lists what differs). It gives the same recipe: the same
# settings, schedule phases and step counts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PY=${PY:-.venv/bin/python}

# run CMD...: run a command, or print it under DRY_RUN
run() {
  if [ -n "${DRY_RUN:-}" ]; then echo "$*"; else "$@"; fi
}

# step_of RUN_DIR: the step of the run's resumable state, 0 when it has none
step_of() {
  local trainer="$1/checkpoint/trainer.json"
  if [ -f "$trainer" ]; then "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["step"])' "$trainer"
  else echo 0; fi
}

# phase RUN_DIR MAX_STEPS KEY=VALUE...: train RUN_DIR to MAX_STEPS with these settings, unless it is already there
# or UNTIL (a step count) ends the script before this phase
phase() {
  local run_dir=$1 max_steps=$2
  shift 2
  if [ -n "${UNTIL:-}" ] && [ "$max_steps" -gt "$UNTIL" ]; then return; fi
  if [ -z "${DRY_RUN:-}" ] && [ "$(step_of "$run_dir")" -ge "$max_steps" ]; then
    echo "$run_dir is at step $max_steps or later: phase skipped"
    return
  fi
  run "$PY" -m experiments.pretrain "$@" run_dir="$run_dir" train.max_steps="$max_steps"
}

# further RUN_DIR MAX_STEPS FROM KEY=VALUE...: one phase that trains the DiffuSeq teacher folder FROM further from its
# weights (train.init_from: a fresh optimizer and loss-aware history; a resumed run keeps its own state, so it only
# seeds the first start), the way every such run here was made: 2 threads in fp32, the loss-aware timestep sampler,
# a wsd schedule, validation every 1,000 updates; KEY=VALUE: the task, its seq_len, the peak lr and decay steps
further() {
  local run_dir=$1 max_steps=$2 from=$3
  shift 3
  phase "$run_dir" "$max_steps" teacher=diffuseq preset=small threads=2 train.precision=fp32 train.init_from="$from" \
    diffuseq.timestep_sampler=lossaware train.lr_schedule=wsd train.eval_every=1000 "$@"
}

# done_message RUN_DIR FOLDER: where the result is, and how to use it in place of the committed folder
done_message() {
  echo "reproduced checkpoints/$2 in $1/pretrained; to use it: rm -rf checkpoints/$2 && cp -r $1/pretrained checkpoints/$2"
}

# students RUN_DIR FOLDER STAGES KEY=VALUE...: distil DLM-One students of a DiffuSeq teacher into RUN_DIR (each stage
# resumable: rerun after an interruption), write both students' rows into RUN_DIR/results, then say where each
# stage's student is and how to use it as checkpoints/FOLDER-stage<s>; STAGES: how many stages the task has (1 or 2)
students() {
  local run_dir=$1 folder=$2 stages=$3
  shift 3
  run "$PY" -m experiments.run method=dlm_one "$@" run_dir="$run_dir" results_dir="$run_dir/results"
  for stage in $(seq "$stages"); do
    echo "reproduced checkpoints/$folder-stage$stage in $run_dir/stage$stage/student; to use it:" \
         "rm -rf checkpoints/$folder-stage$stage && cp -r $run_dir/stage$stage/student checkpoints/$folder-stage$stage"
  done
}
