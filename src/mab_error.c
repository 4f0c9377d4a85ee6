#include <stddef.h>

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
    [MAB_ERR_NO_CREDENTIAL] = "no Authorization header",
    [MAB_ERR_OTHER_SCHEME] = "Authorization is not a Bearer credential",
    [MAB_ERR_EMPTY_TOKEN] = "empty bearer token",
    [MAB_ERR_TOKEN_COUNT] = "more than one token",
    [MAB_ERR_TOKEN_TWICE] = "token sent in more than one way",
    [MAB_ERR_CONFIG] = "configuration incomplete",
    [MAB_ERR_INTERNAL] = "internal error",
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
    case MAB_ERR_CONFIG:
    case MAB_ERR_INTERNAL:
        return NULL;
    case MAB_ERR_EMPTY_TOKEN:
    case MAB_ERR_TOKEN_COUNT:
    case MAB_ERR_TOKEN_TWICE:
        return "invalid_request";
    default:
        return "invalid_token";
    }
}

int mab_err_is_internal(mab_err_e err)
{
    return err == MAB_ERR_CONFIG || err == MAB_ERR_INTERNAL;
}
