# ops/lib.sh — shell functions shared by ops/up, ops/down, ops/status, ops/test and ops/bench:
# package installation, the build, settings of one stack (ports, data dir, broker endpoint),
# starting/stopping background processes by pid file, and waiting for readiness.
# Sourced, never run; callers set `set -euo pipefail` themselves.

MN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian 12 packages the project needs to build, run and test.
MN_PACKAGES=(
    build-essential cmake pkg-config python3 curl ca-certificates clang-format
    libuv1-dev libzmq3-dev libhiredis-dev libprotobuf-c-dev protobuf-c-compiler
    libjansson-dev libsodium-dev libcmocka-dev libh2o-dev libssl-dev zlib1g-dev libcurl4-openssl-dev
    libxlsxwriter-dev clang
    redis-server redis-tools wrk docker-compose
    nftables
    nodejs chromium
)

mn_say() { printf '==> %s\n' "$*" >&2; }
mn_warn() { printf '[!] %s\n' "$*" >&2; }
mn_die() {
    printf '[ОШИБКА] %s\n' "$*" >&2
    exit 1
}

# Installs whatever of MN_PACKAGES (plus extra arguments) is missing. apt-get update runs only
# when something has to be installed.
mn_ensure_packages() {
    local missing=() p status
    for p in "${MN_PACKAGES[@]}" "$@"; do
        status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
        [[ "$status" == "install ok installed" ]] || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    mn_say "Устанавливаю недостающие пакеты: ${missing[*]}"
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null || mn_die "нужны права root для apt-get (пакеты: ${missing[*]})"
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq </dev/null ||
        mn_die "apt-get update не удался"
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null ||
        mn_die "apt-get install не удался: ${missing[*]}"
}

# mn_build <build dir> <build type> [extra cmake args...]: configure (once) and build.
mn_build() {
    local dir="$1" type="$2"
    shift 2
    mn_say "Сборка в ${dir} (${type})"
    mkdir -p "$dir"
    cmake -S "$MN_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >"$dir/ops-cmake.log" 2>&1 || {
        cat "$dir/ops-cmake.log" >&2
        mn_die "cmake не смог сконфигурировать сборку (журнал выше)"
    }
    cmake --build "$dir" -j"${MN_JOBS:-2}" >"$dir/ops-build.log" 2>&1 || {
        tail -n 80 "$dir/ops-build.log" >&2
        mn_die "сборка не удалась, полный журнал: $dir/ops-build.log"
    }
}

# mn_web_build: the web console (web/, served by the gateway at /): its npm packages from the committed
# package-lock.json (npm ci, only when the lockfile changed since the last install), then the esbuild
# build into web/dist. No browser is downloaded: the browser tests use Debian's chromium.
mn_web_build() {
    local web="$MN_ROOT/web" stamp="$MN_ROOT/web/node_modules/.metodnet-package-lock.json" log
    command -v npm >/dev/null || mn_ensure_packages npm
    log="$(mktemp /tmp/metodnet-npm.XXXXXX)"
    if ! cmp -s "$web/package-lock.json" "$stamp"; then
        mn_say "Устанавливаю пакеты веб-консоли (npm ci в web/)"
        (cd "$web" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1 || {
            tail -n 30 "$log" >&2
            mn_die "npm ci в web/ не удался"
        }
        cp "$web/package-lock.json" "$stamp"
    fi
    (cd "$web" && node build.mjs) >"$log" 2>&1 || {
        tail -n 30 "$log" >&2
        mn_die "сборка веб-консоли (web/build.mjs) не удалась"
    }
    mn_say "Веб-консоль собрана: $(tail -n 1 "$log")"
    rm -f "$log"
}

# Settings of one stack. Two stacks side by side differ in METODNET_HTTP_PORT, METODNET_REDIS_PORT
# and METODNET_DATA_DIR; the broker endpoint follows the HTTP port unless METODNET_BROKER is set.
mn_stack_env() {
    export METODNET_HTTP_HOST="${METODNET_HTTP_HOST:-127.0.0.1}"
    export METODNET_HTTP_PORT="${METODNET_HTTP_PORT:-8080}"
    export METODNET_REDIS_HOST="${METODNET_REDIS_HOST:-127.0.0.1}"
    export METODNET_REDIS_PORT="${METODNET_REDIS_PORT:-6379}"
    export METODNET_BROKER="${METODNET_BROKER:-tcp://127.0.0.1:$((METODNET_HTTP_PORT + 1000))}"
    METODNET_DATA_DIR="${METODNET_DATA_DIR:-$MN_ROOT/var}"
    mkdir -p "$METODNET_DATA_DIR"
    METODNET_DATA_DIR="$(cd "$METODNET_DATA_DIR" && pwd)"
    export METODNET_DATA_DIR
    export METODNET_BUILD_DIR="${METODNET_BUILD_DIR:-$MN_ROOT/build}"
    # the CurveZMQ keys of the broker and the services (mn_broker_keys, docs/security.md)
    export METODNET_KEYS_DIR="${METODNET_KEYS_DIR:-$METODNET_DATA_DIR/keys}"
    # the services of this host reach the broker over ipc:// (no Curve: the directory is the owner's
    # alone, docs/security.md); the TCP endpoint above (Curve) is for workers on other hosts.
    # METODNET_BROKER_LOCAL="" keeps every service on TCP.
    export METODNET_BROKER_LOCAL="${METODNET_BROKER_LOCAL-ipc://$METODNET_DATA_DIR/broker/broker.sock}"
    MN_RUN_DIR="$METODNET_DATA_DIR/run"
    MN_LOG_DIR="$METODNET_DATA_DIR/logs"
    MN_BASE_URL="http://$METODNET_HTTP_HOST:$METODNET_HTTP_PORT"
    mkdir -p "$MN_RUN_DIR" "$MN_LOG_DIR" "$METODNET_DATA_DIR/redis"
}

# Pid of a process named by its pid file if it is alive, else empty.
mn_pid_of() {
    local pidfile="$MN_RUN_DIR/$1.pid" pid
    [[ -f "$pidfile" ]] || return 0
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    # A killed process whose parent is gone may stay a zombie where nothing reaps orphans (a
    # container's init): kill -0 still succeeds on it, so its state is read too.
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
        [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]]; then
        echo "$pid"
    fi
}

# mn_start <name> <command...>: starts the command in its own session, detached, with stdout and
# stderr appended to logs/<name>.log and its pid in run/<name>.pid. A running one is left alone.
mn_start() {
    local name="$1"
    shift
    local pid
    pid="$(mn_pid_of "$name")"
    if [[ -n "$pid" ]]; then
        mn_say "$name уже запущен (pid $pid)"
        return 0
    fi
    # setsid: a Ctrl-C in the terminal that ran ops/up does not reach the stack. The background
    # child of a non-interactive shell is not a group leader, so setsid execs without forking and
    # $! is the service's own pid.
    nohup setsid "$@" >>"$MN_LOG_DIR/$name.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$MN_RUN_DIR/$name.pid"
    sleep 0.2
    if ! kill -0 "$pid" 2>/dev/null; then
        tail -n 20 "$MN_LOG_DIR/$name.log" >&2 || true
        mn_die "$name завершился сразу после запуска, журнал: $MN_LOG_DIR/$name.log"
    fi
    mn_say "$name запущен (pid $pid), журнал: $MN_LOG_DIR/$name.log"
}

# mn_stop <name> [timeout seconds]: SIGTERM, wait, then SIGKILL.
mn_stop() {
    local name="$1" timeout="${2:-15}" pid i
    pid="$(mn_pid_of "$name")"
    if [[ -z "$pid" ]]; then
        rm -f "$MN_RUN_DIR/$name.pid"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        mn_warn "$name (pid $pid) не остановился за ${timeout} с, посылаю SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$MN_RUN_DIR/$name.pid"
    mn_say "$name остановлен"
}

# Names of all processes of the stack known by pid file: service workers first, Redis last.
mn_known_names() {
    local f names=()
    for f in "$MN_RUN_DIR"/registry-*.pid; do
        [[ -e "$f" ]] && names+=("$(basename "$f" .pid)")
    done
    for f in "$MN_RUN_DIR"/diagnostics-*.pid; do
        [[ -e "$f" ]] && names+=("$(basename "$f" .pid)")
    done
    [[ -e "$MN_RUN_DIR/notify.pid" ]] && names+=(notify)
    [[ -e "$MN_RUN_DIR/events.pid" ]] && names+=(events)
    for f in "$MN_RUN_DIR"/mentoring-*.pid; do
        [[ -e "$f" ]] && names+=("$(basename "$f" .pid)")
    done
    [[ -e "$MN_RUN_DIR/indicators.pid" ]] && names+=(indicators)
    for f in "$MN_RUN_DIR"/monitoring-*.pid; do
        [[ -e "$f" ]] && names+=("$(basename "$f" .pid)")
    done
    [[ -e "$MN_RUN_DIR/auth.pid" ]] && names+=(auth)
    [[ -e "$MN_RUN_DIR/gateway.pid" ]] && names+=(gateway)
    [[ -e "$MN_RUN_DIR/redis.pid" ]] && names+=(redis)
    printf '%s\n' "${names[@]}"
}

# Redis users: ops/redis-acl.conf holds one line "<name> <ACL rules>" per user. Their passwords are
# generated once into <data dir>/redis-passwords (mode 0600, lines "<name> <password>"); the ACL file
# handed to redis-server carries only SHA-256 hashes of them.
MN_REDIS_ACL_RULES="$MN_ROOT/ops/redis-acl.conf"

mn_redis_users() {
    grep -vE '^[[:space:]]*(#|$)' "$MN_REDIS_ACL_RULES" | awk '{print $1}'
}

# Creates the password file, or adds passwords for users it does not have yet.
mn_redis_secrets() {
    local file="$METODNET_DATA_DIR/redis-passwords" user
    (
        umask 077
        touch "$file"
        chmod 600 "$file"
        for user in $(mn_redis_users); do
            grep -q "^$user " "$file" ||
                printf '%s %s\n' "$user" "$(python3 -c 'import secrets; print(secrets.token_hex(24))')" >>"$file"
        done
    )
}

# mn_redis_password <user>: the user's password (mn_redis_secrets must have run).
mn_redis_password() {
    awk -v u="$1" '$1 == u {print $2; exit}' "$METODNET_DATA_DIR/redis-passwords" 2>/dev/null
}

# mn_redis_as <user>: the environment a process needs to connect to Redis as that ACL user.
mn_redis_as() {
    export METODNET_REDIS_USER="$1"
    METODNET_REDIS_PASSWORD="$(mn_redis_password "$1")"
    [[ -n "$METODNET_REDIS_PASSWORD" ]] || mn_die "нет пароля Redis для пользователя $1"
    export METODNET_REDIS_PASSWORD
}

# redis-cli as the operator's user "ops" (the password goes through the environment, not argv).
mn_rcli() {
    REDISCLI_AUTH="$(mn_redis_password ops)" redis-cli --no-auth-warning --user ops \
        -h 127.0.0.1 -p "$METODNET_REDIS_PORT" "$@"
}

# Writes the ACL file of this stack from ops/redis-acl.conf: the default user unusable (a random
# password hash), every other user with the SHA-256 of its password and its rules.
mn_redis_acl() {
    local acl="$METODNET_DATA_DIR/redis/users.acl" name rules hash
    mn_redis_secrets
    (
        umask 077
        # The default user keeps its permissions but gets a random password hash whose password
        # nobody knows, so no connection can use it. It is not "off": Redis 7.0 replays the AOF's
        # MULTI/EXEC blocks (the effects of every Lua script) with the default user's permissions
        # and silently drops them when it may not run them (redis/redis#14541, fixed after 7.0.15).
        echo "user default on #$(head -c 32 /dev/urandom | sha256sum | cut -c1-64) ~* &* +@all" >"$acl.tmp"
        while read -r name rules; do
            [[ -z "$name" || "$name" == \#* ]] && continue
            hash="$(printf '%s' "$(mn_redis_password "$name")" | sha256sum | cut -c1-64)"
            echo "user $name reset on #$hash $rules" >>"$acl.tmp"
        done <"$MN_REDIS_ACL_RULES"
        mv "$acl.tmp" "$acl"
    )
    echo "$acl"
}

# Writes the Redis configuration of this stack: AOF on, loopback (and the addresses of METODNET_REDIS_BIND,
# space-separated, for workers on other hosts: docs/operations.md), protected mode, the ACL users of
# mn_redis_acl (no connection without a password).
mn_redis_conf() {
    local conf="$METODNET_DATA_DIR/redis/redis.conf" acl
    acl="$(mn_redis_acl)"
    (
        umask 077
        cat >"$conf" <<EOF
# Written by ops/up; changes here are overwritten on the next start.
bind 127.0.0.1${METODNET_REDIS_BIND:+ $METODNET_REDIS_BIND}
port $METODNET_REDIS_PORT
protected-mode yes
aclfile $acl
daemonize no
dir $METODNET_DATA_DIR/redis
pidfile $MN_RUN_DIR/redis-server.pid
logfile ""
appendonly yes
appendfsync ${METODNET_REDIS_APPENDFSYNC:-always}
save ""
# Entity hashes {v,d,a} (common/entity_store.c) stay listpack-encoded while each value fits: the
# protobuf d of a staff member is ~200 bytes, over the default 64 that makes every entity a
# hashtable (~220 bytes more per entity; docs/performance.md). Records written under the old limit
# become listpack when Redis loads its AOF at the start that brings this line.
hash-max-listpack-value 1024
# Index sorted sets of one organization (~27 people) or one municipality (~670) stay listpack-encoded
# (~40 bytes a member instead of ~130 in a skiplist; docs/performance.md); a region's indexes are bigger
# and stay skiplists. Members are short: the sort text is one byte per Cyrillic letter.
zset-max-listpack-entries 1024
zset-max-listpack-value 128
EOF
    )
    echo "$conf"
}

# HTTP status code of a GET (000 when nothing answers).
mn_http_code() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>/dev/null || true
}

# mn_wait_ready <timeout seconds>: waits for /readyz to answer 200.
mn_wait_ready() {
    local timeout="$1" i code
    for ((i = 0; i < timeout * 5; i++)); do
        code="$(mn_http_code "$MN_BASE_URL/readyz")"
        [[ "$code" == 200 ]] && return 0
        sleep 0.2
    done
    return 1
}

# mn_wait_redis: waits until this stack's Redis serves commands. A Redis that answers LOADING is
# loading its AOF: progress is shown from INFO persistence (loading_loaded_perc) and the deadline
# grows with the AOF on disk (30 s plus 10 s per 100 MB; METODNET_REDIS_LOAD_TIMEOUT overrides).
# Dies with the log's tail when Redis exits or the deadline passes.
mn_wait_redis() {
    local aof_bytes timeout reply perc shown="" started=$SECONDS last_print=-10 pid
    aof_bytes="$(du -sb "$METODNET_DATA_DIR/redis/appendonlydir" 2>/dev/null | cut -f1 || true)"
    aof_bytes="${aof_bytes:-0}"
    timeout="${METODNET_REDIS_LOAD_TIMEOUT:-$((30 + aof_bytes / 10000000))}"
    while :; do
        reply="$(mn_rcli ping 2>&1 || true)"
        [[ "$reply" == PONG ]] && break
        pid="$(mn_pid_of redis)"
        if [[ -z "$pid" ]]; then
            tail -n 20 "$MN_LOG_DIR/redis.log" >&2 || true
            mn_die "Redis завершился при запуске (ответ: ${reply:-нет}), журнал: $MN_LOG_DIR/redis.log"
        fi
        if ((SECONDS - started > timeout)); then
            tail -n 20 "$MN_LOG_DIR/redis.log" >&2 || true
            mn_die "Redis не готов за $timeout с (последний ответ: ${reply:-нет}), журнал: $MN_LOG_DIR/redis.log"
        fi
        if [[ "$reply" == LOADING* ]] && ((SECONDS - last_print >= 1)); then
            perc="$(mn_rcli info persistence 2>/dev/null | tr -d '\r' | awk -F: '$1 == "loading_loaded_perc" {print $2}')"
            perc="${perc%%.*}"
            if [[ "${perc:-0}" != "$shown" ]]; then
                mn_say "Redis загружает данные: ${perc:-0} %… ($((aof_bytes / 1000000)) МБ AOF, жду до $timeout с)"
                shown="${perc:-0}"
                last_print=$SECONDS
            fi
        fi
        sleep 0.1
    done
    if ((SECONDS - started >= 1)); then
        mn_say "Redis готов (загрузка данных заняла $((SECONDS - started)) с)"
    fi
}

# mn_start_redis: writes this stack's Redis configuration and ACL file, starts Redis (a running one
# is left alone) and waits until it serves commands.
mn_start_redis() {
    local -a wrap=()
    read -ra wrap <<<"$MN_WRAPPER"
    mn_start redis "${wrap[@]}" redis-server "$(mn_redis_conf)"
    mn_wait_redis
}

# mn_bootstrap_admin <build dir> <login> <full name> <password>: creates the first region-07
# administrator straight in Redis. Returns the tool's code: 0 created, 3 already there.
mn_bootstrap_admin() {
    local build_dir="$1" login="$2" full_name="$3" password="$4" rc
    set +e
    (mn_redis_as auth && "$build_dir/services/auth/metodnet-auth" bootstrap-admin --region 07 --login "$login" \
        --full-name "$full_name" <<<"$password" >>"$MN_LOG_DIR/bootstrap.log" 2>&1)
    rc=$?
    set -e
    return "$rc"
}

# MN_WRAPPER: a command the processes of a stack are started under (ops/bench/instructions.sh runs
# them under valgrind --tool=callgrind); empty for ./ops/up and the other benchmarks.
MN_WRAPPER="${MN_WRAPPER:-}"

# The services that connect to the broker with a key of their own (the gateway holds the broker).
MN_KEYED_SERVICES=(auth registry diagnostics events mentoring indicators monitoring notify)

# mn_broker_keys <build dir>: the CurveZMQ keys of this stack in $METODNET_KEYS_DIR (mode 0700): the
# broker's key pair, one key per service (files 0600), the clients list the broker admits. Made once;
# what is there is kept (metodnet-keys init is idempotent).
mn_broker_keys() {
    local tool="$1/ops/keys/metodnet-keys" out
    [[ -x "$tool" ]] || mn_die "нет $tool (сборка: ./ops/up)"
    out="$("$tool" init --dir "$METODNET_KEYS_DIR" "${MN_KEYED_SERVICES[@]}" 2>&1)" ||
        mn_die "ключи брокера не созданы: $out"
    [[ -z "$out" ]] || mn_say "Ключи CurveZMQ ($METODNET_KEYS_DIR): $(tr '\n' ';' <<<"$out")"
}

# mn_local_broker: a service process of this host connects to the broker's local endpoint (in a subshell).
mn_local_broker() {
    if [[ -n "$METODNET_BROKER_LOCAL" ]]; then
        export METODNET_BROKER="$METODNET_BROKER_LOCAL"
    fi
    return 0
}

# mn_start_services <build dir> <workers> <service...>: starts the named processes of the stack, each
# as its own Redis ACL user (ops/redis-acl.conf): gateway, auth, events, indicators and notify (each one consumer
# of the streams) once, registry, diagnostics, mentoring and monitoring
# <workers> times. A binary that is missing stops the start with a clear message. The broker keys are
# made first (mn_broker_keys).
mn_start_services() {
    local build_dir="$1" workers="$2" service bin w
    local -a wrap=()
    read -ra wrap <<<"$MN_WRAPPER"
    shift 2
    mn_broker_keys "$build_dir"
    for service in "$@"; do
        bin="$build_dir/services/$service/metodnet-$service"
        [[ -x "$bin" ]] || mn_die "нет исполняемого файла службы $service: $bin (сборка: ./ops/up)"
        case "$service" in
        gateway) (mn_redis_as "$service" && mn_start "$service" "${wrap[@]}" "$bin") ;;
        auth | events | indicators | notify) (mn_redis_as "$service" && mn_local_broker && mn_start "$service" "${wrap[@]}" "$bin") ;;
        *)
            for ((w = 1; w <= workers; w++)); do
                (mn_redis_as "$service" && mn_local_broker && mn_start "$service-$w" "${wrap[@]}" "$bin")
            done
            ;;
        esac
    done
}

# mn_live_names: names of the processes of this stack that are running now.
mn_live_names() {
    local name
    while read -r name; do
        [[ -n "$name" && -n "$(mn_pid_of "$name")" ]] && echo "$name"
    done < <(mn_known_names)
    return 0
}

# mn_stop_on_failure: from here on, a failing exit stops every process of the stack that this run
# started (those running before it are left alone) and says so; the caller's error message names
# the log to read.
mn_stop_on_failure() {
    MN_RUNNING_BEFORE="$(mn_live_names | tr '\n' ' ')"
    trap mn_on_failed_exit EXIT
}

mn_on_failed_exit() {
    local rc=$? name stopped=()
    ((rc == 0)) && return 0
    while read -r name; do
        [[ -z "$name" || " $MN_RUNNING_BEFORE " == *" $name "* ]] && continue
        mn_stop "$name" 10 >/dev/null 2>&1 || true
        stopped+=("$name")
    done < <(mn_live_names)
    if ((${#stopped[@]})); then
        mn_warn "Запуск не удался: остановлено запущенное в этот раз (${stopped[*]}); журналы: $MN_LOG_DIR/"
    else
        mn_warn "Запуск не удался; журналы: $MN_LOG_DIR/"
    fi
    exit "$rc"
}

# Body of a GET, or nothing when nothing answers (for error messages).
mn_http_body() {
    curl -s --max-time 3 "$1" 2>/dev/null | head -c 600 || true
}

# mn_private_stack <name>: the settings of a throw-away stack for a benchmark: data in a new temp dir,
# free ports, the build in $1's build dir; on exit every process of it is stopped and the dir removed
# (kept with BENCH_KEEP=1). Sets MN_PRIVATE_DIR.
mn_private_stack() {
    mn_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
    MN_PRIVATE_DIR="$(mktemp -d "/tmp/metodnet-$1.XXXXXX")"
    export METODNET_DATA_DIR="$MN_PRIVATE_DIR"
    export METODNET_HTTP_PORT="$(mn_free_port)"
    export METODNET_REDIS_PORT="$(mn_free_port)"
    export METODNET_BROKER="tcp://127.0.0.1:$(mn_free_port)"
    # The per-token request budget protects a real deployment; a throughput measurement switches it off
    # (the one setting a benchmark changes; bench.sh names it). Everything else is ./ops/up's.
    export METODNET_RATE_LIMIT="${METODNET_RATE_LIMIT:-0}"
    mn_stack_env
    trap mn_private_stack_cleanup EXIT
}

mn_private_stack_cleanup() {
    local name
    while read -r name; do
        [[ -n "$name" ]] && mn_stop "$name" 10 2>/dev/null
    done < <(mn_known_names)
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
        echo "данные и журналы оставлены в $MN_PRIVATE_DIR" >&2
    else
        rm -rf "$MN_PRIVATE_DIR"
    fi
}

# redis-benchmark against this stack's Redis as the operator's ACL user.
mn_rbench() {
    redis-benchmark -h 127.0.0.1 -p "$METODNET_REDIS_PORT" --user ops -a "$(mn_redis_password ops)" "$@"
}

# mn_rdel_matching <pattern>: deletes every key matching the pattern (SCAN, 500 keys a DEL).
mn_rdel_matching() {
    mn_rcli --scan --pattern "$1" | while mapfile -t -n 500 keys && ((${#keys[@]})); do
        mn_rcli DEL "${keys[@]}" >/dev/null
    done
}

# mn_check_claims <registry binary>: `metodnet-registry check-claims --fix` as the operator's Redis user
# (it reads whole claims hashes). Releases externalId claims of deleted or changed records and claims the
# values of records that hold none; values held by several records are only reported (a warning: the
# operator decides which record keeps the value). The report goes to <log dir>/check-claims.log.
mn_check_claims() {
    local log="$MN_LOG_DIR/check-claims.log" rc
    date -u '+%F %T UTC' >>"$log"
    set +e
    (mn_redis_as ops && "$1" check-claims --fix >"$log.tmp" 2>&1)
    rc=$?
    set -e
    cat "$log.tmp" >>"$log"
    case "$rc" in
    0) mn_say "Внешние идентификаторы реестра согласованы с записями (отчёт: $log)" ;;
    3)
        grep -E '^(дубль|устаревшее|не занято)' "$log.tmp" | head -n 20 >&2 || true
        mn_warn "остались расхождения externalId (решает оператор), отчёт: $log"
        ;;
    *)
        tail -n 20 "$log.tmp" >&2 || true
        rm -f "$log.tmp"
        mn_die "проверка externalId реестра не удалась (код $rc), журнал: $log"
        ;;
    esac
    rm -f "$log.tmp"
}

# mn_migrate_records <registry binary>: `metodnet-registry migrate-records` as the operator's Redis user,
# before the services start: the registry's records of older versions in today's form (founder, the
# network flag, subjects, the next attestation), each changed record a new version with its event.
# Idempotent; the report (progress per region and kind) goes to <log dir>/migrate-records.log.
mn_migrate_records() {
    local log="$MN_LOG_DIR/migrate-records.log" rc
    date -u '+%F %T UTC' >>"$log"
    set +e
    (mn_redis_as ops && "$1" migrate-records >>"$log" 2>&1)
    rc=$?
    set -e
    case "$rc" in
    0)
        if ! tail -n 1 "$log" | grep -q ' обновлено 0$'; then
            mn_say "Записи реестра приведены к текущему виду: $(tail -n 1 "$log" | sed 's/^Итого: //')"
        fi
        ;;
    3) mn_warn "миграция записей реестра оставила записи (запустите ./ops/up ещё раз; отчёт: $log): $(tail -n 1 "$log")" ;;
    *)
        tail -n 20 "$log" >&2 || true
        mn_die "миграция записей реестра не удалась (код $rc), журнал: $log"
        ;;
    esac
}

# mn_migrate_sort_text: the index members written before the compact sort text get it
# (ops/migrate/sort_text.lua), a page of the keyspace per call, with progress for a big store.
# Idempotent; the store is marked when done, so later starts cost one EXISTS.
mn_migrate_sort_text() {
    local script cursor=0 out keys=0 members=0 pages=0
    script="$(cat "$MN_ROOT/ops/migrate/sort_text.lua")"
    while :; do
        out="$(mn_rcli EVAL "$script" 0 "$cursor" 500 2>&1)" || mn_die "миграция индексов не удалась: $out"
        mapfile -t r <<<"$out"
        [[ "${r[0]:-}" =~ ^[0-9]+$ && "${r[1]:-}" =~ ^[0-9]+$ && "${r[2]:-}" =~ ^[0-9]+$ ]] ||
            mn_die "миграция индексов: неожиданный ответ Redis: $out"
        cursor="${r[0]}" keys=$((keys + r[1])) members=$((members + r[2])) pages=$((pages + 1))
        if ((pages % 200 == 0)); then
            mn_say "Миграция индексов: просмотрено страниц $pages, переписано членов $members"
        fi
        [[ "$cursor" == 0 ]] && break
    done
    if ((members > 0)); then
        mn_say "Индексы переведены на компактный ключ сортировки: индексов $keys, членов $members"
    fi
}

# mn_migrate_claims: one-off migrations of a store written by an older version, as the operator's Redis
# user, before the services start: the registry's unique indexes and auth's login index become claims
# (ops/migrate/unique_to_claims.lua). Idempotent; says what it moved.
mn_migrate_claims() {
    local out memberships items logins
    out="$(mn_rcli EVAL "$(cat "$MN_ROOT/ops/migrate/unique_to_claims.lua")" 0 2>&1)" ||
        mn_die "миграция уникальных значений реестра не удалась: $out"
    memberships="$(sed -n 1p <<<"$out")"
    items="$(sed -n 2p <<<"$out")"
    logins="$(sed -n 3p <<<"$out")"
    [[ "$memberships" =~ ^[0-9]+$ && "$items" =~ ^[0-9]+$ && "$logins" =~ ^[0-9]+$ ]] ||
        mn_die "миграция уникальных значений: неожиданный ответ Redis: $out"
    if ((memberships + items + logins > 0)); then
        mn_say "Перенесены уникальные значения в claims: членство $memberships, пункты маршрутов $items, логины $logins"
    fi
}
