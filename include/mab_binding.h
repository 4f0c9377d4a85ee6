#ifndef MAB_BINDING_H
#define MAB_BINDING_H

/* Sender-constrained tokens at the verifier (RFC 9449 §7, RFC 8705 §3): after a token (or
 * an introspection answer) has been accepted on its own, whether the request may present
 * it: the scheme, the DPoP proof with its nonce and replay record, the client
 * certificate. A bound token is never accepted as a plain bearer token. */
#include <apr_pools.h>

#include "mab_verifier.h"

/* Checks the binding of an accepted verdict (out->err == MAB_OK; anything else is left
 * alone) and refuses it when the request does not prove possession, or when the location
 * requires a binding the token lacks. */
void mab_binding_check(const mab_verifier_t *v, const mab_policy_t *policy,
                       const struct mab_credential_t *cred, long long now, apr_pool_t *pool,
                       mab_verdict_t *out);

/* The credential-level part, before any token work: the DPoP scheme needs exactly one
 * DPoP header (RFC 9449 §4.3 point 1, §7.1). MAB_OK or the refusal (with *detail). */
mab_err_e mab_binding_precheck(const struct mab_credential_t *cred, const char **detail);

#endif
