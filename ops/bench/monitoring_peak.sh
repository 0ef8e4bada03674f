#!/usr/bin/env bash
# ops/bench/monitoring_peak.sh — the reporting peak of a monitoring campaign: every school of a
# 1,500-organization region submits its report in the same minute.
#   N schools (1,500) of a regional campaign each submit their whole form (6 expert scores with evidence,
#   POST …/reports/{org}/submit with the values: one Lua script, one Redis round trip) once, with N
#   distinct school-administrator sessions (ops/bench/monitoring_peak.py), their starts spread over
#   --window seconds (20: three times as dense as the minute), at most --connections at a time.
#   PASS when every submit is accepted (2xx), none is lost (Redis holds N submitted reports, the
#   campaign's progress says N submitted), the whole peak takes ≤ 60 s and p99 ≤ 50 ms (latency counted
#   from each school's due moment). Then, as a NOTE (no limit), the same N submits in a second campaign
#   all at once (a closed-loop burst: its p99 is queueing behind --connections requests). redis-benchmark
#   EVALSHA of an entity write of the stored report's size (HSET+ZADD+XADD) runs in the same run as the
#   ratio baseline (printed, not a limit).
# Starts a private stack (free ports, data in a temp dir, METODNET_RATE_LIMIT=0): gateway, auth, one
# registry worker and --workers monitoring workers; builds Release into build-release/ if needed; stops
# everything it started. Sessions are written into auth's session keys as its login script writes them
# (logging 1,500 administrators in would measure Argon2id, not the peak).
#
#   ./ops/bench/monitoring_peak.sh [--schools N] [--window S] [--connections N] [--workers N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_DIR="$MN_ROOT/ops/bench"

schools=1500
connections=32
window=20
workers=2
while (($#)); do
    case "$1" in
    --schools) schools="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --window) window="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) mn_die "неизвестный аргумент: $1" ;;
    esac
done
[[ "$schools" =~ ^[1-9][0-9]*$ ]] || mn_die "--schools: нужно положительное число"

for tool in redis-server redis-cli redis-benchmark curl python3; do
    command -v "$tool" >/dev/null || mn_die "нет $tool (установите: ./ops/up ставит всё нужное)"
done

build_dir="${METODNET_BENCH_BUILD_DIR:-$MN_ROOT/build-release}"
mn_build "$build_dir" Release

export METODNET_BUILD_DIR="$build_dir"
# opening a campaign of 1,500 schools reads the registry's pages in one request
export METODNET_REQUEST_TIMEOUT_MS="${METODNET_REQUEST_TIMEOUT_MS:-30000}"
# /readyz of this stack: the services it runs (no diagnostics here)
export METODNET_REQUIRED_SERVICES="registry,auth,monitoring"
mn_private_stack mon-peak
work="$MN_PRIVATE_DIR"

rcli() { mn_rcli "$@"; }

mn_start_redis
password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
mn_bootstrap_admin "$build_dir" bench "Замер" "$password" || mn_die "bootstrap-admin не удался: $MN_LOG_DIR/bootstrap.log"
mn_start_services "$build_dir" 1 gateway auth registry
mn_start_services "$build_dir" "$workers" monitoring
mn_wait_ready 30 || mn_die "стек не готов за 30 с, журналы: $MN_LOG_DIR"

token="$(curl -sS --max-time 30 -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"login\":\"bench\",\"password\":\"$password\"}" "$MN_BASE_URL/api/v1/auth/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

echo "== Подготовка: $schools школ в 20 районах, региональная кампания из шаблона «school-heads», открыта" >&2
setup_start=$SECONDS
campaigns="$(python3 "$BENCH_DIR/monitoring_peak.py" setup --base-url "$MN_BASE_URL" --token "$token" \
    --schools "$schools" --out "$work/peak")" || mn_die "подготовка не удалась, журналы: $MN_LOG_DIR"
python3 "$BENCH_DIR/monitoring_peak.py" sessions --schools-file "$work/peak/schools" --out "$work/peak/tokens" |
    rcli >/dev/null
campaign="${campaigns%% *}" burst_campaign="${campaigns##* }"
echo "   кампании $campaign и $burst_campaign, $schools сеансов администраторов школ, подготовка $((SECONDS - setup_start)) с" >&2

echo "== HTTP: $schools школ отправляют отчёт (POST …/reports/{org}/submit со значениями) за $window с, до $connections одновременно" >&2
submit_res="$(python3 "$BENCH_DIR/monitoring_peak.py" submit --base-url "$MN_BASE_URL" --campaign "$campaign" \
    --tokens "$work/peak/tokens" --schools-file "$work/peak/schools" --fields "$work/peak/fields" \
    --concurrency "$connections" --window "$window")"
echo "   $submit_res" >&2
echo "== HTTP, залп: те же $schools отправок во второй кампании сразу, $connections одновременно" >&2
burst_res="$(python3 "$BENCH_DIR/monitoring_peak.py" submit --base-url "$MN_BASE_URL" --campaign "$burst_campaign" \
    --tokens "$work/peak/tokens" --schools-file "$work/peak/schools" --fields "$work/peak/fields" \
    --concurrency "$connections")"
echo "   $burst_res" >&2
burst_stored="$(rcli --raw HVALS "mon:{r:07}:rs:$burst_campaign" | grep -c '^2$' || true)"

stored="$(rcli --raw HVALS "mon:{r:07}:rs:$campaign" | grep -c '^2$' || true)"
progress="$(curl -sS --max-time 30 -H "Authorization: Bearer $token" \
    "$MN_BASE_URL/api/v1/monitoring/campaigns/$campaign/progress")"
submitted="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["total"].get("submitted", 0))' <<<"$progress")"
first_org="$(head -n 1 "$work/peak/schools" | cut -d' ' -f1)"
report_bytes="$(rcli HSTRLEN "mon:{r:07}:report:$campaign:$first_org" d | tr -d '\r')"
echo "   в Redis отправлено: $stored; по ходу кампании: $submitted из $schools; хранимый отчёт $report_bytes байт" >&2

echo "== Redis: EVALSHA записи сущности (HSET+ZADD+XADD, $report_bytes байт; c=50, n=100000)" >&2
sha="$(rcli SCRIPT LOAD "$(cat "$BENCH_DIR/entity_write.lua")")"
data="$(python3 -c "print('x' * int('$report_bytes' or 200))")"
eval_line="$(mn_rbench -c 50 -n 100000 -r 1000000 -q \
    EVALSHA "$sha" 3 "bench:{r:07}:report:__rand_int__" "bench:{r:07}:idx:report" "bench:{r:07}:events" \
    1 "$data" "|org:07-o1|mun:07-m1|st:submitted|" "9998236911999__rand_int__" 2>/dev/null |
    tr '\r' '\n' | grep -E 'requests per second' | tail -n 1)"
redis_eval="$(grep -oE '[0-9.]+ requests per second' <<<"$eval_line" | grep -oE '^[0-9.]+')"
echo "   ${eval_line##*: }" >&2
mn_rdel_matching 'bench:*'

verdicts="$(python3 - "$redis_eval" "$submit_res" "$stored" "$submitted" "$schools" "$burst_res" "$burst_stored" <<'PY'
import re, sys
redis_eval, res, stored, submitted, n, burst, burst_stored = sys.argv[1:]
def f(key, text=None):
    m = re.search(key + r"=([0-9.]+)", res if text is None else text)
    return float(m.group(1)) if m else 0.0
re_ = float(redis_eval or 0)
n, ok, secs, rps, p50, p99 = int(n), int(f("ok")), f("seconds"), f("rps"), f("p50_ms"), f("p99_ms")
lines = [f"NOTE пик: {n} отчётов за {secs:.1f} с ({rps:.0f}/с по расписанию), "
         f"p50 {p50:.1f} мс, p99 {p99:.1f} мс, max {f('max_ms'):.1f} мс; redis EVALSHA {re_:.0f}/с"]
ok_all = ok == n and int(stored or 0) == n and int(submitted or 0) == n and f("failed") == 0
lines.append(("PASS " if ok_all else "FAIL ") +
             f"приняты все: {ok} из {n} ответов 2xx, в Redis {stored}, по ходу кампании {submitted} (нужно {n}, ничего не потеряно)")
lines.append(("PASS " if secs <= 60 else "FAIL ") + f"в одну минуту: {secs:.1f} с (нужно ≤ 60 с)")
lines.append(("PASS " if p99 <= 50 else "FAIL ") + f"p99 {p99:.1f} мс (нужно ≤ 50 мс)")
lines.append(f"NOTE залп: {int(f('ok', burst))} из {n} приняты (в Redis {burst_stored}) за {f('seconds', burst):.1f} с "
             f"({f('rps', burst):.0f}/с = {f('rps', burst) / re_ if re_ else 0:.3f} × EVALSHA), p50 {f('p50_ms', burst):.1f} мс, "
             f"p99 {f('p99_ms', burst):.1f} мс, max {f('max_ms', burst):.1f} мс")
print("\n".join(lines))
PY
)"
echo
echo "$verdicts"
grep -q '^FAIL' <<<"$verdicts" && exit 1
exit 0
