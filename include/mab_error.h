#ifndef MAB_ERROR_H
#define MAB_ERROR_H

/* Why a token was refused. The glue maps every one of these to 401 invalid_token;
 * the short description is what goes into error_description and the log. */
typedef enum {
    MAB_OK = 0,
    MAB_ERR_MALFORMED,
    MAB_ERR_TOO_LARGE,
    MAB_ERR_ALG,
    MAB_ERR_NO_KEY,
    MAB_ERR_SIGNATURE,
    MAB_ERR_EXPIRED,
    MAB_ERR_NOT_YET_VALID,
    MAB_ERR_IAT_FUTURE,
    MAB_ERR_NO_EXP,
    MAB_ERR_CLAIM_TYPE,
    MAB_ERR_ISSUER,
    MAB_ERR_AUDIENCE,
    MAB_ERR_USER_CLAIM,
    MAB_ERR_NO_KEYS,
    MAB_ERR_CRIT,
    MAB_ERR_TOKEN_TYPE,
    MAB_ERR_MISSING_CLAIM,
    MAB_ERR__COUNT
} mab_err_e;

const char *mab_err_desc(mab_err_e err);

#endif
