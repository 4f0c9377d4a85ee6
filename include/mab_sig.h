#ifndef MAB_SIG_H
#define MAB_SIG_H

#include <stddef.h>

#include <apr_pools.h>

#include "mab_error.h"

struct mab_alg_t;
struct mab_key_t;
struct mab_sig_prep_t;

/* Verifies sig over msg with key under one JWA algorithm: RSASSA-PKCS1-v1_5, RSASSA-PSS
 * (MGF1 with the same hash, salt of the hash's length), ECDSA with the raw R||S form of
 * RFC 7518 §3.4 (anything else is refused before OpenSSL sees it), EdDSA, and HMAC with
 * an admin-configured secret. Does not check that the key fits the alg beyond what the
 * primitive needs: mab_jwk_fits_alg is the caller's. Only MAB_OK means valid. */
mab_err_e mab_sig_verify(const struct mab_alg_t *alg, const struct mab_key_t *key,
                         const unsigned char *msg, size_t msg_len, const unsigned char *sig,
                         size_t sig_len, const char **detail);

/* Prepares key for the algorithms it fits, once (the key set's parse does it, per
 * generation and process; an admin's secret when it is read): per algorithm, a
 * verification context already initialised with key, padding and digest (for a secret,
 * a keyed HMAC context), and the digest fetched, so that a verification only duplicates
 * the context instead of looking the algorithm up and setting it up again. Kept in
 * key->prep until p goes; read-only from then on, so any number of threads may verify
 * with it at once. On failure key->prep stays NULL and every verification sets itself up
 * (slower, same verdicts). */
void mab_sig_prepare(apr_pool_t *p, struct mab_key_t *key);

#endif
