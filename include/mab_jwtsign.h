#ifndef MAB_JWTSIGN_H
#define MAB_JWTSIGN_H

/* Signing a JWT with the module's own private key: the one place the module signs
 * anything (RFC 7523 client assertions for private_key_jwt). Verification lives in
 * mab_sig.c; the two share only the algorithm table. */
#include <apr_pools.h>

/* Opaque: the private key (freed by a cleanup on the load pool) and its algorithm. */
typedef struct mab_jwtsign_key_t mab_jwtsign_key_t;

/* Loads an unencrypted PEM private key of len bytes (never prompts for a passphrase) and
 * settles its algorithm: alg_name when given, which must fit the key (RS256/384/512 and
 * PS256/384/512 for RSA of at least 2048 bits, ES256/384/512 for P-256/384/521, EdDSA for
 * Ed25519/Ed448), otherwise the key's natural one (RS256, ES256/384/512 by curve, EdDSA).
 * Signs once as a test. Returns NULL with *out, or a reason (without key material). */
const char *mab_jwtsign_load(apr_pool_t *p, const void *pem, apr_size_t len, const char *alg_name,
                             mab_jwtsign_key_t **out);

/* The key's algorithm, as registered ("RS256", "EdDSA", …). */
const char *mab_jwtsign_alg(const mab_jwtsign_key_t *key);

/* A compact JWS of payload_json (UTF-8 JSON text) with header {"alg":…}: PKCS#1 v1.5, PSS
 * (salt of the hash's length), ECDSA as the raw R||S of RFC 7518 §3.4, or EdDSA. Safe from
 * many threads at once (the key is only read). Returns the token from p, or NULL with
 * *err set. */
char *mab_jwtsign_sign(apr_pool_t *p, const mab_jwtsign_key_t *key, const char *payload_json,
                       const char **err);

#endif
