# Sourced by the lane scripts.
# export_run PATTERN RUN FOLDER: wait until no process matches PATTERN (the training), then replace the committed
# checkpoints/FOLDER by runs/RUN/pretrained (the run's EMA export).
export_run() {
  while pgrep -f "$1" >/dev/null; do sleep 20; done
  rm -rf "checkpoints/$3" && cp -r "runs/$2/pretrained" "checkpoints/$3"
}
