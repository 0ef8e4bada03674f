/* test_redis_acl — every command each service's Lua scripts can call is granted to that service's Redis
 * user in ops/redis-acl.conf. Redis does not roll a script back when a command in it fails, so a missing
 * grant met half-way leaves half a write behind (issue 17, item 4: the entity write script's HDEL was
 * not granted to the registry, and a DELETE deleted the record but kept its externalId taken).
 *
 * Each module lists its scripts (entity_store_lua_scripts, auth_lua_scripts,
 * gateway_idempotency_lua_scripts); so that a new script cannot be forgotten here, the test also walks
 * common/ and services/ and requires every redis.call(/redis.pcall( in the sources to be in one of
 * those lists (the counts per file must match). A command named by a variable instead of a literal
 * fails the test too: it could not be checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../services/auth/auth.h" /* not the gateway's auth.h, also on the include path */
#include "entity_store.h"
#include "events.h"
#include "monitoring.h"
#include "idempotency.h"
#include "indicators.h"
#include "indicators_own.h"
#include "notify.h"
#include "registry_claim_guard.h"
#include "registry_claims_check.h"

#ifndef METODNET_SOURCE_DIR
#error "METODNET_SOURCE_DIR must be defined (tests/CMakeLists.txt)"
#endif

typedef const char *const *(*script_list_fn)(size_t *n);

/* A module with Lua scripts: the file they live in and the function listing them. */
typedef struct {
    const char *file; /* relative to the source dir */
    script_list_fn list;
} script_module;

static const script_module s_entity_store = {"common/entity_store.c", entity_store_lua_scripts};
static const script_module s_auth = {"services/auth/auth.c", auth_lua_scripts};
static const script_module s_idempotency = {"services/gateway/idempotency.c", gateway_idempotency_lua_scripts};
static const script_module s_claims_check = {"services/registry/registry_claims_check.c",
                                             registry_claims_check_lua_scripts};
static const script_module s_claim_guard = {"services/registry/registry_claim_guard.c",
                                            registry_claim_guard_lua_scripts};
static const script_module s_notify = {"services/notify/notify_scripts.c", notify_lua_scripts};
static const script_module s_events = {"services/events/events_scripts.c", events_lua_scripts};
/* the indicators service keeps its scripts as .lua files (embedded by CMake): one module per file */
static const script_module s_ind_person = {"services/indicators/lua/person.lua", indicators_lua_person};
static const script_module s_ind_compare = {"services/indicators/lua/compare.lua", indicators_lua_compare};
static const script_module s_ind_apply = {"services/indicators/lua/apply.lua", indicators_lua_apply};
static const script_module s_ind_values = {"services/indicators/lua/values.lua", indicators_lua_values};
static const script_module s_ind_dead = {"services/indicators/lua/dead.lua", indicators_lua_dead};
static const script_module s_ind_drop = {"services/indicators/lua/drop.lua", indicators_lua_drop};
static const script_module s_ind_own = {"services/indicators/indicators_formulas.c", indicators_lua_own};
static const script_module s_monitoring = {"services/monitoring/monitoring_scripts.c", monitoring_lua_scripts};
static const script_module *const s_modules[] = {&s_entity_store, &s_auth,        &s_idempotency, &s_claims_check,
                                                 &s_claim_guard,  &s_events,      &s_ind_apply,   &s_ind_values,
                                                 &s_ind_dead,     &s_ind_drop,    &s_monitoring,  &s_notify,
                                                 &s_ind_person,   &s_ind_compare, &s_ind_own};

/* Which scripts each service's Redis user runs. */
typedef struct {
    const char *user;
    const script_module *modules[8];
} service_scripts;

static const service_scripts s_services[] = {
    {"gateway", {&s_idempotency}},
    {"registry", {&s_entity_store, &s_claim_guard}},
    {"auth", {&s_entity_store, &s_auth}},
    {"diagnostics", {&s_entity_store}},
    {"notify", {&s_entity_store, &s_notify}},
    {"ops", {&s_claims_check}}, /* metodnet-registry check-claims runs as the operator's user */
    {"events", {&s_entity_store, &s_events}},
    {"mentoring", {&s_entity_store}}, /* the entity store's scripts only */
    {"indicators", {&s_ind_apply, &s_ind_values, &s_ind_dead, &s_ind_drop, &s_ind_person, &s_ind_compare, &s_ind_own}},
    {"monitoring", {&s_entity_store, &s_monitoring}},
};

/* ---- ops/redis-acl.conf ---- */

#define S_MAX_GRANTS 128

typedef struct {
    bool all;
    size_t n;
    char commands[S_MAX_GRANTS][48]; /* lower case, "script|load" for a subcommand */
} acl_grants;

static char *s_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t size = 0, cap = 4096;
    char *text = malloc(cap);
    size_t got;
    while (text && (got = fread(text + size, 1, cap - size - 1, f)) > 0) {
        size += got;
        if (cap - size < 2) {
            char *bigger = realloc(text, cap * 2);
            if (!bigger) {
                free(text);
                text = NULL;
            }
            text = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (text)
        text[size] = '\0';
    return text;
}

/* The grants of user's line: +cmd, +cmd|sub, -cmd, +@all; any other category fails the test. */
static void s_load_grants(const char *user, acl_grants *out)
{
    memset(out, 0, sizeof *out);
    char *text = s_read_file(METODNET_SOURCE_DIR "/ops/redis-acl.conf");
    if (!text)
        fail_msg("не прочитан %s", METODNET_SOURCE_DIR "/ops/redis-acl.conf");
    bool found = false;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '#' || *line == '\0')
            continue;
        char *words = NULL;
        char *name = strtok_r(line, " \t", &words);
        if (!name || strcmp(name, user) != 0)
            continue;
        found = true;
        for (char *rule = strtok_r(NULL, " \t", &words); rule; rule = strtok_r(NULL, " \t", &words)) {
            if (rule[0] != '+' && rule[0] != '-')
                continue; /* key patterns, channels, resetchannels */
            char command[48];
            snprintf(command, sizeof command, "%s", rule + 1);
            for (char *p = command; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            if (command[0] == '@') {
                if (strcmp(command, "@all") != 0 || rule[0] != '+')
                    fail_msg("%s: правило %s — категории, кроме +@all, тест не разбирает", user, rule);
                out->all = true;
                continue;
            }
            if (rule[0] == '-') {
                for (size_t i = 0; i < out->n; i++)
                    if (strcmp(out->commands[i], command) == 0)
                        out->commands[i][0] = '\0';
                continue;
            }
            assert_true(out->n < S_MAX_GRANTS);
            snprintf(out->commands[out->n++], sizeof out->commands[0], "%s", command);
        }
    }
    free(text);
    if (!found)
        fail_msg("в ops/redis-acl.conf нет строки пользователя %s", user);
}

static bool s_granted(const acl_grants *grants, const char *command)
{
    if (grants->all)
        return true;
    for (size_t i = 0; i < grants->n; i++)
        if (strcmp(grants->commands[i], command) == 0)
            return true;
    return false;
}

/* ---- commands of a Lua script ---- */

/* Calls f(command, ud) for each redis.call('X' / redis.pcall("X" of source, command lower-cased;
 * a call whose first argument is not a string literal gets command = NULL. Returns the number of calls. */
static size_t s_script_commands(const char *source, void (*f)(const char *command, void *ud), void *ud)
{
    static const char *const calls[] = {"redis.call(", "redis.pcall("};
    size_t n = 0;
    for (size_t c = 0; c < 2; c++) {
        for (const char *p = strstr(source, calls[c]); p; p = strstr(p + 1, calls[c])) {
            n++;
            const char *q = p + strlen(calls[c]);
            while (*q == ' ')
                q++;
            char command[48] = "";
            if (*q == '\'' || *q == '"') {
                char quote = *q++;
                size_t len = strcspn(q, quote == '\'' ? "'" : "\"");
                if (q[len] == quote && len > 0 && len < sizeof command) {
                    for (size_t i = 0; i < len; i++)
                        command[i] = (char)tolower((unsigned char)q[i]);
                    command[len] = '\0';
                }
            }
            f(command[0] ? command : NULL, ud);
        }
    }
    return n;
}

typedef struct {
    const char *user;
    const char *file;
    const acl_grants *grants;
    char missing[2048];
    size_t n_checked;
} check_state;

static void s_check_command(const char *command, void *ud)
{
    check_state *st = ud;
    size_t len = strlen(st->missing);
    if (!command) {
        snprintf(st->missing + len, sizeof st->missing - len, "\n  %s: %s — redis.call() не строковой командой",
                 st->user, st->file);
        return;
    }
    st->n_checked++;
    char entry[64];
    snprintf(entry, sizeof entry, ": %s (", command);
    if (!s_granted(st->grants, command) && !strstr(st->missing, entry))
        snprintf(st->missing + len, sizeof st->missing - len, "\n  %s: %s (из %s) не разрешена", st->user, command,
                 st->file);
}

static void test_every_script_command_is_granted(void **state)
{
    (void)state;
    char missing[8192] = "";
    size_t checked = 0;
    for (size_t s = 0; s < sizeof s_services / sizeof s_services[0]; s++) {
        acl_grants grants;
        s_load_grants(s_services[s].user, &grants);
        for (size_t m = 0; m < 8 && s_services[s].modules[m]; m++) {
            check_state st = {s_services[s].user, s_services[s].modules[m]->file, &grants, "", 0};
            size_t n = 0;
            const char *const *scripts = s_services[s].modules[m]->list(&n);
            assert_true(n > 0);
            for (size_t i = 0; i < n; i++)
                s_script_commands(scripts[i], s_check_command, &st);
            checked += st.n_checked;
            size_t len = strlen(missing);
            snprintf(missing + len, sizeof missing - len, "%s", st.missing);
        }
    }
    if (missing[0])
        fail_msg("команды Lua-скриптов, не разрешённые пользователю службы в ops/redis-acl.conf:%s", missing);
    assert_true(checked > 30); /* the parser found the scripts' commands at all */
}

/* The entity store's write script frees a claim with HDEL: the command behind issue 17, item 4. */
static void s_note_hdel(const char *command, void *ud)
{
    if (command && strcmp(command, "hdel") == 0)
        (*(int *)ud)++;
}

static void test_parser_sees_the_claim_release(void **state)
{
    (void)state;
    size_t n = 0;
    const char *const *scripts = entity_store_lua_scripts(&n);
    int hdel = 0;
    for (size_t i = 0; i < n; i++)
        s_script_commands(scripts[i], s_note_hdel, &hdel);
    assert_int_equal(hdel, 1);
}

/* ---- no script outside the lists ---- */

static size_t s_count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void s_ignore(const char *command, void *ud)
{
    (void)command;
    (void)ud;
}

static size_t s_listed_calls(const char *file)
{
    for (size_t m = 0; m < sizeof s_modules / sizeof s_modules[0]; m++) {
        if (strcmp(s_modules[m]->file, file) != 0)
            continue;
        size_t n = 0, calls = 0;
        const char *const *scripts = s_modules[m]->list(&n);
        for (size_t i = 0; i < n; i++)
            calls += s_script_commands(scripts[i], s_ignore, NULL);
        return calls;
    }
    return 0;
}

/* Every .c/.h under dir (relative): its redis.call count must equal that of its module's list. */
static void s_walk(const char *dir, char *problems, size_t size, size_t *files_with_calls)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", METODNET_SOURCE_DIR, dir);
    DIR *d = opendir(path);
    if (!d)
        fail_msg("не открыт каталог %s", path);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char rel[1024], full[1100];
        snprintf(rel, sizeof rel, "%s/%s", dir, e->d_name);
        snprintf(full, sizeof full, "%s/%s", METODNET_SOURCE_DIR, rel);
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            s_walk(rel, problems, size, files_with_calls);
            continue;
        }
        size_t len = strlen(e->d_name);
        if (len < 3 || (strcmp(e->d_name + len - 2, ".c") != 0 && strcmp(e->d_name + len - 2, ".h") != 0 &&
                        (len < 5 || strcmp(e->d_name + len - 4, ".lua") != 0)))
            continue;
        char *text = s_read_file(full);
        assert_non_null(text);
        size_t in_source = s_count(text, "redis.call(") + s_count(text, "redis.pcall(");
        free(text);
        if (in_source == 0)
            continue;
        (*files_with_calls)++;
        size_t listed = s_listed_calls(rel);
        if (listed != in_source) {
            size_t used = strlen(problems);
            snprintf(problems + used, size - used,
                     "\n  %s: redis.call() в исходнике %zu, в скриптах из списка модуля %zu", rel, in_source, listed);
        }
    }
    closedir(d);
}

static void test_every_script_is_listed(void **state)
{
    (void)state;
    char problems[4096] = "";
    size_t files = 0;
    s_walk("common", problems, sizeof problems, &files);
    s_walk("services", problems, sizeof problems, &files);
    if (problems[0])
        fail_msg("Lua-скрипты вне списков модулей (добавьте скрипт в *_lua_scripts() и службу в "
                 "tests/unit/test_redis_acl.c):%s",
                 problems);
    assert_int_equal(files, sizeof s_modules / sizeof s_modules[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_sees_the_claim_release),
        cmocka_unit_test(test_every_script_command_is_granted),
        cmocka_unit_test(test_every_script_is_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
