/* The introspection cache's protocol against an in-memory store: one call per token however
 * many threads ask at once, another process's pending call awaited instead of repeated, the
 * in-flight bound refusing at once, a failing store refusing rather than calling around it,
 * expiry, and cache 0 asking every time. Threaded: also run under ThreadSanitizer. */
#include <stdatomic.h>
#include <stdlib.h>

#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "mab_introspect_cache.h"
#include "tap.h"
#include "testutil.h"

/* --- an in-memory store, with a switch to make it fail ------------------------------------- */
#define SLOTS 64
typedef struct {
    unsigned char key[64];
    unsigned keylen;
    unsigned char val[MAB_ICACHE_MAX_VALUE];
    unsigned len;
    long long expires;
    int used;
} slot_t;

typedef struct {
    slot_t slots[SLOTS];
    apr_thread_mutex_t *m;
    int down;
    long long now; /* the store's clock, for expiry */
    atomic_int gets, puts;
} mem_t;

static slot_t *find(mem_t *s, const unsigned char *key, unsigned keylen)
{
    int i;

    for (i = 0; i < SLOTS; i++) {
        if (s->slots[i].used && s->slots[i].keylen == keylen
            && memcmp(s->slots[i].key, key, keylen) == 0) {
            return &s->slots[i];
        }
    }
    return NULL;
}

static int mem_get(void *ctx, const unsigned char *key, unsigned keylen, unsigned char *buf,
                   unsigned *len, apr_pool_t *p)
{
    mem_t *s = ctx;
    slot_t *e;
    int rc = 1;

    atomic_fetch_add(&s->gets, 1);
    apr_thread_mutex_lock(s->m);
    if (s->down) {
        rc = -1;
    }
    else if ((e = find(s, key, keylen)) != NULL && e->expires > s->now && e->len <= *len) {
        memcpy(buf, e->val, e->len);
        *len = e->len;
        rc = 0;
    }
    apr_thread_mutex_unlock(s->m);
    return rc;
}

static int mem_put(void *ctx, const unsigned char *key, unsigned keylen, long long expires,
                   const unsigned char *val, unsigned len, apr_pool_t *p)
{
    mem_t *s = ctx;
    slot_t *e;
    int i, rc = 0;

    atomic_fetch_add(&s->puts, 1);
    apr_thread_mutex_lock(s->m);
    if (s->down) {
        rc = -1;
    }
    else {
        e = find(s, key, keylen);
        for (i = 0; !e && i < SLOTS; i++) {
            if (!s->slots[i].used) {
                e = &s->slots[i];
            }
        }
        if (!e) {
            rc = -1;
        }
        else {
            memcpy(e->key, key, keylen);
            e->keylen = keylen;
            memcpy(e->val, val, len);
            e->len = len;
            e->expires = expires;
            e->used = 1;
        }
    }
    apr_thread_mutex_unlock(s->m);
    return rc;
}

static int mem_del(void *ctx, const unsigned char *key, unsigned keylen, apr_pool_t *p)
{
    mem_t *s = ctx;
    slot_t *e;

    apr_thread_mutex_lock(s->m);
    if ((e = find(s, key, keylen)) != NULL) {
        e->used = 0;
    }
    apr_thread_mutex_unlock(s->m);
    return s->down ? -1 : 0;
}

/* --- the endpoint: counts calls, can be slow or fail ---------------------------------------- */
typedef struct {
    atomic_int calls, concurrent, max_concurrent;
    atomic_int gate;    /* while set, calls wait: the test decides when they end */
    atomic_int entered; /* calls that reached the endpoint */
    int fail;
    long sleep_ms;
    long long until;
} ep_t;

static int call(void *ctx, apr_pool_t *p, const unsigned char **val, unsigned *len,
                long long *until, const char **detail)
{
    ep_t *ep = ctx;
    int c = atomic_fetch_add(&ep->concurrent, 1) + 1, m;

    atomic_fetch_add(&ep->calls, 1);
    atomic_fetch_add(&ep->entered, 1);
    while (atomic_load(&ep->gate)) {
        apr_sleep(apr_time_from_msec(1));
    }
    while ((m = atomic_load(&ep->max_concurrent)) < c
           && !atomic_compare_exchange_weak(&ep->max_concurrent, &m, c)) {
    }
    if (ep->sleep_ms) {
        apr_sleep(apr_time_from_msec(ep->sleep_ms));
    }
    atomic_fetch_sub(&ep->concurrent, 1);
    if (ep->fail) {
        *detail = "endpoint said 500";
        return -1;
    }
    *val = (const unsigned char *)"{\"active\":true}";
    *len = 15;
    *until = ep->until;
    return 0;
}

static mem_t mem;
static mab_kvstore_t store = {mem_get, mem_put, mem_del, NULL, NULL, &mem};
static const long long NOW = 1000000;

static void digest_of(unsigned char *d, int n)
{
    memset(d, 0, MAB_ICACHE_DIGEST_LEN);
    d[0] = (unsigned char)n;
    d[1] = (unsigned char)(n >> 8);
    d[31] = 0x5a;
}

typedef struct {
    mab_ic_t *ic;
    ep_t *ep;
    int token;
    mab_ic_result_e rc;
    mab_ic_from_e from;
    apr_pool_t *pool;
} job_t;

static atomic_int busy; /* lookups refused by the bound */

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    job_t *j = data;
    unsigned char d[MAB_ICACHE_DIGEST_LEN];
    const unsigned char *val = NULL;
    const char *detail = NULL;
    unsigned len = 0;

    digest_of(d, j->token);
    j->rc = mab_ic_lookup(j->ic, &store, d, NOW, 1, call, j->ep, j->pool, &val, &len, &j->from,
                          &detail);
    if (j->rc == MAB_ICACHE_BUSY) {
        atomic_fetch_add(&busy, 1);
    }
    return NULL;
}

/* n threads, tokens token0 .. token0 + distinct - 1 round robin; returns how many ended in rc */
static int run_threads(apr_pool_t *p, mab_ic_t *ic, ep_t *ep, int n, int token0, int distinct,
                       mab_ic_result_e rc)
{
    apr_thread_t *th[32];
    job_t jobs[32];
    int i, count = 0;
    apr_status_t st;

    for (i = 0; i < n; i++) {
        jobs[i] =
            (job_t){ic, ep, token0 + i % distinct, MAB_ICACHE_FAILED, MAB_ICACHE_FROM_CALL, NULL};
        apr_pool_create(&jobs[i].pool, p);
        apr_thread_create(&th[i], NULL, worker, &jobs[i], p);
    }
    for (i = 0; i < n; i++) {
        apr_thread_join(&st, th[i]);
        count += jobs[i].rc == rc;
    }
    return count;
}

int main(void)
{
    apr_pool_t *p = test_setup();
    mab_ic_opts_t o = {64, 4, 2000};
    mab_ic_t *ic;
    ep_t ep;
    unsigned char d[MAB_ICACHE_DIGEST_LEN];
    const unsigned char *val = NULL;
    const char *detail = NULL;
    unsigned len = 0;
    mab_ic_from_e from;

    apr_thread_mutex_create(&mem.m, APR_THREAD_MUTEX_DEFAULT, p);
    mem.now = NOW;
    ic = mab_ic_create(p, &o);
    ok(ic != NULL, "created");

    /* 1. one token, asked once, then served from the front without the store */
    memset(&ep, 0, sizeof(ep));
    ep.until = NOW + 60;
    digest_of(d, 1);
    is_int(mab_ic_lookup(ic, &store, d, NOW, 1, call, &ep, p, &val, &len, &from, &detail),
           MAB_ICACHE_ANSWER, "first lookup: an answer");
    is_int(from, MAB_ICACHE_FROM_CALL, "... from a call");
    ok(len == 15 && memcmp(val, "{\"active\":true}", 15) == 0, "... the endpoint's bytes");
    atomic_store(&mem.gets, 0);
    is_int(mab_ic_lookup(ic, &store, d, NOW + 1, 1, call, &ep, p, &val, &len, &from, &detail),
           MAB_ICACHE_ANSWER, "second lookup: an answer");
    is_int(from, MAB_ICACHE_FROM_FRONT, "... from the process's front");
    is_int(atomic_load(&mem.gets), 0, "... without touching the shared store");
    is_int(atomic_load(&ep.calls), 1, "one call in all");

    /* 2. another process (a fresh cache on the same store) finds it in the store */
    {
        mab_ic_t *other = mab_ic_create(p, &o);
        is_int(
            mab_ic_lookup(other, &store, d, NOW + 2, 1, call, &ep, p, &val, &len, &from, &detail),
            MAB_ICACHE_ANSWER, "another process: an answer");
        is_int(from, MAB_ICACHE_FROM_STORE, "... from the shared store");
        is_int(atomic_load(&ep.calls), 1, "... and still one call");
        /* past the answer's own expiry: asked again, everywhere */
        mem.now = NOW + 61;
        is_int(
            mab_ic_lookup(other, &store, d, NOW + 61, 1, call, &ep, p, &val, &len, &from, &detail),
            MAB_ICACHE_ANSWER, "after its until: an answer");
        is_int(from, MAB_ICACHE_FROM_CALL, "... from a new call");
        is_int(atomic_load(&ep.calls), 2, "... the second call");
        mem.now = NOW;
    }

    /* 3. sixteen threads, one new token at once: one call (single flight) */
    memset(&ep, 0, sizeof(ep));
    ep.until = NOW + 60;
    ep.sleep_ms = 200;
    is_int(run_threads(p, ic, &ep, 16, 100, 1, MAB_ICACHE_ANSWER), 16,
           "16 threads, one token: every one an answer");
    is_int(atomic_load(&ep.calls), 1, "... from exactly one call");

    /* 4. the bound: 12 distinct new tokens at once, at most 4 calls in flight; the rest are
     * refused at once. The calls are held open (the gate) until the 8 refusals are in, so the
     * outcome does not depend on how fast threads start (valgrind, a loaded machine). */
    memset(&ep, 0, sizeof(ep));
    ep.until = NOW + 60;
    atomic_store(&ep.gate, 1);
    atomic_store(&busy, 0);
    {
        apr_thread_t *th[12];
        job_t jobs[12];
        apr_status_t st;
        int i, answers = 0, waited;

        for (i = 0; i < 12; i++) {
            jobs[i] = (job_t){ic, &ep, 200 + i, MAB_ICACHE_FAILED, MAB_ICACHE_FROM_CALL, NULL};
            apr_pool_create(&jobs[i].pool, p);
            apr_thread_create(&th[i], NULL, worker, &jobs[i], p);
        }
        for (waited = 0; waited < 60000 && (atomic_load(&ep.entered) < 4 || atomic_load(&busy) < 8);
             waited++) {
            apr_sleep(apr_time_from_msec(1));
        }
        is_int(atomic_load(&ep.entered), 4,
               "12 distinct tokens with a bound of 4: 4 calls held open");
        is_int(atomic_load(&busy), 8, "... the other 8 refused at once (not queued)");
        is_int(mab_ic_inflight(ic), 4, "... 4 in flight");
        atomic_store(&ep.gate, 0);
        for (i = 0; i < 12; i++) {
            apr_thread_join(&st, th[i]);
            answers += jobs[i].rc == MAB_ICACHE_ANSWER;
        }
        is_int(answers, 4, "... and those 4 answered");
        is_int(atomic_load(&ep.max_concurrent), 4, "... the endpoint never saw more than 4");
        is_int(mab_ic_inflight(ic), 0, "... and none is left in flight");
    }

    /* 5. a pending marker from another process: this one waits for that answer */
    {
        static const unsigned char pending = 'P';
        unsigned char key[1 + MAB_ICACHE_DIGEST_LEN];
        memset(&ep, 0, sizeof(ep));
        ep.until = NOW + 60;
        digest_of(d, 300);
        memcpy(key, d, MAB_ICACHE_DIGEST_LEN);
        key[MAB_ICACHE_DIGEST_LEN] = 'I';
        mem_put(&mem, key, sizeof(key), NOW + 10, &pending, 1, p);
        {
            mab_ic_opts_t quick = {64, 4, 200};
            mab_ic_t *waiting = mab_ic_create(p, &quick);
            is_int(
                mab_ic_lookup(waiting, &store, d, NOW, 1, call, &ep, p, &val, &len, &from, &detail),
                MAB_ICACHE_FAILED, "pending elsewhere, never answered: refused after the wait");
            ok(detail && strstr(detail, "timed out"), "... saying it timed out (%s)",
               detail ? detail : "-");
            is_int(atomic_load(&ep.calls), 0, "... without a call of its own");
        }
        mem_del(&mem, key, sizeof(key), p);
    }

    /* 6. failures: nothing stored, the next request asks again */
    memset(&ep, 0, sizeof(ep));
    ep.fail = 1;
    digest_of(d, 400);
    is_int(mab_ic_lookup(ic, &store, d, NOW, 1, call, &ep, p, &val, &len, &from, &detail),
           MAB_ICACHE_FAILED, "endpoint failure: refused");
    ok(detail && strcmp(detail, "endpoint said 500") == 0, "... with its detail");
    ep.fail = 0;
    ep.until = NOW + 60;
    is_int(mab_ic_lookup(ic, &store, d, NOW, 1, call, &ep, p, &val, &len, &from, &detail),
           MAB_ICACHE_ANSWER, "then the endpoint answers: an answer");
    is_int(atomic_load(&ep.calls), 2, "... from a second call (the failure was not kept)");

    /* 7. until <= now: used once, never kept */
    memset(&ep, 0, sizeof(ep));
    ep.until = NOW;
    digest_of(d, 500);
    mab_ic_lookup(ic, &store, d, NOW, 1, call, &ep, p, &val, &len, &from, &detail);
    mab_ic_lookup(ic, &store, d, NOW, 1, call, &ep, p, &val, &len, &from, &detail);
    is_int(atomic_load(&ep.calls), 2, "an answer not to be kept: asked each time");

    /* 8. cache 0: every request asks */
    memset(&ep, 0, sizeof(ep));
    ep.until = NOW + 60;
    digest_of(d, 600);
    mab_ic_lookup(ic, &store, d, NOW, 0, call, &ep, p, &val, &len, &from, &detail);
    is_int(mab_ic_lookup(ic, &store, d, NOW, 0, call, &ep, p, &val, &len, &from, &detail),
           MAB_ICACHE_ANSWER, "cache 0: an answer");
    is_int(atomic_load(&ep.calls), 2, "... from a call each time");

    /* 9. the store down: refused, the endpoint is not asked around it */
    memset(&ep, 0, sizeof(ep));
    ep.until = NOW + 60;
    mem.down = 1;
    digest_of(d, 700);
    is_int(mab_ic_lookup(ic, &store, d, NOW, 1, call, &ep, p, &val, &len, &from, &detail),
           MAB_ICACHE_STORE_DOWN, "store down: refused");
    is_int(atomic_load(&ep.calls), 0, "... without a call");
    digest_of(d, 1);
    mem.down = 0;

    /* 10. a foreign value under our key is no answer */
    {
        unsigned char key[1 + MAB_ICACHE_DIGEST_LEN];
        memset(&ep, 0, sizeof(ep));
        ep.until = NOW + 60;
        digest_of(d, 800);
        memcpy(key, d, MAB_ICACHE_DIGEST_LEN);
        key[MAB_ICACHE_DIGEST_LEN] = 'I';
        mem_put(&mem, key, sizeof(key), NOW + 10, (const unsigned char *)"Axx", 3, p);
        is_int(mab_ic_lookup(ic, &store, d, NOW, 1, call, &ep, p, &val, &len, &from, &detail),
               MAB_ICACHE_ANSWER, "a short foreign value: treated as absent, asked");
        is_int(from, MAB_ICACHE_FROM_CALL, "... by a call");
    }
    return tap_done();
}
