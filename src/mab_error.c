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
};

const char *mab_err_desc(mab_err_e err)
{
    if ((unsigned)err >= MAB_ERR__COUNT || !descriptions[err]) {
        return "invalid token";
    }
    return descriptions[err];
}
