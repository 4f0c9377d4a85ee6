#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>

#include "mab_introspect_cache.h"

/* Values in the shared store: a pending marker, or an answer with its own expiry (the store's
 * own expiry is only as fine as the store keeps it; memcached counts seconds). */
#define TAG_PENDING 'P'
#define TAG_ANSWER 'A'
#define HEAD_LEN 9 /* tag + 8 bytes of until, big-endian */
#define KEY_LEN (1 + MAB_ICACHE_DIGEST_LEN)
#define FRONT_LOCKS 16
#define POLL_INTERVAL apr_time_from_msec(20)

typedef struct {
    unsigned char digest[MAB_ICACHE_DIGEST_LEN];
    long long until; /* 0: empty */
    unsigned len;
    unsigned char *bytes; /* malloc'd */
} front_t;

typedef struct flight_t {
    struct flight_t *next;
    unsigned char digest[MAB_ICACHE_DIGEST_LEN];
    int done;
    int refs; /* the caller's and each waiter's */
    mab_ic_result_e result;
    unsigned char *bytes; /* malloc'd copy of the answer */
    unsigned len;
    char detail[160];
} flight_t;

struct mab_ic_t {
    mab_ic_opts_t opts;
    front_t *front;
    apr_thread_mutex_t *front_locks[FRONT_LOCKS];
    apr_thread_mutex_t *lock; /* flights and inflight */
    apr_thread_cond_t *done;
    flight_t *flights;
    unsigned inflight;
};

static apr_status_t ic_cleanup(void *data)
{
    mab_ic_t *ic = data;
    unsigned i;

    for (i = 0; ic->front && i < ic->opts.front_entries; i++) {
        free(ic->front[i].bytes);
        ic->front[i].bytes = NULL;
    }
    free(ic->front);
    ic->front = NULL;
    return APR_SUCCESS;
}

mab_ic_t *mab_ic_create(apr_pool_t *p, const mab_ic_opts_t *opts)
{
    mab_ic_t *ic = apr_pcalloc(p, sizeof(*ic));
    int i;

    ic->opts = *opts;
    if (ic->opts.max_inflight == 0) {
        ic->opts.max_inflight = 1;
    }
    if (ic->opts.front_entries) {
        ic->front = calloc(ic->opts.front_entries, sizeof(*ic->front));
        if (!ic->front) {
            return NULL;
        }
    }
    apr_pool_cleanup_register(p, ic, ic_cleanup, apr_pool_cleanup_null);
    for (i = 0; i < FRONT_LOCKS; i++) {
        if (apr_thread_mutex_create(&ic->front_locks[i], APR_THREAD_MUTEX_DEFAULT, p)
            != APR_SUCCESS) {
            return NULL;
        }
    }
    if (apr_thread_mutex_create(&ic->lock, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS
        || apr_thread_cond_create(&ic->done, p) != APR_SUCCESS) {
        return NULL;
    }
    return ic;
}

unsigned mab_ic_inflight(const mab_ic_t *ic)
{
    unsigned n;

    apr_thread_mutex_lock(ic->lock);
    n = ic->inflight;
    apr_thread_mutex_unlock(ic->lock);
    return n;
}

/* --- the per-process front ---------------------------------------------------------------- */

static unsigned slot_of(const mab_ic_t *ic, const unsigned char *d)
{
    unsigned h = (unsigned)d[0] | (unsigned)d[1] << 8 | (unsigned)d[2] << 16 | (unsigned)d[3] << 24;

    return h % ic->opts.front_entries;
}

static int front_get(mab_ic_t *ic, const unsigned char *digest, long long now, apr_pool_t *p,
                     const unsigned char **val, unsigned *len)
{
    unsigned i;
    front_t *e;
    int hit = 0;

    if (!ic->front) {
        return 0;
    }
    i = slot_of(ic, digest);
    e = &ic->front[i];
    apr_thread_mutex_lock(ic->front_locks[i % FRONT_LOCKS]);
    if (e->until > now && memcmp(e->digest, digest, MAB_ICACHE_DIGEST_LEN) == 0) {
        *val = apr_pmemdup(p, e->bytes, e->len);
        *len = e->len;
        hit = 1;
    }
    apr_thread_mutex_unlock(ic->front_locks[i % FRONT_LOCKS]);
    return hit;
}

static void front_put(mab_ic_t *ic, const unsigned char *digest, long long until,
                      const unsigned char *val, unsigned len)
{
    unsigned char *copy;
    unsigned i;
    front_t *e;

    if (!ic->front || !(copy = malloc(len ? len : 1))) {
        return;
    }
    memcpy(copy, val, len);
    i = slot_of(ic, digest);
    e = &ic->front[i];
    apr_thread_mutex_lock(ic->front_locks[i % FRONT_LOCKS]);
    free(e->bytes);
    memcpy(e->digest, digest, MAB_ICACHE_DIGEST_LEN);
    e->bytes = copy;
    e->len = len;
    e->until = until;
    apr_thread_mutex_unlock(ic->front_locks[i % FRONT_LOCKS]);
}

/* --- the shared store ----------------------------------------------------------------------- */

typedef enum { ST_ABSENT, ST_PENDING, ST_ANSWER, ST_DOWN } stored_e;

/* The digest first: shmcb picks a subcache by the key's first byte, so a common prefix
 * would crowd every entry into one subcache. The letter names the store's user
 * (introspection answers; others, such as DPoP proof jtis, take other letters). */
static void key_of(unsigned char *key, const unsigned char *digest)
{
    memcpy(key, digest, MAB_ICACHE_DIGEST_LEN);
    key[MAB_ICACHE_DIGEST_LEN] = 'I';
}

static long long get_until(const unsigned char *b)
{
    unsigned long long u = 0;
    int i;

    for (i = 1; i < HEAD_LEN; i++) {
        u = u << 8 | b[i];
    }
    return (long long)u;
}

static stored_e store_get(const mab_kvstore_t *st, const unsigned char *key, long long now,
                          apr_pool_t *p, const unsigned char **val, unsigned *len, long long *until)
{
    unsigned char *buf = apr_palloc(p, MAB_ICACHE_MAX_VALUE);
    unsigned n = MAB_ICACHE_MAX_VALUE;
    int rc = st->get(st->ctx, key, KEY_LEN, buf, &n, p);

    if (rc < 0) {
        return ST_DOWN;
    }
    if (rc > 0 || n == 0) {
        return ST_ABSENT;
    }
    if (buf[0] == TAG_PENDING && n == 1) {
        return ST_PENDING;
    }
    /* anything else that is not a well-formed answer of ours counts as absent */
    if (buf[0] != TAG_ANSWER || n < HEAD_LEN || (*until = get_until(buf)) <= now) {
        return ST_ABSENT;
    }
    *val = buf + HEAD_LEN;
    *len = n - HEAD_LEN;
    return ST_ANSWER;
}

static int store_answer(const mab_kvstore_t *st, const unsigned char *key, long long until,
                        const unsigned char *val, unsigned len, apr_pool_t *p)
{
    unsigned char *buf;
    unsigned long long u = (unsigned long long)until;
    int i;

    if (len > MAB_ICACHE_MAX_VALUE - HEAD_LEN) {
        return st->del(st->ctx, key, KEY_LEN, p);
    }
    buf = apr_palloc(p, len + HEAD_LEN);
    buf[0] = TAG_ANSWER;
    for (i = HEAD_LEN - 1; i >= 1; i--, u >>= 8) {
        buf[i] = (unsigned char)(u & 0xff);
    }
    memcpy(buf + HEAD_LEN, val, len);
    return st->put(st->ctx, key, KEY_LEN, until, buf, len + HEAD_LEN, p);
}

/* Another process is asking the endpoint: its answer appears in the store. */
static mab_ic_result_e poll_store(mab_ic_t *ic, const mab_kvstore_t *st, const unsigned char *key,
                                  long long now, apr_pool_t *p, const unsigned char **val,
                                  unsigned *len, long long *until, const char **detail)
{
    apr_time_t end = apr_time_now() + apr_time_from_msec(ic->opts.wait_ms);

    while (apr_time_now() < end) {
        apr_sleep(POLL_INTERVAL);
        switch (store_get(st, key, now, p, val, len, until)) {
        case ST_ANSWER:
            return MAB_ICACHE_ANSWER;
        case ST_DOWN:
            *detail = "the shared cache failed";
            return MAB_ICACHE_STORE_DOWN;
        case ST_ABSENT:
            *detail = "the introspection call another process made failed";
            return MAB_ICACHE_FAILED;
        case ST_PENDING:
            break;
        }
    }
    *detail = "timed out waiting for another process's introspection call";
    return MAB_ICACHE_FAILED;
}

/* --- flights -------------------------------------------------------------------------------- */

static void release(mab_ic_t *ic, flight_t *f)
{
    flight_t **pp;

    if (--f->refs > 0) {
        return;
    }
    for (pp = &ic->flights; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    }
    free(f->bytes);
    free(f);
}

static mab_ic_result_e wait_flight(mab_ic_t *ic, flight_t *f, apr_pool_t *p,
                                   const unsigned char **val, unsigned *len, const char **detail)
{
    apr_time_t end = apr_time_now() + apr_time_from_msec(ic->opts.wait_ms);
    mab_ic_result_e rc;

    /* the caller holds ic->lock */
    while (!f->done) {
        apr_time_t left = end - apr_time_now();
        if (left <= 0) {
            break;
        }
        apr_thread_cond_timedwait(ic->done, ic->lock, left);
    }
    if (!f->done) {
        *detail = "timed out waiting for the introspection call in flight";
        rc = MAB_ICACHE_FAILED;
    }
    else {
        rc = f->result;
        if (rc == MAB_ICACHE_ANSWER) {
            *val = apr_pmemdup(p, f->bytes, f->len);
            *len = f->len;
        }
        else {
            *detail = apr_pstrdup(p, f->detail);
        }
    }
    release(ic, f);
    return rc;
}

static void land(mab_ic_t *ic, flight_t *f, mab_ic_result_e rc, const unsigned char *val,
                 unsigned len, const char *detail)
{
    apr_thread_mutex_lock(ic->lock);
    f->result = rc;
    if (rc == MAB_ICACHE_ANSWER && (f->bytes = malloc(len ? len : 1)) != NULL) {
        memcpy(f->bytes, val, len);
        f->len = len;
    }
    else if (rc == MAB_ICACHE_ANSWER) {
        f->result = MAB_ICACHE_FAILED;
        detail = "out of memory";
    }
    if (detail) {
        apr_cpystrn(f->detail, detail, sizeof(f->detail));
    }
    f->done = 1;
    ic->inflight--;
    apr_thread_cond_broadcast(ic->done);
    release(ic, f);
    apr_thread_mutex_unlock(ic->lock);
}

/* The thread that won this process's flight: claims the call for every process through
 * the store, then makes it. */
static mab_ic_result_e fly(mab_ic_t *ic, const mab_kvstore_t *st, const unsigned char *key,
                           const unsigned char *digest, long long now, mab_ic_call_fn *call,
                           void *call_ctx, apr_pool_t *p, const unsigned char **val, unsigned *len,
                           mab_ic_from_e *from, const char **detail)
{
    static const unsigned char pending = TAG_PENDING;
    long long until = 0;
    stored_e s;

    if (st->lock) {
        st->lock(st->ctx);
    }
    s = store_get(st, key, now, p, val, len, &until);
    if (s == ST_ABSENT
        && st->put(st->ctx, key, KEY_LEN, now + ic->opts.wait_ms / 1000 + 2, &pending, 1, p) != 0) {
        s = ST_DOWN;
    }
    if (st->unlock) {
        st->unlock(st->ctx);
    }
    switch (s) {
    case ST_DOWN:
        *detail = "the shared cache failed";
        return MAB_ICACHE_STORE_DOWN;
    case ST_ANSWER:
        *from = MAB_ICACHE_FROM_STORE;
        front_put(ic, digest, until, *val, *len);
        return MAB_ICACHE_ANSWER;
    case ST_PENDING: {
        mab_ic_result_e rc = poll_store(ic, st, key, now, p, val, len, &until, detail);
        if (rc == MAB_ICACHE_ANSWER) {
            *from = MAB_ICACHE_FROM_STORE;
            front_put(ic, digest, until, *val, *len);
        }
        return rc;
    }
    case ST_ABSENT:
        break;
    }
    *from = MAB_ICACHE_FROM_CALL;
    if (call(call_ctx, p, val, len, &until, detail) != 0) {
        st->del(st->ctx, key, KEY_LEN, p);
        return MAB_ICACHE_FAILED;
    }
    if (until > now) {
        if (store_answer(st, key, until, *val, *len, p) != 0) {
            /* the answer still serves this request; the next one asks again */
            st->del(st->ctx, key, KEY_LEN, p);
        }
        front_put(ic, digest, until, *val, *len);
    }
    else {
        st->del(st->ctx, key, KEY_LEN, p);
    }
    return MAB_ICACHE_ANSWER;
}

/* AuthBearerIntrospectionCache 0: every request asks, within the bound. */
static mab_ic_result_e call_uncached(mab_ic_t *ic, mab_ic_call_fn *call, void *call_ctx,
                                     apr_pool_t *p, const unsigned char **val, unsigned *len,
                                     mab_ic_from_e *from, const char **detail)
{
    long long until = 0;
    int rc;

    apr_thread_mutex_lock(ic->lock);
    if (ic->inflight >= ic->opts.max_inflight) {
        apr_thread_mutex_unlock(ic->lock);
        *detail = "too many introspection calls in flight";
        return MAB_ICACHE_BUSY;
    }
    ic->inflight++;
    apr_thread_mutex_unlock(ic->lock);
    *from = MAB_ICACHE_FROM_CALL;
    rc = call(call_ctx, p, val, len, &until, detail);
    apr_thread_mutex_lock(ic->lock);
    ic->inflight--;
    apr_thread_mutex_unlock(ic->lock);
    return rc == 0 ? MAB_ICACHE_ANSWER : MAB_ICACHE_FAILED;
}

mab_ic_result_e mab_ic_lookup(mab_ic_t *ic, const mab_kvstore_t *st,
                              const unsigned char digest[MAB_ICACHE_DIGEST_LEN], long long now,
                              int cache, mab_ic_call_fn *call, void *call_ctx, apr_pool_t *p,
                              const unsigned char **val, unsigned *len, mab_ic_from_e *from,
                              const char **detail)
{
    unsigned char key[KEY_LEN];
    long long until = 0;
    mab_ic_result_e rc;
    flight_t *f;

    *detail = NULL;
    if (!cache) {
        return call_uncached(ic, call, call_ctx, p, val, len, from, detail);
    }
    *from = MAB_ICACHE_FROM_FRONT;
    if (front_get(ic, digest, now, p, val, len)) {
        return MAB_ICACHE_ANSWER;
    }
    key_of(key, digest);
    *from = MAB_ICACHE_FROM_STORE;
    switch (store_get(st, key, now, p, val, len, &until)) {
    case ST_ANSWER:
        front_put(ic, digest, until, *val, *len);
        return MAB_ICACHE_ANSWER;
    case ST_DOWN:
        *detail = "the shared cache failed";
        return MAB_ICACHE_STORE_DOWN;
    case ST_PENDING:
        rc = poll_store(ic, st, key, now, p, val, len, &until, detail);
        if (rc == MAB_ICACHE_ANSWER) {
            front_put(ic, digest, until, *val, *len);
        }
        return rc;
    case ST_ABSENT:
        break;
    }

    apr_thread_mutex_lock(ic->lock);
    for (f = ic->flights; f; f = f->next) {
        if (!f->done && memcmp(f->digest, digest, MAB_ICACHE_DIGEST_LEN) == 0) {
            f->refs++;
            rc = wait_flight(ic, f, p, val, len, detail);
            apr_thread_mutex_unlock(ic->lock);
            return rc;
        }
    }
    if (ic->inflight >= ic->opts.max_inflight || !(f = calloc(1, sizeof(*f)))) {
        apr_thread_mutex_unlock(ic->lock);
        *detail = "too many introspection calls in flight";
        return MAB_ICACHE_BUSY;
    }
    memcpy(f->digest, digest, MAB_ICACHE_DIGEST_LEN);
    f->refs = 1;
    f->next = ic->flights;
    ic->flights = f;
    ic->inflight++;
    apr_thread_mutex_unlock(ic->lock);

    rc = fly(ic, st, key, digest, now, call, call_ctx, p, val, len, from, detail);
    land(ic, f, rc, rc == MAB_ICACHE_ANSWER ? *val : NULL, rc == MAB_ICACHE_ANSWER ? *len : 0,
         *detail);
    return rc;
}
