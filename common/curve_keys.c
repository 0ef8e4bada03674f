/* curve_keys — reading and writing the CurveZMQ key files (see curve_keys.h for the layout). */
#include "curve_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define S_FILE_MAX (1024 * 1024)

const char *curve_peer_kind_name(curve_peer_kind kind)
{
    return kind == CURVE_PEER_SERVICE ? "service" : "gateway";
}

int curve_keypair_new(uint8_t public_key[MDP_CURVE_KEY_BYTES], uint8_t secret_key[MDP_CURVE_KEY_BYTES])
{
    char public_z85[CURVE_Z85_LEN + 1];
    char secret_z85[CURVE_Z85_LEN + 1];
    int rc = -1;
    if (zmq_curve_keypair(public_z85, secret_z85) == 0 && zmq_z85_decode(public_key, public_z85) &&
        zmq_z85_decode(secret_key, secret_z85))
        rc = 0;
    sodium_memzero(secret_z85, sizeof secret_z85);
    return rc;
}

void curve_key_z85(const uint8_t key[MDP_CURVE_KEY_BYTES], char out[CURVE_Z85_LEN + 1])
{
    zmq_z85_encode(out, key, MDP_CURVE_KEY_BYTES);
}

/* Decodes exactly CURVE_Z85_LEN z85 characters at text into key. 0 or -1. */
static int s_decode(const char *text, size_t len, uint8_t key[MDP_CURVE_KEY_BYTES])
{
    char copy[CURVE_Z85_LEN + 1];
    if (len != CURVE_Z85_LEN)
        return -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    int rc = zmq_z85_decode(key, copy) ? 0 : -1;
    sodium_memzero(copy, sizeof copy);
    return rc;
}

static int s_fail(char *err, size_t err_size, const char *format, const char *path)
{
    int saved = errno;
    snprintf(err, err_size, format, path, strerror(saved));
    errno = saved;
    return -1;
}

/* The whole file into a NUL-terminated malloc'd buffer; NULL with errno set. */
static char *s_read_file(const char *path, int private_file, char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        s_fail(err, err_size, "не открывается файл ключа %s: %s", path);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > S_FILE_MAX) {
        snprintf(err, err_size, "%s: не обычный файл или больше 1 МБ", path);
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    if (private_file && (st.st_mode & 077) != 0) {
        errno = EPERM;
        snprintf(err, err_size, "%s: секретный ключ доступен не только владельцу (права %03o, нужно 0600: chmod 600)",
                 path, (unsigned)(st.st_mode & 0777));
        close(fd);
        return NULL;
    }
    char *text = malloc((size_t)st.st_size + 1);
    if (!text) {
        close(fd);
        snprintf(err, err_size, "%s: нехватка памяти", path);
        errno = ENOMEM;
        return NULL;
    }
    size_t at = 0;
    while (at < (size_t)st.st_size) {
        ssize_t n = read(fd, text + at, (size_t)st.st_size - at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        at += (size_t)n;
    }
    close(fd);
    text[at] = '\0';
    return text;
}

static void s_free_secret_text(char *text)
{
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
}

/* Writes text to path atomically enough for key files: a new file with mode (O_EXCL unless replace). */
static int s_write_file(const char *path, const char *text, mode_t mode, int replace, char *err, size_t err_size)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, err_size, "слишком длинный путь %s", path);
        errno = ENAMETOOLONG;
        return -1;
    }
    const char *target = replace ? tmp : path;
    if (replace)
        unlink(tmp);
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 && errno == EEXIST) {
        snprintf(err, err_size, "файл %s уже есть (не перезаписывается)", path);
        errno = EEXIST;
        return -1;
    }
    if (fd < 0)
        return s_fail(err, err_size, "не создаётся файл %s: %s", path);
    size_t len = strlen(text);
    int ok = fchmod(fd, mode) == 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (ok && replace && rename(tmp, path) != 0) {
        saved = errno;
        ok = 0;
    }
    if (!ok) {
        unlink(target);
        errno = saved;
        return s_fail(err, err_size, "не записывается файл %s: %s", path);
    }
    return 0;
}

int curve_key_file_write(const char *path, const char *label, const uint8_t public_key[MDP_CURVE_KEY_BYTES],
                         const uint8_t secret_key[MDP_CURVE_KEY_BYTES], char *err, size_t err_size)
{
    char public_z85[CURVE_Z85_LEN + 1];
    char secret_z85[CURVE_Z85_LEN + 1];
    char text[512];
    curve_key_z85(public_key, public_z85);
    curve_key_z85(secret_key, secret_z85);
    snprintf(text, sizeof text,
             "# metodnet: ключ CurveZMQ (%s); секретный, только для владельца (0600)\npublic %s\nsecret %s\n",
             label ? label : "", public_z85, secret_z85);
    int rc = s_write_file(path, text, 0600, 0, err, err_size);
    sodium_memzero(secret_z85, sizeof secret_z85);
    sodium_memzero(text, sizeof text);
    return rc;
}

int curve_public_file_write(const char *path, const uint8_t public_key[MDP_CURVE_KEY_BYTES], char *err, size_t err_size)
{
    char public_z85[CURVE_Z85_LEN + 1];
    char text[160];
    curve_key_z85(public_key, public_z85);
    snprintf(text, sizeof text, "# metodnet: открытый ключ CurveZMQ брокера\npublic %s\n", public_z85);
    return s_write_file(path, text, 0644, 1, err, err_size);
}

/* The next line of *cursor without its end and surrounding blanks, NULL at the end. */
static char *s_next_line(char **cursor)
{
    char *line = *cursor;
    if (!line || !*line)
        return NULL;
    char *end = strchr(line, '\n');
    if (end) {
        *end = '\0';
        *cursor = end + 1;
    } else {
        *cursor = line + strlen(line);
    }
    while (*line == ' ' || *line == '\t')
        line++;
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
        line[--len] = '\0';
    return line;
}

int curve_key_file_read(const char *path, uint8_t public_key[MDP_CURVE_KEY_BYTES],
                        uint8_t secret_key[MDP_CURVE_KEY_BYTES], char *err, size_t err_size)
{
    char *text = s_read_file(path, secret_key != NULL, err, err_size);
    if (!text)
        return -1;
    int have_public = 0;
    int have_secret = 0;
    int bad = 0;
    char *cursor = text;
    for (char *line; (line = s_next_line(&cursor)) != NULL;) {
        if (*line == '\0' || *line == '#')
            continue;
        if (strncmp(line, "public ", 7) == 0 && !have_public && s_decode(line + 7, strlen(line + 7), public_key) == 0)
            have_public = 1;
        else if (!secret_key && strncmp(line, "secret ", 7) == 0)
            continue; /* only the public key is asked for */
        else if (secret_key && strncmp(line, "secret ", 7) == 0 && !have_secret &&
                 s_decode(line + 7, strlen(line + 7), secret_key) == 0)
            have_secret = 1;
        else
            bad = 1;
    }
    s_free_secret_text(text);
    if (bad || !have_public || (secret_key && !have_secret)) {
        snprintf(err, err_size, "%s: испорчен файл ключа (нужны строки «public <z85>»%s)", path,
                 secret_key ? " и «secret <z85>»" : "");
        if (secret_key)
            sodium_memzero(secret_key, MDP_CURVE_KEY_BYTES);
        errno = EINVAL;
        return -1;
    }
    if (secret_key) {
        uint8_t derived[MDP_CURVE_KEY_BYTES];
        crypto_scalarmult_base(derived, secret_key);
        int match = sodium_memcmp(derived, public_key, MDP_CURVE_KEY_BYTES) == 0;
        if (!match) {
            sodium_memzero(secret_key, MDP_CURVE_KEY_BYTES);
            snprintf(err, err_size, "%s: секретный ключ не соответствует открытому", path);
            errno = EINVAL;
            return -1;
        }
    }
    return 0;
}

int curve_keys_path(char *out, size_t size, const char *dir, const char *file, const char *suffix)
{
    int n = snprintf(out, size, "%s/%s%s", dir, file, suffix);
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int curve_keys_load_client(const char *dir, const char *name, mdp_curve_keys *out, char *err, size_t err_size)
{
    char path[4096];
    if (curve_keys_path(path, sizeof path, dir, CURVE_PUB_FILE, "") != 0 ||
        curve_key_file_read(path, out->broker_public, NULL, err, err_size) != 0)
        return -1;
    if (curve_keys_path(path, sizeof path, dir, name, ".key") != 0) {
        snprintf(err, err_size, "слишком длинный путь каталога ключей %s", dir);
        return -1;
    }
    return curve_key_file_read(path, out->public_key, out->secret_key, err, err_size);
}

int curve_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > CURVE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int curve_clients_add(curve_client_list *list, curve_peer_kind kind, const char *name,
                      const uint8_t public_key[MDP_CURVE_KEY_BYTES])
{
    curve_client *grown = realloc(list->clients, (list->count + 1) * sizeof *grown);
    if (!grown)
        return -1;
    list->clients = grown;
    curve_client *entry = &list->clients[list->count++];
    memset(entry, 0, sizeof *entry);
    entry->kind = kind;
    snprintf(entry->name, sizeof entry->name, "%s", name);
    memcpy(entry->public_key, public_key, MDP_CURVE_KEY_BYTES);
    return 0;
}

int curve_clients_parse(const char *text, curve_client_list *out, char *err, size_t err_size)
{
    out->clients = NULL;
    out->count = 0;
    char *copy = strdup(text);
    if (!copy) {
        snprintf(err, err_size, "нехватка памяти");
        return -1;
    }
    char *cursor = copy;
    int line_no = 0;
    int rc = 0;
    for (char *line; (line = s_next_line(&cursor)) != NULL;) {
        line_no++;
        if (*line == '\0' || *line == '#')
            continue;
        char kind[16];
        char name[CURVE_NAME_MAX + 2];
        char key[CURVE_Z85_LEN + 2];
        char extra[2];
        uint8_t public_key[MDP_CURVE_KEY_BYTES];
        int fields = sscanf(line, "%15s %65s %41s %1s", kind, name, key, extra);
        curve_peer_kind peer_kind = strcmp(kind, "service") == 0 ? CURVE_PEER_SERVICE : CURVE_PEER_GATEWAY;
        if (fields != 3 || (strcmp(kind, "service") != 0 && strcmp(kind, "gateway") != 0) || !curve_name_valid(name) ||
            s_decode(key, strlen(key), public_key) != 0) {
            snprintf(err, err_size, "строка %d: ожидается «service|gateway <имя> <открытый ключ z85, 40 знаков>»",
                     line_no);
            rc = -1;
            break;
        }
        if (curve_clients_find(out, public_key)) {
            snprintf(err, err_size, "строка %d: этот ключ уже есть в списке выше", line_no);
            rc = -1;
            break;
        }
        if (curve_clients_add(out, peer_kind, name, public_key) != 0) {
            snprintf(err, err_size, "нехватка памяти");
            rc = -1;
            break;
        }
    }
    free(copy);
    if (rc != 0)
        curve_clients_free(out);
    return rc;
}

int curve_clients_read(const char *path, curve_client_list *out, char *err, size_t err_size)
{
    out->clients = NULL;
    out->count = 0;
    char *text = s_read_file(path, 0, err, err_size);
    if (!text)
        return -1;
    char reason[256];
    int rc = curve_clients_parse(text, out, reason, sizeof reason);
    free(text);
    if (rc != 0)
        snprintf(err, err_size, "%s: %s", path, reason);
    return rc;
}

const curve_client *curve_clients_find(const curve_client_list *list, const uint8_t public_key[MDP_CURVE_KEY_BYTES])
{
    for (size_t i = 0; i < list->count; i++)
        if (memcmp(list->clients[i].public_key, public_key, MDP_CURVE_KEY_BYTES) == 0)
            return &list->clients[i];
    return NULL;
}

void curve_clients_free(curve_client_list *list)
{
    free(list->clients);
    list->clients = NULL;
    list->count = 0;
}
