#!/usr/bin/env bash
# Inventory benchmark: a generated CommuniGate store of N messages (default
# 1,000,000), scanned by `mailmig inventory`; prints wall time, messages/s and
# peak RSS. Measures only; asserts nothing. Usage: bench/inventory.sh [N] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
work=${2:-${TMPDIR:-/tmp}/mailmig-bench}
store="$work/store-$n"
scripts/build release mailmig >/dev/null
if [ ! -d "$store" ]; then
  mkdir -p "$work"
  echo "generating $n messages into $store ..."
  /usr/bin/time -f "generator: %e s" python3 tests/tools/gen_cgp_store.py --profile bench --seed 1 \
    --messages "$n" --out "$store" --manifest "$store.manifest.json"
fi
du -sh "$store"
bin=build/release/src/mailmig
for jobs in 1 2; do
  # Warm run first so both measure the page cache, not the disk.
  "$bin" inventory --source "cgp:$store" --json --jobs "$jobs" -o /dev/null
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$bin" inventory --source "cgp:$store" --json --jobs "$jobs" -o "$work/inventory.json"
  read -r secs rss_kb <"$work/time.txt"
  msgs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['totals']['messages'])" "$work/inventory.json")
  python3 - "$secs" "$rss_kb" "$msgs" "$jobs" <<'PY'
import sys
secs, rss_kb, msgs, jobs = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print(f"inventory --jobs {jobs}: {msgs} messages in {secs:.2f} s = {msgs / max(secs, 1e-9):,.0f} msgs/s, peak RSS {rss_kb / 1024:.1f} MiB")
PY
done
