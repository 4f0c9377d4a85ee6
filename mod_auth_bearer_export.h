#ifndef MOD_AUTH_BEARER_EXPORT_H
#define MOD_AUTH_BEARER_EXPORT_H

#include "mab_verifier.h"
#include "mod_auth_bearer_private.h"

/* Exposes an accepted token's claims to CGI and SSI through the subprocess environment:
 * BEARER_CLAIM_*, BEARER_CLAIMS and the section's AuthBearerClaimEnv variables. */
void mab_export_env(request_rec *r, const mab_verdict_t *v);

#endif
