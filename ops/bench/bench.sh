#!/usr/bin/env bash
# ops/bench/bench.sh — performance of the registry against limits measured in the same run on the
# same machine (never absolute times as pass/fail):
#   read:   wrk GET /api/v1/staff/{id}  ≥ 0.35 × redis-benchmark GET at 50 connections, with p99 ≤ 5 ms
#   write:  wrk POST /api/v1/staff      ≥ 0.4 × redis-benchmark EVALSHA of a similar entity write
#   (issue 14; the stack runs with ./ops/up's settings — services on the broker's ipc:// endpoint, the
#   rate limit on: each wrk connection has a session of its own, and the output names the limit)
#   memory: Redis used_memory growth per staff member over 40,000 creates, streams excluded (the
#           entity, its indexes and its externalId claim) ≤ 700 bytes; the streams' growth (domain
#           events, audit; MEMORY USAGE … SAMPLES 0 of every stream key) is reported beside it
# Starts a private stack (free ports, data in a temp dir), builds Release into build-release/ if
# needed, stops everything it started. Bounded: about 2 minutes.
#
#   ./ops/bench/bench.sh [--duration SECONDS] [--connections N] [--workers N] [--creates N] [--memory-only]
#                        [--speed-only] [--index-experiment BYTES]
# --speed-only: the read and write ratios without the memory runs (ops/bench/scale.sh uses it).
# --index-experiment: after the memory run, how much each staff index would take with its sort key cut
# to BYTES bytes (a copy measured and deleted; the store is not changed).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_DIR="$MN_ROOT/ops/bench"
export BENCH_DIR

duration=10
connections=50
workers=2
creates=40000
memory_only=0
speed_only=0
bench_muns="${BENCH_MUNICIPALITIES:-60}" bench_orgs_per_mun="${BENCH_ORGS_PER_MUNICIPALITY:-25}"
index_cut=""
while (($#)); do
    case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --creates) creates="$2"; shift 2 ;;
    --memory-only) memory_only=1; shift ;;
    --speed-only) speed_only=1; shift ;;
    --index-experiment) index_cut="$2"; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) mn_die "неизвестный аргумент: $1" ;;
    esac
done

for tool in redis-server redis-cli redis-benchmark wrk curl python3; do
    command -v "$tool" >/dev/null || mn_die "нет $tool (установите: ./ops/up ставит всё нужное)"
done

build_dir="${METODNET_BENCH_BUILD_DIR:-$MN_ROOT/build-release}"
mn_build "$build_dir" Release

export METODNET_BUILD_DIR="$build_dir"
# Only the registry is measured here; the gateway is ready without the diagnostics service.
export METODNET_REQUIRED_SERVICES="${METODNET_REQUIRED_SERVICES:-registry,auth}"
mn_private_stack bench
work="$MN_PRIVATE_DIR"

rcli() { mn_rcli "$@"; }

mn_start_redis
password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
mn_bootstrap_admin "$build_dir" bench "Замер" "$password" || mn_die "bootstrap-admin не удался: $MN_LOG_DIR/bootstrap.log"
mn_start_services "$build_dir" "$workers" gateway auth registry
mn_wait_ready 30 || mn_die "стек не готов за 30 с, журналы: $MN_LOG_DIR"

TOKEN=""
api() { # api METHOD PATH [JSON] → body; fails on a non-2xx answer
    local out
    out="$(curl -sS --max-time 10 -X "$1" -H 'Content-Type: application/json' \
        ${TOKEN:+-H "Authorization: Bearer $TOKEN"} ${3:+--data-binary "$3"} \
        -w '\n%{http_code}' "$MN_BASE_URL$2")"
    local code="${out##*$'\n'}"
    [[ "$code" == 2* ]] || mn_die "$1 $2 → HTTP $code: ${out%$'\n'*}"
    printf '%s' "${out%$'\n'*}"
}
json_id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

# Sessions for wrk, used in turn (each session has its own request budget at the gateway).
sessions="${BENCH_SESSIONS:-$connections}"
tokens=()
for ((i = 0; i < sessions; i++)); do
    tokens+=("$(api POST /api/v1/auth/login "{\"login\":\"bench\",\"password\":\"$password\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')")
done
TOKEN="${tokens[0]}"
BENCH_TOKENS="$(IFS=,; echo "${tokens[*]}")"
export BENCH_TOKENS

api POST /api/v1/regions '{"id":"07","name":"Кабардино-Балкарская Республика"}' >/dev/null
mun="$(api POST /api/v1/municipalities '{"regionId":"07","name":"Терский муниципальный район","kind":"district"}' | json_id)"
org="$(api POST /api/v1/organizations "{\"municipalityId\":\"$mun\",\"name\":\"МКОУ СОШ № 1 г.п. Терек\",\"shortName\":\"СОШ № 1\",\"kind\":\"school\"}" | json_id)"
staff="$(api POST /api/v1/staff "{\"lastName\":\"Шогенова\",\"firstName\":\"Мадина\",\"middleName\":\"Аслановна\",\"birthDate\":\"1985-04-12\",\"professionStartDate\":\"2007-09-01\",\"position\":\"teacher\",\"category\":\"teacher\",\"subjects\":[\"mathematics\"],\"organizationIds\":[\"$org\"],\"qualificationCategory\":\"first\",\"active\":true}" | json_id)"
export BENCH_ORG="$org" BENCH_STAFF="$staff"

wrk_result() { grep -E '^RESULT' | tail -n 1; }
field() { grep -oE "$1=[0-9.]+" <<<"$2" | cut -d= -f2; }
redis_get="" redis_eval="" get_res="" post_res=""
if ((!memory_only)); then
echo "== Redis: redis-benchmark GET (c=50, n=200000)" >&2
# redis-benchmark measures Redis itself, as the operator's ACL user
get_line="$(mn_rbench -t get -c 50 -n 200000 -q 2>/dev/null | tr '\r' '\n' | grep -E '^GET' | tail -n 1)"
redis_get="$(grep -oE '[0-9.]+ requests per second' <<<"$get_line" | grep -oE '^[0-9.]+')"
echo "   $get_line" >&2

echo "== Redis: EVALSHA записи сущности (HSET+ZADD+XADD, ~200 байт; c=50, n=100000)" >&2
sha="$(rcli SCRIPT LOAD "$(cat "$BENCH_DIR/entity_write.lua")")"
data="$(python3 -c 'print("x" * 200)')"
eval_line="$(mn_rbench -c 50 -n 100000 -r 1000000 -q \
    EVALSHA "$sha" 3 "bench:{r:07}:staff:__rand_int__" "bench:{r:07}:idx:staff" "bench:{r:07}:events" \
    1 "$data" "|cat:teacher|mun:1|" "Тхагапсоев__rand_int__" 2>/dev/null | tr '\r' '\n' | grep -E 'requests per second' | tail -n 1)"
redis_eval="$(grep -oE '[0-9.]+ requests per second' <<<"$eval_line" | grep -oE '^[0-9.]+')"
echo "   $eval_line" >&2
mn_rdel_matching 'bench:*'


echo "== HTTP: wrk GET /api/v1/staff/{id} (c=$connections, ${duration} с)" >&2
get_res="$(timeout $((duration + 30)) wrk -t2 -c"$connections" -d"${duration}s" --timeout 5s \
    -s "$BENCH_DIR/get_staff.lua" "$MN_BASE_URL" | wrk_result)"
echo "   $get_res" >&2

echo "== HTTP: wrk POST /api/v1/staff (c=$connections, ${duration} с)" >&2
post_res="$(timeout $((duration + 30)) wrk -t2 -c"$connections" -d"${duration}s" --timeout 5s \
    -s "$BENCH_DIR/post_staff.lua" "$MN_BASE_URL" | wrk_result)"
echo "   $post_res" >&2
fi

# memory_run LABEL: $creates creates by wrk into the organizations of BENCH_ORGS (env, comma list),
# sets mem_before, mem_after, mem_created, mem_streams_before, mem_streams_after.
# wrk runs for a fixed time; each of its 2 threads stops after its share of 2xx answers, and once
# Redis holds that many more keys (one hash per staff member) wrk is told to stop (SIGINT makes it
# report at once).
keys_now() { rcli INFO keyspace | tr -d '\r' | grep -oE '^db0:keys=[0-9]+' | cut -d= -f2 || echo 0; }
# Bytes held by every stream (the domain-event streams, the audit log), every node counted.
streams_now() { rcli EVAL "$(cat "$BENCH_DIR/streams_memory.lua")" 0; }
memory_run() {
    echo "== Память Redis: $creates созданий, $1" >&2
    mem_before="$(rcli INFO memory | grep -E '^used_memory:' | cut -d: -f2 | tr -d '\r')"
    mem_streams_before="$(streams_now)"
    local keys_before per_thread wrk_pid deadline mem_res
    keys_before="$(keys_now)"
    per_thread=$(((creates + 1) / 2))
    BENCH_LIMIT=$per_thread wrk -t2 -c"$connections" -d300s --timeout 5s \
        -s "$BENCH_DIR/post_staff.lua" "$MN_BASE_URL" >"$work/memory-wrk.out" 2>&1 &
    wrk_pid=$!
    deadline=$((SECONDS + 300))
    while kill -0 "$wrk_pid" 2>/dev/null; do
        if (($(keys_now) >= keys_before + creates)) || ((SECONDS > deadline)); then
            sleep 0.5
            kill -INT "$wrk_pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    wait "$wrk_pid" || true
    mem_res="$(wrk_result <"$work/memory-wrk.out")"
    mem_after="$(rcli INFO memory | grep -E '^used_memory:' | cut -d: -f2 | tr -d '\r')"
    mem_streams_after="$(streams_now)"
    mem_created="$(field ok "$mem_res")"
    echo "   $mem_res; used_memory $mem_before → $mem_after; потоки $mem_streams_before → $mem_streams_after" >&2
}

before=0 after=0 created=0 streams_before=0 streams_after=0 one_school=(0 0 0 0 0)
if ((!speed_only)); then
# 1) every new person in one school: the worst case for the indexes (one school's and one
#    municipality's index as big as the region's)
export BENCH_ORGS="$org"
memory_run "все в одной школе"
one_school=("$mem_before" "$mem_after" "$mem_created" "$mem_streams_before" "$mem_streams_after")
sample_key="reg:{r:07}:staff:$staff" # one staff member as an example: its type, encoding and size
echo "   пример: $sample_key — $(rcli TYPE "$sample_key") $(rcli OBJECT ENCODING "$sample_key"), MEMORY USAGE $(rcli MEMORY USAGE "$sample_key") байт" >&2
if [[ -n "$index_cut" ]]; then
    echo "== Индексы работников: члены с ключом сортировки до $index_cut байт (копия, замер, удаление)" >&2
    saved=0
    for index in "reg:{r:07}:ix:staff" "reg:{r:07}:ix:staff:org:$org" "reg:{r:07}:ix:staff:mun:$mun"; do
        mapfile -t r < <(rcli EVAL "$(cat "$BENCH_DIR/index_members.lua")" 2 "$index" "bench:{r:07}:ix-scratch" "$index_cut")
        ((r[0] > 0)) || continue
        echo "   $index: ${r[0]} членов; сейчас $((r[1] / r[0])) Б/член (средняя длина ${r[2]} Б), укороченные $((r[3] / r[0])) Б/член (${r[4]} Б)" >&2
        saved=$((saved + (r[1] - r[3]) / r[0]))
    done
    echo "   укороченные члены сэкономили бы ~$saved Б на работника" >&2
fi

# 2) a region as DOMAIN.md plans it: ~60 municipalities, ~1,500 organizations, people spread over them
#    (an organization's index ~27 people, a municipality's ~670: Redis keeps such sorted sets compact)
echo "== Район для замера памяти: $bench_muns МО × $bench_orgs_per_mun школ" >&2
BENCH_ORGS="$(python3 "$BENCH_DIR/make_region.py" "$MN_BASE_URL" "$TOKEN" "$bench_muns" "$bench_orgs_per_mun")" ||
    mn_die "не удалось создать МО и школы для замера памяти"
export BENCH_ORGS
memory_run "по $((bench_muns * bench_orgs_per_mun)) школам региона"
before="$mem_before" after="$mem_after" created="$mem_created"
streams_before="$mem_streams_before" streams_after="$mem_streams_after"
fi

# ---- verdicts ----
rate_limit="${METODNET_RATE_LIMIT:-50}"
verdicts="$(python3 - "$speed_only" "$rate_limit" "$sessions" "$workers" "${METODNET_REDIS_APPENDFSYNC:-always}" "$memory_only" "$redis_get" "$redis_eval" "$get_res" "$post_res" "$before" "$after" "$created" \
    "$streams_before" "$streams_after" "${one_school[@]}" <<'EOF'
import re, sys
speed_only, rate_limit, sessions, workers, appendfsync = (sys.argv[1] == "1", sys.argv[2], sys.argv[3],
                                                          sys.argv[4], sys.argv[5])
sys.argv = sys.argv[5:]
memory_only = sys.argv[1] == "1"
redis_get, redis_eval, get_res, post_res, before, after, created, streams_before, streams_after = sys.argv[2:11]
one_before, one_after, one_created, one_streams_before, one_streams_after = sys.argv[11:16]
def f(line, key):
    m = re.search(key + r"=([0-9.]+)", line)
    return float(m.group(1)) if m else 0.0
rg, re_ = float(redis_get or 0), float(redis_eval or 0)
g_rps, g_p99 = f(get_res, "rps"), f(get_res, "p99_us") / 1000.0
p_rps, p_p99 = f(post_res, "rps"), f(post_res, "p99_us") / 1000.0
n = int(float(created or 0))
streams = int(streams_after) - int(streams_before)
total = int(after) - int(before)
per = (total - streams) / n if n else float("inf")
per_streams = streams / n if n else float("inf")
limit = (f"ограничение частоты {rate_limit} запросов/с на сеанс" if rate_limit != "0" else
         "ограничение частоты выключено для замера (в ./ops/up включено: 50 запросов/с на сеанс)")
lines = [f"NOTE настройки ./ops/up: обработчиков реестра {workers}, службы на ipc:// брокера, Redis appendfsync "
         f"{appendfsync}; {limit}; сеансов у wrk {sessions}"]
def verdict(ok, text):
    lines.append(("PASS " if ok else "FAIL ") + text)
if not memory_only:  # one line for ops/bench/scale.sh
    lines.append(f"SCALE workers={workers} read_rps={g_rps:.0f} read_ratio={g_rps / rg if rg else 0:.3f} "
                 f"read_p99_ms={g_p99:.2f} write_rps={p_rps:.0f} write_ratio={p_rps / re_ if re_ else 0:.3f} "
                 f"write_p99_ms={p_p99:.2f}")
ratio = g_rps / rg if rg else 0
if memory_only:
    lines.append("NOTE --memory-only: скорость чтения и записи не замерялась")
if not memory_only and (f(get_res, "throttled") or f(post_res, "throttled")):
    lines.append("NOTE ответы 429 (бюджет запросов сеанса в шлюзе): замер упирается в ограничение частоты, а не в службу")
if not memory_only:
    verdict(ratio >= 0.35 and g_p99 <= 5.0 and f(get_res, "non2xx") == 0,
        f"чтение: {g_rps:.0f} зап/с = {ratio:.2f} × redis GET ({rg:.0f}); p99 {g_p99:.2f} мс (нужно ≥ 0.35×, p99 ≤ 5 мс)")
ratio = p_rps / re_ if re_ else 0
if not memory_only:
    verdict(ratio >= 0.4 and f(post_res, "non2xx") == 0,
        f"запись: {p_rps:.0f} зап/с = {ratio:.2f} × redis EVALSHA ({re_:.0f}); p99 {p_p99:.2f} мс (нужно ≥ 0.40×)")
if speed_only:
    print("\n".join(lines + ["NOTE --speed-only: память не замерялась"]))
    sys.exit(0)
verdict(per <= 700 and n > 0,
        f"память: {per:.0f} байт на работника — сущность, индексы, externalId ({n} созданий по школам региона, "
        f"used_memory +{total} без потоков +{streams}) (нужно ≤ 700)")
one_n = int(float(one_created or 0))
one_streams = int(one_streams_after) - int(one_streams_before)
one_per = (int(one_after) - int(one_before) - one_streams) / one_n if one_n else float("inf")
lines.append(f"NOTE память, все в одной школе (худший случай для индексов): {one_per:.0f} байт на работника "
             f"({one_n} созданий)")
lines.append(f"NOTE потоки (события, аудит): {per_streams:.0f} байт на создание, отдельно от предела; поток событий "
             f"обрезают потребители")
print("\n".join(lines))
EOF
)"
echo
echo "$verdicts"
grep -q '^FAIL' <<<"$verdicts" && exit 1
exit 0
