/* config — settings from flags, then METODNET_* environment, then defaults (see config.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdp_broker.h"

typedef enum { OPT_STRING, OPT_PORT, OPT_UINT, OPT_UINT_OR_ZERO } option_kind;

typedef struct {
    const char *flag; /* without leading "--" */
    const char *env;
    option_kind kind;
    size_t offset_or_index; /* see s_options */
    const char *help_ru;
} option;

enum {
    O_REDIS_HOST,
    O_REDIS_PORT,
    O_REDIS_SOCKET,
    O_REDIS_USER,
    O_REDIS_PASSWORD,
    O_REDIS_SENTINELS,
    O_REDIS_MASTER_NAME,
    O_REDIS_SENTINEL_PASSWORD,
    O_REDIS_WAIT_REPLICAS,
    O_REDIS_WAIT_MS,
    O_BROKER,
    O_BROKER_BIND,
    O_BROKER_LOCAL,
    O_HTTP_HOST,
    O_HTTP_PORT,
    O_CONCURRENCY,
    O_REQUEST_TIMEOUT,
    O_REQUIRED_SERVICES,
    O_MAX_BODY,
    O_RATE_LIMIT,
    O_KEYS_DIR,
    O_BROKER_QUEUE_MAX,
    O_HEALTH_INTERVAL,
    O_COUNT
};

static const option s_options[O_COUNT] = {
    {"redis-host", "METODNET_REDIS_HOST", OPT_STRING, O_REDIS_HOST, "адрес Redis (127.0.0.1)"},
    {"redis-port", "METODNET_REDIS_PORT", OPT_PORT, O_REDIS_PORT, "порт Redis (6379)"},
    {"redis-socket", "METODNET_REDIS_SOCKET", OPT_STRING, O_REDIS_SOCKET, "unix-сокет Redis вместо TCP"},
    {"redis-user", "METODNET_REDIS_USER", OPT_STRING, O_REDIS_USER, "пользователь ACL Redis"},
    {"redis-password", "METODNET_REDIS_PASSWORD", OPT_STRING, O_REDIS_PASSWORD, "пароль Redis"},
    {"redis-sentinels", "METODNET_REDIS_SENTINELS", OPT_STRING, O_REDIS_SENTINELS,
     "Sentinel: адреса ip:порт через запятую; основной узел Redis узнаётся у них"},
    {"redis-master-name", "METODNET_REDIS_MASTER_NAME", OPT_STRING, O_REDIS_MASTER_NAME,
     "имя основного узла в настройках Sentinel (metodnet)"},
    {"redis-sentinel-password", "METODNET_REDIS_SENTINEL_PASSWORD", OPT_STRING, O_REDIS_SENTINEL_PASSWORD,
     "пароль Sentinel (requirepass)"},
    {"redis-wait-replicas", "METODNET_REDIS_WAIT_REPLICAS", OPT_UINT_OR_ZERO, O_REDIS_WAIT_REPLICAS,
     "запись сущности ждёт подтверждения стольких реплик (WAIT; 0 — не ждёт)"},
    {"redis-wait-ms", "METODNET_REDIS_WAIT_MS", OPT_UINT, O_REDIS_WAIT_MS, "срок ожидания реплик, мс (1000)"},
    {"broker", "METODNET_BROKER", OPT_STRING, O_BROKER, "адрес брокера MDP (tcp://127.0.0.1:5555)"},
    {"broker-bind", "METODNET_BROKER_BIND", OPT_STRING, O_BROKER_BIND,
     "шлюз: где слушает брокер — адрес или несколько через запятую (по умолчанию --broker)"},
    {"broker-local", "METODNET_BROKER_LOCAL", OPT_STRING, O_BROKER_LOCAL,
     "шлюз: ipc://<путь> брокера для обработчиков этой машины, без CurveZMQ (каталог только для владельца)"},
    {"http-host", "METODNET_HTTP_HOST", OPT_STRING, O_HTTP_HOST, "адрес HTTP (127.0.0.1)"},
    {"http-port", "METODNET_HTTP_PORT", OPT_PORT, O_HTTP_PORT, "порт HTTP (8080)"},
    {"concurrency", "METODNET_CONCURRENCY", OPT_UINT, O_CONCURRENCY, "одновременных запросов на процесс (32)"},
    {"request-timeout-ms", "METODNET_REQUEST_TIMEOUT_MS", OPT_UINT, O_REQUEST_TIMEOUT, "срок ответа службы, мс (5000)"},
    {"required-services", "METODNET_REQUIRED_SERVICES", OPT_STRING, O_REQUIRED_SERVICES,
     "службы, без которых шлюз не готов (registry,auth,diagnostics)"},
    {"max-body-bytes", "METODNET_MAX_BODY_BYTES", OPT_UINT, O_MAX_BODY, "предел тела запроса, байт (1048576)"},
    {"rate-limit", "METODNET_RATE_LIMIT", OPT_UINT_OR_ZERO, O_RATE_LIMIT,
     "запросов в секунду на один токен (50; 0 — без ограничения)"},
    {"keys-dir", "METODNET_KEYS_DIR", OPT_STRING, O_KEYS_DIR,
     "каталог ключей CurveZMQ брокера и служб ($METODNET_DATA_DIR/keys)"},
    {"broker-queue-max", "METODNET_BROKER_QUEUE_MAX", OPT_UINT_OR_ZERO, O_BROKER_QUEUE_MAX,
     "запросов в очереди брокера к одной службе, сверх — сразу 503 (1000; 0 — без ограничения)"},
    {"health-interval-ms", "METODNET_HEALTH_INTERVAL_MS", OPT_UINT, O_HEALTH_INTERVAL,
     "как часто процесс пишет отчёт о здоровье в Redis, мс (5000)"},
};

static void s_usage(const char *service_name)
{
    fprintf(stderr, "Использование: metodnet-%s [параметры]\n", service_name);
    for (size_t i = 0; i < O_COUNT; i++)
        fprintf(stderr, "  --%-20s %s (или %s)\n", s_options[i].flag, s_options[i].help_ru, s_options[i].env);
    fprintf(stderr, "  METODNET_HEARTBEAT_MS, METODNET_HEARTBEAT_LIVENESS — пульс MDP (1000 мс × 3)\n");
}

static int s_parse_uint(const char *text, unsigned long max, unsigned long *out)
{
    if (text == NULL || *text == '\0')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || text[0] == '-' || value > max)
        return -1;
    *out = value;
    return 0;
}

static int s_apply(config *cfg, size_t index, const char *value, const char *source)
{
    unsigned long number = 0;
    switch (s_options[index].kind) {
    case OPT_PORT:
        if (s_parse_uint(value, 65535, &number) != 0 || number == 0) {
            fprintf(stderr, "Ошибка: %s: «%s» — не номер порта (1–65535)\n", source, value);
            return -1;
        }
        break;
    case OPT_UINT:
        if (s_parse_uint(value, UINT_MAX, &number) != 0 || number == 0) {
            fprintf(stderr, "Ошибка: %s: «%s» — ожидается положительное целое число\n", source, value);
            return -1;
        }
        break;
    case OPT_UINT_OR_ZERO:
        if (s_parse_uint(value, 1000000, &number) != 0) {
            fprintf(stderr, "Ошибка: %s: «%s» — ожидается целое число от 0 до 1000000\n", source, value);
            return -1;
        }
        break;
    case OPT_STRING:
        if (value == NULL || *value == '\0') {
            fprintf(stderr, "Ошибка: %s: пустое значение\n", source);
            return -1;
        }
        break;
    }
    switch (index) {
    case O_REDIS_HOST:
        cfg->redis.host = value;
        break;
    case O_REDIS_PORT:
        cfg->redis.port = (int)number;
        break;
    case O_REDIS_SOCKET:
        cfg->redis.unix_path = value;
        break;
    case O_REDIS_USER:
        cfg->redis.username = value;
        break;
    case O_REDIS_PASSWORD:
        cfg->redis.password = value;
        break;
    case O_REDIS_SENTINELS:
        if (!redis_link_sentinels_valid(value)) {
            fprintf(stderr, "Ошибка: %s: «%s» — ожидается список ip:порт через запятую (не больше 16)\n", source,
                    value);
            return -1;
        }
        cfg->redis.sentinels = value;
        break;
    case O_REDIS_MASTER_NAME:
        cfg->redis.master_name = value;
        break;
    case O_REDIS_SENTINEL_PASSWORD:
        cfg->redis.sentinel_password = value;
        break;
    case O_REDIS_WAIT_REPLICAS:
        if (number > 16) {
            fprintf(stderr, "Ошибка: %s: не больше 16 реплик\n", source);
            return -1;
        }
        cfg->redis.wait_replicas = (uint32_t)number;
        break;
    case O_REDIS_WAIT_MS:
        if (number > 60000) {
            fprintf(stderr, "Ошибка: %s: не больше 60000 мс\n", source);
            return -1;
        }
        cfg->redis.wait_timeout_ms = (uint32_t)number;
        break;
    case O_BROKER:
        cfg->broker_endpoint = value;
        break;
    case O_BROKER_BIND:
        if (!mdp_broker_endpoints_valid(value)) {
            fprintf(stderr, "Ошибка: %s: «%s» — ожидаются адреса брокера через запятую, без пустых\n", source, value);
            return -1;
        }
        cfg->broker_bind = value;
        break;
    case O_BROKER_LOCAL:
        if (!mdp_broker_local_endpoint_valid(value)) {
            fprintf(stderr, "Ошибка: %s: «%s» — ожидается ipc://<каталог>/<сокет>, путь короче %d байт\n", source,
                    value, MDP_IPC_PATH_MAX);
            return -1;
        }
        cfg->broker_local = value;
        break;
    case O_HTTP_HOST:
        cfg->http_host = value;
        break;
    case O_HTTP_PORT:
        cfg->http_port = (int)number;
        break;
    case O_CONCURRENCY:
        if (number > 1024) {
            fprintf(stderr, "Ошибка: %s: не больше 1024\n", source);
            return -1;
        }
        cfg->concurrency = (unsigned)number;
        break;
    case O_REQUEST_TIMEOUT:
        cfg->request_timeout_ms = (uint32_t)number;
        break;
    case O_REQUIRED_SERVICES:
        cfg->required_services = value;
        break;
    case O_MAX_BODY:
        cfg->max_body_bytes = number;
        break;
    case O_RATE_LIMIT:
        cfg->rate_limit = (unsigned)number;
        break;
    case O_KEYS_DIR:
        cfg->keys_dir = value;
        break;
    case O_BROKER_QUEUE_MAX:
        cfg->broker_queue_max = number;
        break;
    case O_HEALTH_INTERVAL:
        if (number < 100 || number > 600000) {
            fprintf(stderr, "Ошибка: %s: ожидается от 100 до 600000 мс\n", source);
            return -1;
        }
        cfg->health_interval_ms = (uint32_t)number;
        break;
    }
    return 0;
}

int config_load(config *cfg, const char *service_name, int argc, char **argv)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->service_name = service_name;
    redis_link_options_default(&cfg->redis);
    cfg->broker_endpoint = "tcp://127.0.0.1:5555";
    cfg->http_host = "127.0.0.1";
    cfg->http_port = 8080;
    cfg->concurrency = 32;
    cfg->request_timeout_ms = 5000;
    cfg->heartbeat = mdp_heartbeat_from_env();
    cfg->required_services = "registry,auth,diagnostics";
    cfg->max_body_bytes = 1024 * 1024;
    cfg->rate_limit = 50;
    const char *data_dir = getenv("METODNET_DATA_DIR");
    snprintf(cfg->keys_dir_default, sizeof cfg->keys_dir_default, "%s/keys", data_dir && *data_dir ? data_dir : "var");
    cfg->keys_dir = cfg->keys_dir_default;
    cfg->broker_queue_max = 1000;
    cfg->health_interval_ms = 5000;

    for (size_t i = 0; i < O_COUNT; i++) {
        const char *value = getenv(s_options[i].env);
        if (value != NULL && *value != '\0' && s_apply(cfg, i, value, s_options[i].env) != 0)
            return -1;
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            s_usage(service_name);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "Ошибка: непонятный аргумент «%s»\n", arg);
            s_usage(service_name);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        size_t found = O_COUNT;
        for (size_t i = 0; i < O_COUNT; i++)
            if (strlen(s_options[i].flag) == name_len && strncmp(s_options[i].flag, name, name_len) == 0)
                found = i;
        if (found == O_COUNT) {
            fprintf(stderr, "Ошибка: неизвестный параметр «%s»\n", arg);
            s_usage(service_name);
            return -1;
        }
        const char *value = eq ? eq + 1 : (a + 1 < argc ? argv[++a] : NULL);
        if (value == NULL) {
            fprintf(stderr, "Ошибка: у параметра «%s» нет значения\n", arg);
            return -1;
        }
        if (s_apply(cfg, found, value, arg) != 0)
            return -1;
    }
    return 0;
}
