#include <stdatomic.h>
#include <string.h>

#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>
#include <jansson.h>

#include "mab_jwks.h"
#include "mab_keycache.h"
#include "mab_keyfetch.h"
#include "mab_keyrefresh.h"
#include "mab_keyslot.h"
#include "mab_log.h"

/* This process's parsed copy of one generation. Requests hold a reference while they
 * verify, so a newer generation can replace it without pulling keys from under them. */
typedef struct {
    apr_pool_t *pool;
    mab_keyset_t *ks;
    atomic_uint refs;
} local_set_t;

struct mab_source_t {
    mab_keycache_t *kc;
    const char *uri; /* or the issuer */
    int discovery;
    int slot;
    /* per process, after fork */
    apr_thread_mutex_t *lock;
    local_set_t *current;             /* under lock */
    _Atomic apr_uint32_t current_gen; /* written under lock, read without by current_gen() */
};

struct mab_keycache_t {
    apr_pool_t *pconf;
    apr_array_header_t *sources; /* mab_source_t * */
    apr_shm_t *shm;
    char *base;
    apr_size_t stride;
    apr_global_mutex_t *mutex;
    mab_keycache_opts_t opts;
    int background; /* mab_keycache_maintain runs off the request path */
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

static mab_source_t *find_or_add(mab_keycache_t *kc, const char *uri, int discovery)
{
    mab_source_t *src;
    int i;

    for (i = 0; i < kc->sources->nelts; i++) {
        src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
        if (src->discovery == discovery && strcmp(src->uri, uri) == 0) {
            return src;
        }
    }
    src = apr_pcalloc(kc->pconf, sizeof(*src));
    src->kc = kc;
    src->uri = apr_pstrdup(kc->pconf, uri);
    src->discovery = discovery;
    src->slot = kc->sources->nelts;
    APR_ARRAY_PUSH(kc->sources, mab_source_t *) = src;
    return src;
}

mab_source_t *mab_keycache_source(mab_keycache_t *kc, const char *uri)
{
    return find_or_add(kc, uri, 0);
}

mab_source_t *mab_keycache_discovery(mab_keycache_t *kc, const char *issuer)
{
    return find_or_add(kc, issuer, 1);
}

const char *mab_source_uri(const mab_source_t *src)
{
    return src->uri;
}

int mab_source_is_discovery(const mab_source_t *src)
{
    return src->discovery;
}

void mab_keycache_set_background(mab_keycache_t *kc, int on)
{
    kc->background = on;
}

int mab_keycache_count(const mab_keycache_t *kc)
{
    return kc->sources->nelts;
}

mab_source_t *mab_keycache_at(const mab_keycache_t *kc, int i)
{
    return APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
}

static mab_keyslot_t *slot_of(const mab_source_t *src)
{
    return (mab_keyslot_t *)(void *)(src->kc->base + src->kc->stride * (apr_size_t)src->slot);
}

static apr_status_t drop_local_sets(void *data);

int mab_keycache_init(mab_keycache_t *kc, apr_pool_t *pconf, apr_global_mutex_t *mutex,
                      const mab_keycache_opts_t *opts, const char **err)
{
    apr_size_t size;
    apr_status_t rv;
    int i;

    /* New shared memory starts at generation 0 again: parsed copies of the old one go. */
    drop_local_sets(kc);
    kc->mutex = mutex;
    kc->opts = *opts;
    if (kc->sources->nelts == 0) {
        return 0;
    }
    kc->stride = mab_keyslot_stride(opts->slot_size);
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
    for (i = 0; i < kc->sources->nelts; i++) {
        mab_source_t *src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
        /* A discovery source is registered for every issuer; only requests show which
         * ones have no JWKS of their own and need it. */
        mab_keyslot_reset(slot_of(src), !src->discovery);
    }
    return 0;
}

/* A child's parsed keys go with the child, so leak checkers see a clean exit. */
static apr_status_t drop_local_sets(void *data)
{
    mab_keycache_t *kc = data;
    int i;

    for (i = 0; i < kc->sources->nelts; i++) {
        mab_source_t *src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
        if (src->current
            && atomic_fetch_sub_explicit(&src->current->refs, 1, memory_order_acq_rel) == 1) {
            apr_pool_destroy(src->current->pool);
        }
        src->current = NULL;
        atomic_store_explicit(&src->current_gen, 0, memory_order_relaxed);
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

/* References are counted atomically; only taking one from src->current needs the local
 * lock (so "current" cannot be replaced and freed between reading it and counting). Once
 * replaced, a set is never reachable again, so the last release can free it unlocked.
 * acq_rel: the thread that frees sees every other holder's reads of the keys done. */
static void drop_ref(local_set_t *set)
{
    if (atomic_fetch_sub_explicit(&set->refs, 1, memory_order_acq_rel) == 1) {
        apr_pool_destroy(set->pool);
    }
}

static apr_status_t release_hold(void *data)
{
    hold_t *hold = data;

    drop_ref(hold->set);
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
    local_set_t *old;

    lock_local(src);
    if (src->current && atomic_load_explicit(&src->current_gen, memory_order_relaxed) == gen) {
        unlock_local(src);
        apr_pool_destroy(set->pool);
        return;
    }
    atomic_init(&set->refs, 1); /* the reference held by "current"; published by the lock */
    old = src->current;
    src->current = set;
    /* Relaxed: current_gen() only compares it; the set itself is reached under the lock. */
    atomic_store_explicit(&src->current_gen, gen, memory_order_relaxed);
    unlock_local(src);
    if (old) {
        drop_ref(old);
    }
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

/* Under the global mutex: fetch, check and store a new generation. Returns the parsed
 * set (so this process need not parse it again) or NULL. */
static local_set_t *fetch_and_store(mab_source_t *src, mab_keyslot_t *slot, apr_uint32_t now,
                                    int refetch, apr_uint32_t *gen_out)
{
    apr_pool_t *pool = NULL;
    mab_keyset_t *ks =
        mab_keyfetch(slot, src->uri, src->discovery, &src->kc->opts, now, refetch, &pool, gen_out);
    local_set_t *set;

    if (!ks) {
        return NULL;
    }
    set = apr_pcalloc(pool, sizeof(*set));
    set->pool = pool;
    set->ks = ks;
    return set;
}

/* Takes a reference on this process's set of generation gen (any generation when gen
 * is 0) and ties its release to pool. */
static const mab_keyset_t *hold_current(mab_source_t *src, apr_pool_t *pool, apr_uint32_t gen)
{
    hold_t *hold;
    local_set_t *set;

    lock_local(src);
    set = src->current;
    if (set && gen && atomic_load_explicit(&src->current_gen, memory_order_relaxed) != gen) {
        set = NULL;
    }
    if (set) {
        atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
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

apr_uint32_t mab_keycache_current_gen(mab_keycache_t *kc, mab_source_t *src, apr_uint32_t now)
{
    mab_keyslot_t *slot;
    apr_uint32_t gen;

    if (!kc->base || !src) {
        return 0;
    }
    slot = slot_of(src);
    gen = mab_keyslot_gen(slot);
    /* The warm path's own conditions: anything else goes through mab_keycache_get. */
    if (gen == 0 || now >= mab_keyslot_get(&slot->expires_at)
        || atomic_load_explicit(&src->current_gen, memory_order_relaxed) != gen) {
        return 0;
    }
    return gen;
}

/* Parses the slot's current generation into this process unless it has it already. */
static void adopt_shared(mab_source_t *src, mab_keyslot_t *slot, apr_uint32_t local_gen)
{
    apr_pool_t *copy_pool;
    char *copy = NULL;
    apr_size_t len = 0;
    apr_uint32_t gen;
    local_set_t *set;
    const char *why = NULL;

    gen = mab_keyslot_gen(slot);
    if (gen == 0 || gen == local_gen || (copy_pool = new_private_pool()) == NULL) {
        return;
    }
    gen = mab_keyslot_copy(slot, src->kc->opts.slot_size, copy_pool, &copy, &len);
    if (gen != 0 && gen != local_gen) {
        /* The fetching process already logged the keys it skipped. */
        set = parse_set(src, copy, len, 0, copy_pool, &why);
        if (set) {
            install(src, set, gen);
        }
        else {
            mab_log(MAB_LOG_ERR, "MAB00032: cached key set %s does not parse: %s", src->uri, why);
        }
    }
    apr_pool_destroy(copy_pool);
}

const mab_keyset_t *mab_keycache_get(mab_keycache_t *kc, mab_source_t *src, apr_pool_t *pool,
                                     int want_refresh, const char **err)
{
    mab_keyslot_t *slot;
    apr_uint32_t now, gen, local_gen;
    int have_local;
    const mab_keyset_t *ks;

    *err = NULL;
    if (!kc->base) {
        *err = "key cache is not initialised";
        return NULL;
    }
    slot = slot_of(src);
    now = (apr_uint32_t)apr_time_sec(apr_time_now());
    gen = mab_keyslot_gen(slot);

    /* Warm path: shared copy fresh and already parsed here. No global lock, no parse. */
    if (gen != 0 && !want_refresh && now < mab_keyslot_get(&slot->expires_at)) {
        ks = hold_current(src, pool, gen);
        if (ks) {
            return ks;
        }
    }
    if (!mab_keyslot_get(&slot->in_use)) {
        mab_keyslot_set(&slot->in_use, 1);
    }
    lock_local(src);
    have_local = src->current != NULL;
    local_gen = atomic_load_explicit(&src->current_gen, memory_order_relaxed);
    unlock_local(src);

    /* Checked without the mutex first, so a flood of unknown kids inside the refetch
     * interval does not even contend for it; fetch_due decides under it. */
    if (gen == 0
        || now >= mab_keyslot_get(&slot->expires_at)
                      + mab_keyrefresh_stale_grace(&kc->opts, kc->background)
        || (want_refresh
            && mab_keyrefresh_refetch_allowed(&kc->opts,
                                              now - mab_keyslot_get(&slot->last_attempt)))) {
        /* With keys in hand, never queue behind another process's fetch. */
        apr_status_t rv =
            have_local ? apr_global_mutex_trylock(kc->mutex) : apr_global_mutex_lock(kc->mutex);
        if (rv == APR_SUCCESS) {
            /* Under the mutex the slot cannot change: read again, as it may have since. */
            gen = mab_keyslot_gen(slot);
            if (mab_keyrefresh_fetch_due(&kc->opts, kc->background, gen,
                                         mab_keyslot_get(&slot->expires_at),
                                         mab_keyslot_get(&slot->last_attempt), now, want_refresh)) {
                apr_uint32_t new_gen = 0;
                local_set_t *set = fetch_and_store(src, slot, now, want_refresh && gen, &new_gen);
                if (set) {
                    install(src, set, new_gen);
                    local_gen = new_gen;
                }
            }
            if (mab_keyslot_gen(slot) == 0) {
                *err = mab_keyslot_has_text(slot->last_error)
                           ? mab_keyslot_text(pool, slot->last_error, sizeof(slot->last_error))
                           : "never fetched";
            }
            apr_global_mutex_unlock(kc->mutex);
        }
    }
    /* Another process (or the watchdog) may have stored a newer generation. */
    adopt_shared(src, slot, local_gen);
    ks = hold_current(src, pool, 0);
    if (!ks && !*err) {
        *err = "no keys available";
    }
    return ks;
}

int mab_keycache_maintain(mab_keycache_t *kc)
{
    int i, fetched = 0;

    if (!kc->base) {
        return 0;
    }
    for (i = 0; i < kc->sources->nelts; i++) {
        mab_source_t *src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
        mab_keyslot_t *slot = slot_of(src);
        apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now()), new_gen = 0;
        local_set_t *set = NULL;

        if (!mab_keyslot_get(&slot->in_use)
            || !mab_keyrefresh_maintain_due(mab_keyslot_gen(slot),
                                            mab_keyslot_get(&slot->refresh_at),
                                            mab_keyslot_get(&slot->last_attempt), now)
            || apr_global_mutex_lock(kc->mutex) != APR_SUCCESS) {
            continue;
        }
        /* Checked again under the mutex: a request may have fetched meanwhile. */
        if (mab_keyrefresh_maintain_due(mab_keyslot_gen(slot), mab_keyslot_get(&slot->refresh_at),
                                        mab_keyslot_get(&slot->last_attempt), now)) {
            set = fetch_and_store(src, slot, now, 0, &new_gen);
            fetched++;
        }
        apr_global_mutex_unlock(kc->mutex);
        if (set) {
            install(src, set, new_gen);
        }
    }
    return fetched;
}

static apr_time_t secs(apr_uint32_t t)
{
    return t ? apr_time_from_sec((apr_time_t)t) : 0;
}

void mab_keycache_info(mab_keycache_t *kc, mab_source_t *src, apr_pool_t *p, mab_source_info_t *out)
{
    mab_keyslot_t *slot;
    char *buf = NULL;
    apr_size_t len = 0;

    memset(out, 0, sizeof(*out));
    out->uri = src->uri;
    out->discovery = src->discovery;
    out->meta_url = out->jwks_uri = out->last_error = "";
    out->kids = apr_array_make(p, 8, sizeof(const char *));
    out->slot_size = kc->opts.slot_size;
    if (!kc->base) {
        return;
    }
    /* Without the mutex (the status page must not wait for a hanging fetch): each number
     * is whole, but they may come from either side of a fetch that is under way. */
    slot = slot_of(src);
    out->in_use = (int)mab_keyslot_get(&slot->in_use);
    out->fetched_at = secs(mab_keyslot_get(&slot->fetched_at));
    out->expires_at = secs(mab_keyslot_get(&slot->expires_at));
    out->last_attempt = secs(mab_keyslot_get(&slot->last_attempt));
    out->fetches = mab_keyslot_get(&slot->fetches);
    out->failures = mab_keyslot_get(&slot->failures);
    out->refetches = mab_keyslot_get(&slot->refetches);
    out->last_error = mab_keyslot_text(p, slot->last_error, sizeof(slot->last_error));
    out->meta_url = mab_keyslot_text(p, slot->meta_url, sizeof(slot->meta_url));
    out->jwks_uri =
        src->discovery ? mab_keyslot_text(p, slot->jwks_uri, sizeof(slot->jwks_uri)) : src->uri;
    if (mab_keyslot_copy(slot, kc->opts.slot_size, p, &buf, &len)) {
        json_t *doc = json_loadb(buf, len, 0, NULL);
        json_t *keys = json_object_get(doc, "keys"), *k;
        size_t i;
        out->bytes = len;
        json_array_foreach (keys, i, k) {
            json_t *kid = json_object_get(k, "kid");
            APR_ARRAY_PUSH(out->kids, const char *) =
                apr_pstrdup(p, json_is_string(kid) ? json_string_value(kid) : "");
        }
        json_decref(doc);
    }
}
