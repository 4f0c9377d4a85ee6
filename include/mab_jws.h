#ifndef MAB_JWS_H
#define MAB_JWS_H

#include <apr_pools.h>
#include "mab_error.h"

struct json_t;
struct mab_alg_t;
struct mab_key_t;
struct mab_keyset_t;

#define MAB_MAX_TOKEN_SIZE 8192

/* At most this many signature checks per token and key set (keys without a kid match, or
 * several keys sharing one kid), so a key set cannot turn one forged token into unbounded
 * work; with the RSA bounds at import (8192-bit n, 32-bit e) a token costs at most about
 * 8 x 0.8 ms. */
#define MAB_MAX_VERIFY_ATTEMPTS 8

/* A JWS in compact serialization, decoded but not yet trusted. */
typedef struct mab_jws_t {
    const struct mab_alg_t *alg; /* NULL until the header names a registered alg */
    const char *alg_name;
    const char *kid;
    const char *typ;
    struct json_t *header;     /* decref'd by a cleanup on the parse pool */
    const char *signing_input; /* BASE64URL(header) '.' BASE64URL(payload) */
    apr_size_t signing_input_len;
    unsigned char *payload;
    apr_size_t payload_len;
    unsigned char *sig;
    apr_size_t sig_len;
} mab_jws_t;

/* Decodes a compact JWS and checks its header (alg registered, not "none", crit).
 * It does not look at the payload's meaning and does not verify anything. */
mab_err_e mab_jws_parse(apr_pool_t *p, const char *token, apr_size_t len, apr_size_t max_size,
                        mab_jws_t **out, const char **detail);

/* Signature-only verification with one given key: checks that the key fits the alg, then
 * the signature. Independent of any access-token claim. */
mab_err_e mab_jws_verify_key(const mab_jws_t *jws, const struct mab_key_t *key,
                             const char **detail);

/* Signature-only verification against a key set: `kid` selects the key; without a kid,
 * the keys that fit the alg are tried in order, at most MAB_MAX_VERIFY_ATTEMPTS of them.
 * alg_mask is the allow-list. */
mab_err_e mab_jws_verify_keyset(const mab_jws_t *jws, const struct mab_keyset_t *ks,
                                unsigned alg_mask, const char **detail);

/* The same; on success *used is the key that verified the signature (for the
 * verified-token cache, which ties an entry to that key). */
mab_err_e mab_jws_verify_keyset_ex(const mab_jws_t *jws, const struct mab_keyset_t *ks,
                                   unsigned alg_mask, const struct mab_key_t **used,
                                   const char **detail);

/* Whether the header's typ names media_type ("at+jwt"): compared case-insensitively,
 * with or without the "application/" prefix (RFC 7515 §4.1.9). */
int mab_jws_typ_is(const mab_jws_t *jws, const char *media_type);

#endif
