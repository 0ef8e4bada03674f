#!/usr/bin/env bash
# ops/bench/diagnostics_peak.sh — the peak of a diagnostics campaign against a limit measured in the
# same run on the same machine (never absolute times as pass/fail):
#   N teachers (5,000) each submit a 40-item attempt (wrk, 50 connections): submits/s of the whole
#   peak ≥ 0.3 × redis-benchmark EVALSHA of an entity write of the stored attempt's size
#   (HSET+ZADD+XADD), every attempt completed afterwards (campaign progress), no non-2xx.
# Starts a private stack (free ports, data in a temp dir, METODNET_RATE_LIMIT=0): gateway, auth, one
# registry worker and --workers diagnostics workers; builds Release into build-release/ if needed;
# stops everything it started. The setup (teachers, instrument, campaign opened for both
# municipalities) goes through the HTTP API (ops/bench/diagnostics_setup.py). Answers are submitted
# with the region administrator's sessions: logging 5,000 teachers in (Argon2id) would measure the
# password hash, not the peak; scoring, scope checks and the write are the same.
#
#   ./ops/bench/diagnostics_peak.sh [--teachers N] [--connections N] [--workers N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_DIR="$MN_ROOT/ops/bench"
export BENCH_DIR

teachers=5000
connections=50
workers=2
while (($#)); do
    case "$1" in
    --teachers) teachers="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) mn_die "неизвестный аргумент: $1" ;;
    esac
done
[[ "$teachers" =~ ^[1-9][0-9]*$ ]] || mn_die "--teachers: нужно положительное число"

for tool in redis-server redis-cli redis-benchmark wrk curl python3; do
    command -v "$tool" >/dev/null || mn_die "нет $tool (установите: ./ops/up ставит всё нужное)"
done

build_dir="${METODNET_BENCH_BUILD_DIR:-$MN_ROOT/build-release}"
mn_build "$build_dir" Release

export METODNET_BUILD_DIR="$build_dir"
# opening a campaign of 5,000 assignments is one request that reads the registry's pages
export METODNET_REQUEST_TIMEOUT_MS="${METODNET_REQUEST_TIMEOUT_MS:-30000}"
mn_private_stack diag-peak
work="$MN_PRIVATE_DIR"

rcli() { mn_rcli "$@"; }

mn_start_redis
password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
mn_bootstrap_admin "$build_dir" bench "Замер" "$password" || mn_die "bootstrap-admin не удался: $MN_LOG_DIR/bootstrap.log"
mn_start_services "$build_dir" 1 gateway auth registry
mn_start_services "$build_dir" "$workers" diagnostics
mn_wait_ready 30 || mn_die "стек не готов за 30 с, журналы: $MN_LOG_DIR"

login() {
    curl -sS --max-time 30 -X POST -H 'Content-Type: application/json' \
        --data-binary "{\"login\":\"bench\",\"password\":\"$password\"}" "$MN_BASE_URL/api/v1/auth/login" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
tokens=()
for ((i = 0; i < connections; i++)); do tokens+=("$(login)"); done
BENCH_TOKENS="$(IFS=,; echo "${tokens[*]}")"
export BENCH_TOKENS

echo "== Подготовка: $teachers учителей математики в двух муниципалитетах, инструмент из 40 заданий, кампания" >&2
setup_start=$SECONDS
campaign="$(python3 "$BENCH_DIR/diagnostics_setup.py" --base-url "$MN_BASE_URL" --token "${tokens[0]}" \
    --teachers "$teachers" --ids "$work/attempts.txt")" || mn_die "подготовка не удалась, журналы: $MN_LOG_DIR"
echo "   кампания $campaign открыта, назначено $teachers, подготовка $((SECONDS - setup_start)) с" >&2

echo "== HTTP: wrk POST /api/v1/diagnostics/attempts/{id}/submit, $teachers попыток по 40 ответов (c=$connections)" >&2
export BENCH_IDS="$work/attempts.txt" BENCH_THREADS=2 BENCH_LIMIT=$(((teachers + 1) / 2))
# wrk runs for a fixed time and a stopped thread does not end it: once Redis holds a result for every
# teacher, wrk gets SIGINT and reports at once (its duration ends there).
results() { rcli ZCARD "diag:{r:07}:ix:result" | tr -d '\r'; }
wrk -t2 -c"$connections" -d300s --timeout 10s -s "$BENCH_DIR/submit_attempt.lua" "$MN_BASE_URL" \
    >"$work/submit-wrk.out" 2>&1 &
wrk_pid=$!
deadline=$((SECONDS + 300))
while kill -0 "$wrk_pid" 2>/dev/null; do
    if (($(results) >= teachers)) || ((SECONDS > deadline)); then
        kill -INT "$wrk_pid" 2>/dev/null || true
        break
    fi
    sleep 0.05
done
wait "$wrk_pid" || true
submit_res="$(grep -E '^RESULT' "$work/submit-wrk.out" | tail -n 1)"
echo "   $submit_res" >&2

progress="$(curl -sS --max-time 30 -H "Authorization: Bearer ${tokens[0]}" \
    "$MN_BASE_URL/api/v1/diagnostics/campaigns/$campaign/progress")"
completed="$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("completed", 0))' <<<"$progress")"
first_attempt="$(head -n 1 "$work/attempts.txt")"
attempt_bytes="$(rcli HSTRLEN "diag:{r:07}:attempt:$first_attempt" d)"
echo "   завершено по ходу кампании: $completed из $teachers; хранимая попытка $attempt_bytes байт" >&2

echo "== Redis: EVALSHA записи сущности (HSET+ZADD+XADD, $attempt_bytes байт; c=50, n=100000)" >&2
sha="$(rcli SCRIPT LOAD "$(cat "$BENCH_DIR/entity_write.lua")")"
data="$(python3 -c "print('x' * int('$attempt_bytes' or 200))")"
eval_line="$(mn_rbench -c 50 -n 100000 -r 1000000 -q \
    EVALSHA "$sha" 3 "bench:{r:07}:attempt:__rand_int__" "bench:{r:07}:idx:result" "bench:{r:07}:events" \
    1 "$data" "|id:07-s1|org:07-o1|mun:07-m1|st:completed|" "9998236911999__rand_int__" 2>/dev/null |
    tr '\r' '\n' | grep -E 'requests per second' | tail -n 1)"
redis_eval="$(grep -oE '[0-9.]+ requests per second' <<<"$eval_line" | grep -oE '^[0-9.]+')"
echo "   ${eval_line##*: }" >&2
mn_rdel_matching 'bench:*'

verdicts="$(python3 - "$redis_eval" "$submit_res" "$completed" "$teachers" <<'EOF'
import re, sys
redis_eval, res, completed, teachers = sys.argv[1:]
def f(key):
    m = re.search(key + r"=([0-9.]+)", res)
    return float(m.group(1)) if m else 0.0
re_ = float(redis_eval or 0)
rps, p50, p99 = f("rps"), f("p50_us") / 1000.0, f("p99_us") / 1000.0
ratio = rps / re_ if re_ else 0
n, done = int(teachers), int(completed or 0)
lines = [f"NOTE пик: {n} попыток за {n / rps if rps else 0:.1f} с, p50 {p50:.1f} мс, p99 {p99:.1f} мс"]
ok = ratio >= 0.3 and done == n and f("non2xx") == 0 and f("socket_errors") == 0
lines.append(("PASS " if ok else "FAIL ") +
             f"сдача: {rps:.0f} попыток/с = {ratio:.2f} × redis EVALSHA ({re_:.0f}); завершено {done} из {n}; "
             f"не-2xx {f('non2xx'):.0f} (нужно ≥ 0.30×, все завершены, без ошибок)")
print("\n".join(lines))
EOF
)"
echo
echo "$verdicts"
grep -q '^FAIL' <<<"$verdicts" && exit 1
exit 0
