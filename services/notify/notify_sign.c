/* notify_sign — Standard Webhooks signatures and the address rule (see notify_sign.h). */
#include "notify_sign.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

void notify_secret_new(char *out, size_t size)
{
    unsigned char raw[24];
    char b64[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_ORIGINAL)];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, size, "whsec_%s", b64);
    sodium_memzero(raw, sizeof raw);
}

int notify_sign(const char *secret, const char *msg_id, int64_t timestamp, const char *body, size_t body_len, char *out,
                size_t size)
{
    if (secret == NULL || msg_id == NULL || (body == NULL && body_len > 0) || size < NOTIFY_SIGNATURE_MAX)
        return -1;
    if (strncmp(secret, "whsec_", 6) == 0)
        secret += 6;
    unsigned char key[64];
    size_t key_len = 0;
    if (sodium_base642bin(key, sizeof key, secret, strlen(secret), NULL, &key_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        key_len == 0)
        return -1;
    char prefix[160];
    int n = snprintf(prefix, sizeof prefix, "%s.%lld.", msg_id, (long long)timestamp);
    if (n < 0 || (size_t)n >= sizeof prefix)
        return -1;
    crypto_auth_hmacsha256_state state;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&state, key, key_len);
    crypto_auth_hmacsha256_update(&state, (const unsigned char *)prefix, (size_t)n);
    if (body_len > 0)
        crypto_auth_hmacsha256_update(&state, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&state, mac);
    sodium_memzero(key, sizeof key);
    char b64[sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, size, "v1,%s", b64);
    return 0;
}

static bool s_ipv4_private(uint32_t a) /* host order */
{
    unsigned b0 = a >> 24, b1 = (a >> 16) & 0xff;
    return b0 == 0 || b0 == 10 || b0 == 127 || (b0 == 100 && (b1 & 0xc0) == 64) || (b0 == 169 && b1 == 254) ||
           (b0 == 172 && (b1 & 0xf0) == 16) || (b0 == 192 && b1 == 168) || (b0 == 198 && (b1 & 0xfe) == 18) ||
           b0 >= 224;
}

bool notify_address_private(const struct sockaddr *addr)
{
    if (addr == NULL)
        return true;
    if (addr->sa_family == AF_INET)
        return s_ipv4_private(ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr));
    if (addr->sa_family != AF_INET6)
        return true;
    const unsigned char *b = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, mapped, 12) == 0)
        return s_ipv4_private((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
    static const unsigned char zero[16] = {0};
    if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) /* :: and ::1 */
        return true;
    return (b[0] & 0xfe) == 0xfc                      /* fc00::/7 unique local */
           || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 link-local */
           || b[0] == 0xff;                           /* multicast */
}

bool notify_url_valid(const char *url, bool allow_private)
{
    if (url == NULL)
        return false;
    size_t len = strlen(url);
    if (len > 2000)
        return false;
    const char *host;
    if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else
        return false;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return false;
    size_t host_len = strcspn(host, "/?#");
    if (host_len == 0 || memchr(host, '@', host_len) != NULL)
        return false;
    char name[256];
    if (host_len >= sizeof name)
        return false;
    memcpy(name, host, host_len);
    name[host_len] = '\0';
    /* strip the port; an IPv6 literal is in brackets */
    char *literal = name;
    if (name[0] == '[') {
        char *close = strchr(name, ']');
        if (close == NULL)
            return false;
        *close = '\0';
        literal = name + 1;
    } else {
        char *colon = strchr(name, ':');
        if (colon)
            *colon = '\0';
    }
    if (*literal == '\0')
        return false;
    if (allow_private)
        return true;
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET, literal, &v4.sin_addr) == 1)
        return !notify_address_private((const struct sockaddr *)&v4);
    if (inet_pton(AF_INET6, literal, &v6.sin6_addr) == 1)
        return !notify_address_private((const struct sockaddr *)&v6);
    return strcmp(literal, "localhost") != 0;
}
