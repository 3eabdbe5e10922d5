#!/usr/bin/env bash
# Kills a committing writer with SIGKILL at random moments. After each kill the database must open
# and hold every acknowledged commit, whole, and nothing beyond the one commit in flight.
#   Tests/engine/crash.sh [omendb binary]     cycles: OMEN_ENGINE_CRASH_CYCLES (default 10)
set -euo pipefail
bin=${1:-.build/debug/omendb}
cycles=${OMEN_ENGINE_CRASH_CYCLES:-10}
work=$(mktemp -d /tmp/omendb-crash-XXXXXX)
trap 'rm -rf "$work"' EXIT
acked=-1
passed=0
failed=0
for cycle in $(seq 1 "$cycles"); do
    "$bin" crash-writer --db "$work/db" >"$work/out" 2>"$work/err" &
    writer=$!
    sleep "0.$((RANDOM % 8 + 2))"
    kill -9 "$writer"
    wait "$writer" 2>/dev/null || true
    last=$(grep '^ack ' "$work/out" | tail -1 | cut -d' ' -f2 || true)
    if [ -n "$last" ]; then acked=$last; fi
    if "$bin" crash-check --db "$work/db" --acked "$acked"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        cat "$work/err"
    fi
done
echo "crash: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
