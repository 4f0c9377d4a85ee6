#include <stddef.h>
#include <string.h>

#include "mab_error.h"

/* These strings go into a quoted-string of WWW-Authenticate: no '"' or '\'. */
static const char *const descriptions[MAB_ERR__COUNT] = {
    [MAB_OK] = "ok",
    [MAB_ERR_MALFORMED] = "malformed token",
    [MAB_ERR_TOO_LARGE] = "token too large",
    [MAB_ERR_ALG] = "algorithm not allowed",
    [MAB_ERR_NO_KEY] = "no matching key",
    [MAB_ERR_SIGNATURE] = "signature verification failed",
    [MAB_ERR_EXPIRED] = "token expired",
    [MAB_ERR_NOT_YET_VALID] = "token not yet valid",
    [MAB_ERR_IAT_FUTURE] = "token issued in the future",
    [MAB_ERR_NO_EXP] = "missing exp claim",
    [MAB_ERR_CLAIM_TYPE] = "invalid claim type",
    [MAB_ERR_ISSUER] = "issuer mismatch",
    [MAB_ERR_AUDIENCE] = "audience mismatch",
    [MAB_ERR_USER_CLAIM] = "missing user claim",
    [MAB_ERR_NO_KEYS] = "no keys available",
    [MAB_ERR_CRIT] = "unsupported critical header",
    [MAB_ERR_TOKEN_TYPE] = "wrong token type",
    [MAB_ERR_MISSING_CLAIM] = "missing required claim",
    [MAB_ERR_INACTIVE] = "token is not active",
    [MAB_ERR_SENDER_CONSTRAINED] = "sender-constrained token not accepted here",
    [MAB_ERR_DPOP_PROOF] = "invalid DPoP proof",
    [MAB_ERR_DPOP_REPLAY] = "DPoP proof replayed",
    [MAB_ERR_DPOP_NONCE] = "DPoP nonce required",
    [MAB_ERR_DPOP_BINDING] = "Invalid DPoP key binding",
    [MAB_ERR_DPOP_BOUND] = "DPoP-bound token sent as a Bearer token",
    [MAB_ERR_NOT_BOUND] = "token is not sender-constrained",
    [MAB_ERR_CERT_BINDING] = "Invalid certificate binding",
    [MAB_ERR_NO_CREDENTIAL] = "no Authorization header",
    [MAB_ERR_OTHER_SCHEME] = "Authorization is not a Bearer credential",
    [MAB_ERR_EMPTY_TOKEN] = "empty bearer token",
    [MAB_ERR_TOKEN_COUNT] = "more than one token",
    [MAB_ERR_TOKEN_TWICE] = "token sent in more than one way",
    [MAB_ERR_DPOP_NO_PROOF] = "DPoP scheme without one DPoP proof",
    [MAB_ERR_INTROSPECTION] = "token cannot be checked now",
    [MAB_ERR_REPLAY_STORE] = "DPoP proof cannot be checked now",
    [MAB_ERR_CONFIG] = "configuration incomplete",
    [MAB_ERR_INTERNAL] = "internal error",
};

/* Metric label values: stable once published (dashboards and alerts name them), so a
 * reason keeps its label even if its description is reworded. */
static const char *const labels[MAB_ERR__COUNT] = {
    [MAB_ERR_MALFORMED] = "malformed",
    [MAB_ERR_TOO_LARGE] = "too_large",
    [MAB_ERR_ALG] = "algorithm",
    [MAB_ERR_NO_KEY] = "no_matching_key",
    [MAB_ERR_SIGNATURE] = "signature",
    [MAB_ERR_EXPIRED] = "expired",
    [MAB_ERR_NOT_YET_VALID] = "not_yet_valid",
    [MAB_ERR_IAT_FUTURE] = "issued_in_future",
    [MAB_ERR_NO_EXP] = "no_exp",
    [MAB_ERR_CLAIM_TYPE] = "claim_type",
    [MAB_ERR_ISSUER] = "issuer",
    [MAB_ERR_AUDIENCE] = "audience",
    [MAB_ERR_USER_CLAIM] = "user_claim",
    [MAB_ERR_NO_KEYS] = "no_keys",
    [MAB_ERR_CRIT] = "critical_header",
    [MAB_ERR_TOKEN_TYPE] = "token_type",
    [MAB_ERR_MISSING_CLAIM] = "missing_claim",
    [MAB_ERR_INACTIVE] = "inactive",
    [MAB_ERR_SENDER_CONSTRAINED] = "sender_constrained",
    [MAB_ERR_DPOP_PROOF] = "dpop_proof",
    [MAB_ERR_DPOP_REPLAY] = "dpop_replay",
    [MAB_ERR_DPOP_NONCE] = "dpop_nonce",
    [MAB_ERR_DPOP_BINDING] = "dpop_binding",
    [MAB_ERR_DPOP_BOUND] = "dpop_bound_as_bearer",
    [MAB_ERR_NOT_BOUND] = "not_bound",
    [MAB_ERR_CERT_BINDING] = "cert_binding",
    [MAB_ERR_NO_CREDENTIAL] = "no_credential",
    [MAB_ERR_OTHER_SCHEME] = "other_scheme",
    [MAB_ERR_EMPTY_TOKEN] = "empty_token",
    [MAB_ERR_TOKEN_COUNT] = "several_tokens",
    [MAB_ERR_TOKEN_TWICE] = "token_twice",
    [MAB_ERR_DPOP_NO_PROOF] = "dpop_no_proof",
    [MAB_ERR_INTROSPECTION] = "introspection_unavailable",
    [MAB_ERR_REPLAY_STORE] = "replay_store_unavailable",
    [MAB_ERR_CONFIG] = "config",
    [MAB_ERR_INTERNAL] = "internal",
};

const char *mab_err_desc(mab_err_e err)
{
    if ((unsigned)err >= MAB_ERR__COUNT || !descriptions[err]) {
        return "invalid token";
    }
    return descriptions[err];
}

const char *mab_err_rfc6750(mab_err_e err)
{
    switch (err) {
    case MAB_OK:
    case MAB_ERR_NO_CREDENTIAL:
    case MAB_ERR_OTHER_SCHEME:
    case MAB_ERR_INTROSPECTION:
    case MAB_ERR_REPLAY_STORE:
    case MAB_ERR_CONFIG:
    case MAB_ERR_INTERNAL:
        return NULL;
    case MAB_ERR_EMPTY_TOKEN:
    case MAB_ERR_TOKEN_COUNT:
    case MAB_ERR_TOKEN_TWICE:
    case MAB_ERR_DPOP_NO_PROOF:
        return "invalid_request";
    case MAB_ERR_DPOP_PROOF:
    case MAB_ERR_DPOP_REPLAY:
        return "invalid_dpop_proof";
    case MAB_ERR_DPOP_NONCE:
        return "use_dpop_nonce";
    default:
        return "invalid_token";
    }
}

int mab_err_is_internal(mab_err_e err)
{
    return err == MAB_ERR_CONFIG || err == MAB_ERR_INTERNAL;
}

int mab_err_http_status(mab_err_e err)
{
    const char *code = mab_err_rfc6750(err);

    if (err == MAB_OK) {
        return 0;
    }
    if (mab_err_is_internal(err)) {
        return 500;
    }
    if (mab_err_is_unavailable(err)) {
        return 503;
    }
    return code && strcmp(code, "invalid_request") == 0 ? 400 : 401;
}

const char *mab_err_label(mab_err_e err)
{
    return (unsigned)err < MAB_ERR__COUNT ? labels[err] : NULL;
}

int mab_err_is_unavailable(mab_err_e err)
{
    return err == MAB_ERR_INTROSPECTION || err == MAB_ERR_REPLAY_STORE;
}
