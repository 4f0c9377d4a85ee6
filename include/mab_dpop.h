#ifndef MAB_DPOP_H
#define MAB_DPOP_H

/* RFC 9449 DPoP proofs at a resource server: the proof JWT's complete check (§4.3), the
 * RFC 7638 thumbprint of its key, server nonces (§9) and the replay record (§11.1). What a
 * token's cnf.jkt must match, and when a proof is needed at all, is the verifier's. */
#include <apr_pools.h>

#include "mab_error.h"

struct json_t;
struct mab_kvstore_t;

/* base64url of a SHA-256 without padding: 43 characters and the NUL. */
#define MAB_JKT_LEN 43
/* Proofs longer than this are refused before anything is decoded. */
#define MAB_DPOP_MAX_PROOF 8192
/* A jti longer than this is refused (RFC 9449 §11.1: only a hash of it is stored anyway). */
#define MAB_DPOP_MAX_JTI 256
/* Nonces are valid in the window they were made in and the one before it. */
#define MAB_DPOP_NONCE_WINDOW 300

/* RFC 7638 §3: SHA-256 over the required members of a public JWK (RSA e, kty, n; EC crv,
 * kty, x, y; OKP crv, kty, x) in that order without white space, base64url. 0 and out
 * filled (MAB_JKT_LEN + 1 bytes), or -1 when the JWK lacks a member or is of another kty. */
int mab_jwk_thumbprint(const struct json_t *jwk, char out[MAB_JKT_LEN + 1]);

/* Recently seen proof keys, by the exact bytes of the proof's protected header: a client
 * reuses its key and header, and importing a JWK into OpenSSL costs more than verifying
 * with it. One per process; threads share it. At most `entries` headers (capped at
 * MAB_DPOP_KEYS_MAX), the least recently used evicted; each costs about 8 KiB plus its key.
 * Only headers that passed every header check are kept; a hit still has its alg judged
 * against the mask, every claim checked and the signature verified. NULL when out of
 * memory, or for entries 0 (mab_dpop_check takes NULL: no reuse). The cache's keys go when
 * p does; no check may be running then. */
#define MAB_DPOP_KEYS_MAX 65536
typedef struct mab_dpop_keys_t mab_dpop_keys_t;
mab_dpop_keys_t *mab_dpop_keys_create(apr_pool_t *p, unsigned entries);

/* Look-ups that found the header, and those that did not (for the status page, tests). */
void mab_dpop_keys_stats(mab_dpop_keys_t *keys, unsigned long *hits, unsigned long *misses);

/* What a proof is checked against. */
typedef struct mab_dpop_expect_t {
    unsigned alg_mask; /* AuthBearerDPoPAlgorithms (asymmetric only) */
    long max_age;      /* AuthBearerDPoPProofAge: iat no older than now - max_age */
    long skew;         /* iat no later than now + skew */
    long long now;     /* seconds since the epoch */
    const char *htm;   /* the request method */
    const char *htu;   /* the request's URL, already normalised (mab_htu_normalize) */
    const char *token; /* the access token (for ath), not NUL-terminated */
    apr_size_t token_len;
} mab_dpop_expect_t;

/* A proof that passed. */
typedef struct mab_dpop_proof_t {
    char jkt[MAB_JKT_LEN + 1]; /* RFC 7638 thumbprint of the proof's jwk */
    const char *alg;
    const char *jti; /* NUL-terminated, at most MAB_DPOP_MAX_JTI bytes */
    long long iat;
    const char *nonce; /* NULL when the proof carries none */
} mab_dpop_proof_t;

/* Checks one DPoP header value completely (RFC 9449 §4.3): compact JWS of three parts,
 * typ dpop+jwt, alg in the mask and asymmetric, a public jwk without private members
 * whose key fits alg, the signature by it, jti (a non-empty string, bounded), htm equal
 * to expect->htm, htu equal to expect->htu after normalising the claim, iat a number in
 * [now - max_age, now + skew], ath equal to base64url(SHA-256(token)). The nonce is only
 * read (mab_dpop_nonce_check judges it). keys may be NULL (no reuse). On failure returns
 * MAB_ERR_DPOP_PROOF with *detail (static text naming the check, never the proof), or
 * MAB_ERR_INTERNAL when out of memory; out is then all zero. typ is compared as RFC 7515
 * §4.1.9 has media types compared: case-insensitively, "application/" optional. */
mab_err_e mab_dpop_check(mab_dpop_keys_t *keys, const char *proof, const mab_dpop_expect_t *expect,
                         apr_pool_t *p, mab_dpop_proof_t *out, const char **detail);

/* Stateless nonces (§9): derived from secret and the MAB_DPOP_NONCE_WINDOW window `now`
 * falls in, so every process and host sharing the secret makes and accepts the same ones.
 * mab_dpop_nonce writes the current nonce (1*NQCHAR, at most MAB_DPOP_NONCE_LEN chars) into
 * out; mab_dpop_nonce_check returns 0 for the current window's nonce, 1 for the previous
 * window's (valid; the response should carry the current one), -1 otherwise. */
#define MAB_DPOP_NONCE_LEN 40
int mab_dpop_nonce(const unsigned char *secret, apr_size_t secret_len, long long now,
                   char out[MAB_DPOP_NONCE_LEN + 1]);
int mab_dpop_nonce_check(const unsigned char *secret, apr_size_t secret_len, long long now,
                         const char *nonce);

/* The replay record (§11.1): SHA-256 over jti, htm and htu is the key (with the store's
 * trailing letter 'D'), kept until `until` (the end of the proof's acceptance window).
 * Check-and-record under the store's lock where it has one. 0: first use, recorded;
 * 1: seen before (a replay); -1: the store failed (the caller refuses: fail closed). */
int mab_dpop_replay_record(const struct mab_kvstore_t *store, const mab_dpop_proof_t *proof,
                           const char *htm, const char *htu, long long until, apr_pool_t *p);

#endif
