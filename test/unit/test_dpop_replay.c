/* The DPoP replay record against an in-memory store: first use recorded, a second refused,
 * the key's form (SHA-256 first, then 'D'), jti/htm/htu each part of it, the expiry handed
 * to the store, a failing store refused, the lock held around get and put, and threads
 * racing one jti under a lock: exactly one first use. Threaded: also run under TSan. */
#include <stdatomic.h>

#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <openssl/evp.h>

#include "mab_dpop.h"
#include "mab_introspect_cache.h"
#include "tap.h"
#include "testutil.h"

#define SLOTS 256
typedef struct {
    unsigned char key[64];
    unsigned keylen;
    unsigned char val[16];
    unsigned len;
    long long expires;
    int used;
} slot_t;

/* The store's own mutex guards its table (as shmcb's is internal to it); `lock` is the
 * separate one a kvstore's lock/unlock stand for (httpd's socache mutex). */
typedef struct {
    slot_t slots[SLOTS];
    apr_thread_mutex_t *m, *outer;
    int fail_get, fail_put;
    int yield; /* after a get, let other threads run: widens the window a lock must close */
    atomic_int gets, puts, locks, unlocks, held; /* held: lock taken and not given back */
    atomic_int unlocked_calls;                   /* get/put called while not held */
    long long now;
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
    if (s->outer && !atomic_load(&s->held)) {
        atomic_fetch_add(&s->unlocked_calls, 1);
    }
    apr_thread_mutex_lock(s->m);
    if (s->fail_get) {
        rc = -1;
    }
    else if ((e = find(s, key, keylen)) != NULL && e->expires > s->now && e->len <= *len) {
        memcpy(buf, e->val, e->len);
        *len = e->len;
        rc = 0;
    }
    apr_thread_mutex_unlock(s->m);
    if (s->yield) {
        apr_thread_yield();
    }
    return rc;
}

static int mem_put(void *ctx, const unsigned char *key, unsigned keylen, long long expires,
                   const unsigned char *val, unsigned len, apr_pool_t *p)
{
    mem_t *s = ctx;
    slot_t *e;
    int i, rc = 0;

    atomic_fetch_add(&s->puts, 1);
    if (s->outer && !atomic_load(&s->held)) {
        atomic_fetch_add(&s->unlocked_calls, 1);
    }
    apr_thread_mutex_lock(s->m);
    if (s->fail_put || len > sizeof(s->slots[0].val) || keylen > sizeof(s->slots[0].key)) {
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
    return 0;
}

static void mem_lock(void *ctx)
{
    mem_t *s = ctx;

    apr_thread_mutex_lock(s->outer);
    atomic_fetch_add(&s->locks, 1);
    atomic_store(&s->held, 1);
}

static void mem_unlock(void *ctx)
{
    mem_t *s = ctx;

    atomic_fetch_add(&s->unlocks, 1);
    atomic_store(&s->held, 0);
    apr_thread_mutex_unlock(s->outer);
}

static mem_t *mem_new(apr_pool_t *p, int with_lock)
{
    mem_t *s = apr_pcalloc(p, sizeof(*s));

    apr_thread_mutex_create(&s->m, APR_THREAD_MUTEX_DEFAULT, p);
    if (with_lock) {
        apr_thread_mutex_create(&s->outer, APR_THREAD_MUTEX_DEFAULT, p);
    }
    s->now = 1000;
    return s;
}

static mab_kvstore_t store_of(mem_t *s)
{
    mab_kvstore_t st = {mem_get, mem_put, mem_del, NULL, NULL, s};

    if (s->outer) {
        st.lock = mem_lock;
        st.unlock = mem_unlock;
    }
    return st;
}

static mab_dpop_proof_t proof_with(const char *jti)
{
    mab_dpop_proof_t pr;

    memset(&pr, 0, sizeof(pr));
    pr.jti = jti;
    return pr;
}

static void test_record(apr_pool_t *p)
{
    mem_t *s = mem_new(p, 0);
    mab_kvstore_t st = store_of(s);
    mab_dpop_proof_t a = proof_with("jti-1"), b = proof_with("jti-2");
    const char *u = "https://rs.example/a";
    unsigned char want[33];
    unsigned int n = 0;
    EVP_MD_CTX *md;

    is_int(mab_dpop_replay_record(&st, &a, "GET", u, 1060, p), 0, "first use: recorded");
    is_int(mab_dpop_replay_record(&st, &a, "GET", u, 1060, p), 1, "second use: a replay");
    is_int(mab_dpop_replay_record(&st, &a, "GET", u, 1060, p), 1, "third use: still a replay");
    is_int(mab_dpop_replay_record(&st, &b, "GET", u, 1060, p), 0, "another jti: first use");
    is_int(mab_dpop_replay_record(&st, &a, "POST", u, 1060, p), 0, "the jti for another method");
    is_int(mab_dpop_replay_record(&st, &a, "GET", "https://rs.example/b", 1060, p), 0,
           "the jti for another URL");
    /* the separators: ("jti-1G", "ET") is not ("jti-1", "GET") */
    a.jti = "jti-1G";
    is_int(mab_dpop_replay_record(&st, &a, "ET", u, 1060, p), 0, "parts are not run together");
    a.jti = "jti-1";

    /* the key: SHA-256(jti 0 htm 0 htu) then 'D'; the value one byte; expiry as given */
    md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, "jti-1\0GET\0", 10);
    EVP_DigestUpdate(md, u, strlen(u));
    EVP_DigestFinal_ex(md, want, &n);
    EVP_MD_CTX_free(md);
    want[32] = 'D';
    {
        slot_t *e = find(s, want, 33);
        ok(e != NULL, "stored under SHA-256(jti NUL htm NUL htu) || 'D'");
        is_int(e ? e->len : 0, 1, "a one-byte value");
        is_int(e ? e->expires : 0, 1060, "kept until `until`");
    }

    /* once the store has let it expire, the jti may be used again (the acceptance window
     * is over by then, so the proof itself is refused for its iat) */
    s->now = 1061;
    is_int(mab_dpop_replay_record(&st, &a, "GET", u, 1120, p), 0, "after expiry: recorded again");
}

static void test_failures(apr_pool_t *p)
{
    mem_t *s = mem_new(p, 1);
    mab_kvstore_t st = store_of(s);
    mab_dpop_proof_t a = proof_with("jti-f");
    const char *u = "https://rs.example/";

    s->fail_get = 1;
    is_int(mab_dpop_replay_record(&st, &a, "GET", u, 1060, p), -1, "get fails: -1");
    is_int(atomic_load(&s->puts), 0, "nothing put after a failed get");
    s->fail_get = 0;
    s->fail_put = 1;
    is_int(mab_dpop_replay_record(&st, &a, "GET", u, 1060, p), -1, "put fails: -1");
    s->fail_put = 0;
    is_int(mab_dpop_replay_record(&st, &a, "GET", u, 1060, p), 0, "store back: recorded");
    is_int(atomic_load(&s->locks), 3, "locked on every call");
    is_int(atomic_load(&s->unlocks), 3, "unlocked on every call, failures too");
    is_int(atomic_load(&s->unlocked_calls), 0, "get and put only under the lock");

    is_int(mab_dpop_replay_record(NULL, &a, "GET", u, 1060, p), -1, "no store: -1");
    is_int(mab_dpop_replay_record(&st, NULL, "GET", u, 1060, p), -1, "no proof: -1");
    a.jti = NULL;
    is_int(mab_dpop_replay_record(&st, &a, "GET", u, 1060, p), -1, "no jti: -1");
    a.jti = "jti-f";
    is_int(mab_dpop_replay_record(&st, &a, NULL, u, 1060, p), -1, "no htm: -1");
    is_int(mab_dpop_replay_record(&st, &a, "GET", NULL, 1060, p), -1, "no htu: -1");
}

/* --- threads racing one proof ------------------------------------------------------------- */
#define THREADS 16
#define ROUNDS 50

typedef struct {
    mab_kvstore_t *st;
    atomic_int *go;
    int round;
    int rc[ROUNDS];
} job_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    job_t *j = data;
    apr_pool_t *p;
    int r;

    apr_pool_create(&p, NULL);
    while (!atomic_load(j->go)) {
    }
    for (r = 0; r < ROUNDS; r++) {
        char jti[32];
        mab_dpop_proof_t pr;

        snprintf(jti, sizeof(jti), "race-%d", r);
        pr = proof_with(jti);
        j->rc[r] = mab_dpop_replay_record(j->st, &pr, "POST", "https://rs.example/x", 2000, p);
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

static void test_race(apr_pool_t *p)
{
    mem_t *s = mem_new(p, 1);
    mab_kvstore_t st = store_of(s);
    apr_thread_t *th[THREADS];
    job_t jobs[THREADS];
    atomic_int go;
    int i, r, bad_rounds = 0, errors = 0;

    s->yield = 1;
    atomic_init(&go, 0);
    for (i = 0; i < THREADS; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].st = &st;
        jobs[i].go = &go;
        apr_thread_create(&th[i], NULL, worker, &jobs[i], p);
    }
    atomic_store(&go, 1);
    for (i = 0; i < THREADS; i++) {
        apr_status_t rv;
        apr_thread_join(&rv, th[i]);
    }
    for (r = 0; r < ROUNDS; r++) {
        int firsts = 0;
        for (i = 0; i < THREADS; i++) {
            firsts += jobs[i].rc[r] == 0;
            errors += jobs[i].rc[r] < 0;
        }
        bad_rounds += firsts != 1;
    }
    is_int(bad_rounds, 0, "%d threads x %d jtis: exactly one first use each", THREADS, ROUNDS);
    is_int(errors, 0, "no store errors");
    is_int(atomic_load(&s->puts), ROUNDS, "one put per jti");
}

int main(void)
{
    apr_pool_t *p = test_setup();

    test_record(p);
    test_failures(p);
    test_race(p);
    return tap_done();
}
