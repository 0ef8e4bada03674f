#!/usr/bin/env bash
# ops/bench/notify_fanout.sh — one regional event to 1,500 webhook subscriptions (issue 9, item 4):
#   a local sink (one asyncio process on loopback, one path per endpoint) receives every delivery and
#   verifies its Standard Webhooks signature; all within 10 s, else the run fails. Prints deliveries/s,
#   the p50/p99 delay from the event's write to its arrival, and the ratio to a curl --parallel baseline
#   of the same number of POSTs to the same sink, measured in the same run.
# Starts a private stack (free ports, data in a temp dir): gateway, auth, one registry worker, the events
# service and the notify service (METODNET_WEBHOOK_ALLOW_PRIVATE=1: the sink is on loopback); builds
# Release into build-release/ if needed; stops everything it started. The event is a real one: created
# as a draft, then published over HTTP (POST /api/v1/events/{id}/publish) — the delay counts from there.
#
#   ./ops/bench/notify_fanout.sh [--endpoints N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_DIR="$MN_ROOT/ops/bench"

endpoints=1500
while (($#)); do
    case "$1" in
    --endpoints) endpoints="$2"; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) mn_die "неизвестный аргумент: $1" ;;
    esac
done
[[ "$endpoints" =~ ^[1-9][0-9]*$ ]] || mn_die "--endpoints: нужно положительное число"
for tool in redis-server redis-cli curl python3; do
    command -v "$tool" >/dev/null || mn_die "нет $tool (установите: ./ops/up ставит всё нужное)"
done

build_dir="${METODNET_BENCH_BUILD_DIR:-$MN_ROOT/build-release}"
mn_build "$build_dir" Release
export METODNET_BUILD_DIR="$build_dir"
mn_private_stack notify-fanout
export METODNET_WEBHOOK_ALLOW_PRIVATE=1 METODNET_NOTIFY_REGIONS_MS=300 METODNET_REQUIRED_SERVICES=registry,auth,events,notify

mn_start_redis
password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
mn_bootstrap_admin "$build_dir" bench "Замер" "$password" || mn_die "bootstrap-admin не удался: $MN_LOG_DIR/bootstrap.log"
mn_start_services "$build_dir" 1 gateway auth registry events notify
mn_wait_ready 30 || mn_die "стек не готов за 30 с, журналы: $MN_LOG_DIR"
token="$(curl -sS --max-time 30 -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"login\":\"bench\",\"password\":\"$password\"}" "$MN_BASE_URL/api/v1/auth/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
curl -sS --max-time 30 -o /dev/null -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data-binary '{"id":"07","name":"Регион для замера"}' "$MN_BASE_URL/api/v1/regions"
for ((i = 0; i < 100; i++)); do
    mn_rcli XINFO GROUPS 'ev:{r:07}:events' 2>/dev/null | grep -q notify && break
    sleep 0.1
done
mn_rcli XINFO GROUPS 'ev:{r:07}:events' 2>/dev/null | grep -q notify ||
    mn_die "служба уведомлений не начала читать ev:{r:07}:events, журналы: $MN_LOG_DIR"

start="$(date -u -d '+7 days' +%Y-%m-%dT10:00:00Z)" end="$(date -u -d '+7 days' +%Y-%m-%dT13:00:00Z)"
event_id="$(curl -sS --max-time 30 -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data-binary "{\"type\":\"conference\",\"level\":\"regional\",\"title\":\"Региональная конференция\",\"startsAt\":\"$start\",\"endsAt\":\"$end\",\"venue\":\"ИРО, актовый зал\",\"capacity\":0}" \
    "$MN_BASE_URL/api/v1/events" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')" ||
    mn_die "черновик мероприятия не создан, журналы: $MN_LOG_DIR"
publish="curl -sS --max-time 30 -o /dev/null -X POST -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' \
  --data-binary '{}' '$MN_BASE_URL/api/v1/events/$event_id/publish'"
python3 "$BENCH_DIR/notify_fanout.py" --base-url "$MN_BASE_URL" --token "$token" --endpoints "$endpoints" \
    --publish "$publish"
