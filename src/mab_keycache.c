#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>
#include <jansson.h>

#include "mab_discovery.h"
#include "mab_fetch.h"
#include "mab_jwks.h"
#include "mab_keycache.h"
#include "mab_keyrefresh.h"
#include "mab_log.h"

/* Shared memory holds bytes and numbers only, never pointers: each slot is this header
 * followed by slot_size bytes of raw JWKS. Times are seconds since the epoch. Everything
 * is written under the global mutex; the JWKS bytes, len and gen are also guarded by seq
 * (odd while being written) so readers copy them without taking the mutex. */
typedef struct {
    apr_uint32_t seq;
    apr_uint32_t gen; /* 0 = never filled; changes after every successful store */
    apr_uint32_t len;
    apr_uint32_t in_use; /* a request or the configuration asked for this source */
    apr_uint32_t fetched_at;
    apr_uint32_t expires_at;   /* keys are used until then (stale-if-error pushes it) */
    apr_uint32_t refresh_at;   /* the watchdog fetches again from then on */
    apr_uint32_t last_attempt; /* last fetch, successful or not */
    apr_uint32_t fetches;
    apr_uint32_t failures;
    apr_uint32_t refetches; /* fetches asked for by an unknown kid */
    apr_uint32_t meta_expires_at;
    char jwks_uri[1024]; /* discovery: the metadata's jwks_uri */
    char meta_url[1024]; /* discovery: the metadata document it came from */
    char last_error[512];
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
    const char *uri; /* or the issuer */
    int discovery;
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

static slot_hdr_t *slot_of(const mab_source_t *src)
{
    return (slot_hdr_t *)(void *)(src->kc->base + src->kc->stride * (apr_size_t)src->slot);
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
    for (i = 0; i < kc->sources->nelts; i++) {
        mab_source_t *src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
        slot_hdr_t *hdr = slot_of(src);
        /* Only the header: the pages of an unused slot are never touched. */
        memset(hdr, 0, sizeof(*hdr));
        /* A discovery source is registered for every issuer; only requests show which
         * ones have no JWKS of their own and need it. */
        hdr->in_use = !src->discovery;
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
        if (src->current && apr_atomic_dec32(&src->current->refs) == 0) {
            apr_pool_destroy(src->current->pool);
        }
        src->current = NULL;
        apr_atomic_set32(&src->current_gen, 0);
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
 * replaced, a set is never reachable again, so the last release can free it unlocked. */
static void drop_ref(local_set_t *set)
{
    if (apr_atomic_dec32(&set->refs) == 0) {
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

/* Copies the current generation out of the slot without the global mutex; retries while
 * a writer is at work (a memcpy of at most slot_size bytes). Returns the generation, 0
 * when the slot was never filled or could not be read consistently. */
static apr_uint32_t read_slot(const mab_source_t *src, slot_hdr_t *hdr, apr_pool_t *p, char **buf,
                              apr_size_t *len)
{
    int tries;

    for (tries = 0; tries < 1000; tries++) {
        apr_uint32_t s1 = apr_atomic_read32(&hdr->seq), s2, gen, n;
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        atomic_thread_fence(memory_order_acquire);
        gen = hdr->gen;
        n = hdr->len;
        if (gen == 0 || n > src->kc->opts.slot_size) {
            return 0;
        }
        *buf = apr_palloc(p, n + 1);
        memcpy(*buf, (char *)(hdr + 1), n);
        (*buf)[n] = '\0';
        atomic_thread_fence(memory_order_acquire);
        s2 = apr_atomic_read32(&hdr->seq);
        if (s1 == s2) {
            *len = n;
            return gen;
        }
    }
    return 0;
}

/* Under the global mutex. */
static apr_uint32_t write_slot(slot_hdr_t *hdr, const char *body, apr_size_t len)
{
    apr_uint32_t gen = hdr->gen + 1 ? hdr->gen + 1 : 1;

    apr_atomic_inc32(&hdr->seq); /* odd: readers wait */
    atomic_thread_fence(memory_order_release);
    memcpy((char *)(hdr + 1), body, len);
    hdr->len = (apr_uint32_t)len;
    hdr->gen = gen;
    atomic_thread_fence(memory_order_release);
    apr_atomic_inc32(&hdr->seq);
    return gen;
}

/* Makes set this process's current copy for gen unless a newer one is already there. */
static void install(mab_source_t *src, local_set_t *set, apr_uint32_t gen)
{
    local_set_t *old;

    lock_local(src);
    if (src->current && src->current_gen == gen) {
        unlock_local(src);
        apr_pool_destroy(set->pool);
        return;
    }
    apr_atomic_set32(&set->refs, 1); /* the reference held by "current" */
    old = src->current;
    src->current = set;
    apr_atomic_set32(&src->current_gen, gen); /* read without the lock: see current_gen() */
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

static const char *label(const mab_source_t *src, apr_pool_t *p)
{
    return src->discovery ? apr_pstrcat(p, "of issuer ", src->uri, " (discovery)", NULL) : src->uri;
}

/* Reasons can quote what a server sent (an issuer name, a JSON error near some bytes): kept
 * to printable ASCII before they reach the log, the status page and its JSON. */
static const char *printable(apr_pool_t *p, const char *s)
{
    char *c = apr_pstrdup(p, s), *o;

    for (o = c; *o; o++) {
        if ((unsigned char)*o < 0x20 || (unsigned char)*o >= 0x7f) {
            *o = '?';
        }
    }
    return c;
}

static void record_failure(mab_source_t *src, slot_hdr_t *hdr, apr_pool_t *p, apr_uint32_t now,
                           const char *why)
{
    why = printable(p, why);
    apr_cpystrn(hdr->last_error, why, sizeof(hdr->last_error));
    hdr->failures++;
    if (hdr->gen != 0) {
        /* Stale-if-error: keep the last good keys, try again after the retry interval. */
        hdr->expires_at = mab_keyrefresh_retry_at(&src->kc->opts, now);
    }
    hdr->refresh_at = mab_keyrefresh_retry_at(&src->kc->opts, now);
    mab_log(MAB_LOG_ERR, "MAB00030: fetching key set %s failed: %s%s", label(src, p), why,
            hdr->gen ? " (keeping the previous keys)" : " (no keys yet: tokens are refused)");
}

/* The JWKS location of a discovery source: the cached jwks_uri while its metadata is
 * fresh, else from newly fetched metadata; on failure the last good one (stale-if-error).
 * NULL with *why when there is none. */
static const char *discover(mab_source_t *src, slot_hdr_t *hdr, apr_pool_t *tmp, apr_uint32_t now,
                            const char **why)
{
    const mab_keycache_opts_t *o = &src->kc->opts;
    const char *meta_url = NULL, *jwks, *bad = NULL;
    long max_age = -1;

    if (hdr->jwks_uri[0] && now < hdr->meta_expires_at) {
        return apr_pstrdup(tmp, hdr->jwks_uri);
    }
    /* Startup refuses such issuers already; this catches sections it cannot see. */
    if (!mab_fetch_url_allowed(tmp, src->uri, o->allow_insecure, &bad)) {
        *why = apr_psprintf(tmp, "the issuer URL is refused for discovery: %s", bad);
        return NULL;
    }
    jwks = mab_discovery_fetch(tmp, src->uri, o->fetch_timeout_ms, o->ca_file, &meta_url, &max_age,
                               why);
    if (jwks && !mab_fetch_url_allowed(tmp, jwks, o->allow_insecure, &bad)) {
        *why = apr_psprintf(tmp, "%s: jwks_uri %s is refused: %s", meta_url, jwks, bad);
        jwks = NULL;
    }
    if (jwks && strlen(jwks) >= sizeof(hdr->jwks_uri)) {
        *why = apr_psprintf(tmp, "%s: jwks_uri is longer than %lu bytes", meta_url,
                            (unsigned long)sizeof(hdr->jwks_uri) - 1);
        jwks = NULL;
    }
    if (jwks) {
        apr_cpystrn(hdr->jwks_uri, jwks, sizeof(hdr->jwks_uri));
        apr_cpystrn(hdr->meta_url, meta_url, sizeof(hdr->meta_url));
        hdr->meta_expires_at = now + (apr_uint32_t)mab_keyrefresh_keep_for(o, max_age);
        return jwks;
    }
    if (hdr->jwks_uri[0]) {
        mab_log(MAB_LOG_ERR,
                "MAB00033: metadata of issuer %s could not be refreshed: %s (keeping jwks_uri %s)",
                src->uri, printable(tmp, *why), hdr->jwks_uri);
        hdr->meta_expires_at = mab_keyrefresh_retry_at(o, now);
        return apr_pstrdup(tmp, hdr->jwks_uri);
    }
    return NULL;
}

/* Under the global mutex: fetch, check and store a new generation. Returns the parsed
 * set (so this process need not parse it again) or NULL. */
static local_set_t *fetch_and_store(mab_source_t *src, slot_hdr_t *hdr, apr_uint32_t now,
                                    int refetch, apr_uint32_t *gen_out)
{
    mab_keycache_t *kc = src->kc;
    apr_pool_t *tmp = new_private_pool();
    const char *why = NULL, *url = src->uri;
    char *body = NULL;
    apr_size_t len = 0, cap = kc->opts.slot_size;
    long max_age = -1;
    local_set_t *set = NULL;

    hdr->last_attempt = now;
    hdr->fetches++;
    hdr->refetches += refetch ? 1 : 0;
    if (!tmp) {
        apr_cpystrn(hdr->last_error, "out of memory", sizeof(hdr->last_error));
        hdr->failures++;
        return NULL;
    }
    if (src->discovery && (url = discover(src, hdr, tmp, now, &why)) == NULL) {
        record_failure(src, hdr, tmp, now, why);
        goto cleanup;
    }
    /* Fetch a bit more than fits, so a key set that is too large can say how large. */
    cap = cap < MAB_FETCH_MAX_BYTES ? MAB_FETCH_MAX_BYTES : cap;
    if (mab_fetch_ex(tmp, url, kc->opts.fetch_timeout_ms, cap, kc->opts.ca_file, &body, &len,
                     &max_age, &why)
        != 0) {
        record_failure(src, hdr, tmp, now,
                       src->discovery ? apr_pstrcat(tmp, url, ": ", why, NULL) : why);
        goto cleanup;
    }
    if (len > kc->opts.slot_size) {
        why = apr_psprintf(tmp,
                           "key set is %lu bytes, more than AuthBearerCacheSize (%lu bytes): set "
                           "AuthBearerCacheSize %luK or more",
                           (unsigned long)len, (unsigned long)kc->opts.slot_size,
                           (unsigned long)((len + 1023) / 1024));
        record_failure(src, hdr, tmp, now, why);
        goto cleanup;
    }
    set = parse_set(src, body, len, 1, tmp, &why);
    if (!set) {
        record_failure(src, hdr, tmp, now, why);
        goto cleanup;
    }
    hdr->fetched_at = now;
    mab_keyrefresh_schedule(&kc->opts, now, max_age, &hdr->expires_at, &hdr->refresh_at);
    hdr->last_error[0] = '\0';
    /* Published last: a process that sees the new gen finds the bytes already there. */
    *gen_out = write_slot(hdr, body, len);
    mab_log(MAB_LOG_INFO, "MAB00031: key set %s fetched: %d key(s), %d skipped, %lu bytes",
            src->discovery ? url : src->uri, set->ks->nkeys, set->ks->nskipped, (unsigned long)len);
cleanup:
    apr_pool_destroy(tmp);
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
    if (set && gen && src->current_gen != gen) {
        set = NULL;
    }
    if (set) {
        apr_atomic_inc32(&set->refs);
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
    slot_hdr_t *hdr;
    apr_uint32_t gen;

    if (!kc->base || !src) {
        return 0;
    }
    hdr = slot_of(src);
    gen = apr_atomic_read32(&hdr->gen);
    /* The warm path's own conditions: anything else goes through mab_keycache_get. */
    if (gen == 0 || now >= apr_atomic_read32(&hdr->expires_at)
        || apr_atomic_read32(&src->current_gen) != gen) {
        return 0;
    }
    return gen;
}

/* Parses the slot's current generation into this process unless it has it already. */
static void adopt_shared(mab_source_t *src, slot_hdr_t *hdr, apr_uint32_t local_gen)
{
    apr_pool_t *copy_pool;
    char *copy = NULL;
    apr_size_t len = 0;
    apr_uint32_t gen;
    local_set_t *set;
    const char *why = NULL;

    gen = apr_atomic_read32(&hdr->gen);
    if (gen == 0 || gen == local_gen || (copy_pool = new_private_pool()) == NULL) {
        return;
    }
    gen = read_slot(src, hdr, copy_pool, &copy, &len);
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
    slot_hdr_t *hdr;
    apr_uint32_t now, gen, local_gen;
    int have_local;
    const mab_keyset_t *ks;

    *err = NULL;
    if (!kc->base) {
        *err = "key cache is not initialised";
        return NULL;
    }
    hdr = slot_of(src);
    now = (apr_uint32_t)apr_time_sec(apr_time_now());
    gen = apr_atomic_read32(&hdr->gen);

    /* Warm path: shared copy fresh and already parsed here. No global lock, no parse. */
    if (gen != 0 && !want_refresh && now < apr_atomic_read32(&hdr->expires_at)) {
        ks = hold_current(src, pool, gen);
        if (ks) {
            return ks;
        }
    }
    if (!apr_atomic_read32(&hdr->in_use)) {
        apr_atomic_set32(&hdr->in_use, 1);
    }
    lock_local(src);
    have_local = src->current != NULL;
    local_gen = src->current_gen;
    unlock_local(src);

    /* Checked without the mutex first, so a flood of unknown kids inside the refetch
     * interval does not even contend for it; fetch_due decides under it. */
    if (gen == 0
        || now >= apr_atomic_read32(&hdr->expires_at)
                      + mab_keyrefresh_stale_grace(&kc->opts, kc->background)
        || (want_refresh
            && mab_keyrefresh_refetch_allowed(&kc->opts,
                                              now - apr_atomic_read32(&hdr->last_attempt)))) {
        /* With keys in hand, never queue behind another process's fetch. */
        apr_status_t rv =
            have_local ? apr_global_mutex_trylock(kc->mutex) : apr_global_mutex_lock(kc->mutex);
        if (rv == APR_SUCCESS) {
            if (mab_keyrefresh_fetch_due(&kc->opts, kc->background, hdr->gen, hdr->expires_at,
                                         hdr->last_attempt, now, want_refresh)) {
                apr_uint32_t new_gen = 0;
                local_set_t *set =
                    fetch_and_store(src, hdr, now, want_refresh && hdr->gen, &new_gen);
                if (set) {
                    install(src, set, new_gen);
                    local_gen = new_gen;
                }
            }
            if (hdr->gen == 0) {
                *err = apr_pstrdup(pool, hdr->last_error[0] ? hdr->last_error : "never fetched");
            }
            apr_global_mutex_unlock(kc->mutex);
        }
    }
    /* Another process (or the watchdog) may have stored a newer generation. */
    adopt_shared(src, hdr, local_gen);
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
        slot_hdr_t *hdr = slot_of(src);
        apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now()), new_gen = 0;
        local_set_t *set = NULL;
        int due;

        if (!apr_atomic_read32(&hdr->in_use)) {
            continue;
        }
        due = mab_keyrefresh_maintain_due(apr_atomic_read32(&hdr->gen),
                                          apr_atomic_read32(&hdr->refresh_at),
                                          apr_atomic_read32(&hdr->last_attempt), now);
        if (!due || apr_global_mutex_lock(kc->mutex) != APR_SUCCESS) {
            continue;
        }
        /* Checked again under the mutex: a request may have fetched meanwhile. */
        if (mab_keyrefresh_maintain_due(hdr->gen, hdr->refresh_at, hdr->last_attempt, now)) {
            set = fetch_and_store(src, hdr, now, 0, &new_gen);
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

/* Copies a string the writer may be changing: always terminated, maybe torn (display only). */
static const char *snap(apr_pool_t *p, const char *s, apr_size_t size)
{
    char *c = apr_pstrmemdup(p, s, size);

    c[size - 1] = '\0';
    return apr_pstrdup(p, c);
}

void mab_keycache_info(mab_keycache_t *kc, mab_source_t *src, apr_pool_t *p, mab_source_info_t *out)
{
    slot_hdr_t *hdr;
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
    hdr = slot_of(src);
    out->in_use = (int)apr_atomic_read32(&hdr->in_use);
    out->fetched_at = secs(hdr->fetched_at);
    out->expires_at = secs(hdr->expires_at);
    out->last_attempt = secs(hdr->last_attempt);
    out->fetches = hdr->fetches;
    out->failures = hdr->failures;
    out->refetches = hdr->refetches;
    out->last_error = snap(p, hdr->last_error, sizeof(hdr->last_error));
    out->meta_url = snap(p, hdr->meta_url, sizeof(hdr->meta_url));
    out->jwks_uri = src->discovery ? snap(p, hdr->jwks_uri, sizeof(hdr->jwks_uri)) : src->uri;
    if (read_slot(src, hdr, p, &buf, &len)) {
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
