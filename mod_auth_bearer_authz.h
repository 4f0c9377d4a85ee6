#ifndef MOD_AUTH_BEARER_AUTHZ_H
#define MOD_AUTH_BEARER_AUTHZ_H

#include "mod_auth_bearer_private.h"

/* Require scope … and Require claim <name> <value> … */
void mab_authz_register_providers(apr_pool_t *p);

/* insert_error_filter: a 403 decided by our providers gets its RFC 6750 challenge and its
 * log line once the outcome is final (a provider that said no inside a <RequireAny> that
 * another provider granted leaves no trace). */
void mab_authz_error_filter(request_rec *r);

/* fixups: authorization granted this request; a later 403 (a handler's, mod_rewrite's) is
 * not ours to explain. */
void mab_authz_passed(request_rec *r);

/* fixups of an ErrorDocument request: explain the original request's 403 on its response. */
void mab_authz_error_document(request_rec *r);

#endif
