#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "mab_jwks.h"
#include "mab_fetch.h"
#include "mab_keycache.h"
#include "mab_keyfetch.h"
#include "mab_keyrefresh.h"
#include "mab_keyslot.h"
#include "mab_keystore.h"
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
    /* Per process, after fork. lock guards current and the fetcher's state below; the
     * locks live here (pconf) rather than in pchild, since a fetcher thread still busy
     * when the child exits may outlive pchild's cleanups. */
    int ready; /* lock and the conditions are initialised */
    pthread_mutex_t lock;
    local_set_t *current;             /* under lock */
    _Atomic apr_uint32_t current_gen; /* written under lock, read without by current_gen() */
    /* This process's fetcher of this source: a thread of its own, so a slow issuer holds
     * up nothing but its own fetch, and requests never run a fetch themselves. */
    pthread_cond_t job_cv;  /* a job was posted, or stop */
    pthread_cond_t done_cv; /* a job was done, or the thread ended */
    pid_t fetcher_pid;      /* the process the thread runs in; 0: none */
    pthread_t fetcher;
    int running, stop, busy;
    unsigned pending;                    /* JOB_* bits not yet taken */
    unsigned long posted, done, fetched; /* tickets of jobs posted and done; fetches made */
    uint64_t test_claim;                 /* mab_keycache_hold_claim */
};

#define JOB_REQUEST 1u  /* a request has no usable keys, or they expired */
#define JOB_REFETCH 2u  /* an unknown kid asks for a refetch */
#define JOB_MAINTAIN 4u /* the watchdog: keys due for refresh */

struct mab_keycache_t {
    apr_pool_t *pconf;
    apr_array_header_t *sources; /* mab_source_t * */
    apr_shm_t *shm;
    char *base;
    apr_size_t stride;
    mab_keycache_opts_t opts;
    int background;                /* mab_keycache_maintain runs off the request path */
    mab_keycache_t *next_forkable; /* the registry of caches whose locks fork takes */
    int forkable;
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

static apr_status_t child_exit(void *data);
static void stop_fetchers(mab_keycache_t *kc, long wait_ms);
static void drop_local_sets(mab_keycache_t *kc);

int mab_keycache_init(mab_keycache_t *kc, apr_pool_t *pconf, const mab_keycache_opts_t *opts,
                      const char **err)
{
    apr_size_t size;
    apr_status_t rv;
    int i;

    /* New shared memory starts at generation 0 again: parsed copies of the old one go,
     * and so do fetchers that would write to the old slots. */
    stop_fetchers(kc, -1);
    drop_local_sets(kc);
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

/* Whether keys of the slot's generation may be used at now: there are some, and they
 * are not more than max-stale past the expiry their last successful fetch gave them. */
static int slot_usable(const mab_keycache_t *kc, const mab_keyslot_t *slot, apr_uint32_t now)
{
    apr_uint32_t fresh = mab_keyslot_get(&slot->fresh_until);

    return mab_keyslot_gen(slot) != 0 && fresh != 0
           && now < fresh + (apr_uint32_t)kc->opts.max_stale_s;
}

int mab_keycache_load_stored(mab_keycache_t *kc, apr_pool_t *ptemp)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    int i, loaded = 0;

    if (!kc->base || !kc->opts.store_dir) {
        return 0;
    }
    for (i = 0; i < kc->sources->nelts; i++) {
        mab_source_t *src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
        mab_keyslot_t *slot = slot_of(src);
        mab_keystore_rec_t rec;
        const char *why = NULL;
        mab_keyset_t *ks;
        int rc;

        /* Files are read afresh at startup (and never kept): a copy from the last run could
         * hide a key replaced under the same kid. */
        if (!src->discovery && !mab_fetch_is_url(src->uri)) {
            continue;
        }
        rc = mab_keystore_load(ptemp, kc->opts.store_dir, src->uri, src->discovery,
                               kc->opts.slot_size, &rec, &why);
        if (rc == 0) {
            continue;
        }
        if (rc > 0 && now >= rec.expires_at + (apr_uint32_t)kc->opts.max_stale_s) {
            mab_log(MAB_LOG_INFO,
                    "MAB00037: kept key set %s not used: it expired more than "
                    "AuthBearerJWKSMaxStale ago",
                    src->uri);
            continue;
        }
        /* Parsed here once, so a bad file is refused now rather than in every child. */
        if (rc > 0
            && (ks = mab_jwks_parse_ex(ptemp, rec.body, rec.len, src->uri, 0, &why)) == NULL) {
            rc = -1;
        }
        if (rc < 0) {
            mab_log(MAB_LOG_WARNING, "MAB00036: kept key set %s not used: %s (it is fetched)",
                    src->uri, mab_log_printable(ptemp, why));
            continue;
        }
        /* Before fork, single-threaded: no claim needed. The times are the fetch's own, so
         * keys kept across a restart are refreshed when they would have been anyway. */
        mab_keyslot_set(&slot->fetched_at, rec.fetched_at);
        mab_keyslot_set(&slot->expires_at, rec.expires_at);
        mab_keyslot_set(&slot->fresh_until, rec.expires_at);
        mab_keyslot_set(&slot->refresh_at, rec.refresh_at);
        mab_keyslot_set(&slot->in_use, 1);
        if (src->discovery) {
            /* meta_expires_at stays 0: the metadata is asked again at the first refresh,
             * and this jwks_uri is kept if that fails */
            mab_keyslot_put_text(slot->jwks_uri, sizeof(slot->jwks_uri), rec.jwks_uri);
            mab_keyslot_put_text(slot->meta_url, sizeof(slot->meta_url), rec.meta_url);
        }
        mab_keyslot_publish(slot, rec.body, rec.len);
        mab_log(MAB_LOG_INFO,
                "MAB00038: key set %s kept from the last run: %d key(s), fetched %ld s ago",
                src->uri, ks->nkeys, (long)now - (long)rec.fetched_at);
        loaded++;
    }
    return loaded;
}

/* A child's parsed keys go with the child, so leak checkers see a clean exit. */
static void drop_local_sets(mab_keycache_t *kc)
{
    int i;

    for (i = 0; i < kc->sources->nelts; i++) {
        mab_source_t *src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
        local_set_t *old;

        if (src->ready) {
            pthread_mutex_lock(&src->lock);
        }
        old = src->current;
        src->current = NULL;
        atomic_store_explicit(&src->current_gen, 0, memory_order_relaxed);
        if (src->ready) {
            pthread_mutex_unlock(&src->lock);
        }
        if (old && atomic_fetch_sub_explicit(&old->refs, 1, memory_order_acq_rel) == 1) {
            apr_pool_destroy(old->pool);
        }
    }
}

/* A fork while a fetcher thread holds a source's lock would leave it locked forever in the
 * new process (mod_cgi forks from a child; tests fork): fork takes every lock first. */
static pthread_mutex_t forkable_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t forkable_once = PTHREAD_ONCE_INIT;
static mab_keycache_t *forkable;

static void each_lock(int take)
{
    mab_keycache_t *kc;
    int i;

    for (kc = forkable; kc; kc = kc->next_forkable) {
        for (i = 0; i < kc->sources->nelts; i++) {
            mab_source_t *src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
            if (src->ready) {
                (take ? pthread_mutex_lock : pthread_mutex_unlock)(&src->lock);
            }
        }
    }
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&forkable_lock);
    each_lock(1);
}

static void fork_done(void)
{
    each_lock(0);
    pthread_mutex_unlock(&forkable_lock);
}

static void fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_done, fork_done);
}

static void set_forkable(mab_keycache_t *kc, int on)
{
    mab_keycache_t **at;

    pthread_once(&forkable_once, fork_handlers);
    pthread_mutex_lock(&forkable_lock);
    if (on && !kc->forkable) {
        kc->next_forkable = forkable;
        forkable = kc;
    }
    for (at = &forkable; !on && kc->forkable && *at; at = &(*at)->next_forkable) {
        if (*at == kc) {
            *at = kc->next_forkable;
            break;
        }
    }
    kc->forkable = on;
    pthread_mutex_unlock(&forkable_lock);
}

static apr_status_t child_exit(void *data)
{
    /* A fetcher busy with a slow issuer is not waited for: the child's exit would wait
     * on the issuer. It touches nothing of pchild, and goes with the process. */
    stop_fetchers(data, 500);
    drop_local_sets(data);
    set_forkable(data, 0);
    return APR_SUCCESS;
}

static int init_source_locks(mab_source_t *src)
{
    pthread_condattr_t ca;
    int rc;

    if (src->ready) {
        return 0;
    }
    if (pthread_mutex_init(&src->lock, NULL) != 0) {
        return -1;
    }
    /* The waits are bounded on the monotonic clock: a clock step must not stretch them. */
    rc = pthread_condattr_init(&ca);
    rc = rc ? rc : pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = rc ? rc : pthread_cond_init(&src->job_cv, &ca);
    rc = rc ? rc : pthread_cond_init(&src->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    src->ready = rc == 0;
    return rc == 0 ? 0 : -1;
}

int mab_keycache_child_init(mab_keycache_t *kc, apr_pool_t *pchild)
{
    int i;

    apr_pool_cleanup_register(pchild, kc, child_exit, apr_pool_cleanup_null);
    for (i = 0; i < kc->sources->nelts; i++) {
        if (init_source_locks(APR_ARRAY_IDX(kc->sources, i, mab_source_t *)) != 0) {
            return -1;
        }
    }
    set_forkable(kc, 1);
    return 0;
}

static void lock_local(mab_source_t *src)
{
    if (src->ready) {
        pthread_mutex_lock(&src->lock);
    }
}

static void unlock_local(mab_source_t *src)
{
    if (src->ready) {
        pthread_mutex_unlock(&src->lock);
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
    /* The issuer's withdrawal of its keys is a generation too: no keys. */
    set->ks = mab_keyfetch_is_empty(buf, len)
                  ? apr_pcalloc(pool, sizeof(*set->ks))
                  : mab_jwks_parse_ex(pool, buf, len, src->uri, log_skipped, err);
    if (!set->ks) {
        *err = apr_pstrdup(err_pool, *err); /* outlives the pool it came from */
        apr_pool_destroy(pool);
        return NULL;
    }
    return set;
}

/* By the claim's holder: fetch, check and store a new generation. Returns the parsed set
 * (so this process need not parse it again) or NULL. */
static local_set_t *fetch_and_store(mab_source_t *src, mab_keyslot_t *slot, uint64_t claim,
                                    apr_uint32_t now, int refetch, apr_uint32_t *gen_out)
{
    apr_pool_t *pool = NULL;
    mab_keyset_t *ks = mab_keyfetch(slot, claim, src->uri, src->discovery, src->slot,
                                    &src->kc->opts, now, refetch, &pool, gen_out);
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
            /* jansson's reason can quote the issuer's bytes: printable ASCII only. */
            mab_log(MAB_LOG_ERR, "MAB00032: cached key set %s does not parse: %s", src->uri,
                    mab_log_printable(copy_pool, why ? why : "-"));
        }
    }
    apr_pool_destroy(copy_pool);
}

/* --- fetching: one thread per source and process, one fetch per source at a time ----------- */

/* A claim older than this is a fetch that died or hangs past every timeout: discovery
 * makes up to three requests of the fetch timeout each. */
static apr_uint32_t claim_stale_after(const mab_keycache_opts_t *o)
{
    return (apr_uint32_t)(3 * o->fetch_timeout_ms / 1000 + 30);
}

/* What the slot says a job should do now; read again once the claim is held. */
static int job_due(mab_source_t *src, mab_keyslot_t *slot, unsigned kinds, apr_uint32_t now)
{
    mab_keycache_t *kc = src->kc;
    apr_uint32_t gen = mab_keyslot_gen(slot), last = mab_keyslot_get(&slot->last_attempt);

    if ((kinds & JOB_MAINTAIN)
        && mab_keyrefresh_maintain_due(gen, mab_keyslot_get(&slot->refresh_at), last, now)) {
        return 1;
    }
    /* Keys that may not be used (none, withdrawn, past max-stale) are retried like a
     * source that never worked: once per retry interval. */
    if ((kinds & (JOB_REQUEST | JOB_REFETCH))
        && mab_keyrefresh_fetch_due(&kc->opts, kc->background, slot_usable(kc, slot, now) ? gen : 0,
                                    mab_keyslot_get(&slot->expires_at), last, now,
                                    (kinds & JOB_REFETCH) != 0)) {
        return 1;
    }
    /* An unknown kid is an unknown kid, keys or not: at most once per refetch interval. */
    return (kinds & JOB_REFETCH) && mab_keyrefresh_refetch_allowed(&kc->opts, now - last);
}

/* Claims the slot and fetches if the job is still due. Returns 1 when it fetched. */
static int run_job(mab_source_t *src, unsigned kinds)
{
    mab_keyslot_t *slot = slot_of(src);
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now()), new_gen = 0;
    uint64_t claim, stale = 0;
    local_set_t *set = NULL;
    int fetched = 0;

    if (!job_due(src, slot, kinds, now)
        || (claim = mab_keyslot_claim(slot, now, claim_stale_after(&src->kc->opts), &stale)) == 0) {
        return 0; /* nothing to do, or another fetch of this source is under way */
    }
    if (stale) {
        mab_log(MAB_LOG_WARNING,
                "MAB00039: fetch of key set %s by process %lu (started %lu s ago) taken over",
                src->uri, (unsigned long)(stale >> 32),
                (unsigned long)(apr_uint32_t)(now - (apr_uint32_t)stale));
    }
    /* Checked again: another process may have fetched between the first look and the claim. */
    if (job_due(src, slot, kinds, now)) {
        set = fetch_and_store(src, slot, claim, now,
                              (kinds & JOB_REFETCH) && mab_keyslot_gen(slot) != 0, &new_gen);
        fetched = 1;
    }
    mab_keyslot_unclaim(slot, claim);
    if (set) {
        install(src, set, new_gen);
    }
    return fetched;
}

static void *fetcher_main(void *data)
{
    mab_source_t *src = data;

    pthread_mutex_lock(&src->lock);
    for (;;) {
        unsigned kinds;
        unsigned long ticket;
        int n;

        while (!src->pending && !src->stop) {
            pthread_cond_wait(&src->job_cv, &src->lock);
        }
        if (src->stop) {
            break;
        }
        kinds = src->pending;
        ticket = src->posted;
        src->pending = 0;
        src->busy = 1;
        pthread_mutex_unlock(&src->lock);
        n = run_job(src, kinds);
        /* OpenSSL's state for this thread (its error queue) is freed after every job: a
         * process forked meanwhile would inherit it without the thread that owns it. */
        OPENSSL_thread_stop();
        pthread_mutex_lock(&src->lock);
        src->busy = 0;
        src->fetched += (unsigned long)n;
        src->done = ticket;
        pthread_cond_broadcast(&src->done_cv);
    }
    src->running = 0;
    pthread_cond_broadcast(&src->done_cv);
    pthread_mutex_unlock(&src->lock);
    return NULL;
}

/* Under src->lock: this process's fetcher of src, started on first use. A process forked
 * from one that had it inherits the state but not the thread. */
static int ensure_fetcher(mab_source_t *src)
{
    pthread_attr_t attr;
    pid_t me = getpid();
    int rc;

    if (src->fetcher_pid == me && src->running) {
        return 0;
    }
    src->pending = 0;
    src->busy = 0;
    src->stop = 0;
    src->running = 1;
    /* Blocks no signal more than the creating thread (httpd's worker mask), and never
     * needs a deep stack: libcurl and OpenSSL, no recursion of ours. */
    rc = pthread_attr_init(&attr);
    rc = rc ? rc : pthread_attr_setstacksize(&attr, 512 * 1024);
    rc = rc ? rc : pthread_create(&src->fetcher, &attr, fetcher_main, src);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        src->running = 0;
        src->fetcher_pid = 0;
        return -1;
    }
    src->fetcher_pid = me;
    return 0;
}

/* Hands the job to this process's fetcher of src and returns its ticket. Without one
 * (locks not set up, no thread to be had) the job runs here, inline. */
static unsigned long post_job(mab_source_t *src, unsigned kinds)
{
    unsigned long ticket;

    if (!src->ready) {
        run_job(src, kinds);
        return 0;
    }
    pthread_mutex_lock(&src->lock);
    if (ensure_fetcher(src) != 0) {
        pthread_mutex_unlock(&src->lock);
        mab_log(MAB_LOG_ERR,
                "MAB00043: cannot start a fetcher thread for key set %s: the request fetches "
                "itself",
                src->uri);
        run_job(src, kinds);
        return 0;
    }
    src->pending |= kinds;
    ticket = ++src->posted;
    pthread_cond_signal(&src->job_cv);
    pthread_mutex_unlock(&src->lock);
    return ticket;
}

static void deadline_after(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* A request's wait for a fetch of its own source, at most MAB_COLD_WAIT_MS: until the
 * slot has a new generation or a new failure (g0, f0: before the request asked), or no
 * fetch is under way anywhere. Woken by this process's fetcher; another process's fetch
 * is noticed within a slice. */
static void wait_for_fetch(mab_source_t *src, mab_keyslot_t *slot, apr_uint32_t g0, apr_uint32_t f0)
{
    struct timespec end, now, slice;

    if (!src->ready) {
        return; /* the job ran inline */
    }
    deadline_after(&end, MAB_COLD_WAIT_MS);
    pthread_mutex_lock(&src->lock);
    for (;;) {
        int local = src->fetcher_pid == getpid() && (src->pending || src->busy);
        uint64_t claim = atomic_load_explicit(&slot->claim, memory_order_relaxed);
        if (mab_keyslot_gen(slot) != g0 || mab_keyslot_get(&slot->failures) != f0
            || (!local && !claim)) {
            break;
        }
        /* A fetch that has run for the whole bound already holds up no one any more: a
         * flood of requests for a slow issuer parks workers for MAB_COLD_WAIT_MS once, not
         * for as long as the issuer takes. */
        if (claim
            && (apr_uint32_t)apr_time_sec(apr_time_now()) - (apr_uint32_t)claim
                   >= MAB_COLD_WAIT_MS / 1000) {
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!before(&now, &end)) {
            break;
        }
        deadline_after(&slice, 20);
        pthread_cond_timedwait(&src->done_cv, &src->lock, before(&slice, &end) ? &slice : &end);
    }
    pthread_mutex_unlock(&src->lock);
}

/* Child exit or a new configuration: fetchers end once their fetch is done. wait_ms < 0
 * waits for them all; else a fetcher still busy then is left to the process's exit. */
static void stop_fetchers(mab_keycache_t *kc, long wait_ms)
{
    struct timespec end;
    int i;

    deadline_after(&end, wait_ms < 0 ? 0 : wait_ms);
    for (i = 0; i < kc->sources->nelts; i++) {
        mab_source_t *src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
        int ended;

        if (!src->ready) {
            continue;
        }
        pthread_mutex_lock(&src->lock);
        if (src->fetcher_pid != getpid()) {
            pthread_mutex_unlock(&src->lock);
            continue;
        }
        src->stop = 1;
        pthread_cond_signal(&src->job_cv);
        while (src->running) {
            if (wait_ms < 0) {
                pthread_cond_wait(&src->done_cv, &src->lock);
            }
            else if (pthread_cond_timedwait(&src->done_cv, &src->lock, &end) == ETIMEDOUT) {
                break;
            }
        }
        ended = !src->running;
        src->fetcher_pid = 0;
        pthread_mutex_unlock(&src->lock);
        if (ended) {
            pthread_join(src->fetcher, NULL);
        }
        else {
            pthread_detach(src->fetcher);
        }
    }
}

/* Why there are no keys to hand out, for the request's 401 and its log line. */
static const char *no_keys(mab_keycache_t *kc, mab_keyslot_t *slot, apr_pool_t *pool,
                           apr_uint32_t now, int waited)
{
    const char *last = mab_keyslot_has_text(slot->last_error)
                           ? mab_keyslot_text(pool, slot->last_error, sizeof(slot->last_error))
                           : NULL;

    if (mab_keyslot_gen(slot) != 0 && mab_keyslot_get(&slot->fresh_until) == 0) {
        return "no keys available (the issuer's key set is empty)";
    }
    if (mab_keyslot_gen(slot) != 0) {
        return apr_psprintf(pool,
                            "no keys available (the keys expired more than "
                            "AuthBearerJWKSMaxStale, %ld s, ago%s%s)",
                            kc->opts.max_stale_s, last ? "; last error: " : "", last ? last : "");
    }
    if (waited && mab_keyslot_claimed(slot)) {
        return apr_psprintf(pool, "no keys available (still fetching after %d ms)",
                            MAB_COLD_WAIT_MS);
    }
    (void)now;
    return last ? last : "never fetched";
}

const mab_keyset_t *mab_keycache_get(mab_keycache_t *kc, mab_source_t *src, apr_pool_t *pool,
                                     int want_refresh, const char **err)
{
    mab_keyslot_t *slot;
    apr_uint32_t now, gen, failures, local_gen;
    int usable, waited = 0;
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
        if (ks && ks->nkeys > 0) {
            return ks;
        }
        if (ks) {
            *err = no_keys(kc, slot, pool, now, 0);
            return NULL;
        }
    }
    if (!mab_keyslot_get(&slot->in_use)) {
        mab_keyslot_set(&slot->in_use, 1);
    }
    failures = mab_keyslot_get(&slot->failures);
    usable = slot_usable(kc, slot, now);

    /* Checked without any lock first, so a flood of unknown kids inside the refetch
     * interval does not even reach the fetcher; it decides again under the claim. */
    if (job_due(src, slot, want_refresh ? JOB_REFETCH : JOB_REQUEST, now)) {
        post_job(src, want_refresh ? JOB_REFETCH : JOB_REQUEST);
        /* With usable keys, an expired set is refreshed behind the request's back; only
         * a request that cannot be answered without the fetch waits for it. */
        if (!usable || want_refresh) {
            wait_for_fetch(src, slot, gen, failures);
            waited = 1;
        }
    }
    else if (!usable && mab_keyslot_claimed(slot)) {
        wait_for_fetch(src, slot, gen, failures); /* someone else's fetch of this source */
        waited = 1;
    }
    now = (apr_uint32_t)apr_time_sec(apr_time_now());
    if (!slot_usable(kc, slot, now)) {
        *err = no_keys(kc, slot, pool, now, waited);
        return NULL;
    }
    lock_local(src);
    local_gen = atomic_load_explicit(&src->current_gen, memory_order_relaxed);
    unlock_local(src);
    /* Another process (or a fetcher) may have stored a newer generation. */
    adopt_shared(src, slot, local_gen);
    ks = hold_current(src, pool, 0);
    if (!ks || ks->nkeys == 0) {
        *err = ks ? no_keys(kc, slot, pool, now, waited) : "no keys available";
        return NULL;
    }
    return ks;
}

int mab_keycache_maintain(mab_keycache_t *kc)
{
    unsigned long *ticket, *before;
    int i, fetched = 0;

    if (!kc->base) {
        return 0;
    }
    ticket = calloc((size_t)kc->sources->nelts, sizeof(*ticket));
    before = calloc((size_t)kc->sources->nelts, sizeof(*before));
    if (!ticket || !before) {
        free(ticket);
        free(before);
        return 0;
    }
    /* Every due source at once, each in its own fetcher: one slow issuer delays no
     * other's refresh. */
    for (i = 0; i < kc->sources->nelts; i++) {
        mab_source_t *src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);
        mab_keyslot_t *slot = slot_of(src);
        apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());

        if (!mab_keyslot_get(&slot->in_use) || !job_due(src, slot, JOB_MAINTAIN, now)) {
            continue;
        }
        if (!src->ready) {
            fetched += run_job(src, JOB_MAINTAIN);
            continue;
        }
        pthread_mutex_lock(&src->lock);
        before[i] = src->fetched;
        pthread_mutex_unlock(&src->lock);
        ticket[i] = post_job(src, JOB_MAINTAIN);
    }
    /* Then waited for, so the watchdog's next tick never piles a job on a busy fetcher. */
    for (i = 0; i < kc->sources->nelts; i++) {
        mab_source_t *src = APR_ARRAY_IDX(kc->sources, i, mab_source_t *);

        if (!ticket[i]) {
            continue;
        }
        pthread_mutex_lock(&src->lock);
        while (src->running && src->fetcher_pid == getpid() && src->done < ticket[i]) {
            pthread_cond_wait(&src->done_cv, &src->lock);
        }
        fetched += (int)(src->fetched - before[i]);
        pthread_mutex_unlock(&src->lock);
    }
    free(ticket);
    free(before);
    return fetched;
}

int mab_keycache_hold_claim(mab_keycache_t *kc, mab_source_t *src, int on)
{
    mab_keyslot_t *slot;
    uint64_t stale = 0;

    if (!kc->base) {
        return 0;
    }
    slot = slot_of(src);
    if (on) {
        src->test_claim = mab_keyslot_claim(slot, (apr_uint32_t)apr_time_sec(apr_time_now()),
                                            claim_stale_after(&kc->opts), &stale);
        return src->test_claim != 0;
    }
    mab_keyslot_unclaim(slot, src->test_claim);
    src->test_claim = 0;
    return 1;
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
    /* Without the claim (the status page must not wait for a hanging fetch): each number
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
