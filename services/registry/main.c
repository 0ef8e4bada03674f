/* metodnet-registry — the registry service process (territory, organizations, staff).
 * `metodnet-registry check-claims [--fix]` checks the externalId claims against the records instead
 * (registry_claims_check.h) and exits; `metodnet-registry migrate-records [--dry-run]` brings records of
 * older versions to today's form (registry_migrate.h) and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <hiredis/hiredis.h>

#include "config.h"
#include "registry.h"
#include "log.h"
#include "registry_claims_check.h"
#include "registry_migrate.h"
#include "service_process.h"

static void s_check_usage(void)
{
    fprintf(stderr,
            "Использование: metodnet-registry check-claims [--fix] [параметры Redis, см. metodnet-registry --help]\n"
            "Сверяет занятые внешние идентификаторы (externalId) организаций и работников с записями:\n"
            "занятые удалёнными записями или записями, сменившими externalId, освобождает (--fix), значения\n"
            "записей, за которыми они не заняты, занимает (--fix), одно значение у нескольких записей только\n"
            "сообщает (решает оператор). Без --fix ничего не меняет. Запускать от пользователя Redis «ops».\n"
            "Коды выхода: 0 — расхождений нет (или все исправлены); 1 — хранилище недоступно;\n"
            "             2 — неверные аргументы; 3 — остались расхождения (дубли или запуск без --fix).\n");
}

/* The arguments of a subcommand: its one flag (--fix, --dry-run) and the Redis parameters config_load
 * knows. Returns 0 with cfg loaded, 1 after --help (usage printed), 2 on bad arguments. */
static int s_subcommand_args(int argc, char **argv, const char *flag, bool *flag_set, void (*usage)(void), config *cfg)
{
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (rest == NULL)
        return 2;
    int n_rest = 0;
    rest[n_rest++] = argv[0];
    *flag_set = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            free(rest);
            return 1;
        }
        if (strcmp(argv[i], flag) == 0)
            *flag_set = true;
        else
            rest[n_rest++] = argv[i];
    }
    int rc = config_load(cfg, "registry", n_rest, rest);
    free(rest);
    return rc == 0 ? 0 : rc > 0 ? 1 : 2;
}

static void s_migrate_usage(void)
{
    fprintf(stderr,
            "Использование: metodnet-registry migrate-records [--dry-run] [параметры Redis, см. metodnet-registry "
            "--help]\n"
            "Приводит записи реестра, сохранённые прежними версиями, к текущему виду: организации без учредителя\n"
            "получают учредителя по умолчанию, объединения вида «сетевое сообщество» — вид «профессиональное\n"
            "сообщество» с признаком сети, один предмет объединения — список предметов, работники — дату\n"
            "следующей аттестации. Каждая изменённая запись получает следующую версию и событие изменения.\n"
            "С --dry-run только считает. Повторный запуск ничего не меняет.\n"
            "Коды выхода: 0 — все записи в текущем виде; 1 — хранилище недоступно или запись не сохранена;\n"
            "             2 — неверные аргументы; 3 — остались записи (пробный запуск, гонка, отказ хранилища).\n");
}

static int s_migrate_records(int argc, char **argv)
{
    bool dry_run;
    config cfg;
    int rc = s_subcommand_args(argc, argv, "--dry-run", &dry_run, s_migrate_usage, &cfg);
    if (rc != 0)
        return rc == 1 ? REGISTRY_MIGRATE_DONE : REGISTRY_MIGRATE_USAGE;
    log_init("registry");
    return registry_migrate_records(&cfg, dry_run, stdout);
}

static int s_check_claims(int argc, char **argv)
{
    bool fix;
    config cfg;
    int rc = s_subcommand_args(argc, argv, "--fix", &fix, s_check_usage, &cfg);
    if (rc != 0)
        return rc == 1 ? REGISTRY_CLAIMS_CLEAN : REGISTRY_CLAIMS_USAGE;

    struct timeval timeout = {5, 0};
    redisContext *c = cfg.redis.unix_path ? redisConnectUnixWithTimeout(cfg.redis.unix_path, timeout)
                                          : redisConnectWithTimeout(cfg.redis.host, cfg.redis.port, timeout);
    if (c == NULL || c->err) {
        fprintf(stderr, "Ошибка: нет связи с Redis: %s\n", c ? c->errstr : "нехватка памяти");
        redisFree(c);
        return REGISTRY_CLAIMS_FAILED;
    }
    redisSetTimeout(c, (struct timeval){30, 0});
    if (cfg.redis.password != NULL) {
        redisReply *r = cfg.redis.username ? redisCommand(c, "AUTH %s %s", cfg.redis.username, cfg.redis.password)
                                           : redisCommand(c, "AUTH %s", cfg.redis.password);
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        if (!ok)
            fprintf(stderr, "Ошибка: Redis не принял пароль пользователя %s: %s\n",
                    cfg.redis.username ? cfg.redis.username : "default",
                    r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
        freeReplyObject(r);
        if (!ok) {
            redisFree(c);
            return REGISTRY_CLAIMS_FAILED;
        }
    }
    rc = registry_claims_check(c, fix, stdout, NULL);
    redisFree(c);
    return rc;
}

static void *s_start(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    return registry_new(loop, zmq_context, cfg, link);
}

static void s_stop(void *service, void (*done)(void *ud), void *ud)
{
    registry_shutdown(service, done, ud);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "check-claims") == 0)
        return s_check_claims(argc, argv);
    if (argc > 1 && strcmp(argv[1], "migrate-records") == 0)
        return s_migrate_records(argc, argv);
    static const service_process process = {"registry", "служба реестра", s_start, s_stop,
                                            "  check-claims [--fix] — сверка занятых externalId с записями "
                                            "(подробнее: metodnet-registry check-claims --help)\n"
                                            "  migrate-records [--dry-run] — записи прежних версий к текущему виду "
                                            "(подробнее: metodnet-registry migrate-records --help)\n"};
    return service_process_main(&process, argc, argv);
}
