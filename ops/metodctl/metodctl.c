/* metodctl — the metodnet command line over the HTTP API (libcurl): login, import, export, users,
 * demo. Messages are Russian; exit codes are for scripts:
 *   0 — done; 1 — wrong usage or a local file problem; 2 — the server refused (validation, rejected
 *   rows, 4xx); 3 — network or service unavailable (5xx); 4 — not logged in / no rights (401, 403).
 * Server: --server URL or METODNET_URL (http://127.0.0.1:8080). Token: $XDG_CONFIG_HOME/metodnet/token
 * (~/.config/metodnet/token), mode 0600, written by `metodctl login`.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "csv.h"
#include "demo.h"

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_REFUSED = 2, EXIT_NETWORK = 3, EXIT_AUTH = 4 };

#define CHUNK_ROWS 2000

static const char *s_server = NULL;
static char s_token[256] = "";

/* ---------- HTTP ---------- */

typedef struct {
    char *data;
    size_t len;
} buffer;

static size_t s_collect(char *ptr, size_t size, size_t n, void *ud)
{
    buffer *b = ud;
    size_t add = size * n;
    char *grown = realloc(b->data, b->len + add + 1);
    if (!grown)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, ptr, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* A JSON string value for printing: "" when it is missing or not a string (printf of NULL is undefined). */
static const char *s_str(json_t *value)
{
    const char *s = json_string_value(value);
    return s ? s : "";
}

/* One request, the answer collected in response; returns the HTTP status or -1 on a network error (message
 * printed). body_type NULL = no body. */
static long s_request(const char *method, const char *path, const char *body_type, const char *body, size_t body_len,
                      buffer *response)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return -1;
    char url[2048];
    snprintf(url, sizeof url, "%s%s", s_server, path);
    struct curl_slist *headers = NULL;
    char header[400];
    if (*s_token) {
        snprintf(header, sizeof header, "Authorization: Bearer %s", s_token);
        headers = curl_slist_append(headers, header);
    }
    if (body_type) {
        snprintf(header, sizeof header, "Content-Type: %s", body_type);
        headers = curl_slist_append(headers, header);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 600L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, response);
    CURLcode rc = curl_easy_perform(curl);
    long status = -1;
    if (rc != CURLE_OK)
        fprintf(stderr, "metodctl: нет связи с %s: %s\n", s_server, curl_easy_strerror(rc));
    else
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

/* The exit code for an HTTP status, printing the API error's Russian message. */
static int s_http_failure(long status, const buffer *response)
{
    if (status < 0)
        return EXIT_NETWORK;
    const char *message = NULL;
    json_t *doc = response && response->data ? json_loads(response->data, 0, NULL) : NULL;
    json_t *error = doc ? json_object_get(doc, "error") : NULL;
    if (error)
        message = json_string_value(json_object_get(error, "message"));
    fprintf(stderr, "metodctl: сервер ответил %ld: %s\n", status, message ? message : "без пояснения");
    json_t *details = error ? json_object_get(error, "details") : NULL;
    size_t i;
    json_t *d;
    json_array_foreach(details, i, d)
    {
        fprintf(stderr, "  %s: %s\n", s_str(json_object_get(d, "field")), s_str(json_object_get(d, "description")));
    }
    json_decref(doc);
    if (status == 401 || status == 403)
        return EXIT_AUTH;
    return status >= 500 ? EXIT_NETWORK : EXIT_REFUSED;
}

/* ---------- token ---------- */

static void s_token_path(char *out, size_t size, bool make_dir)
{
    const char *base = getenv("XDG_CONFIG_HOME");
    char dir[1024];
    if (base && *base)
        snprintf(dir, sizeof dir, "%s/metodnet", base);
    else
        snprintf(dir, sizeof dir, "%s/.config/metodnet", getenv("HOME") ? getenv("HOME") : ".");
    if (make_dir) {
        char parent[1024];
        snprintf(parent, sizeof parent, "%s", dir);
        char *slash = strrchr(parent, '/');
        if (slash) {
            *slash = '\0';
            mkdir(parent, 0700);
        }
        mkdir(dir, 0700);
    }
    snprintf(out, size, "%s/token", dir);
}

static bool s_load_token(void)
{
    const char *env = getenv("METODNET_TOKEN");
    if (env && *env) {
        snprintf(s_token, sizeof s_token, "%s", env);
        return true;
    }
    char path[1100];
    s_token_path(path, sizeof path, false);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(s_token, sizeof s_token, f) != NULL;
    fclose(f);
    s_token[strcspn(s_token, "\r\n")] = '\0';
    return ok && *s_token;
}

static int s_need_token(void)
{
    if (s_load_token())
        return 0;
    fprintf(stderr, "metodctl: вы не вошли в систему: выполните «metodctl login»\n");
    return EXIT_AUTH;
}

/* ---------- login ---------- */

static void s_read_line(const char *prompt, char *out, size_t size, bool secret)
{
    struct termios saved, quiet;
    bool tty = isatty(STDIN_FILENO), echo_off = false;
    if (tty)
        fprintf(stderr, "%s", prompt);
    if (secret && tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        echo_off = tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
    }
    if (!fgets(out, (int)size, stdin))
        out[0] = '\0';
    if (echo_off) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        fprintf(stderr, "\n");
    }
    out[strcspn(out, "\r\n")] = '\0';
}

static int s_login(int argc, char **argv)
{
    char login[128] = "", password[256] = "";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("metodctl login [--login ЛОГИН]\n"
                   "Вход в систему. Пароль читается со стандартного ввода (без эха в терминале); токен\n"
                   "сохраняется в $XDG_CONFIG_HOME/metodnet/token (права 0600).\n");
            return EXIT_OK;
        } else if (strcmp(argv[i], "--login") == 0 && i + 1 < argc) {
            snprintf(login, sizeof login, "%s", argv[++i]);
        } else {
            fprintf(stderr, "metodctl login: неизвестный параметр «%s»\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!*login)
        s_read_line("Логин: ", login, sizeof login, false);
    s_read_line("Пароль: ", password, sizeof password, true);
    json_t *body = json_pack("{s:s, s:s}", "login", login, "password", password);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    memset(password, 0, sizeof password);
    buffer response = {0};
    long status = s_request("POST", "/api/v1/auth/login", "application/json", text, strlen(text), &response);
    free(text);
    if (status != 200) {
        int code = s_http_failure(status, &response);
        free(response.data);
        return code;
    }
    json_t *doc = json_loads(response.data, 0, NULL);
    const char *token = doc ? json_string_value(json_object_get(doc, "token")) : NULL;
    if (!token) {
        fprintf(stderr, "metodctl: сервер не прислал токен\n");
        json_decref(doc);
        free(response.data);
        return EXIT_NETWORK;
    }
    char path[1100];
    s_token_path(path, sizeof path, true);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, token, strlen(token)) != (ssize_t)strlen(token)) {
        fprintf(stderr, "metodctl: не удалось сохранить токен в %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        json_decref(doc);
        free(response.data);
        return EXIT_USAGE;
    }
    close(fd);
    fprintf(stderr, "Вход выполнен; токен сохранён в %s\n", path);
    json_decref(doc);
    free(response.data);
    return EXIT_OK;
}

/* ---------- import ---------- */

typedef struct {
    FILE *f;
    long long read, total;
} file_source;

static ssize_t s_read_file(void *ud, char *buf, size_t size)
{
    file_source *s = ud;
    size_t n = fread(buf, 1, size, s->f);
    if (n == 0 && ferror(s->f))
        return -1;
    s->read += (long long)n;
    return (ssize_t)n;
}

static void s_progress(const char *what, long long done, long long total, long rows)
{
    int width = 30, filled = total > 0 ? (int)(done * width / total) : width;
    if (filled > width)
        filled = width;
    fprintf(stderr, "\r%s [", what);
    for (int i = 0; i < width; i++)
        fputc(i < filled ? '#' : ' ', stderr);
    fprintf(stderr, "] %3d%%  строк: %ld", total > 0 ? (int)(done * 100 / total) : 100, rows);
    fflush(stderr);
}

typedef struct {
    long rows, created, updated, unchanged, rejected;
    long errors, errors_shown;
} totals;

/* Sends one chunk; prints its errors with the original row numbers. Returns an exit code. */
static int s_send_chunk(const char *kind, bool dry_run, csv_writer *w, const size_t *rows_of, size_t n, totals *t)
{
    char path[200];
    snprintf(path, sizeof path, "/api/v1/import/%s%s", kind, dry_run ? "?dryRun=true" : "");
    size_t len;
    const char *data = csv_writer_data(w, &len);
    buffer response = {0};
    long status = s_request("POST", path, "text/csv", data, len, &response);
    if (status != 200) {
        fprintf(stderr, "\n");
        int code = s_http_failure(status, &response);
        free(response.data);
        return code;
    }
    json_t *doc = json_loads(response.data, 0, NULL);
    free(response.data);
    if (!doc) {
        fprintf(stderr, "\nmetodctl: сервер прислал непонятный отчёт\n");
        return EXIT_NETWORK;
    }
    t->rows += (long)json_integer_value(json_object_get(doc, "rows"));
    t->created += (long)json_integer_value(json_object_get(doc, "created"));
    t->updated += (long)json_integer_value(json_object_get(doc, "updated"));
    t->unchanged += (long)json_integer_value(json_object_get(doc, "unchanged"));
    t->rejected += (long)json_integer_value(json_object_get(doc, "rejected"));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "errors"), i, e)
    {
        long row = (long)json_integer_value(json_object_get(e, "row"));
        /* the chunk's row r (header = 1) is the original file's rows_of[r - 2] */
        long original = row >= 2 && (size_t)(row - 2) < n ? (long)rows_of[row - 2] : row;
        const char *column = json_string_value(json_object_get(e, "column"));
        t->errors++;
        if (t->errors_shown++ < 500)
            fprintf(stderr, "\n  строка %ld%s%s%s: %s", original, column && *column ? ", «" : "",
                    column && *column ? column : "", column && *column ? "»" : "",
                    s_str(json_object_get(e, "message")));
    }
    if (json_is_true(json_object_get(doc, "errorsTruncated"))) {
        t->errors++;
        fprintf(stderr, "\n  … (сервер показал не все ошибки этой части)");
    }
    json_decref(doc);
    return EXIT_OK;
}

static int s_import(int argc, char **argv)
{
    const char *kind = NULL, *file = NULL;
    bool dry_run = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("metodctl import organizations|staff ФАЙЛ.csv [--dry-run]\n"
                   "Загружает CSV (UTF-8 или Windows-1251, «;» или «,»). Большой файл отправляется частями по\n"
                   "%d строк с заголовком; номера строк в ошибках — номера исходного файла. Испорченный файл\n"
                   "(например, незакрытая кавычка) не отправляется совсем. --dry-run: только проверка.\n"
                   "Код выхода 2, если хотя бы одна строка отклонена или сервер отказал.\n",
                   CHUNK_ROWS);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            dry_run = true;
        } else if (!kind) {
            kind = argv[i];
        } else if (!file) {
            file = argv[i];
        } else {
            fprintf(stderr, "metodctl import: лишний аргумент «%s»\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!kind || !file || (strcmp(kind, "organizations") != 0 && strcmp(kind, "staff") != 0)) {
        fprintf(stderr, "Использование: metodctl import organizations|staff ФАЙЛ.csv [--dry-run]\n");
        return EXIT_USAGE;
    }
    int code = s_need_token();
    if (code)
        return code;
    file_source src = {fopen(file, "rb"), 0, 0};
    if (!src.f) {
        fprintf(stderr, "metodctl: не открыть файл %s: %s\n", file, strerror(errno));
        return EXIT_USAGE;
    }
    struct stat st;
    if (fstat(fileno(src.f), &st) == 0)
        src.total = st.st_size;
    /* the whole file is read once before anything is sent: a broken file loads nothing, as on the server */
    csv_reader *reader = csv_reader_new(s_read_file, &src);
    csv_record rec;
    int rc;
    while ((rc = csv_reader_next(reader, &rec)) == 1)
        ;
    if (rc < 0) {
        fprintf(stderr, "metodctl: %s. Файл не отправлен: исправьте его и повторите импорт\n",
                csv_reader_error(reader));
        csv_reader_destroy(&reader);
        fclose(src.f);
        return EXIT_USAGE;
    }
    csv_reader_destroy(&reader);
    rewind(src.f);
    src.read = 0;
    reader = csv_reader_new(s_read_file, &src);
    rc = csv_reader_next(reader, &rec);
    if (rc <= 0) {
        fprintf(stderr, "metodctl: %s\n", rc < 0 ? csv_reader_error(reader) : "файл пуст");
        csv_reader_destroy(&reader);
        fclose(src.f);
        return EXIT_USAGE;
    }
    size_t n_header = rec.n;
    char **header = calloc(n_header, sizeof *header);
    for (size_t i = 0; i < n_header; i++)
        header[i] = strdup(rec.fields[i]);
    size_t *rows_of = malloc(CHUNK_ROWS * sizeof *rows_of);
    totals t = {0};
    size_t n = 0;
    csv_writer *w = NULL;
    code = EXIT_OK;
    const char *what = dry_run ? "Проверка" : "Импорт";
    for (;;) {
        rc = csv_reader_next(reader, &rec);
        if (rc < 0) {
            fprintf(stderr,
                    "\nmetodctl: файл изменился во время импорта: %s. Отправленные части уже загружены; "
                    "исправьте файл и повторите импорт (повтор не создаёт дублей)\n",
                    csv_reader_error(reader));
            code = EXIT_USAGE;
            break;
        }
        if (rc == 1) {
            if (!w) {
                w = csv_writer_new();
                for (size_t i = 0; i < n_header; i++)
                    csv_writer_field(w, csv_unguard(header[i]));
                csv_writer_end_row(w);
            }
            /* unguarded, so the server reads what it would read from the file itself */
            for (size_t i = 0; i < rec.n; i++)
                csv_writer_field(w, csv_unguard(rec.fields[i]));
            csv_writer_end_row(w);
            rows_of[n++] = rec.row;
        }
        if ((rc == 0 || n == CHUNK_ROWS) && w) {
            code = s_send_chunk(kind, dry_run, w, rows_of, n, &t);
            csv_writer_destroy(&w);
            n = 0;
            s_progress(what, src.read, src.total, t.rows);
            if (code)
                break;
        }
        if (rc == 0)
            break;
    }
    csv_writer_destroy(&w);
    csv_reader_destroy(&reader);
    fclose(src.f);
    for (size_t i = 0; i < n_header; i++)
        free(header[i]);
    free(header);
    free(rows_of);
    fprintf(stderr, "\n%s: строк %ld, создано %ld, обновлено %ld, без изменений %ld, отклонено %ld%s\n",
            dry_run ? "Проверка (ничего не записано)" : "Импорт", t.rows, t.created, t.updated, t.unchanged, t.rejected,
            t.errors_shown > 500 ? " (показаны первые 500 ошибок)" : "");
    if (code)
        return code;
    /* a refused file (an unknown column, say) has no rejected rows but an error */
    return t.rejected > 0 || t.errors > 0 ? EXIT_REFUSED : EXIT_OK;
}

/* ---------- export ---------- */

/* The lists the API exports: GET /api/v1/export/<kind>. */
static const char *const s_export_kinds[] = {"organizations",         "staff",    "municipalities",   "associations",
                                             "memberships",           "councils", "council-meetings", "programmes",
                                             "qualification-records", "practices"};
#define S_EXPORT_KINDS_RU                                                                                              \
    "organizations|staff|municipalities|associations|memberships|councils|council-meetings|programmes|"                \
    "qualification-records|practices"

static bool s_export_kind_known(const char *kind)
{
    for (size_t i = 0; i < sizeof s_export_kinds / sizeof s_export_kinds[0]; i++)
        if (strcmp(kind, s_export_kinds[i]) == 0)
            return true;
    return false;
}

static int s_export(int argc, char **argv)
{
    const char *kind = NULL, *out = NULL;
    char query[1500] = "";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("metodctl export ВИД [ПАРАМЕТР=ЗНАЧЕНИЕ ...] [-o ФАЙЛ.csv]\n"
                   "ВИД: " S_EXPORT_KINDS_RU "\n"
                   "Выгрузка в CSV для Excel (UTF-8 с BOM, «;»). Фильтры — как у списков API, например\n"
                   "municipalityId=07-m1 category=teacher subject=mathematics active=true;\n"
                   "членство — associationId=…, заседания — councilId=….\n");
            return EXIT_OK;
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (!kind) {
            kind = argv[i];
        } else if (strchr(argv[i], '=')) {
            CURL *curl = curl_easy_init();
            const char *eq = strchr(argv[i], '=');
            char *value = curl_easy_escape(curl, eq + 1, 0);
            size_t used = strlen(query);
            snprintf(query + used, sizeof query - used, "%c%.*s=%s", used ? '&' : '?', (int)(eq - argv[i]), argv[i],
                     value ? value : "");
            curl_free(value);
            curl_easy_cleanup(curl);
        } else {
            fprintf(stderr, "metodctl export: непонятный аргумент «%s» (фильтр пишется как имя=значение)\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!kind || !s_export_kind_known(kind)) {
        fprintf(stderr, "Использование: metodctl export " S_EXPORT_KINDS_RU " [фильтры] [-o файл]\n");
        return EXIT_USAGE;
    }
    int code = s_need_token();
    if (code)
        return code;
    char path[1700];
    snprintf(path, sizeof path, "/api/v1/export/%s%s", kind, query);
    buffer response = {0};
    long status = s_request("GET", path, NULL, NULL, 0, &response);
    if (status != 200) {
        code = s_http_failure(status, &response);
        free(response.data);
        return code;
    }
    FILE *f = out ? fopen(out, "wb") : stdout;
    bool written = f && fwrite(response.data, 1, response.len, f) == response.len;
    if (f && out)
        written = fclose(f) == 0 && written;
    else if (f)
        written = fflush(f) == 0 && written;
    if (!written) {
        fprintf(stderr, "metodctl: не удалось записать %s: %s\n", out ? out : "stdout", strerror(errno));
        free(response.data);
        return EXIT_USAGE;
    }
    if (out)
        fprintf(stderr, "Выгружено в %s (%zu байт)\n", out, response.len);
    free(response.data);
    return EXIT_OK;
}

/* ---------- users ---------- */

static int s_users(int argc, char **argv)
{
    if (argc == 0 || strcmp(argv[0], "--help") == 0) {
        printf("metodctl users list\n"
               "metodctl users create --login ЛОГИН --role РОЛЬ --scope-kind region|municipality|organization|self\n"
               "                      --scope-id КОД [--full-name ИМЯ] [--staff-id КОД]\n"
               "  Пароль нового пользователя читается со стандартного ввода.\n"
               "  Роли: region_admin, municipal_methodologist, school_admin, teacher.\n");
        return argc == 0 ? EXIT_USAGE : EXIT_OK;
    }
    int code = s_need_token();
    if (code)
        return code;
    buffer response = {0};
    if (strcmp(argv[0], "list") == 0) {
        long status = s_request("GET", "/api/v1/users?limit=500", NULL, NULL, 0, &response);
        if (status != 200) {
            code = s_http_failure(status, &response);
            free(response.data);
            return code;
        }
        json_t *doc = json_loads(response.data, 0, NULL);
        size_t i;
        json_t *u;
        printf("%-8s %-24s %-26s %-14s %s\n", "Код", "Логин", "Роль", "Область", "Имя");
        json_array_foreach(json_object_get(doc, "items"), i, u)
        {
            json_t *scope = json_object_get(u, "scope");
            printf("%-8s %-24s %-26s %-14s %s%s\n", s_str(json_object_get(u, "id")), s_str(json_object_get(u, "login")),
                   s_str(json_object_get(u, "role")), s_str(json_object_get(scope, "id")),
                   s_str(json_object_get(u, "fullName")),
                   json_is_true(json_object_get(u, "disabled")) ? " (отключён)" : "");
        }
        json_decref(doc);
        free(response.data);
        return EXIT_OK;
    }
    if (strcmp(argv[0], "create") != 0) {
        fprintf(stderr, "metodctl users: неизвестная команда «%s» (list или create)\n", argv[0]);
        return EXIT_USAGE;
    }
    const char *login = NULL, *role = NULL, *scope_kind = NULL, *scope_id = NULL, *full_name = "", *staff_id = "";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--login") == 0)
            login = argv[i + 1];
        else if (strcmp(argv[i], "--role") == 0)
            role = argv[i + 1];
        else if (strcmp(argv[i], "--scope-kind") == 0)
            scope_kind = argv[i + 1];
        else if (strcmp(argv[i], "--scope-id") == 0)
            scope_id = argv[i + 1];
        else if (strcmp(argv[i], "--full-name") == 0)
            full_name = argv[i + 1];
        else if (strcmp(argv[i], "--staff-id") == 0)
            staff_id = argv[i + 1];
        else {
            fprintf(stderr, "metodctl users create: неизвестный параметр «%s»\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!login || !role || !scope_kind || !scope_id || argc % 2 == 0) {
        fprintf(stderr, "metodctl users create: нужны --login, --role, --scope-kind и --scope-id\n");
        return EXIT_USAGE;
    }
    char password[256];
    s_read_line("Пароль нового пользователя: ", password, sizeof password, true);
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s}", "login", login, "password", password, "fullName",
                  full_name, "role", role, "scope", "kind", scope_kind, "id", scope_id, "staffId", staff_id);
    memset(password, 0, sizeof password);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    long status = s_request("POST", "/api/v1/users", "application/json", text, strlen(text), &response);
    free(text);
    if (status != 201) {
        code = s_http_failure(status, &response);
        free(response.data);
        return code;
    }
    json_t *doc = json_loads(response.data, 0, NULL);
    fprintf(stderr, "Пользователь создан: %s\n", doc ? s_str(json_object_get(doc, "id")) : "?");
    json_decref(doc);
    free(response.data);
    return EXIT_OK;
}

/* ---------- demo ---------- */

/* Creates the region and the dataset's municipalities that are missing (by name). */
static int s_demo_territory(const demo_options *o)
{
    buffer response = {0};
    char body[600];
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"name\":\"Демонстрационный регион %s\"}", o->region_id, o->region_id);
    long status = s_request("POST", "/api/v1/regions", "application/json", body, strlen(body), &response);
    if (status != 201 && status != 409) {
        int code = s_http_failure(status, &response);
        free(response.data);
        return code;
    }
    free(response.data);
    /* the municipalities the region has */
    char path[200];
    snprintf(path, sizeof path, "/api/v1/municipalities?regionId=%s&limit=500", o->region_id);
    json_t *known = json_array();
    char cursor[700] = "";
    for (;;) {
        char page[1000];
        snprintf(page, sizeof page, "%s%s%s", path, *cursor ? "&cursor=" : "", cursor);
        response = (buffer){0};
        status = s_request("GET", page, NULL, NULL, 0, &response);
        if (status != 200) {
            int code = s_http_failure(status, &response);
            free(response.data);
            json_decref(known);
            return code;
        }
        json_t *doc = json_loads(response.data, 0, NULL);
        free(response.data);
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(doc, "items"), i, m) json_array_append(known, json_object_get(m, "name"));
        const char *next = json_string_value(json_object_get(doc, "nextCursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_decref(doc);
        if (!*cursor)
            break;
    }
    size_t total = demo_municipalities(o);
    for (size_t i = 0; i < total; i++) {
        char name[200];
        demo_municipality_name(o, i, name, sizeof name);
        bool exists = false;
        size_t k;
        json_t *v;
        json_array_foreach(known, k, v) exists |= strcmp(s_str(v), name) == 0;
        if (exists)
            continue;
        json_t *m =
            json_pack("{s:s, s:s, s:s}", "regionId", o->region_id, "name", name, "kind", demo_municipality_kind(o, i));
        char *text = json_dumps(m, JSON_COMPACT);
        json_decref(m);
        response = (buffer){0};
        status = s_request("POST", "/api/v1/municipalities", "application/json", text, strlen(text), &response);
        free(text);
        if (status != 201) {
            int code = s_http_failure(status, &response);
            free(response.data);
            json_decref(known);
            return code;
        }
        free(response.data);
        s_progress("Муниципальные образования", (long long)i + 1, (long long)total, (long)i + 1);
    }
    json_decref(known);
    fprintf(stderr, "\n");
    return EXIT_OK;
}

static int s_demo(int argc, char **argv)
{
    demo_options o = {DEMO_DISTRICT, 1, "07"};
    const char *out = NULL, *scale = NULL;
    bool load = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("metodctl demo district|region|national [--seed N] [--region КОД] [--out ПРЕФИКС | --load]\n"
                   "Создаёт воспроизводимый набор данных (одинаковый при одном --seed):\n"
                   "  district — Терский район: 24 организации, 619 учителей, 252 воспитателя, 70 руководителей;\n"
                   "  region   — крупный регион: 60 МО, 1500 организаций, ~40 000 сотрудников;\n"
                   "  national — масштаб страны для нагрузочных тестов: 2500 МО, 60 000 организаций,\n"
                   "             ~1,1 млн сотрудников (файл пишется потоком; --load не рекомендуется).\n"
                   "--out ПРЕФИКС пишет ПРЕФИКС-organizations.csv и ПРЕФИКС-staff.csv (по умолчанию demo-<вид>);\n"
                   "--load вдобавок создаёт регион и МО через API и загружает оба файла (нужен вход).\n");
            return EXIT_OK;
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            o.seed = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--region") == 0 && i + 1 < argc) {
            o.region_id = argv[++i];
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--load") == 0) {
            load = true;
        } else if (!scale) {
            scale = argv[i];
        } else {
            fprintf(stderr, "metodctl demo: лишний аргумент «%s»\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!scale || (strcmp(scale, "district") != 0 && strcmp(scale, "region") != 0 && strcmp(scale, "national") != 0)) {
        fprintf(stderr, "Использование: metodctl demo district|region|national [--seed N] [--out префикс | --load]\n");
        return EXIT_USAGE;
    }
    o.scale = strcmp(scale, "district") == 0 ? DEMO_DISTRICT
              : strcmp(scale, "region") == 0 ? DEMO_REGION
                                             : DEMO_NATIONAL;
    char prefix[900], orgs[1000], staff[1000];
    snprintf(prefix, sizeof prefix, "%s", out ? out : scale);
    if (!out)
        snprintf(prefix, sizeof prefix, "demo-%s", scale);
    snprintf(orgs, sizeof orgs, "%s-organizations.csv", prefix);
    snprintf(staff, sizeof staff, "%s-staff.csv", prefix);
    FILE *f = fopen(orgs, "wb");
    long n_orgs = f ? demo_write_organizations(&o, f) : -1;
    if (f && fclose(f) != 0)
        n_orgs = -1;
    f = n_orgs >= 0 ? fopen(staff, "wb") : NULL;
    long n_staff = f ? demo_write_staff(&o, f) : -1;
    if (f && fclose(f) != 0)
        n_staff = -1;
    if (n_orgs < 0 || n_staff < 0) {
        fprintf(stderr, "metodctl: не удалось записать файлы %s: %s\n", prefix, strerror(errno));
        return EXIT_USAGE;
    }
    fprintf(stderr, "Записано: %s (%ld организаций), %s (%ld сотрудников)\n", orgs, n_orgs, staff, n_staff);
    if (!load)
        return EXIT_OK;
    int code = s_need_token();
    if (code)
        return code;
    code = s_demo_territory(&o);
    if (code)
        return code;
    char *import_orgs[] = {"organizations", orgs}, *import_staff[] = {"staff", staff};
    code = s_import(2, import_orgs);
    if (code)
        return code;
    return s_import(2, import_staff);
}

/* ---------- indicators ---------- */

/* metodctl indicators recompute [--check] [--region R]: the indicators service lists every source record
 * from its service through the broker, applies it to a shadow state and compares the values with the
 * incremental state; --check exits 2 on any difference. */
static int s_indicators(int argc, char **argv)
{
    bool check = false;
    const char *region = "";
    if (argc == 0 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "recompute") != 0) {
        printf("metodctl indicators recompute [--check] [--region КОД]\n"
               "Полный пересчёт показателей I1–I13 из служб-источников (через брокер) и сравнение с\n"
               "инкрементальным состоянием; --check — код выхода 2 при любом расхождении.\n");
        return argc > 0 && strcmp(argv[0], "--help") == 0 ? EXIT_OK : EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0)
            check = true;
        else if (strcmp(argv[i], "--region") == 0 && i + 1 < argc)
            region = argv[++i];
        else {
            fprintf(stderr, "metodctl indicators recompute: непонятный аргумент «%s»\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    int code = s_need_token();
    if (code)
        return code;
    json_t *body = json_pack("{s:s, s:b}", "regionId", region, "check", check);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    buffer response = {0};
    long status = s_request("POST", "/api/v1/indicators/recompute", "application/json", text, strlen(text), &response);
    free(text);
    if (status != 200) {
        code = s_http_failure(status, &response);
        free(response.data);
        return code;
    }
    json_t *doc = json_loads(response.data, 0, NULL);
    free(response.data);
    long long total = json_integer_value(json_object_get(doc, "differencesTotal"));
    const char *t = json_string_value(json_object_get(doc, "differencesTotal"));
    if (t)
        total = atoll(t);
    const char *people = json_string_value(json_object_get(doc, "people"));
    const char *orgs = json_string_value(json_object_get(doc, "organizations"));
    printf("Пересчитано: сотрудников %s, организаций %s; расхождений с инкрементальным состоянием: %lld\n",
           people ? people : "0", orgs ? orgs : "0", total);
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(doc, "differences"), i, d)
    {
        printf("  %s\n", s_str(json_object_get(d, "key")));
    }
    json_decref(doc);
    return check && total > 0 ? EXIT_REFUSED : EXIT_OK;
}

/* ---------- main ---------- */

static void s_usage(FILE *to)
{
    fprintf(to, "metodctl — управление metodnet из терминала\n\n"
                "Команды:\n"
                "  login                     вход; токен сохраняется для следующих команд\n"
                "  import <вид> <файл>       загрузка CSV (вид: organizations или staff), --dry-run — проверка\n"
                "  export <вид> [фильтры]    выгрузка в CSV для Excel (-o файл)\n"
                "  users list|create         пользователи своей области\n"
                "  demo district|region|national  демонстрационные данные (--seed, --out, --load)\n"
                "  indicators recompute [--check]  полный пересчёт показателей и сверка с текущими\n\n"
                "Общие параметры: --server URL (или METODNET_URL; по умолчанию http://127.0.0.1:8080).\n"
                "«metodctl <команда> --help» — справка по команде.\n\n"
                "Коды выхода: 0 — успешно; 1 — неверный вызов или ошибка локального файла;\n"
                "  2 — сервер отказал (ошибки проверки, отклонённые строки); 3 — нет связи или служба\n"
                "  недоступна; 4 — нужен вход или не хватает прав.\n");
}

int main(int argc, char **argv)
{
    s_server = getenv("METODNET_URL");
    if (!s_server || !*s_server)
        s_server = "http://127.0.0.1:8080";
    int i = 1;
    while (i < argc && strncmp(argv[i], "--", 2) == 0) {
        if (strcmp(argv[i], "--server") == 0 && i + 1 < argc) {
            s_server = argv[i + 1];
            i += 2;
        } else if (strcmp(argv[i], "--help") == 0) {
            s_usage(stdout);
            return EXIT_OK;
        } else {
            fprintf(stderr, "metodctl: неизвестный параметр «%s»\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        s_usage(stderr);
        return EXIT_USAGE;
    }
    const char *command = argv[i];
    int rest = argc - i - 1;
    char **args = argv + i + 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int code;
    if (strcmp(command, "login") == 0)
        code = s_login(rest, args);
    else if (strcmp(command, "import") == 0)
        code = s_import(rest, args);
    else if (strcmp(command, "export") == 0)
        code = s_export(rest, args);
    else if (strcmp(command, "users") == 0)
        code = s_users(rest, args);
    else if (strcmp(command, "demo") == 0)
        code = s_demo(rest, args);
    else if (strcmp(command, "indicators") == 0)
        code = s_indicators(rest, args);
    else {
        fprintf(stderr, "metodctl: неизвестная команда «%s»\n", command);
        s_usage(stderr);
        code = EXIT_USAGE;
    }
    curl_global_cleanup();
    return code;
}
