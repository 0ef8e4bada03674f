/* metodnet-auth — the auth service process: read config, connect Redis, register "auth" with the
 * broker, run the loop until SIGTERM. `metodnet-auth bootstrap-admin` creates the first region
 * administrator instead (ops/up), straight through the store, and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <zmq.h>

#include "auth.h"
#include "service_process.h"
#include "config.h"
#include "log.h"
#include "redis_link.h"

/* Exit codes of bootstrap-admin. */
enum {
    EXIT_CREATED = 0,
    EXIT_FAILED = 1,
    EXIT_USAGE = 2,
    EXIT_EXISTS = 3,
    EXIT_LOGIN_TAKEN = 4,
};

static void s_bootstrap_usage(void)
{
    fprintf(stderr, "Использование: metodnet-auth bootstrap-admin --region <код> --login <логин> [--full-name <имя>]\n"
                    "               [параметры Redis, см. metodnet-auth --help]\n"
                    "Создаёт первого администратора региона, если в регионе его ещё нет. Пароль читается из\n"
                    "стандартного ввода (одна строка, от 10 до 128 символов) и нигде не печатается.\n"
                    "Коды выхода: 0 — создан; 1 — хранилище недоступно; 2 — неверные аргументы или пароль;\n"
                    "             3 — администратор региона уже есть («Администратор уже создан»);\n"
                    "             4 — логин занят другим пользователем.\n");
}

typedef struct {
    redis_link *link;
    int exit_code;
} bootstrap_run;

static void s_bootstrap_done(auth_bootstrap_result result, const char *user_id, const char *message, void *ud)
{
    bootstrap_run *run = ud;
    switch (result) {
    case AUTH_BOOTSTRAP_CREATED:
        printf("%s: %s\n", message, user_id);
        run->exit_code = EXIT_CREATED;
        break;
    case AUTH_BOOTSTRAP_EXISTS:
        printf("%s\n", message);
        run->exit_code = EXIT_EXISTS;
        break;
    case AUTH_BOOTSTRAP_LOGIN_TAKEN:
        fprintf(stderr, "Ошибка: %s\n", message);
        run->exit_code = EXIT_LOGIN_TAKEN;
        break;
    case AUTH_BOOTSTRAP_INVALID:
        fprintf(stderr, "Ошибка: %s\n", message);
        run->exit_code = EXIT_USAGE;
        break;
    default:
        fprintf(stderr, "Ошибка: %s\n", message);
        run->exit_code = EXIT_FAILED;
        break;
    }
    redis_link_close(&run->link);
}

static int s_bootstrap(int argc, char **argv)
{
    const char *region = NULL, *login = NULL, *full_name = "Администратор региона";
    /* our flags out, the rest (Redis settings) for config_load */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (rest == NULL)
        return EXIT_FAILED;
    int n_rest = 0;
    rest[n_rest++] = argv[0];
    for (int i = 2; i < argc; i++) {
        const char **target = strcmp(argv[i], "--region") == 0      ? &region
                              : strcmp(argv[i], "--login") == 0     ? &login
                              : strcmp(argv[i], "--full-name") == 0 ? &full_name
                                                                    : NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_bootstrap_usage();
            free(rest);
            return EXIT_CREATED;
        }
        if (target != NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "Ошибка: у параметра %s нет значения\n", argv[i]);
                s_bootstrap_usage();
                free(rest);
                return EXIT_USAGE;
            }
            *target = argv[++i];
        } else {
            rest[n_rest++] = argv[i];
        }
    }
    config cfg;
    int rc = config_load(&cfg, "auth", n_rest, rest);
    free(rest);
    if (rc != 0)
        return rc > 0 ? EXIT_CREATED : EXIT_USAGE;
    if (region == NULL || login == NULL) {
        fprintf(stderr, "Ошибка: укажите --region и --login\n");
        s_bootstrap_usage();
        return EXIT_USAGE;
    }
    log_init("auth");

    char password[1024];
    if (fgets(password, sizeof password, stdin) == NULL) {
        fprintf(stderr, "Ошибка: пароль не прочитан со стандартного ввода\n");
        return EXIT_USAGE;
    }
    password[strcspn(password, "\r\n")] = '\0';
    const char *problem = auth_bootstrap_check(region, login, full_name, password);
    if (problem != NULL) {
        sodium_memzero(password, sizeof password);
        fprintf(stderr, "Ошибка: %s\n", problem);
        return EXIT_USAGE;
    }

    uv_loop_t *loop = uv_default_loop();
    bootstrap_run run = {NULL, EXIT_FAILED};
    run.link = redis_link_new(loop, &cfg.redis);
    if (run.link == NULL) {
        sodium_memzero(password, sizeof password);
        fprintf(stderr, "Ошибка: не удалось создать соединение с Redis\n");
        return EXIT_FAILED;
    }
    rc = auth_bootstrap_admin(loop, run.link, region, login, full_name, password, s_bootstrap_done, &run);
    sodium_memzero(password, sizeof password);
    if (rc != 0) {
        fprintf(stderr, "Ошибка: не удалось начать создание администратора\n");
        redis_link_close(&run.link);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return run.exit_code;
}

/* Session lifetimes from the environment (seconds), for deployments with other rules than the
 * defaults of 30 min idle / 8 h absolute: METODNET_SESSION_IDLE_S, METODNET_SESSION_ABSOLUTE_S. */
static int s_seconds_from_env(const char *name, uint32_t *out_ms)
{
    const char *text = getenv(name);
    if (text == NULL || *text == '\0')
        return 0;
    char *end = NULL;
    unsigned long seconds = strtoul(text, &end, 10);
    if (*end != '\0' || text[0] == '-' || seconds == 0 || seconds > 7 * 24 * 3600) {
        fprintf(stderr, "Ошибка: %s: «%s» — ожидается число секунд от 1 до 604800\n", name, text);
        return -1;
    }
    *out_ms = (uint32_t)seconds * 1000u;
    return 0;
}

static void *s_start(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    auth_options options;
    auth_options_default(&options);
    if (s_seconds_from_env("METODNET_SESSION_IDLE_S", &options.session_idle_ms) != 0 ||
        s_seconds_from_env("METODNET_SESSION_ABSOLUTE_S", &options.session_absolute_ms) != 0)
        return NULL;
    return auth_new(loop, zmq_context, cfg, link, &options);
}

static void s_stop(void *service, void (*done)(void *ud), void *ud)
{
    auth_shutdown(service, done, ud);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "bootstrap-admin") == 0)
        return s_bootstrap(argc, argv);
    static const service_process process = {
        "auth", "служба доступа", s_start, s_stop,
        "  bootstrap-admin --region <код> --login <логин> — первый администратор региона "
        "(подробнее: metodnet-auth bootstrap-admin --help)\n"};
    return service_process_main(&process, argc, argv);
}
