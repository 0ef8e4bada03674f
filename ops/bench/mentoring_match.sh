#!/usr/bin/env bash
# ops/bench/mentoring_match.sh — matching and bulk assignment of mentors on a generated region:
#   the region of `metodctl demo region` (~60 municipalities, ~1,500 organizations, ~40,000 staff) loaded
#   through the import API, one diagnostic result per teacher (ops/bench/mentoring_setup.py), mentor
#   profiles for 5 % of the experienced teachers; then the time of one match (GET
#   /api/v1/mentoring/matches, the region administrator: every teacher of the region a candidate), of
#   the bulk proposal (POST /api/v1/mentoring/assignments, dryRun) for the municipality with the most
#   young teachers and for the whole region, each with the optimum's total against the greedy
#   baseline on the same edges (the optimality gap). The target: the region's proposal in ≤ 5 s.
# Starts a private stack (free ports, data in a temp dir, METODNET_RATE_LIMIT=0): gateway, auth, two
# registry workers, two diagnostics workers, the mentoring service; builds Release into build-release/
# if needed; stops everything it started.
#
#   ./ops/bench/mentoring_match.sh [--seed N] [--repeat N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_DIR="$MN_ROOT/ops/bench"

seed=10
repeat=3
while (($#)); do
    case "$1" in
    --seed) seed="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) mn_die "неизвестный аргумент: $1" ;;
    esac
done
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || mn_die "--repeat: нужно положительное число"

for tool in redis-server redis-cli curl python3; do
    command -v "$tool" >/dev/null || mn_die "нет $tool (установите: ./ops/up ставит всё нужное)"
done

build_dir="${METODNET_BENCH_BUILD_DIR:-$MN_ROOT/build-release}"
mn_build "$build_dir" Release

export METODNET_BUILD_DIR="$build_dir"
# the region's proposal reads ~80 pages of staff; an import of 40,000 rows is one request
export METODNET_REQUEST_TIMEOUT_MS="${METODNET_REQUEST_TIMEOUT_MS:-300000}"
mn_private_stack mentoring-match
work="$MN_PRIVATE_DIR"

mn_start_redis
password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
mn_bootstrap_admin "$build_dir" bench "Замер" "$password" || mn_die "bootstrap-admin не удался: $MN_LOG_DIR/bootstrap.log"
mn_start_services "$build_dir" 1 gateway auth mentoring
mn_start_services "$build_dir" 2 registry diagnostics
mn_wait_ready 30 || mn_die "стек не готов за 30 с, журналы: $MN_LOG_DIR"

token="$(curl -sS --max-time 30 -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"login\":\"bench\",\"password\":\"$password\"}" "$MN_BASE_URL/api/v1/auth/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

echo "== Подготовка: регион metodctl demo region (seed $seed), результаты диагностики, профили наставников" >&2
t0=$SECONDS
# (its files are written in the current directory: the private stack's)
(cd "$work" && METODNET_URL="$MN_BASE_URL" METODNET_TOKEN="$token" XDG_CONFIG_HOME="$work/config" \
    "$build_dir/ops/metodctl/metodctl" demo region --seed "$seed" --region 07 --load >"$work/demo.log" 2>&1) ||
    { tail -n 20 "$work/demo.log" >&2; mn_die "загрузка региона не удалась, журнал: $work/demo.log"; }
setup="$(python3 "$BENCH_DIR/mentoring_setup.py" --base-url "$MN_BASE_URL" --token "$token" --seed "$seed")" ||
    mn_die "подготовка не удалась, журналы: $MN_LOG_DIR"
echo "   $setup; подготовка $((SECONDS - t0)) с" >&2
get() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$setup" "$1"; }
programme="$(get programme)" mentee="$(get mentee)" municipality="$(get municipality)"

# request METHOD PATH [JSON] OUT → prints the seconds; fails on a non-200 answer
request() {
    local code
    code="$(curl -sS --max-time 300 -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        ${3:+--data-binary "$3"} -o "$4" -w '%{http_code} %{time_total}' "$MN_BASE_URL$2")"
    [[ "${code%% *}" == 200 ]] || mn_die "$1 $2 → HTTP ${code%% *}: $(head -c 400 "$4")"
    echo "${code#* }"
}
median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== Подбор наставников одному молодому педагогу ($mentee), $repeat раз" >&2
times=()
for ((i = 0; i < repeat; i++)); do
    times+=("$(request GET "/api/v1/mentoring/matches?menteeId=$mentee&programmeId=$programme&limit=10" "" "$work/match.json")")
done
[[ ${#times[@]} -eq $repeat && -n "${times[0]}" ]] || mn_die "подбор не выполнен, журналы: $MN_LOG_DIR"
match_s="$(echo "${times[*]}" | median)"
python3 - "$work/match.json" <<'EOF' >&2
import json, sys
m = json.load(open(sys.argv[1]))
print(f"   кандидатов рассмотрено {m['candidatesConsidered']}, дефициты {', '.join(m.get('deficits', []))}")
for c in m["items"][:3]:
    print(f"   {c['score']:6.2f}  {c['fullName']}: {c['explanation']}")
EOF

bulk() { # bulk LABEL JSON → "seconds mentees candidates edges total greedy gap%"
    local label="$1" body="$2" t out=()
    for ((i = 0; i < repeat; i++)); do out+=("$(request POST /api/v1/mentoring/assignments "$body" "$work/bulk.json")"); done
    t="$(echo "${out[*]}" | median)"
    python3 - "$work/bulk.json" "$t" "$label" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))
total, greedy = a.get("totalScore", 0.0), a.get("greedyTotalScore", 0.0)
gap = 100.0 * (total - greedy) / total if total else 0.0
print(f"{sys.argv[3]}|{sys.argv[2]}|{a.get('mentees', 0)}|{a.get('candidates', 0)}|{a.get('edges', 0)}|"
      f"{len(a.get('assignments', []))}|{total:.2f}|{greedy:.2f}|{gap:.3f}")
EOF
}
echo "== Распределение (dryRun): муниципалитет $municipality и весь регион, медиана из $repeat" >&2
rows=()
row="$(bulk "муниципалитет" "{\"programmeId\":\"$programme\",\"municipalityId\":\"$municipality\",\"dryRun\":true}")"
[[ -n "$row" ]] || mn_die "распределение по муниципалитету не выполнено, журналы: $MN_LOG_DIR"
rows+=("$row")
row="$(bulk "регион" "{\"programmeId\":\"$programme\",\"regionId\":\"07\",\"dryRun\":true}")"
[[ -n "$row" ]] || mn_die "распределение по региону не выполнено, журналы: $MN_LOG_DIR"
rows+=("$row")

echo
echo "Подбор и распределение наставников: регион $(get teachers) педагогов, молодых $(get young), профилей $(get profiles)"
printf '  %-44s %8s с\n' "подбор одному наставляемому (медиана)" "$match_s"
region_s=""
for row in "${rows[@]}"; do
    IFS='|' read -r label t mentees candidates edges assigned total greedy gap <<<"$row"
    printf '  распределение: %-14s %6s с; наставляемых %s, наставников %s, рёбер %s, пар %s\n' \
        "$label" "$t" "$mentees" "$candidates" "$edges" "$assigned"
    printf '  %-29s сумма баллов %s, жадный алгоритм %s, разрыв %s %%\n' "" "$total" "$greedy" "$gap"
    [[ "$label" == "регион" ]] && region_s="$t"
done
if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 5.0 else 1)" "$region_s"; then
    echo "  цель «предложение для региона ≤ 5 с»: выполнена ($region_s с)"
else
    echo "  цель «предложение для региона ≤ 5 с»: НЕ выполнена ($region_s с)"
fi
