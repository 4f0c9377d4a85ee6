#ifndef MAB_INTROSPECT_H
#define MAB_INTROSPECT_H

/* RFC 7662 introspection answers: what an answer grants, whose it is, and how it is kept in a
 * shared cache (httpd socache: bytes in, bytes out). Pure: no I/O, no clock, no locks. */
#include <apr_pools.h>

#include "mab_claims.h"
#include "mab_error.h"

struct json_t;

/* Inactive answers are kept at most this long, so a token that becomes valid (or a
 * transient refusal by the server) is asked again soon, while a flood of one bad token
 * still costs one call per 10 s. */
#define MAB_INTROSPECT_INACTIVE_TTL 10

/* The version byte of a cache entry: a change of layout or meaning gets a new one, and
 * entries of another version read as absent. */
#define MAB_INTROSPECT_ENTRY_VERSION 1

/* The fixed part of an entry: version, flags, expiry (8 bytes), JSON length (4 bytes). */
#define MAB_INTROSPECT_ENTRY_HEADER 14

/* An answer larger than this is never encoded (and never decoded): the receive cap of
 * mab_introspect_call is far below it. */
#define MAB_INTROSPECT_ENTRY_MAX_JSON (1024 * 1024)

/* Bytes of mab_introspect_cache_key. */
#define MAB_INTROSPECT_KEY_LEN 32

/* Whether an introspection answer grants access under cp, as if it were a verified JWT:
 * active must be JSON true (MAB_ERR_INACTIVE otherwise); token_type DPoP (any case) or a
 * cnf member is MAB_ERR_SENDER_CONSTRAINED (not supported yet: fail closed); then exp, nbf
 * and iat with the skew (exp may be absent, RFC 7662 §2.2), iss when present equal to
 * cp->issuer, aud against the audiences (absent fails unless audience_any). cp's
 * access_token_jwt is ignored: RFC 9068 describes JWTs, not answers. Returns MAB_OK, or
 * the reason with *detail (never the token). */
mab_err_e mab_introspect_check(const struct json_t *answer, const mab_claim_policy_t *cp,
                               apr_pool_t *p, const char **detail);

/* REMOTE_USER from an answer: the string claim user_claim (a name or a JSON Pointer, see
 * mab_claims_lookup); for the default "sub", an answer without sub falls back to
 * "username", then "client_id" (RFC 7662 §2.2 members). NULL when none is a string. The
 * string belongs to answer. */
const char *mab_introspect_user(const struct json_t *answer, const char *user_claim);

/* The cache key of a token at one endpoint: SHA-256 over the endpoint URL and the token
 * (length-prefixed), so a token one issuer vouched for is never taken from the cache for
 * another endpoint, and the key reveals no token. Returns 0, or -1 when OpenSSL fails. */
int mab_introspect_cache_key(const char *endpoint_url, const char *token, apr_size_t len,
                             unsigned char out[MAB_INTROSPECT_KEY_LEN]);

/* Until when (seconds since the epoch) an answer may be kept: cache_seconds <= 0 never
 * (returns 0); an active answer cache_seconds, but never past its exp (RFC 7662 §4), and
 * not at all when exp is already past or malformed; an inactive one at most
 * MAB_INTROSPECT_INACTIVE_TTL and at most cache_seconds. 0 means "do not store". */
long long mab_introspect_cache_until(int active, const struct json_t *answer, long long now,
                                     long cache_seconds);

/* An entry for the shared cache: the version byte, whether the answer is active, the
 * expiry, the answer as compact JSON. It holds no token (the answer is what the server
 * said; a server that echoes the token would be storing it itself). *out is allocated
 * from p. Returns the entry's length, or 0 when the answer cannot be encoded. */
apr_size_t mab_introspect_entry_encode(apr_pool_t *p, const struct json_t *answer,
                                       long long expires, unsigned char **out);

/* Reads an entry back; bounds-checked: anything truncated, of another version, with
 * unknown flags, a length that does not add up, JSON that mab_claims_parse refuses, or
 * an active flag the JSON contradicts is absent. Returns 1 with *answer (decref'd by a
 * cleanup on p), *expires and *active, or 0. The caller compares *expires with its clock
 * and runs mab_introspect_check again: a hit passes the checks a fresh answer would. */
int mab_introspect_entry_decode(const unsigned char *buf, apr_size_t len, apr_pool_t *p,
                                struct json_t **answer, long long *expires, int *active);

#endif
