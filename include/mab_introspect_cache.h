#ifndef MAB_INTROSPECT_CACHE_H
#define MAB_INTROSPECT_CACHE_H

#include <apr_pools.h>

/* Where introspection answers are kept, and how many calls reach the endpoint.
 *
 * Three layers, so the endpoint sees one call per token per cache period for a whole httpd
 * (or a fleet) and a warm request takes no lock shared between processes:
 *   1. a per-process front (digest -> answer bytes, until its own expiry), striped thread
 *      mutexes only;
 *   2. the shared store (httpd's socache: shmcb among the processes of one httpd,
 *      memcache/redis across hosts), reached through mab_kvstore_t;
 *   3. the call itself, made once per token: threads of one process wait for the one call
 *      in flight (single flight), and other processes find a short-lived "pending" marker in
 *      the shared store and poll for the answer instead of calling too. A process makes at
 *      most `max_inflight` calls at once; beyond that a new token is refused at once (not
 *      queued), while tokens already answered keep working.
 *
 * Keys are SHA-256 digests of tokens (never the token); the bytes stored are the caller's
 * encoding of the answer (they hold no token either). */

#define MAB_ICACHE_DIGEST_LEN 32

/* A key-value store with expiry. get: 0 found (*len set, at most the size passed in), 1 not
 * found, -1 the store failed. put/del: 0 or -1. lock/unlock make a get followed by a put
 * atomic against other processes where the store can (shmcb under httpd's socache mutex);
 * NULL where it cannot (memcache, redis: the window between them is the documented race). */
typedef struct mab_kvstore_t {
    int (*get)(void *ctx, const unsigned char *key, unsigned keylen, unsigned char *buf,
               unsigned *len, apr_pool_t *p);
    int (*put)(void *ctx, const unsigned char *key, unsigned keylen, long long expires,
               const unsigned char *val, unsigned len, apr_pool_t *p);
    int (*del)(void *ctx, const unsigned char *key, unsigned keylen, apr_pool_t *p);
    void (*lock)(void *ctx);
    void (*unlock)(void *ctx);
    void *ctx;
} mab_kvstore_t;

#define MAB_ICACHE_MAX_VALUE 16384 /* answers larger than this are used but not stored */

/* The call to the endpoint, made by the one thread that won the flight: 0 with the answer's
 * bytes and how long they may be kept (*until, seconds since the epoch; <= now: not kept),
 * or -1 with *detail (the endpoint failed: nothing is stored, the next request asks again). */
typedef int mab_ic_call_fn(void *ctx, apr_pool_t *p, const unsigned char **val, unsigned *len,
                           long long *until, const char **detail);

typedef enum {
    MAB_ICACHE_ANSWER = 0, /* val and len hold an answer */
    MAB_ICACHE_FAILED,     /* the endpoint failed (detail says how) */
    MAB_ICACHE_BUSY,       /* max_inflight calls already under way in this process */
    MAB_ICACHE_STORE_DOWN  /* the shared store failed: refused, never called around it */
} mab_ic_result_e;

typedef struct mab_ic_t mab_ic_t;

typedef struct mab_ic_opts_t {
    unsigned front_entries; /* per-process front size (0: no front) */
    unsigned max_inflight;  /* calls at once per process */
    long wait_ms;           /* how long a request waits for another's call */
} mab_ic_opts_t;

/* One per process (threads share it). NULL when out of memory. */
mab_ic_t *mab_ic_create(apr_pool_t *p, const mab_ic_opts_t *opts);

/* Where the answer came from, for the status page and the metrics. */
typedef enum {
    MAB_ICACHE_FROM_CALL = 0,
    MAB_ICACHE_FROM_FRONT,
    MAB_ICACHE_FROM_STORE
} mab_ic_from_e;

/* The answer for `digest`, from the front, the store, another request's call or a call of
 * its own (`call`), at `now`. With `cache` 0 (AuthBearerIntrospectionCache 0) every request
 * calls, within the bound, and nothing is stored. Bytes are allocated from p. */
mab_ic_result_e mab_ic_lookup(mab_ic_t *ic, const mab_kvstore_t *store,
                              const unsigned char digest[MAB_ICACHE_DIGEST_LEN], long long now,
                              int cache, mab_ic_call_fn *call, void *call_ctx, apr_pool_t *p,
                              const unsigned char **val, unsigned *len, mab_ic_from_e *from,
                              const char **detail);

/* Calls in flight in this process now (for the status page and tests). */
unsigned mab_ic_inflight(const mab_ic_t *ic);

#endif
