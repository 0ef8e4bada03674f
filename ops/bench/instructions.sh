#!/usr/bin/env bash
# ops/bench/instructions.sh — the stable figure of the hot path: instructions per request per process
# counted by valgrind --tool=callgrind (instruction counts do not move with the machine's load, unlike
# times on a shared 2-core machine). A private stack (free ports, temp dir) runs every process under
# callgrind — Redis, the gateway (with its ZeroMQ I/O thread), auth, one registry and one diagnostics
# worker; after a warm-up the counters are zeroed (callgrind_control -z), N requests of one kind go
# one after another over one keep-alive connection, and the counters are dumped (-d). What the
# processes spend idle (heartbeats, timers) over the same time is measured apart and subtracted;
# Redis's serverCron is not counted at all (its periodic housekeeping, not the requests' work).
# Kinds: GET /api/v1/staff/{id}, POST /api/v1/staff, POST …/attempts/{id}/submit (40 answers).
# Prints a table and one line per kind "RESULT kind=… total=<instructions per request>"; record the
# figures before/after a change in docs/performance.md.
#
#   ./ops/bench/instructions.sh [--requests N] [--keep DIR]
#     N per kind (default 300; ~3 minutes); --keep copies each process's dump per kind to DIR
#     (callgrind_annotate DIR/gateway.get shows where a GET's instructions go).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_DIR="$MN_ROOT/ops/bench"

requests=300 keep=""
while (($#)); do
    case "$1" in
    --requests) requests="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) mn_die "неизвестный аргумент: $1" ;;
    esac
done
[[ "$requests" =~ ^[1-9][0-9]*$ ]] || mn_die "--requests: нужно положительное число"
[[ -z "$keep" ]] || mkdir -p "$keep" || mn_die "--keep: не удалось создать каталог $keep"
for tool in valgrind callgrind_control redis-server redis-cli curl python3; do
    command -v "$tool" >/dev/null || mn_die "нет $tool (установите: ./ops/up ставит всё нужное)"
done

build_dir="${METODNET_BENCH_BUILD_DIR:-$MN_ROOT/build-release}"
mn_build "$build_dir" Release
export METODNET_BUILD_DIR="$build_dir"
export METODNET_REQUEST_TIMEOUT_MS="${METODNET_REQUEST_TIMEOUT_MS:-60000}"
# under callgrind a process runs ~50× slower: broker heartbeats are given room so that no worker
# is taken for dead while it is being measured
export METODNET_HEARTBEAT_MS="${METODNET_HEARTBEAT_MS:-5000}"
export METODNET_LOG_LEVEL="${METODNET_LOG_LEVEL:-info}"
mn_private_stack instr
work="$MN_PRIVATE_DIR"
mkdir -p "$work/callgrind"
export MN_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$work/callgrind/cg.%p --dump-instr=no"

mn_start_redis
password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
mn_bootstrap_admin "$build_dir" bench "Замер" "$password" || mn_die "bootstrap-admin не удался: $MN_LOG_DIR/bootstrap.log"
mn_start_services "$build_dir" 1 gateway auth registry diagnostics
mn_wait_ready 180 || mn_die "стек под callgrind не готов за 180 с, журналы: $MN_LOG_DIR"

token="$(curl -sS --max-time 120 -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"login\":\"bench\",\"password\":\"$password\"}" "$MN_BASE_URL/api/v1/auth/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')" || mn_die "вход не удался"
api() {
    curl -sS --fail-with-body --max-time 120 -X "$1" -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $token" ${3:+--data-binary "$3"} "$MN_BASE_URL$2"
}
json_id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

echo "== Подготовка: организация, работник, инструмент и кампания на $((requests + 20)) учителей" >&2
# the region and the diagnostics campaign first (diagnostics_setup.py creates region 07)
python3 "$BENCH_DIR/diagnostics_setup.py" --base-url "$MN_BASE_URL" --token "$token" \
    --teachers $((requests + 20)) --ids "$work/attempts.txt" >/dev/null || mn_die "подготовка диагностики не удалась"
mun="$(api POST /api/v1/municipalities '{"regionId":"07","name":"Терский муниципальный район","kind":"district"}' | json_id)"
org="$(api POST /api/v1/organizations "{\"municipalityId\":\"$mun\",\"name\":\"МКОУ СОШ № 1 г.п. Терек\",\"kind\":\"school\"}" | json_id)"
staff="$(api POST /api/v1/staff "{\"lastName\":\"Шогенова\",\"firstName\":\"Мадина\",\"middleName\":\"Аслановна\",\"birthDate\":\"1985-04-12\",\"professionStartDate\":\"2007-09-01\",\"position\":\"teacher\",\"category\":\"teacher\",\"subjects\":[\"mathematics\"],\"organizationIds\":[\"$org\"],\"active\":true}" | json_id)"
tail -n +21 "$work/attempts.txt" >"$work/attempts-measured.txt"
head -n 20 "$work/attempts.txt" >"$work/attempts-warm.txt"

names=(redis gateway auth registry-1 diagnostics-1)
pids=()
for name in "${names[@]}"; do pids+=("$(mn_pid_of "$name")"); done

# zero, or dump into a file per process; the dump's "summary:"/"totals:" line is the count since the zero
counters_zero() { for pid in "${pids[@]}"; do callgrind_control -z "$pid" >/dev/null 2>&1 || mn_die "callgrind_control -z $pid не удался"; done; }
counters_read() { # counters_read TAG → "name=instructions ..." (the dump of each process since the last zero)
    local i pid file total cron out=()
    for i in "${!pids[@]}"; do
        pid="${pids[$i]}"
        rm -f "$work/callgrind/cg.$pid."*
        callgrind_control -d "$1" "$pid" >/dev/null 2>&1 || mn_die "callgrind_control -d $pid не удался"
        file="$(ls -t "$work/callgrind/cg.$pid."* 2>/dev/null | head -n 1)"
        [[ -n "$file" ]] || mn_die "callgrind не записал счётчики процесса ${names[$i]}"
        total="$(grep -E '^(summary|totals):' "$file" | head -n 1 | awk '{print $2}')"
        if [[ "${names[$i]}" == redis ]]; then
            # Redis's serverCron (expiry, rehashing, clients' housekeeping: ~2 million instructions a
            # second under callgrind) is its own periodic work, not the requests': its inclusive cost
            # is taken out, so the idle figure subtracted is small and Redis's line stays put
            cron="$(callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$file" 2>/dev/null |
                awk '/:serverCron[ []/ {gsub(",", "", $1); print $1; exit}')"
            total=$((${total:-0} - ${cron:-0}))
        fi
        [[ -z "$keep" ]] || cp "$file" "$keep/${names[$i]}.$1"
        out+=("${names[$i]}=${total:-0}")
    done
    echo "${out[*]}"
}
client() { python3 "$BENCH_DIR/instructions_client.py" "$MN_BASE_URL" "$token" "$@" >/dev/null; }

echo "== Прогрев" >&2
client get-staff "$staff" 20
client post-staff "$org" 20
client submit "$work/attempts-warm.txt" 20

declare -A elapsed counts
measure() { # measure KIND ARGS...
    local kind="$1" start
    shift
    counters_zero
    start="$(date +%s.%N)"
    client "$@"
    elapsed[$kind]="$(python3 -c "import time; print(f'{time.time() - $start:.3f}')")"
    counts[$kind]="$(counters_read "$kind")"
    echo "   $kind: $requests запросов за ${elapsed[$kind]} с" >&2
}
echo "== Замер: по $requests запросов каждого вида" >&2
measure get get-staff "$staff" "$requests"
measure post post-staff "$org" "$requests"
measure submit submit "$work/attempts-measured.txt" "$requests"

idle_seconds=10
echo "== Простой: $idle_seconds с без запросов (что процессы тратят сами: сердцебиения, таймеры)" >&2
counters_zero
sleep "$idle_seconds"
idle="$(counters_read idle)"

python3 - "$requests" "$idle_seconds" "$idle" "${elapsed[get]}" "${counts[get]}" "${elapsed[post]}" "${counts[post]}" \
    "${elapsed[submit]}" "${counts[submit]}" <<'EOF'
import sys
n, idle_s = int(sys.argv[1]), float(sys.argv[2])
def parse(text):
    return {k: int(v) for k, v in (p.split("=") for p in text.split())}
idle = {k: v / idle_s for k, v in parse(sys.argv[3]).items()}
kinds = [("get", "GET /staff/{id}"), ("post", "POST /staff"), ("submit", "POST …/attempts/{id}/submit")]
names = list(idle)
rows = {}
for i, (kind, title) in enumerate(kinds):
    seconds, counted = float(sys.argv[4 + 2 * i]), parse(sys.argv[5 + 2 * i])
    rows[kind] = {p: max(0.0, counted[p] - idle[p] * seconds) / n for p in names}
width = max(len(p) for p in names) + 2
print()
print("инструкций на запрос (callgrind, за вычетом простоя)")
print("процесс".ljust(width) + "".join(title.rjust(30) for _, title in kinds))
for p in names:
    print(p.ljust(width) + "".join(f"{rows[k][p]:>30,.0f}".replace(",", " ") for k, _ in kinds))
print("всего".ljust(width) + "".join(f"{sum(rows[k].values()):>30,.0f}".replace(",", " ") for k, _ in kinds))
print(f"простой, инструкций в секунду: " + ", ".join(f"{p} {v:,.0f}".replace(",", " ") for p, v in idle.items()))
for kind, _ in kinds:
    parts = " ".join(f"{p}={rows[kind][p]:.0f}" for p in names)
    print(f"RESULT kind={kind} total={sum(rows[kind].values()):.0f} {parts}")
EOF
