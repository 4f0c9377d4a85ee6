#ifndef MOD_AUTH_BEARER_ACCESS_H
#define MOD_AUTH_BEARER_ACCESS_H

#include "mod_auth_bearer_private.h"

/* check_access_ex, ahead of mod_authz_core: an allowed CORS preflight is authorized
 * without authentication (OK), anything else DECLINED. */
int mab_access_preflight(request_rec *r);

/* check_access: with AuthBearerOptional On, a present token is verified now (a bad one is
 * answered here); no token goes on anonymously. */
int mab_access_verify_if_present(request_rec *r);

/* fixups: the empty user name that let Require valid-user pass an anonymous request is
 * withdrawn, so neither CGI's REMOTE_USER nor the access log's %u shows one. */
void mab_access_withdraw_anonymous(request_rec *r);

#endif
