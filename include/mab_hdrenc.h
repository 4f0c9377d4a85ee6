#ifndef MAB_HDRENC_H
#define MAB_HDRENC_H

/* A claim's text as a request header value, in the encoding the application reads
 * (AuthBearerClaimHeaderEncoding), or why it cannot travel as one. */
#include <apr_pools.h>

typedef enum {
    MAB_HDRENC_RAW = 0,   /* the UTF-8 bytes as they are */
    MAB_HDRENC_BASE64URL, /* base64url (no padding) of the UTF-8 bytes */
    MAB_HDRENC_LATIN1     /* ISO-8859-1: one byte per character, U+0000 to U+00FF only */
} mab_hdrenc_e;

typedef enum {
    MAB_HDRVAL_OK = 0,
    /* Would split the request or be trimmed or split by backends: a control character
     * (tab aside; C1 controls too under latin1, where they become single bytes), or white
     * space or a comma at either end. Never for base64url. */
    MAB_HDRVAL_UNSAFE,
    /* latin1 only: a character beyond U+00FF, or text that is not UTF-8. */
    MAB_HDRVAL_NOT_LATIN1
} mab_hdrval_e;

/* "raw", "base64url" or "latin1", in any case: 0 and *out; -1 for anything else. */
int mab_hdrenc_parse(const char *word, mab_hdrenc_e *out);

const char *mab_hdrenc_name(mab_hdrenc_e enc);

/* `text` (NUL-terminated UTF-8, a claim as mab_claims_env_value writes it) as the value of
 * a header under `enc`: MAB_HDRVAL_OK and *out (from p), or the reason it is withheld and
 * *why, a description that names no more of the value than one code point. Never
 * substitutes a character: two names that differ only where latin1 cannot go would
 * otherwise reach the application as one. */
mab_hdrval_e mab_hdrenc_value(apr_pool_t *p, mab_hdrenc_e enc, const char *text, const char **out,
                              const char **why);

#endif
