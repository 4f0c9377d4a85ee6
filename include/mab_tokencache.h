#ifndef MAB_TOKENCACHE_H
#define MAB_TOKENCACHE_H

#include <apr_pools.h>

struct evp_pkey_st;
struct json_t;
struct mab_alg_t;
struct mab_exports_t;
struct mab_key_t;
struct mab_keyset_t;

/* The verified-token cache, one per process, shared by its threads.
 *
 * It remembers that a token's signature verified, never that a request was allowed: the
 * key is SHA-256 of the whole token (a different token cannot hit), and a hit still has
 * its claims checked against the location's own issuer, audience, time, scope and claim
 * requirements. An entry is used only while the key that verified it is still in the
 * location's current key set (the same public key, compared in full) or is still its
 * configured secret, so a key removed from the JWKS takes its tokens with it. An entry
 * never outlives the token's exp.
 *
 * Layout: sets of MAB_TOKENCACHE_WAYS entries, chosen by the digest; a new token takes
 * an empty or expired way of its set, else the least recently used one. The capacity is
 * fixed at creation, so the cache never grows after start. Each set is guarded by one of
 * a few striped thread mutexes (never a cross-process lock). */
typedef struct mab_tokencache_t mab_tokencache_t;

#define MAB_TOKENCACHE_DIGEST_LEN 32
#define MAB_TOKENCACHE_WAYS 8
#define MAB_TOKENCACHE_DEFAULT_ENTRIES 4096
#define MAB_TOKENCACHE_MAX_ENTRIES 1048576
#define MAB_TOKENCACHE_KID_MAX 128 /* longer kids are not cached */

#define MAB_TOKENCACHE_FRONT_WAYS 8
#define MAB_TOKENCACHE_FRONT_MAX_TOKEN 4096 /* longer tokens skip the front */

/* What the caller last vouched for about a front entry (which key source, at which of
 * its generations, still held the key): its own notes, kept with the entry and seen by
 * its thread only. Reset whenever the entry changes. */
typedef struct mab_tokencache_mark_t {
    const void *scope;
    unsigned gen;
} mab_tokencache_mark_t;

/* What a verified token was, as the cache hands it back. */
typedef struct mab_tokencache_hit_t {
    /* Held until the lookup's pool is cleaned up; shared with other threads: read only. */
    struct json_t *claims;
    const struct mab_exports_t *exports; /* the claims as environment text */
    const struct mab_alg_t *alg;
    const char *kid; /* NULL when the token had none */
    int typ_at_jwt;  /* the header's typ was at+jwt */
    const void *verifier;
    struct evp_pkey_st *pkey_;   /* the public key that verified it (held), or NULL */
    const unsigned char *digest; /* SHA-256 of the token */
    long long exp;
    mab_tokencache_mark_t *mark; /* a front hit's notes, NULL otherwise */
    void *snap_;
} mab_tokencache_hit_t;

/* Once, before any thread runs (fetches SHA-256 so no request pays for the lookup); it is
 * released when `p` is cleaned up. */
void mab_tokencache_global_init(apr_pool_t *p);

/* SHA-256 of the token: the cache key (and the source of the log fingerprint). */
int mab_tokencache_digest(const char *token, apr_size_t len,
                          unsigned char out[MAB_TOKENCACHE_DIGEST_LEN]);

/* A cache of at most `entries` tokens (rounded down to a multiple of the set size,
 * at least one set). Its references go when `p` is cleaned up. NULL on failure. */
mab_tokencache_t *mab_tokencache_create(apr_pool_t *p, unsigned entries);

/* How many entries the cache holds at most. */
unsigned mab_tokencache_capacity(const mab_tokencache_t *tc);

/* Remembers a verified token until `exp` (seconds since the epoch), with the key that
 * verified it (a public key from a key set, or a configured secret), its claims and their
 * environment text. Returns 1 when stored: the entry has then adopted the caller's
 * reference to `claims` (no copy is made; the caller must hold no other, and must not
 * release it), and if `held` is not NULL it is filled as a lookup would fill it (held as
 * long as `pool`), so the request goes on with the entry. Returns 0, leaving `claims` to
 * the caller, for a token already expired at `now`, a kid too long to keep, or no memory. */
int mab_tokencache_store(mab_tokencache_t *tc,
                         const unsigned char digest[MAB_TOKENCACHE_DIGEST_LEN], long long exp,
                         long long now, struct json_t *claims, const struct mab_alg_t *alg,
                         const char *kid, int typ_at_jwt, const struct mab_key_t *key,
                         apr_pool_t *pool, mab_tokencache_hit_t *held);

/* 1 and *hit filled when the token is cached and not expired at `now` (an expired entry
 * is dropped); 0 otherwise. What *hit points to lives as long as `pool`. */
int mab_tokencache_lookup(mab_tokencache_t *tc,
                          const unsigned char digest[MAB_TOKENCACHE_DIGEST_LEN], long long now,
                          apr_pool_t *pool, mab_tokencache_hit_t *hit);

/* This thread's front, in front of the shared sets: the last MAB_TOKENCACHE_FRONT_WAYS
 * tokens this thread found in the cache or stored, compared byte for byte (in constant
 * time), so a hit needs neither the SHA-256 nor a lock. What it hands back is an entry
 * of the cache proper, with the same exp rule; the caller checks it exactly as it checks
 * a lookup's. */
int mab_tokencache_front_lookup(mab_tokencache_t *tc, const char *token, apr_size_t len,
                                long long now, apr_pool_t *pool, mab_tokencache_hit_t *hit);

/* Puts the token of a lookup's or store's hit in this thread's front. Returns the
 * entry's notes for the caller to fill, or NULL when it was not kept. */
mab_tokencache_mark_t *mab_tokencache_front_put(mab_tokencache_t *tc, const char *token,
                                                apr_size_t len, const mab_tokencache_hit_t *hit);

/* Whether the hit was verified by `key` (the very same key object, not a look-alike). */
int mab_tokencache_verified_by(const mab_tokencache_hit_t *hit, const struct mab_key_t *key);

/* Whether the key that verified the hit is still in `ks`: the same key object, or, after
 * a refresh re-imported the key set, a key equal to it in full (EVP_PKEY_eq). */
int mab_tokencache_key_in(const mab_tokencache_hit_t *hit, const struct mab_keyset_t *ks);

#endif
