/* auth_password — Argon2id on the libuv threadpool (see header). The work item owns copies of the
 * password and hash and wipes them before it is freed. */
#include "auth_password.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

_Static_assert(crypto_pwhash_OPSLIMIT_INTERACTIVE >= 2, "Argon2id passes below the OWASP minimum");
_Static_assert(crypto_pwhash_MEMLIMIT_INTERACTIVE >= 19u * 1024u * 1024u, "Argon2id memory below the OWASP minimum");
_Static_assert(crypto_pwhash_STRBYTES <= AUTH_PASSWORD_HASH_MAX, "hash buffer too small");

/* The hash of a random password nobody knows, with the same parameters as new hashes: verifying an
 * unknown login against it costs what a real verification costs. */
static const char s_dummy_hash[] =
    "$argon2id$v=19$m=65536,t=2,p=1$dizXDYomoX2JCc43HCPsOQ$dZeMjSOGDDxNsQNbyZSA0QPWWia+PmN0ub2asRByawE";

unsigned long long auth_password_opslimit(void)
{
    return crypto_pwhash_OPSLIMIT_INTERACTIVE;
}
size_t auth_password_memlimit(void)
{
    return crypto_pwhash_MEMLIMIT_INTERACTIVE;
}
const char *auth_password_dummy_hash(void)
{
    return s_dummy_hash;
}

typedef struct {
    uv_work_t work;
    char *password;
    size_t password_len;
    char hash[AUTH_PASSWORD_HASH_MAX];
    bool verify;
    bool ok;
    auth_password_hash_cb hash_cb;
    auth_password_verify_cb verify_cb;
    void *ud;
} s_job;

static void s_job_free(s_job *job)
{
    if (job->password) {
        sodium_memzero(job->password, job->password_len);
        free(job->password);
    }
    sodium_memzero(job->hash, sizeof job->hash);
    free(job);
}

static void s_work(uv_work_t *work)
{
    s_job *job = work->data;
    if (job->verify) {
        job->ok = crypto_pwhash_str_verify(job->hash, job->password, job->password_len) == 0;
    } else {
        job->ok = crypto_pwhash_str(job->hash, job->password, job->password_len, auth_password_opslimit(),
                                    auth_password_memlimit()) == 0;
    }
}

static void s_after(uv_work_t *work, int status)
{
    s_job *job = work->data;
    bool ok = status == 0 && job->ok;
    if (job->verify)
        job->verify_cb(ok, job->ud);
    else
        job->hash_cb(ok ? job->hash : NULL, job->ud);
    s_job_free(job);
}

static s_job *s_job_new(const char *password)
{
    if (password == NULL || sodium_init() < 0)
        return NULL;
    s_job *job = calloc(1, sizeof *job);
    if (job == NULL)
        return NULL;
    job->password_len = strlen(password);
    job->password = malloc(job->password_len + 1);
    if (job->password == NULL) {
        free(job);
        return NULL;
    }
    memcpy(job->password, password, job->password_len + 1);
    job->work.data = job;
    return job;
}

int auth_password_hash(uv_loop_t *loop, const char *password, auth_password_hash_cb cb, void *ud)
{
    if (cb == NULL)
        return -1;
    s_job *job = s_job_new(password);
    if (job == NULL)
        return -1;
    job->hash_cb = cb;
    job->ud = ud;
    if (uv_queue_work(loop, &job->work, s_work, s_after) != 0) {
        s_job_free(job);
        return -1;
    }
    return 0;
}

int auth_password_verify(uv_loop_t *loop, const char *hash, const char *password, auth_password_verify_cb cb, void *ud)
{
    if (cb == NULL)
        return -1;
    s_job *job = s_job_new(password);
    if (job == NULL)
        return -1;
    const char *against = hash && *hash ? hash : s_dummy_hash;
    if (strlen(against) >= sizeof job->hash)
        against = s_dummy_hash; /* a corrupt stored hash fails like an unknown login */
    memcpy(job->hash, against, strlen(against) + 1);
    job->verify = true;
    job->verify_cb = cb;
    job->ud = ud;
    if (uv_queue_work(loop, &job->work, s_work, s_after) != 0) {
        s_job_free(job);
        return -1;
    }
    return 0;
}
