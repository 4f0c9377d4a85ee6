#ifndef MAB_JWK_H
#define MAB_JWK_H

#include <apr_pools.h>

struct json_t;
struct evp_pkey_st;
struct mab_alg_t;
struct mab_sig_prep_t;

/* A verification key: a public key imported from one JWK (its EVP_PKEY freed by a
 * cleanup on the pool it was imported into), or an admin's HMAC secret (kty "oct"),
 * which only mab_jwk_secret makes: a key set can never supply one. */
typedef struct mab_key_t {
    const char *kid; /* NULL when the JWK has none */
    const char *kty; /* "RSA", "EC", "OKP", or "oct" for a secret */
    const char *crv; /* EC/OKP curve, NULL otherwise */
    const char *alg; /* the JWK's own alg, NULL when absent */
    struct evp_pkey_st *pkey;
    const struct mab_sig_prep_t *prep; /* mab_sig_prepare's contexts, or NULL */
    const unsigned char *secret;       /* HMAC secret, wiped when the pool goes */
    apr_size_t secret_len;
} mab_key_t;

/* An HMAC key from the admin's configured secret (copied, wiped with the pool). */
mab_key_t *mab_jwk_secret(apr_pool_t *p, const unsigned char *secret, apr_size_t len);

/* Imports one JWK. On failure returns NULL and sets *reason (static or pool string). */
mab_key_t *mab_jwk_import(apr_pool_t *p, struct json_t *jwk, const char **reason);

/* Whether key may verify a token signed with alg: key type, curve, the JWK's own alg;
 * for HMAC, a secret at least as long as the hash output (RFC 7518 §3.2). */
int mab_jwk_fits_alg(const mab_key_t *key, const struct mab_alg_t *alg);

#endif
