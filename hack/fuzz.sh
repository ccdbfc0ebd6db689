#!/usr/bin/env bash
# Runs every fuzz target (func FuzzXxx in a _test.go file) for the given budget each, e.g.
# `hack/fuzz.sh 50000x` (executions) or `hack/fuzz.sh 5s` (time).
#
# make test passes an execution count: in Go 1.26 a time budget can fail a target with a bare
# "context deadline exceeded" when the deadline fires while a worker is mid-call on a loaded machine
# (golang/go#75804, fixed in Go 1.27); a count has no deadline to race.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-50000x}
grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' . | grep -v node_modules | sort | while read -r file; do
  pkg="./$(dirname "${file#./}")"
  for target in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | sed 's/^func //'); do
    echo "fuzz: $pkg $target ($budget)"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$budget" "$pkg"
  done
done
