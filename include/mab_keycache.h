#ifndef MAB_KEYCACHE_H
#define MAB_KEYCACHE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

struct mab_counters_t;
struct mab_keyset_t;

/* The JWKS cache. Each key source's raw JWKS lives once in shared memory (one slot per
 * source) for all processes; each process keeps the parsed keys and parses again only
 * when the slot's generation changes. Nothing is fetched or parsed while the slot is
 * fresh and this process has parsed its generation, and no global lock is taken then:
 * processes copy a new generation out of the slot under a sequence counter.
 *
 * Fetches run in a thread per source and process, one at a time per source across all
 * processes (a claim in the slot, never a lock shared between sources): a slow issuer
 * delays nobody but the requests that need its keys and have none, and those by at most
 * MAB_COLD_WAIT_MS. The last good key set of each source is kept in a file (opts
 * store_dir) and loaded at startup, so restarts begin with keys.
 *
 * A key source is a JWKS location (URL or file) or an issuer whose metadata
 * (.well-known/openid-configuration, or RFC 8414's) names the JWKS location. */
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
    const char *ca_file;     /* https trust anchors; NULL = the system store */
    int allow_insecure;      /* discovered jwks_uri may be plain http to any host */
    long max_stale_s;        /* keys this long past the expiry of their last successful
                              * fetch are no longer used (AuthBearerJWKSMaxStale) */
    const char *store_dir;   /* the last good key sets are kept here; NULL: not kept */
    /* Fetches, failures, refetches and fetch times are counted here, by source index (the
     * order of mab_keycache_at); NULL counts nothing. */
    struct mab_counters_t *counters;
} mab_keycache_opts_t;

/* How long a request waits for a fetch of its own source when it has no keys for it
 * (startup, a source never fetched, keys past AuthBearerJWKSMaxStale, or an unknown kid's
 * refetch). The fetch itself goes on in a thread of its own; the request then gets 401
 * "no keys available" and a later one finds the keys. */
#define MAB_COLD_WAIT_MS 2000

/* Config time: one cache per configuration generation, allocated from pconf. */
mab_keycache_t *mab_keycache_create(apr_pool_t *pconf);

/* Config time: the source for uri, one per distinct uri. */
mab_source_t *mab_keycache_source(mab_keycache_t *kc, const char *uri);

/* Config time: the discovery source for issuer, one per distinct issuer. It is fetched
 * only once a request needs it. */
mab_source_t *mab_keycache_discovery(mab_keycache_t *kc, const char *issuer);

/* The JWKS location, or for a discovery source the issuer. */
const char *mab_source_uri(const mab_source_t *src);
int mab_source_is_discovery(const mab_source_t *src);

int mab_keycache_count(const mab_keycache_t *kc);
mab_source_t *mab_keycache_at(const mab_keycache_t *kc, int i);

/* Parent, after configuration: the shared memory. */
int mab_keycache_init(mab_keycache_t *kc, apr_pool_t *pconf, const mab_keycache_opts_t *opts,
                      const char **err);

/* Parent, after mab_keycache_init, before any child: the key sets kept in opts->store_dir
 * by the last run go into their slots with their own fetch and expiry times (not those
 * past AuthBearerJWKSMaxStale). Returns how many. */
int mab_keycache_load_stored(mab_keycache_t *kc, apr_pool_t *ptemp);

/* Each child: the per-process locks. Fetcher threads start on first use and end with
 * pchild (one still fetching then is left to the process's exit). */
int mab_keycache_child_init(mab_keycache_t *kc, apr_pool_t *pchild);

/* Tests: takes (on) or gives back (off) src's fetch claim, as a fetch under way in this
 * process would hold it. 1 when done. */
int mab_keycache_hold_claim(mab_keycache_t *kc, mab_source_t *src, int on);

/* The generation of src's keys this process would hand out right now on the warm path
 * (fresh, already parsed here), or 0 when mab_keycache_get has work to do. Takes no lock
 * and no reference. A generation's keys never change, and a generation number is never
 * reused within a configuration, so "generation g held key k" stays true while this
 * returns g. Read it before mab_keycache_get when recording such a fact. */
apr_uint32_t mab_keycache_current_gen(mab_keycache_t *kc, mab_source_t *src, apr_uint32_t now);

/* The current key set of src, valid until `pool` is cleaned up. want_refresh asks for a
 * new fetch (unknown kid); it is honoured at most once per refetch interval across all
 * processes. A fetch that is due is handed to the source's fetcher; the request waits for
 * it (at most MAB_COLD_WAIT_MS) only when it has no usable keys or asked for a refetch,
 * else it goes on with the keys it has. Returns NULL with *err when no keys can be had
 * (none yet, the issuer's key set is empty, or past AuthBearerJWKSMaxStale). */
const struct mab_keyset_t *mab_keycache_get(mab_keycache_t *kc, mab_source_t *src, apr_pool_t *pool,
                                            int want_refresh, const char **err);

/* Off the request path (a watchdog thread, about once a second): fetches every source in
 * use whose keys are due for refresh (shortly before they expire) or that was never tried,
 * each in its fetcher, all at once, and waits for them. Requests keep using the current
 * keys meanwhile. Returns the number of fetches made. */
int mab_keycache_maintain(mab_keycache_t *kc);

/* Says mab_keycache_maintain runs (a watchdog): requests then leave expired keys to it
 * and keep using them, stepping in only if it has not refreshed them well past expiry. */
void mab_keycache_set_background(mab_keycache_t *kc, int on);

/* What the status page shows about one source. Times are 0 when unknown. */
typedef struct {
    const char *uri;          /* JWKS location, or the issuer of a discovery source */
    int discovery;            /* 1: uri is an issuer */
    const char *meta_url;     /* discovery: the metadata document used, or "" */
    const char *jwks_uri;     /* where the keys came from ("" before the first fetch) */
    apr_array_header_t *kids; /* const char *; keys without kid show as "" */
    apr_size_t bytes;         /* size of the cached JWKS */
    apr_size_t slot_size;
    apr_time_t fetched_at, expires_at, last_attempt;
    unsigned fetches, failures, refetches;
    const char *last_error; /* "" when the last attempt succeeded */
    int in_use;
} mab_source_info_t;

void mab_keycache_info(mab_keycache_t *kc, mab_source_t *src, apr_pool_t *p,
                       mab_source_info_t *out);

#endif
