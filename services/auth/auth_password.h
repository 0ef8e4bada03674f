/* auth_password — Argon2id password hashing (libsodium crypto_pwhash_str) off the loop thread, on the
 * libuv threadpool, so a login never stalls the other requests of the process.
 *
 * Parameters: crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE (2 passes, 64 MiB), which is
 * above the OWASP minimum for Argon2id (19 MiB, 2 passes); the build fails if libsodium ever lowers
 * them below it. The parameters live in the hash string, so older hashes keep verifying.
 */
#ifndef METODNET_AUTH_PASSWORD_H
#define METODNET_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* Room for a crypto_pwhash_str result. */
#define AUTH_PASSWORD_HASH_MAX 128

/* The Argon2id parameters every new hash uses. */
unsigned long long auth_password_opslimit(void);
size_t auth_password_memlimit(void);

/* hash is the encoded string (borrowed for the call), NULL on failure (out of memory). */
typedef void (*auth_password_hash_cb)(const char *hash, void *ud);
/* ok: the password matches the hash. */
typedef void (*auth_password_verify_cb)(bool ok, void *ud);

/* Hashes password (copied, wiped after use) on the threadpool; cb on the loop thread, exactly once,
 * never from inside this call. Returns 0, or -1 with cb not called. */
int auth_password_hash(uv_loop_t *loop, const char *password, auth_password_hash_cb cb, void *ud);

/* Verifies password against hash (both copied; hash NULL or "" = a built-in dummy hash with the
 * same parameters, so an unknown login costs the same time and always fails). */
int auth_password_verify(uv_loop_t *loop, const char *hash, const char *password, auth_password_verify_cb cb, void *ud);

/* The dummy hash (borrowed, static), for tests that check its parameters. */
const char *auth_password_dummy_hash(void);

#endif
