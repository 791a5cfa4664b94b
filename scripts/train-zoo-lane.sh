#!/usr/bin/env bash
# Trains, publishes (fp16) and commits zoo models one after another: one "lane" per core.
# Usage (from a snapshot worktree, so edits to the main tree cannot break a running job):
#   git worktree add --detach ../trainsnap HEAD
#   cd ../trainsnap && nohup bash scripts/train-zoo-lane.sh MAIN_REPO NAME... > lane.log 2>&1 &
# Each model lands in MAIN_REPO/pretrained and is committed there on its own.
set -u
main_repo=$(cd "$1" && pwd); shift
for name in "$@"; do
  echo "== $name: training $(date +%T)"
  run="$main_repo/runs/$name"
  [ -e "$run" ] && mv "$run" "$run.before-$(date +%Y%m%d-%H%M%S)"  # python -m train never replaces a run
  python -m train --config "train/configs/$name.toml" --out "$main_repo/runs/$name" > "$main_repo/runs/$name.log" 2>&1 \
    || { echo "== $name: training failed, see runs/$name.log"; continue; }
  echo "== $name: publishing $(date +%T)"
  (
    flock 9
    RNNLM_PRETRAINED="$main_repo/pretrained" python -m train.publish "$main_repo/runs/$name/model" "$name" --fp16 \
      && cd "$main_repo" && git add "pretrained/$name" pretrained/manifest.json \
      && for try in 1 2 3 4 5; do
           git commit -q -m "Zoo: $name trained and published" -- "pretrained/$name" pretrained/manifest.json && break
           sleep 5
         done
  ) 9> /tmp/zoo-publish.lock
  echo "== $name: done $(date +%T)"
done
