/* curve_keys — the CurveZMQ key files of the broker and its clients, in one directory (the keys dir,
 * config.keys_dir, mode 0700):
 *
 *   broker.key      the broker's key pair (mode 0600): lines "public <z85>" and "secret <z85>"
 *   broker.pub      the broker's public key: "public <z85>" (copied to every host that runs workers)
 *   <name>.key      the key pair of a client of the broker (a service's workers and service_client,
 *                   or a gateway in a process of its own), mode 0600, as broker.key
 *   clients         who may connect: one line "<kind> <name> <z85 public key>" per key, kind
 *                   "service" or "gateway"; '#' starts a comment. Several keys may share a name
 *                   (one per host).
 *
 * A key file that group or others may read is refused (as ssh refuses such keys). z85 is ZeroMQ's
 * text form of a 32-byte key (RFC 32, 40 characters). Messages are Russian.
 */
#ifndef METODNET_CURVE_KEYS_H
#define METODNET_CURVE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "mdp.h"

#define CURVE_Z85_LEN  40
#define CURVE_NAME_MAX 64
#define CURVE_KEY_FILE "broker.key"
#define CURVE_PUB_FILE "broker.pub"
#define CURVE_CLIENTS  "clients"

typedef enum {
    CURVE_PEER_SERVICE, /* a service: its workers and its calls to other services */
    CURVE_PEER_GATEWAY, /* a gateway: end users' requests only */
} curve_peer_kind;

typedef struct {
    curve_peer_kind kind;
    char name[CURVE_NAME_MAX + 1];
    uint8_t public_key[MDP_CURVE_KEY_BYTES];
} curve_client;

typedef struct {
    curve_client *clients;
    size_t count;
} curve_client_list;

/* "service" / "gateway". */
const char *curve_peer_kind_name(curve_peer_kind kind);

/* A new random key pair (libsodium through zmq_curve_keypair). 0 or -1. */
int curve_keypair_new(uint8_t public_key[MDP_CURVE_KEY_BYTES], uint8_t secret_key[MDP_CURVE_KEY_BYTES]);

/* The z85 text of a key into out (CURVE_Z85_LEN + 1 bytes). */
void curve_key_z85(const uint8_t key[MDP_CURVE_KEY_BYTES], char out[CURVE_Z85_LEN + 1]);

/* Writes a key pair file (label goes into a comment line), created with mode 0600; an existing file
 * is never overwritten (-1, errno EEXIST). 0, or -1 with a Russian reason in err. */
int curve_key_file_write(const char *path, const char *label, const uint8_t public_key[MDP_CURVE_KEY_BYTES],
                         const uint8_t secret_key[MDP_CURVE_KEY_BYTES], char *err, size_t err_size);
/* Writes a public key file (mode 0644), replacing one that is there. */
int curve_public_file_write(const char *path, const uint8_t public_key[MDP_CURVE_KEY_BYTES], char *err,
                            size_t err_size);

/* Reads a key pair file; secret_key NULL: only the public key (of a public key file or a key pair file). Refuses a key pair file that
 * group or others can read, a secret that does not match its public key, and malformed lines. */
int curve_key_file_read(const char *path, uint8_t public_key[MDP_CURVE_KEY_BYTES],
                        uint8_t secret_key[MDP_CURVE_KEY_BYTES], char *err, size_t err_size);

/* The keys a process named name (registry, auth, …) connects with: <dir>/broker.pub and <dir>/<name>.key. */
int curve_keys_load_client(const char *dir, const char *name, mdp_curve_keys *out, char *err, size_t err_size);

/* Parses the text of a clients file (pure). On error the list is empty and err names the line. */
int curve_clients_parse(const char *text, curve_client_list *out, char *err, size_t err_size);
/* Reads and parses a clients file. */
int curve_clients_read(const char *path, curve_client_list *out, char *err, size_t err_size);
/* The entry of public_key, NULL when it is not in the list. */
const curve_client *curve_clients_find(const curve_client_list *list, const uint8_t public_key[MDP_CURVE_KEY_BYTES]);
/* Appends one entry (copied). 0 or -1 (out of memory). */
int curve_clients_add(curve_client_list *list, curve_peer_kind kind, const char *name,
                      const uint8_t public_key[MDP_CURVE_KEY_BYTES]);
void curve_clients_free(curve_client_list *list);

/* "<dir>/<file><suffix>" into out; -1 (errno ENAMETOOLONG) when it does not fit. */
int curve_keys_path(char *out, size_t size, const char *dir, const char *file, const char *suffix);

/* A name of a clients line: 1..CURVE_NAME_MAX of [a-z0-9._-]. */
int curve_name_valid(const char *name);

#endif
