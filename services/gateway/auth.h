/* auth — who the caller of an HTTP request is. Until the security issue lands there is no
 * authentication: every request acts as the development administrator (see auth.c). */
#ifndef METODNET_GATEWAY_AUTH_H
#define METODNET_GATEWAY_AUTH_H

#include <h2o.h>

#include "envelope.pb-c.h"

/* Fills *principal (initialised here) for req. String fields point to static storage (borrowed),
 * so the principal needs no freeing. Returns 0; a negative value will mean "not authenticated"
 * once authentication exists. req may be NULL (tests). */
int gateway_principal_for_request(const h2o_req_t *req, Metodnet__Principal *principal);

/* Logs once, at start, that authentication is not enabled yet. */
void gateway_auth_warn_disabled(void);

#endif
