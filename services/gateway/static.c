/* static — the web console's files served at / (see static.h). */
#include "static.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>
#include <zlib.h>

#include "api_error.h"
#include "log.h"

#define S_MAX_TOTAL (64u * 1024 * 1024)
#define S_MAX_DEPTH 8
#define S_LABEL     "GET /"

const char gateway_static_csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                  "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                                  "form-action 'self'; frame-ancestors 'none'";

typedef struct {
    char *path; /* "/index.html", "/assets/app-1a2b3c.js" */
    const char *type;
    uint8_t *body;
    size_t len;
    uint8_t *gz; /* NULL when not worth it */
    size_t gz_len;
    char etag[48];    /* "\"<hex>\"" */
    char gz_etag[52]; /* "\"<hex>-gz\"" */
    bool immutable;
} s_file;

struct gateway_static {
    s_file *files;
    size_t n, cap;
    size_t total;
    const s_file *index;
};

static const char *s_type_of(const char *path, bool *text)
{
    static const struct {
        const char *ext, *type;
        bool text;
    } types[] = {
        {".html", "text/html; charset=utf-8", true},
        {".js", "text/javascript; charset=utf-8", true},
        {".mjs", "text/javascript; charset=utf-8", true},
        {".css", "text/css; charset=utf-8", true},
        {".json", "application/json; charset=utf-8", true},
        {".map", "application/json; charset=utf-8", true},
        {".svg", "image/svg+xml", true},
        {".txt", "text/plain; charset=utf-8", true},
        {".png", "image/png", false},
        {".ico", "image/x-icon", false},
        {".woff2", "font/woff2", false},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot != NULL && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0) {
            *text = types[i].text;
            return types[i].type;
        }
    *text = false;
    return "application/octet-stream";
}

/* gzip of body, or NULL when not smaller. */
static uint8_t *s_gzip(const uint8_t *body, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&zs, (uLong)len) + 32;
    uint8_t *out = malloc(cap);
    if (out == NULL) {
        deflateEnd(&zs);
        return NULL;
    }
    zs.next_in = (Bytef *)body;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END || *out_len + 64 >= len) {
        free(out);
        return NULL;
    }
    return out;
}

static int s_add(gateway_static *s, const char *url, const char *file)
{
    FILE *f = fopen(file, "rb");
    if (f == NULL)
        return -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || s->total + (size_t)st.st_size > S_MAX_TOTAL) {
        fclose(f);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *body = malloc(len ? len : 1);
    if (body == NULL || fread(body, 1, len, f) != len) {
        free(body);
        fclose(f);
        return -1;
    }
    fclose(f);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        s_file *files = realloc(s->files, cap * sizeof *files);
        if (files == NULL) {
            free(body);
            return -1;
        }
        s->files = files;
        s->cap = cap;
    }
    s_file *e = &s->files[s->n];
    memset(e, 0, sizeof *e);
    e->path = strdup(url);
    if (e->path == NULL) {
        free(body);
        return -1;
    }
    bool text;
    e->type = s_type_of(url, &text);
    e->body = body;
    e->len = len;
    if (text && len > 1024)
        e->gz = s_gzip(body, len, &e->gz_len);
    uint8_t hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, body, len);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, hash, 16);
    snprintf(e->etag, sizeof e->etag, "\"%s\"", hex);
    snprintf(e->gz_etag, sizeof e->gz_etag, "\"%s-gz\"", hex);
    e->immutable = strncmp(url, "/assets/", 8) == 0;
    s->total += len;
    s->n++;
    return 0;
}

static void s_walk(gateway_static *s, const char *dir, const char *url, int depth)
{
    if (depth > S_MAX_DEPTH)
        return;
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", hidden files */
        char file[4096], sub[1024];
        if (snprintf(file, sizeof file, "%s/%s", dir, de->d_name) >= (int)sizeof file ||
            snprintf(sub, sizeof sub, "%s/%s", url, de->d_name) >= (int)sizeof sub)
            continue;
        struct stat st;
        if (stat(file, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            s_walk(s, file, sub, depth + 1);
        else if (S_ISREG(st.st_mode) && s_add(s, sub, file) != 0)
            log_warn(NULL, "веб-консоль: файл %s не загружен", file);
    }
    closedir(d);
}

static const s_file *s_find(const gateway_static *s, const char *path, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->files[i].path) == len && memcmp(s->files[i].path, path, len) == 0)
            return &s->files[i];
    return NULL;
}

gateway_static *gateway_static_new(const char *dir)
{
    gateway_static *s = calloc(1, sizeof *s);
    if (s == NULL || dir == NULL || *dir == '\0')
        return s;
    s_walk(s, dir, "", 0);
    s->index = s_find(s, "/index.html", 11);
    if (s->index == NULL && s->n > 0)
        log_warn(NULL, "веб-консоль: в %s нет index.html", dir);
    if (s->index != NULL)
        log_info(NULL, "веб-консоль: %zu файлов (%zu байт) из %s", s->n, s->total, dir);
    return s;
}

void gateway_static_destroy(gateway_static **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    gateway_static *s = *sp;
    for (size_t i = 0; i < s->n; i++) {
        free(s->files[i].path);
        free(s->files[i].body);
        free(s->files[i].gz);
    }
    free(s->files);
    free(s);
    *sp = NULL;
}

size_t gateway_static_count(const gateway_static *s)
{
    return s && s->index ? s->n : 0;
}

static bool s_method(const h2o_req_t *req, const char *m)
{
    return req->method.len == strlen(m) && memcmp(req->method.base, m, req->method.len) == 0;
}

static const h2o_iovec_t *s_header(h2o_req_t *req, const h2o_token_t *token)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    return i == -1 ? NULL : &req->headers.entries[i].value;
}

static bool s_contains(const h2o_iovec_t *v, const char *needle)
{
    size_t n = strlen(needle);
    if (v == NULL || v->len < n)
        return false;
    for (size_t i = 0; i + n <= v->len; i++)
        if (h2o_lcstris(v->base + i, n, needle, n))
            return true;
    return false;
}

static void s_security_headers(h2o_req_t *req, const char *request_id)
{
    h2o_mem_pool_t *pool = &req->pool;
    h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL, gateway_static_csp,
                          sizeof gateway_static_csp - 1);
    h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
                          H2O_STRLIT("nosniff"));
    h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("referrer-policy"), 0, NULL, H2O_STRLIT("no-referrer"));
    h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("x-frame-options"), 0, NULL, H2O_STRLIT("DENY"));
    h2o_iovec_t rid = h2o_strdup(pool, request_id, SIZE_MAX);
    h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, rid.base, rid.len);
}

static void s_send_error(gateway_metrics *metrics, h2o_req_t *req, int status, const char *reason, const char *message,
                         const char *request_id, uint64_t started_ns)
{
    size_t len = 0;
    char *body = api_error_json(api_error_code_for_http(status), message, NULL, 0, request_id, &len);
    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    s_security_headers(req, request_id);
    gateway_metrics_observe(metrics, S_LABEL, status, (double)(uv_hrtime() - started_ns) / 1e9);
    req->res.content_length = body ? len : 0;
    h2o_send_inline(req, body ? body : "", body ? len : 0);
    free(body);
}

bool gateway_static_serve(gateway_static *s, gateway_metrics *metrics, h2o_req_t *req, const char *path,
                          size_t path_len, const char *request_id, uint64_t started_ns)
{
    if (s == NULL || path_len == 0 || path[0] != '/')
        return false;
    if ((path_len >= 5 && memcmp(path, "/api/", 5) == 0) || (path_len == 4 && memcmp(path, "/api", 4) == 0))
        return false;
    if (!s_method(req, "GET") && !s_method(req, "HEAD"))
        return false; /* the API's 404/405 */
    const s_file *f = s_find(s, path, path_len);
    if (f == NULL) {
        /* a screen of the console: no extension in the last segment */
        const char *last = path + path_len;
        while (last > path && last[-1] != '/')
            last--;
        bool screen = memchr(last, '.', (size_t)(path + path_len - last)) == NULL;
        if (screen && s->index != NULL)
            f = s->index;
        else if (path_len == 1 || screen) {
            s_send_error(metrics, req, 404, "Not Found",
                         "Веб-консоль не собрана: выполните ./ops/up (сборка web/ через npm)", request_id, started_ns);
            return true;
        } else
            return false; /* a file that is not there: the API's JSON 404 */
    }
    bool gz = f->gz != NULL && s_contains(s_header(req, H2O_TOKEN_ACCEPT_ENCODING), "gzip");
    const char *etag = gz ? f->gz_etag : f->etag;
    const h2o_iovec_t *inm = s_header(req, H2O_TOKEN_IF_NONE_MATCH);
    char bare[52];
    snprintf(bare, sizeof bare, "%.*s", (int)strlen(etag) - 2, etag + 1); /* without the quotes */
    bool not_modified = inm != NULL && (s_contains(inm, bare) || (inm->len == 1 && inm->base[0] == '*'));
    req->res.status = not_modified ? 304 : 200;
    req->res.reason = not_modified ? "Not Modified" : "OK";
    h2o_mem_pool_t *pool = &req->pool;
    h2o_add_header(pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, f->type, strlen(f->type));
    if (f->immutable)
        h2o_add_header(pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                       H2O_STRLIT("public, max-age=31536000, immutable"));
    else
        h2o_add_header(pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    h2o_iovec_t tag = h2o_strdup(pool, etag, SIZE_MAX);
    h2o_add_header(pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, tag.base, tag.len);
    if (f->gz != NULL)
        h2o_add_header(pool, &req->res.headers, H2O_TOKEN_VARY, NULL, H2O_STRLIT("Accept-Encoding"));
    if (gz && !not_modified)
        h2o_add_header(pool, &req->res.headers, H2O_TOKEN_CONTENT_ENCODING, NULL, H2O_STRLIT("gzip"));
    s_security_headers(req, request_id);
    gateway_metrics_observe(metrics, S_LABEL, req->res.status, (double)(uv_hrtime() - started_ns) / 1e9);
    if (not_modified) {
        h2o_send_inline(req, "", 0);
        return true;
    }
    const uint8_t *body = gz ? f->gz : f->body;
    size_t len = gz ? f->gz_len : f->len;
    req->res.content_length = len;
    if (s_method(req, "HEAD"))
        h2o_send_inline(req, "", 0);
    else
        h2o_send_inline(req, (const char *)body, len);
    return true;
}
