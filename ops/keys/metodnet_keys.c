/* metodnet-keys — creates the CurveZMQ keys with which the broker and its clients authenticate
 * (common/curve_keys.h for the files, docs/operations.md for provisioning another host):
 *
 *   metodnet-keys init [--dir D] <service>...   the broker's key pair and one key per service, each
 *                                               listed in D/clients; what is there is kept (idempotent)
 *   metodnet-keys new <service|gateway> <name> <file>
 *                                               a new key pair in file (0600) for a process on another
 *                                               host; prints the line to add to the broker's clients
 *   metodnet-keys line <service|gateway> <name> <file>
 *                                               the clients line of an existing key file
 *
 * D: --dir, else METODNET_KEYS_DIR, else $METODNET_DATA_DIR/keys, else var/keys (as config.h).
 * Exit codes: 0 done, 1 a file problem, 2 wrong usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "curve_keys.h"

static void s_usage(FILE *to)
{
    fprintf(to, "Использование:\n"
                "  metodnet-keys init [--dir КАТАЛОГ] <служба>...  ключи брокера и служб (есть — не трогает)\n"
                "  metodnet-keys new <service|gateway> <имя> <файл>  новый ключ для другого узла; печатает\n"
                "                                                  строку для списка clients брокера\n"
                "  metodnet-keys line <service|gateway> <имя> <файл> строка clients для готового ключа\n"
                "Каталог: --dir, METODNET_KEYS_DIR, $METODNET_DATA_DIR/keys или var/keys.\n");
}

static int s_kind(const char *text, curve_peer_kind *kind)
{
    if (strcmp(text, "service") == 0)
        *kind = CURVE_PEER_SERVICE;
    else if (strcmp(text, "gateway") == 0)
        *kind = CURVE_PEER_GATEWAY;
    else
        return -1;
    return 0;
}

static void s_print_line(FILE *to, curve_peer_kind kind, const char *name, const uint8_t public_key[32])
{
    char z85[CURVE_Z85_LEN + 1];
    curve_key_z85(public_key, z85);
    fprintf(to, "%s %s %s\n", curve_peer_kind_name(kind), name, z85);
}

/* Appends a clients line (the file is created 0644). */
static int s_append_client(const char *path, curve_peer_kind kind, const char *name, const uint8_t public_key[32])
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (!f) {
        fprintf(stderr, "Ошибка: не открывается %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    s_print_line(f, kind, name, public_key);
    int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, "Ошибка: не записывается %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

/* A key pair file at path: made when missing; its public key into public_key. 1 made, 0 there, -1. */
static int s_ensure_key(const char *path, const char *label, uint8_t public_key[32])
{
    uint8_t secret_key[32];
    char err[512];
    int rc = 0;
    if (access(path, F_OK) == 0) {
        if (curve_key_file_read(path, public_key, secret_key, err, sizeof err) != 0)
            rc = -1;
    } else if (curve_keypair_new(public_key, secret_key) != 0) {
        snprintf(err, sizeof err, "ключ не создан (libzmq без CurveZMQ?)");
        rc = -1;
    } else {
        rc = curve_key_file_write(path, label, public_key, secret_key, err, sizeof err) == 0 ? 1 : -1;
    }
    sodium_memzero(secret_key, sizeof secret_key);
    if (rc < 0)
        fprintf(stderr, "Ошибка: %s\n", err);
    return rc;
}

static int s_init(const char *dir, int n_services, char **services)
{
    for (int i = 0; i < n_services; i++)
        if (!curve_name_valid(services[i])) {
            fprintf(stderr, "Ошибка: «%s» — не имя службы (латинские строчные, цифры, . _ -)\n", services[i]);
            return 2;
        }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "Ошибка: каталог ключей %s не создан: %s\n", dir, strerror(errno));
        return 1;
    }
    if (chmod(dir, 0700) != 0) {
        fprintf(stderr, "Ошибка: chmod 700 %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char path[4096];
    char err[512];
    uint8_t public_key[32];
    char clients_path[4096];
    if (curve_keys_path(clients_path, sizeof clients_path, dir, CURVE_CLIENTS, "") != 0 ||
        curve_keys_path(path, sizeof path, dir, "x", ".key") != 0) {
        fprintf(stderr, "Ошибка: слишком длинный путь %s\n", dir);
        return 2;
    }
    curve_keys_path(path, sizeof path, dir, CURVE_KEY_FILE, "");
    int made = s_ensure_key(path, "брокер MDP", public_key);
    if (made < 0)
        return 1;
    if (made)
        printf("создан ключ брокера %s\n", path);
    curve_keys_path(path, sizeof path, dir, CURVE_PUB_FILE, "");
    if (curve_public_file_write(path, public_key, err, sizeof err) != 0) {
        fprintf(stderr, "Ошибка: %s\n", err);
        return 1;
    }
    curve_client_list clients = {NULL, 0};
    if (access(clients_path, F_OK) == 0 && curve_clients_read(clients_path, &clients, err, sizeof err) != 0) {
        fprintf(stderr, "Ошибка: %s\n", err);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < n_services && rc == 0; i++) {
        char label[128];
        if (curve_keys_path(path, sizeof path, dir, services[i], ".key") != 0) {
            rc = 1;
            break;
        }
        snprintf(label, sizeof label, "служба %s", services[i]);
        made = s_ensure_key(path, label, public_key);
        if (made < 0) {
            rc = 1;
        } else if (!curve_clients_find(&clients, public_key)) {
            if (s_append_client(clients_path, CURVE_PEER_SERVICE, services[i], public_key) != 0 ||
                curve_clients_add(&clients, CURVE_PEER_SERVICE, services[i], public_key) != 0)
                rc = 1;
            else
                printf("ключ службы %s: %s (%s)\n", services[i], path, made ? "создан" : "добавлен в clients");
        }
    }
    curve_clients_free(&clients);
    return rc;
}

static int s_new(curve_peer_kind kind, const char *name, const char *path, int create)
{
    if (!curve_name_valid(name)) {
        fprintf(stderr, "Ошибка: «%s» — не имя (латинские строчные, цифры, . _ -)\n", name);
        return 2;
    }
    uint8_t public_key[32];
    uint8_t secret_key[32];
    char err[512];
    int rc = 0;
    if (create) {
        char label[128];
        snprintf(label, sizeof label, "%s %s", curve_peer_kind_name(kind), name);
        if (curve_keypair_new(public_key, secret_key) != 0 ||
            curve_key_file_write(path, label, public_key, secret_key, err, sizeof err) != 0)
            rc = 1;
    } else if (curve_key_file_read(path, public_key, secret_key, err, sizeof err) != 0) {
        rc = 1;
    }
    sodium_memzero(secret_key, sizeof secret_key);
    if (rc) {
        fprintf(stderr, "Ошибка: %s\n", err);
        return rc;
    }
    s_print_line(stdout, kind, name, public_key);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "init") == 0) {
        char fallback[4096];
        const char *dir = getenv("METODNET_KEYS_DIR");
        if (!dir || !*dir) {
            const char *data = getenv("METODNET_DATA_DIR");
            snprintf(fallback, sizeof fallback, "%s/keys", data && *data ? data : "var");
            dir = fallback;
        }
        int first = 2;
        if (argc > 3 && strcmp(argv[2], "--dir") == 0) {
            dir = argv[3];
            first = 4;
        }
        return s_init(dir, argc - first, argv + first);
    }
    curve_peer_kind kind;
    if ((strcmp(argv[1], "new") == 0 || strcmp(argv[1], "line") == 0) && argc == 5 && s_kind(argv[2], &kind) == 0)
        return s_new(kind, argv[3], argv[4], strcmp(argv[1], "new") == 0);
    s_usage(stderr);
    return 2;
}
