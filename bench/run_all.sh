#!/bin/sh
# Run every benchmark in turn from the repository root; exits non-zero if any misses its target.
# Usage: bench/run_all.sh [--quick]   (--quick: delivery to 300 chats instead of 3,000, paid
# delivery to 3,000 instead of 20,000)
# PYTHON picks the interpreter (default: python3). Takes about 4 minutes (1 minute with --quick).
set -u
cd "$(dirname "$0")/.." || exit 2
PYTHON="${PYTHON:-python3}"
CHATS=3000
PAID_CHATS=20000
[ "${1:-}" = "--quick" ] && CHATS=300 && PAID_CHATS=3000
echo "machine: $(nproc) cores, $("$PYTHON" -V 2>&1), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for bench in "bench_fanout" "bench_delivery --chats $CHATS" "bench_delivery --paid --chats $PAID_CHATS" \
    "bench_latency" "bench_digest"; do
    echo "== python -m bench.$bench"
    # shellcheck disable=SC2086  # the options are meant to split
    PYTHONPATH=. "$PYTHON" -m bench.$bench || status=1
done
# For reference, not a target of its own: the same fan-out in a process that first imports the
# whole bot (aiogram included), i.e. the bot's own footprint (see bench/README.md, Fan-out).
echo "== python -m bench.bench_fanout --import-bot --episodes 1   (reference, status ignored)"
PYTHONPATH=. "$PYTHON" -m bench.bench_fanout --import-bot --episodes 1
exit $status
