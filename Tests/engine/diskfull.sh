#!/usr/bin/env bash
# A real full disk: a committing writer runs on a small tmpfs until the disk is full and its commit
# fails. The database, still full, must open with every acknowledged commit (its checkpoint at close
# fails, harmlessly: the log holds every commit); once the disk has room again it must open and hold exactly the
# acknowledged commits, whole (at most the one in flight besides); remounted read-only, it must open for
# reading and refuse writes. Needs root (to mount); skipped without.
#   Tests/engine/diskfull.sh [omendb binary]
set -euo pipefail
bin=$(realpath "${1:-.build/debug/omendb}")
if [ "$(id -u)" != 0 ]; then echo "diskfull: skipped (needs root to mount a tmpfs)"; exit 0; fi
work=$(mktemp -d /tmp/omendb-diskfull-XXXXXX)
logs=$(mktemp -d /tmp/omendb-diskfull-logs-XXXXXX)    # off the full disk, so that errors can be written
if ! mount -t tmpfs -o size=6m tmpfs "$work"; then echo "diskfull: skipped (no tmpfs mount here)"; rmdir "$work"; exit 0; fi
trap 'umount "$work" 2>/dev/null; rmdir "$work"; rm -rf "$logs"' EXIT
status=0
"$bin" crash-writer --db "$work/db" >"$logs/out" 2>"$logs/err" || status=$?
acked=$(grep '^ack ' "$logs/out" | tail -1 | cut -d' ' -f2 || true)
acked=${acked:--1}
echo "diskfull: the writer stopped (status $status) after acknowledging transaction $acked: $(tail -1 "$logs/err")"
[ "$status" -ne 0 ] || { echo "diskfull: the writer did not fail on a full disk"; exit 1; }
grep -q "errno 28" "$logs/err" || { echo "diskfull: the writer failed, but not with ENOSPC"; exit 1; }
# An import into the full database fails with the I/O error and changes nothing (the check below finds
# exactly the writer's commits, which it would not if any imported row had stayed).
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "%d,%d,1.5\n", 2000000000 + i, 90000000 + i }' >"$logs/import.csv"
if "$bin" import --db "$work/db" readings "$logs/import.csv" --timestamp-format epoch-s >"$logs/import" 2>&1; then
    echo "diskfull: an import into the full database succeeded: $(cat "$logs/import")"; exit 1
fi
grep -q "errno 28" "$logs/import" || { echo "diskfull: the import failed, but not with ENOSPC: $(cat "$logs/import")"; exit 1; }
echo "diskfull: the import failed: $(tail -1 "$logs/import")"
if ! "$bin" crash-check --db "$work/db" --acked "$acked" >"$logs/check" 2>&1; then
    echo "diskfull: the full database did not open: $(cat "$logs/check")"; exit 1
fi
echo "diskfull: opened while full: $(cat "$logs/check")"
mount -o remount,size=64m "$work"
"$bin" crash-check --db "$work/db" --acked "$acked"
# The same database on a read-only mount (a snapshot, a backup): it opens for reading on its own, with
# the same commits, and refuses writes with 25006.
mount -o remount,ro "$work"
"$bin" crash-check --db "$work/db" --acked "$acked"
if "$bin" --db "$work/db" -c "DELETE FROM readings" >"$logs/ro" 2>&1 || ! grep -q 25006 "$logs/ro"; then
    echo "diskfull: a write on the read-only mount was not refused: $(cat "$logs/ro")"; exit 1
fi
grep -q "opened read-only" "$logs/ro" || { echo "diskfull: no read-only notice: $(cat "$logs/ro")"; exit 1; }
echo "diskfull: passed (and read-only on a read-only mount)"
