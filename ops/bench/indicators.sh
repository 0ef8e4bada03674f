#!/usr/bin/env bash
# ops/bench/indicators.sh — the indicators service, parts (a) and (c) of issue 11 on a generated region:
#   read:      GET /api/v1/indicator-values, all 13 indicators of the region (by municipality) and of each
#              municipality — p50/p99/max per request against the 100 ms bound (from the period's counters;
#              the first read of a period, which builds them by a scan, is printed apart);
#   freshness: change-to-visible delay (a created teacher counted in I1 of their school) under a steady
#              200 writes/s — p50/p99/max against the 1 s bound;
#   write:     the cost of one applied change (apply.lua, Redis SLOWLOG) with 0, 1 and 8 registered periods;
#   memory:    bytes of the indicator state (MEMORY USAGE of every ind:{r:07}:* key), per staff member;
#   national:  (c) the region's state copied (DUMP/RESTORE) into as many regions as 1.1 M staff need, with
#              generated records per person — used_memory against 4 GiB;
#   baseline:  redis-benchmark GET and EVALSHA of the same run, printed beside our figures as ratios.
# Starts a private stack (free ports, data in a temp dir, mn_private_stack), builds Release into
# build-release/ if needed, loads the region through the CSV import, stops everything it started.
#
#   ./ops/bench/indicators.sh [--staff N] [--municipalities N] [--schools N] [--rate W] [--seconds S]
#                             [--national N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

staff=40000
municipalities=20
schools=25
rate=200
seconds=10
national=1100000
while (($#)); do
    case "$1" in
    --staff) staff="$2"; shift 2 ;;
    --municipalities) municipalities="$2"; shift 2 ;;
    --schools) schools="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --national) national="$2"; shift 2 ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) mn_die "неизвестный аргумент: $1" ;;
    esac
done
for tool in redis-server redis-cli redis-benchmark curl python3; do
    command -v "$tool" >/dev/null || mn_die "нет $tool (установите: ./ops/up ставит всё нужное)"
done

build_dir="${METODNET_BENCH_BUILD_DIR:-$MN_ROOT/build-release}"
mn_build "$build_dir" Release
export METODNET_BUILD_DIR="$build_dir"
export METODNET_REQUIRED_SERVICES="${METODNET_REQUIRED_SERVICES:-registry,auth,indicators}"
mn_private_stack indicators

mn_start_redis
password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
mn_bootstrap_admin "$build_dir" bench "Замер" "$password" || mn_die "bootstrap-admin не удался: $MN_LOG_DIR/bootstrap.log"
mn_start_services "$build_dir" 2 gateway auth registry diagnostics events indicators
mn_wait_ready 30 || mn_die "стек не готов за 30 с, журналы: $MN_LOG_DIR"

mn_say "redis-benchmark (база для отношений): GET и EVALSHA «return 1»"
get_rps="$(mn_rbench -t get -n 100000 -c 20 -q 2>/dev/null | grep -oE '[0-9.]+ requests per second' | head -1 | cut -d' ' -f1)"
sha="$(mn_rcli SCRIPT LOAD "return 1")"
eval_rps="$(mn_rbench -n 100000 -c 20 -q EVALSHA "$sha" 0 2>/dev/null | grep -oE '[0-9.]+ requests per second' | head -1 | cut -d' ' -f1)"
echo "redis-benchmark: GET ${get_rps} запросов/с, EVALSHA ${eval_rps} запросов/с"

python3 "$MN_ROOT/ops/bench/indicators_bench.py" --url "$MN_BASE_URL" --login bench --password "$password" \
    --staff "$staff" --municipalities "$municipalities" --schools "$schools" --rate "$rate" --seconds "$seconds" \
    --redis-port "$METODNET_REDIS_PORT" --ops-password "$(mn_redis_password ops)" \
    --redis-get-rps "${get_rps:-0}" --redis-eval-rps "${eval_rps:-0}" --national "$national"
