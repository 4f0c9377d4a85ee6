#ifndef MOD_AUTH_BEARER_AUTHZ_H
#define MOD_AUTH_BEARER_AUTHZ_H

#include "mod_auth_bearer_private.h"

/* Require scope … and Require claim <name> <value> …, and the aliases Require bearer-scope
 * and bearer-claim. register_hooks: remembers another module's provider already registered
 * under "scope" or "claim". */
void mab_authz_register_providers(apr_pool_t *p);

/* pre_config (after every LoadModule, before any Require line is read): takes "scope" and
 * "claim" back from a module loaded later, remembering its provider. */
void mab_authz_pre_config(apr_pool_t *pconf);

/* check_config: a shared-name line whose own section's AuthType gives it to a module whose
 * syntax it is not; returns 0 or -1 (logged). */
int mab_authz_check_config(server_rec *s);

/* post_config: says which names are shared with which module. */
void mab_authz_log_shared(server_rec *s);

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
