#!/usr/bin/env bash
# ops/bench/scale.sh — does the platform scale with workers? ops/bench/bench.sh --speed-only once per
# registry worker count (a private stack each time, ./ops/up's settings, ratios to redis-benchmark in
# the same run) and one table of the results. On a 2-core machine the point is that nothing
# serialises: more workers must not make it slower; a machine with more cores then scales.
#
#   ./ops/bench/scale.sh [--workers "1 2 4"] [--duration SECONDS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

counts="1 2 4"
duration=5
while (($#)); do
    case "$1" in
    --workers) counts="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) mn_die "неизвестный аргумент: $1 (ops/bench/scale.sh --help)" ;;
    esac
done
for n in $counts; do
    [[ "$n" =~ ^[1-9][0-9]?$ ]] || mn_die "--workers: числа от 1 до 99 через пробел, получено «$n»"
done
[[ "$duration" =~ ^[1-9][0-9]*$ ]] || mn_die "--duration: нужно число секунд"

rows=()
for n in $counts; do
    mn_say "Обработчиков реестра: $n (замер ${duration} с на чтение и ${duration} с на запись)"
    out="$("$MN_ROOT/ops/bench/bench.sh" --speed-only --duration "$duration" --workers "$n" 2>&1)" || true
    line="$(grep -E '^SCALE ' <<<"$out" | tail -n 1)"
    if [[ -z "$line" ]]; then
        tail -n 20 <<<"$out" >&2
        mn_die "bench.sh не дал строки SCALE при $n обработчиках (вывод выше)"
    fi
    rows+=("$line")
done
python3 - "${rows[@]}" <<'PY'
import sys
rows = [dict(kv.split("=", 1) for kv in line.split()[1:]) for line in sys.argv[1:]]
print()
print(f"{'обработчиков':>12} {'чтение, зап/с':>14} {'× GET':>7} {'p99, мс':>8} {'запись, зап/с':>14} {'× EVALSHA':>10} {'p99, мс':>8}")
for r in rows:
    print(f"{r['workers']:>12} {r['read_rps']:>14} {float(r['read_ratio']):>7.2f} {float(r['read_p99_ms']):>8.2f} "
          f"{r['write_rps']:>14} {float(r['write_ratio']):>10.2f} {float(r['write_p99_ms']):>8.2f}")
PY
