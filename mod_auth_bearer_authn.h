#ifndef MOD_AUTH_BEARER_AUTHN_H
#define MOD_AUTH_BEARER_AUTHN_H

#include "mod_auth_bearer_private.h"

/* check_authn: DECLINED unless AuthType Bearer; then OK (r->user set) or the refusal. */
int mab_authn_check(request_rec *r);

/* note_auth_failure: a plain Bearer challenge when authorization fails after a successful
 * authentication (e.g. Require user). */
int mab_authn_note_failure(request_rec *r, const char *auth_type);

#endif
