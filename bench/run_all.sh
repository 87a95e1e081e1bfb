#!/bin/sh
# Run every benchmark in turn from the repository root; exits non-zero if any misses its target.
# Usage: bench/run_all.sh [--quick]   (--quick: delivery to 300 chats instead of 3,000, paid
# delivery to 3,000 instead of 20,000, and 30 bumps instead of 100 for the v1 bump-to-notice)
# PYTHON picks the interpreter (default: python3). Takes about 15 minutes (8 with --quick), of
# which the v1 polling takes 6.5 (its steady-polling windows alone are two minutes).
set -u
cd "$(dirname "$0")/.." || exit 2
PYTHON="${PYTHON:-python3}"
CHATS=3000
BUMPS=100
PAID_CHATS=20000
[ "${1:-}" = "--quick" ] && CHATS=300 && PAID_CHATS=3000 && BUMPS=30
echo "machine: $(nproc) cores, $("$PYTHON" -V 2>&1), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for bench in "bench_fanout" "bench_delivery --chats $CHATS" \
    "bench_delivery --paid --chats $PAID_CHATS" "bench_latency" "bench_digest" "bench_memory" \
    "bench_rules" "bench_v1_poll --bumps $BUMPS"; do
    echo "== python -m bench.$bench"
    # shellcheck disable=SC2086  # the options are meant to split
    PYTHONPATH=. "$PYTHON" -m bench.$bench || status=1
done
exit $status
