#ifndef MAB_JWK_H
#define MAB_JWK_H

#include <apr_pools.h>

struct json_t;
struct evp_pkey_st;
struct mab_alg_t;

/* A verified-importable public key from one JWK. The EVP_PKEY is freed by a cleanup on
 * the pool the key was imported into. */
typedef struct mab_key_t {
    const char *kid; /* NULL when the JWK has none */
    const char *kty; /* "RSA", "EC", "OKP" */
    const char *crv; /* EC/OKP curve, NULL for RSA */
    const char *alg; /* the JWK's own alg, NULL when absent */
    struct evp_pkey_st *pkey;
} mab_key_t;

/* Imports one JWK. On failure returns NULL and sets *reason (static or pool string). */
mab_key_t *mab_jwk_import(apr_pool_t *p, struct json_t *jwk, const char **reason);

/* Whether key may verify a token signed with alg: key type, curve, the JWK's own alg. */
int mab_jwk_fits_alg(const mab_key_t *key, const struct mab_alg_t *alg);

#endif
