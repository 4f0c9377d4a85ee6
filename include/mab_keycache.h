#ifndef MAB_KEYCACHE_H
#define MAB_KEYCACHE_H

#include <apr_pools.h>
#include <apr_global_mutex.h>

struct mab_keyset_t;

/* The JWKS cache. Each key source's raw JWKS lives once in shared memory (one slot per
 * source) for all processes; each process keeps the parsed keys and parses again only
 * when the slot's generation changes. Nothing here is fetched or parsed while the slot
 * is fresh and this process has parsed its generation. */
typedef struct mab_keycache_t mab_keycache_t;
typedef struct mab_source_t mab_source_t;

#define MAB_JWKS_DEFAULT_TTL 3600

typedef struct mab_keycache_opts_t {
    apr_size_t slot_size; /* bytes of JWKS one source may hold */
    long fetch_timeout_ms;
    long refresh_min_s;      /* bounds on how long a fetched key set is used: */
    long refresh_max_s;      /* Cache-Control max-age, or MAB_JWKS_DEFAULT_TTL */
    long refetch_interval_s; /* unknown kid: at most one fetch per interval */
    long retry_interval_s;   /* after a failed fetch */
} mab_keycache_opts_t;

/* Config time: one cache per configuration generation, allocated from pconf. */
mab_keycache_t *mab_keycache_create(apr_pool_t *pconf);

/* Config time: the source for uri, one per distinct uri. */
mab_source_t *mab_keycache_source(mab_keycache_t *kc, const char *uri);
const char *mab_source_uri(const mab_source_t *src);

/* Parent, after configuration: the shared memory and the mutex that serialises fetches. */
int mab_keycache_init(mab_keycache_t *kc, apr_pool_t *pconf, apr_global_mutex_t *mutex,
                      const mab_keycache_opts_t *opts, const char **err);

/* Each child. */
int mab_keycache_child_init(mab_keycache_t *kc, apr_pool_t *pchild);

/* The current key set of src, valid until `pool` is cleaned up. want_refresh asks for a
 * new fetch (unknown kid); it is honoured at most once per refetch interval across all
 * processes. Returns NULL with *err when no keys can be had. */
const struct mab_keyset_t *mab_keycache_get(mab_keycache_t *kc, mab_source_t *src, apr_pool_t *pool,
                                            int want_refresh, const char **err);

#endif
