#include <string.h>

#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>

#include "mab_fetch.h"
#include "mab_jwks.h"
#include "mab_keycache.h"
#include "mab_log.h"

/* Shared memory holds bytes and numbers only, never pointers: each slot is this header
 * followed by slot_size bytes of raw JWKS. Times are seconds since the epoch. */
typedef struct {
    apr_uint32_t gen; /* 0 = never filled; changes after every successful store */
    apr_uint32_t len;
    apr_uint32_t fetched_at;
    apr_uint32_t expires_at;
    apr_uint32_t last_attempt;
    apr_uint32_t fetches;
    apr_uint32_t failures;
    char last_error[256];
} slot_hdr_t;

/* This process's parsed copy of one generation. Requests hold a reference while they
 * verify, so a newer generation can replace it without pulling keys from under them. */
typedef struct {
    apr_pool_t *pool;
    mab_keyset_t *ks;
    apr_uint32_t refs;
} local_set_t;

struct mab_source_t {
    mab_keycache_t *kc;
    const char *uri;
    int slot;
    /* per process, after fork */
    apr_thread_mutex_t *lock;
    local_set_t *current;
    apr_uint32_t current_gen;
};

struct mab_keycache_t {
    apr_pool_t *pconf;
    apr_array_header_t *sources; /* mab_source_t * */
    apr_shm_t *shm;
    char *base;
    apr_size_t stride;
    apr_global_mutex_t *mutex;
    mab_keycache_opts_t opts;
};

typedef struct {
    local_set_t *set;
    mab_source_t *src;
} hold_t;

mab_keycache_t *mab_keycache_create(apr_pool_t *pconf)
{
    mab_keycache_t *kc = apr_pcalloc(pconf, sizeof(*kc));

    kc->pconf = pconf;
    kc->sources = apr_array_make(pconf, 4, sizeof(mab_source_t *));
    return kc;
}

mab_source_t *mab_keycache_source(mab_keycache_t *kc, const char *uri)
{
    mab_source_t *src;
    int i;

    for (i = 0; i < kc->sources->nelts; i++) {
        src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
        if (strcmp(src->uri, uri) == 0) {
            return src;
        }
    }
    src = apr_pcalloc(kc->pconf, sizeof(*src));
    src->kc = kc;
    src->uri = apr_pstrdup(kc->pconf, uri);
    src->slot = kc->sources->nelts;
    APR_ARRAY_PUSH(kc->sources, mab_source_t *) = src;
    return src;
}

const char *mab_source_uri(const mab_source_t *src)
{
    return src->uri;
}

int mab_keycache_init(mab_keycache_t *kc, apr_pool_t *pconf, apr_global_mutex_t *mutex,
                      const mab_keycache_opts_t *opts, const char **err)
{
    apr_size_t size;
    apr_status_t rv;

    kc->mutex = mutex;
    kc->opts = *opts;
    if (kc->sources->nelts == 0) {
        return 0;
    }
    kc->stride = APR_ALIGN_DEFAULT(sizeof(slot_hdr_t) + opts->slot_size);
    size = kc->stride * (apr_size_t)kc->sources->nelts;
    /* Anonymous shared memory: inherited by every child across fork, gone with pconf. */
    rv = apr_shm_create(&kc->shm, size, NULL, pconf);
    if (rv != APR_SUCCESS) {
        char msg[120];
        *err = apr_psprintf(pconf, "cannot create %lu bytes of shared memory: %s",
                            (unsigned long)size, apr_strerror(rv, msg, sizeof(msg)));
        return -1;
    }
    kc->base = apr_shm_baseaddr_get(kc->shm);
    memset(kc->base, 0, size);
    return 0;
}

/* A child's parsed keys go with the child, so leak checkers see a clean exit. */
static apr_status_t drop_local_sets(void *data)
{
    mab_keycache_t *kc = data;
    int i;

    for (i = 0; i < kc->sources->nelts; i++) {
        mab_source_t *src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
        if (src->current && --src->current->refs == 0) {
            apr_pool_destroy(src->current->pool);
        }
        src->current = NULL;
        src->current_gen = 0;
        src->lock = NULL; /* it lives in the pool being cleaned up */
    }
    return APR_SUCCESS;
}

int mab_keycache_child_init(mab_keycache_t *kc, apr_pool_t *pchild)
{
    int i;

    apr_pool_cleanup_register(pchild, kc, drop_local_sets, apr_pool_cleanup_null);

    for (i = 0; i < kc->sources->nelts; i++) {
        mab_source_t *src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
        if (apr_thread_mutex_create(&src->lock, APR_THREAD_MUTEX_DEFAULT, pchild) != APR_SUCCESS) {
            return -1;
        }
    }
    return 0;
}

static slot_hdr_t *slot_of(const mab_source_t *src)
{
    return (slot_hdr_t *)(void *)(src->kc->base + src->kc->stride * (apr_size_t)src->slot);
}

static void lock_local(mab_source_t *src)
{
    if (src->lock) {
        apr_thread_mutex_lock(src->lock);
    }
}

static void unlock_local(mab_source_t *src)
{
    if (src->lock) {
        apr_thread_mutex_unlock(src->lock);
    }
}

/* Caller holds the local lock. */
static void drop_ref(local_set_t *set)
{
    if (--set->refs == 0) {
        apr_pool_destroy(set->pool);
    }
}

static apr_status_t release_hold(void *data)
{
    hold_t *hold = data;

    lock_local(hold->src);
    drop_ref(hold->set);
    unlock_local(hold->src);
    return APR_SUCCESS;
}

static apr_pool_t *new_private_pool(void)
{
    apr_pool_t *p = NULL;

    /* Its own allocator: created and destroyed from any thread without touching pchild. */
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return NULL;
    }
    return p;
}

/* Makes set this process's current copy for gen unless a newer one is already there. */
static void install(mab_source_t *src, local_set_t *set, apr_uint32_t gen)
{
    lock_local(src);
    if (src->current && src->current_gen == gen) {
        unlock_local(src);
        apr_pool_destroy(set->pool);
        return;
    }
    set->refs = 1; /* the reference held by "current" */
    if (src->current) {
        drop_ref(src->current);
    }
    src->current = set;
    src->current_gen = gen;
    unlock_local(src);
}

static local_set_t *parse_set(mab_source_t *src, const char *buf, apr_size_t len, int log_skipped,
                              apr_pool_t *err_pool, const char **err)
{
    apr_pool_t *pool = new_private_pool();
    local_set_t *set;

    if (!pool) {
        *err = "out of memory";
        return NULL;
    }
    set = apr_pcalloc(pool, sizeof(*set));
    set->pool = pool;
    set->ks = mab_jwks_parse_ex(pool, buf, len, src->uri, log_skipped, err);
    if (!set->ks) {
        *err = apr_pstrdup(err_pool, *err); /* outlives the pool it came from */
        apr_pool_destroy(pool);
        return NULL;
    }
    return set;
}

static void record_failure(slot_hdr_t *hdr, const char *uri, apr_uint32_t now, long retry_s,
                           const char *why)
{
    apr_cpystrn(hdr->last_error, why, sizeof(hdr->last_error));
    hdr->failures++;
    if (hdr->gen != 0) {
        /* Stale-if-error: keep the last good keys, try again after the retry interval. */
        hdr->expires_at = now + (apr_uint32_t)retry_s;
    }
    mab_log(MAB_LOG_ERR, "MAB00030: fetching key set %s failed: %s%s", uri, why,
            hdr->gen ? " (keeping the previous keys)" : " (no keys yet: tokens are refused)");
}

/* How long a fetched key set is used: the issuer's Cache-Control max-age, or an hour
 * when it sends none, always within the configured bounds. */
static long keep_for(const mab_keycache_opts_t *opts, long max_age)
{
    long ttl = max_age >= 0 ? max_age : MAB_JWKS_DEFAULT_TTL;

    if (ttl < opts->refresh_min_s) {
        ttl = opts->refresh_min_s;
    }
    if (ttl > opts->refresh_max_s) {
        ttl = opts->refresh_max_s;
    }
    return ttl;
}

/* Under the global mutex: fetch, check and store a new generation. Returns the parsed
 * set (so this process need not parse it again) or NULL. */
static local_set_t *fetch_and_store(mab_source_t *src, slot_hdr_t *hdr, apr_uint32_t now,
                                    apr_uint32_t *gen_out)
{
    mab_keycache_t *kc = src->kc;
    apr_pool_t *tmp = new_private_pool();
    const char *why = NULL;
    char *body = NULL;
    apr_size_t len = 0;
    long max_age = -1;
    local_set_t *set = NULL;
    char *data = (char *)(hdr + 1);

    hdr->last_attempt = now;
    hdr->fetches++;
    if (!tmp) {
        record_failure(hdr, src->uri, now, kc->opts.retry_interval_s, "out of memory");
        return NULL;
    }
    if (mab_fetch(tmp, src->uri, kc->opts.fetch_timeout_ms, MAB_FETCH_MAX_BYTES, &body, &len,
                  &max_age, &why)
        != 0) {
        record_failure(hdr, src->uri, now, kc->opts.retry_interval_s, why);
        goto cleanup;
    }
    if (len > kc->opts.slot_size) {
        why = apr_psprintf(tmp, "key set is %lu bytes, more than the %lu-byte cache slot",
                           (unsigned long)len, (unsigned long)kc->opts.slot_size);
        record_failure(hdr, src->uri, now, kc->opts.retry_interval_s, why);
        goto cleanup;
    }
    set = parse_set(src, body, len, 1, tmp, &why);
    if (!set) {
        record_failure(hdr, src->uri, now, kc->opts.retry_interval_s, why);
        goto cleanup;
    }
    memcpy(data, body, len);
    hdr->len = (apr_uint32_t)len;
    hdr->fetched_at = now;
    hdr->expires_at = now + (apr_uint32_t)keep_for(&kc->opts, max_age);
    hdr->last_error[0] = '\0';
    *gen_out = hdr->gen + 1 ? hdr->gen + 1 : 1;
    /* Published last: a process that sees the new gen finds the bytes already there. */
    apr_atomic_set32(&hdr->gen, *gen_out);
    mab_log(MAB_LOG_INFO, "MAB00031: key set %s fetched: %d key(s), %d skipped, %lu bytes",
            src->uri, set->ks->nkeys, set->ks->nskipped, (unsigned long)len);
cleanup:
    apr_pool_destroy(tmp);
    return set;
}

static const mab_keyset_t *hold_current(mab_source_t *src, apr_pool_t *pool)
{
    hold_t *hold;
    local_set_t *set;

    lock_local(src);
    set = src->current;
    if (set) {
        set->refs++;
    }
    unlock_local(src);
    if (!set) {
        return NULL;
    }
    hold = apr_palloc(pool, sizeof(*hold));
    hold->set = set;
    hold->src = src;
    apr_pool_cleanup_register(pool, hold, release_hold, apr_pool_cleanup_null);
    return set->ks;
}

const mab_keyset_t *mab_keycache_get(mab_keycache_t *kc, mab_source_t *src, apr_pool_t *pool,
                                     int want_refresh, const char **err)
{
    slot_hdr_t *hdr;
    apr_uint32_t now, gen, expires, local_gen;
    int have_local, fresh;
    local_set_t *set = NULL;
    char *copy = NULL;
    apr_size_t copy_len = 0;
    apr_pool_t *copy_pool = NULL;
    const mab_keyset_t *ks;

    *err = NULL;
    if (!kc->base) {
        *err = "key cache is not initialised";
        return NULL;
    }
    hdr = slot_of(src);
    now = (apr_uint32_t)apr_time_sec(apr_time_now());
    gen = apr_atomic_read32(&hdr->gen);
    expires = apr_atomic_read32(&hdr->expires_at);
    lock_local(src);
    have_local = src->current != NULL;
    local_gen = src->current_gen;
    unlock_local(src);
    fresh = gen != 0 && now < expires;

    /* Warm path: shared copy fresh and already parsed here. No global lock, no parse. */
    if (fresh && have_local && gen == local_gen && !want_refresh) {
        return hold_current(src, pool);
    }

    if (!fresh || want_refresh) {
        /* With keys in hand, never queue behind another process's fetch. */
        apr_status_t rv =
            have_local ? apr_global_mutex_trylock(kc->mutex) : apr_global_mutex_lock(kc->mutex);
        if (rv == APR_SUCCESS) {
            apr_uint32_t since = now - hdr->last_attempt;
            int due;
            gen = hdr->gen;
            if (gen == 0) {
                /* Cold: after a failure, wait the retry interval instead of hammering. */
                due = hdr->last_attempt == 0 || since >= (apr_uint32_t)kc->opts.retry_interval_s;
            }
            else if (now >= hdr->expires_at) {
                due = 1; /* a failed refresh already pushed expires_at by the retry interval */
            }
            else {
                due = want_refresh && since >= (apr_uint32_t)kc->opts.refetch_interval_s;
            }
            if (due) {
                apr_uint32_t new_gen = 0;
                set = fetch_and_store(src, hdr, now, &new_gen);
                if (set) {
                    gen = new_gen;
                }
            }
            if (!set && gen != 0 && gen != local_gen) {
                copy_pool = new_private_pool();
                if (copy_pool) {
                    copy_len = hdr->len;
                    copy = apr_pmemdup(copy_pool, (char *)(hdr + 1), copy_len);
                }
            }
            if (!set && gen == 0) {
                *err = apr_pstrdup(pool, hdr->last_error[0] ? hdr->last_error : "never fetched");
            }
            apr_global_mutex_unlock(kc->mutex);
        }
    }
    else if (gen != local_gen) {
        /* Another process stored a new generation: copy it out, parse it outside the lock. */
        if (apr_global_mutex_lock(kc->mutex) == APR_SUCCESS) {
            gen = hdr->gen;
            copy_pool = new_private_pool();
            if (copy_pool) {
                copy_len = hdr->len;
                copy = apr_pmemdup(copy_pool, (char *)(hdr + 1), copy_len);
            }
            apr_global_mutex_unlock(kc->mutex);
        }
    }

    if (copy) {
        const char *why = NULL;
        /* The fetching process already logged the keys it skipped. */
        set = parse_set(src, copy, copy_len, 0, pool, &why);
        if (!set) {
            mab_log(MAB_LOG_ERR, "MAB00032: cached key set %s does not parse: %s", src->uri, why);
        }
    }
    if (copy_pool) {
        apr_pool_destroy(copy_pool);
    }
    if (set) {
        install(src, set, gen);
    }
    ks = hold_current(src, pool);
    if (!ks && !*err) {
        *err = "no keys available";
    }
    return ks;
}
