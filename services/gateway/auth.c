/* auth — the one place that decides the caller's Principal.
 *
 * TEMPORARY: the security issue (sessions, API keys, roles and scopes) replaces the body of
 * gateway_principal_for_request(). Until then every request acts as {user_id "dev-admin",
 * ROLE_SYSTEM, SCOPE_KIND_ALL}, and a warning says so at start. Nothing else in the gateway decides
 * who the caller is, so replacing this function is the whole change on the gateway side. */
#include "auth.h"

#include "log.h"

int gateway_principal_for_request(const h2o_req_t *req, Metodnet__Principal *principal) {
    (void)req;
    metodnet__principal__init(principal);
    principal->user_id = (char *)"dev-admin";
    principal->role = METODNET__ROLE__ROLE_SYSTEM;
    principal->scope_kind = METODNET__SCOPE_KIND__SCOPE_KIND_ALL;
    return 0;
}

void gateway_auth_warn_disabled(void) {
    log_warn(NULL, "Аутентификация ещё не включена: все запросы выполняются от имени dev-admin (ROLE_SYSTEM, "
                   "SCOPE_KIND_ALL). Не открывайте шлюз в сеть до подключения модуля безопасности.");
}
