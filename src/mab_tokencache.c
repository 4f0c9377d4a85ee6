#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mab_exports.h"
#include "mab_jwk.h"
#include "mab_jwks.h"
#include "mab_tokencache.h"

/* Enough stripes that two threads rarely share one, few enough to cost nothing. */
#define MAB_TOKENCACHE_LOCKS 64

/* What one verified token was: immutable once built, shared by the entry and by every
 * request that hit it, and freed by whoever drops the last reference. Its own atomic
 * count, not jansson's, decides its life, so the claims' reference count is never touched
 * by two threads (jansson's decrement is a release without an acquire). */
typedef struct {
    atomic_uint refs;
    long long exp;
    unsigned char digest[MAB_TOKENCACHE_DIGEST_LEN];
    json_t *claims; /* adopted from the request that verified the token: ours alone */
    mab_exports_t *exports;
    EVP_PKEY *pkey; /* one reference, ours, when a public key verified the token */
    const void *verifier;
    const struct mab_alg_t *alg;
    int typ_at_jwt;
    int has_kid;
    char kid[]; /* "" without one */
} snap_t;

typedef struct {
    unsigned char digest[MAB_TOKENCACHE_DIGEST_LEN];
    long long exp; /* 0: the way is empty */
    apr_uint32_t used;
    snap_t *snap;
} entry_t;

typedef struct {
    apr_uint32_t clock; /* ticks on every use, for least-recently-used eviction */
    entry_t way[MAB_TOKENCACHE_WAYS];
} set_t;

/* A thread's front: the last few tokens it saw vouched for, kept byte for byte. Only its
 * own thread touches it, so a hit takes no lock and hashes nothing. */
typedef struct {
    char *token; /* a copy, compared in full and in constant time */
    apr_size_t len, cap;
    apr_uint64_t tag; /* the token's last bytes: skips the compare for most other tokens */
    snap_t *snap;     /* a reference of the front's own */
    mab_tokencache_mark_t mark;
} front_entry_t;

typedef struct {
    unsigned next; /* round robin: the front is too small for LRU to pay */
    front_entry_t e[MAB_TOKENCACHE_FRONT_WAYS];
} front_t;

struct mab_tokencache_t {
    set_t *sets;
    unsigned nsets;
    unsigned nlocks;
    apr_thread_mutex_t *locks[MAB_TOKENCACHE_LOCKS];
    apr_threadkey_t *front_key; /* each thread's front_t */
};

static EVP_MD *sha256;

static apr_status_t free_sha256(void *data)
{
    EVP_MD_free(sha256);
    sha256 = NULL;
    return APR_SUCCESS;
}

void mab_tokencache_global_init(apr_pool_t *p)
{
    if (!sha256) {
        /* An explicit fetch: EVP_sha256() would look the implementation up on every call.
         * Given back with p: the module may be unloaded before the process exits. */
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
        apr_pool_cleanup_register(p, NULL, free_sha256, apr_pool_cleanup_null);
    }
}

int mab_tokencache_digest(const char *token, apr_size_t len,
                          unsigned char out[MAB_TOKENCACHE_DIGEST_LEN])
{
    unsigned int n = 0;

    if (EVP_Digest(token, len, out, &n, sha256 ? sha256 : EVP_sha256(), NULL) != 1
        || n != MAB_TOKENCACHE_DIGEST_LEN) {
        return -1;
    }
    return 0;
}

static void snap_release(snap_t *snap)
{
    /* acq_rel: every reader's accesses happen before the free by the last one. */
    if (snap && atomic_fetch_sub_explicit(&snap->refs, 1, memory_order_acq_rel) == 1) {
        json_decref(snap->claims);
        mab_exports_free(snap->exports);
        EVP_PKEY_free(snap->pkey);
        free(snap);
    }
}

/* Empties a way; its snapshot is returned for release after unlocking. */
static snap_t *clear(entry_t *e)
{
    snap_t *snap = e->snap;

    memset(e, 0, sizeof(*e));
    return snap;
}

static void front_destroy(void *data);

static apr_status_t drop_all(void *data)
{
    mab_tokencache_t *tc = data;
    void *front = NULL;
    unsigned i, w;

    /* The thread that ends the cache (a child's main thread) gives up its own front; the
     * worker threads' go when they exit. */
    if (apr_threadkey_private_get(&front, tc->front_key) == APR_SUCCESS && front) {
        apr_threadkey_private_set(NULL, tc->front_key);
        front_destroy(front);
    }

    for (i = 0; i < tc->nsets; i++) {
        for (w = 0; w < MAB_TOKENCACHE_WAYS; w++) {
            snap_release(clear(&tc->sets[i].way[w]));
        }
    }
    return APR_SUCCESS;
}

static void front_clear(front_entry_t *e)
{
    snap_release(e->snap);
    e->snap = NULL;
    e->len = 0;
    e->mark.scope = NULL;
    e->mark.gen = 0;
}

/* At thread exit: its front's references go. */
static void front_destroy(void *data)
{
    front_t *f = data;
    int i;

    for (i = 0; i < MAB_TOKENCACHE_FRONT_WAYS; i++) {
        front_clear(&f->e[i]);
        free(f->e[i].token);
    }
    free(f);
}

mab_tokencache_t *mab_tokencache_create(apr_pool_t *p, unsigned entries)
{
    mab_tokencache_t *tc;
    unsigned i;

    if (entries == 0 || entries > MAB_TOKENCACHE_MAX_ENTRIES) {
        return NULL;
    }
    tc = apr_pcalloc(p, sizeof(*tc));
    tc->nsets = entries / MAB_TOKENCACHE_WAYS ? entries / MAB_TOKENCACHE_WAYS : 1;
    tc->nlocks = tc->nsets < MAB_TOKENCACHE_LOCKS ? tc->nsets : MAB_TOKENCACHE_LOCKS;
    tc->sets = apr_pcalloc(p, sizeof(set_t) * tc->nsets);
    for (i = 0; i < tc->nlocks; i++) {
        if (apr_thread_mutex_create(&tc->locks[i], APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS) {
            return NULL;
        }
    }
    if (apr_threadkey_private_create(&tc->front_key, front_destroy, p) != APR_SUCCESS) {
        return NULL;
    }
    /* Registered after the mutexes, so it runs before they are destroyed. */
    apr_pool_cleanup_register(p, tc, drop_all, apr_pool_cleanup_null);
    return tc;
}

unsigned mab_tokencache_capacity(const mab_tokencache_t *tc)
{
    return tc->nsets * MAB_TOKENCACHE_WAYS;
}

static unsigned set_index(const mab_tokencache_t *tc, const unsigned char *digest)
{
    apr_uint64_t h = 0;
    int i;

    /* SHA-256 output is uniform: its first bytes are as good a hash as any. */
    for (i = 0; i < 8; i++) {
        h = (h << 8) | digest[i];
    }
    return (unsigned)(h % tc->nsets);
}

static apr_thread_mutex_t *lock_of(const mab_tokencache_t *tc, unsigned set)
{
    return tc->locks[set % tc->nlocks];
}

static int same_digest(const entry_t *e, const unsigned char *digest)
{
    return e->exp != 0 && CRYPTO_memcmp(e->digest, digest, MAB_TOKENCACHE_DIGEST_LEN) == 0;
}

static const void *identity(const mab_key_t *key)
{
    /* A public key is its EVP_PKEY, which the entry holds a reference to, so the address
     * cannot be reused by another key while the entry lives. A secret is the admin's
     * configured key, which outlives every cache. */
    return key->pkey ? (const void *)key->pkey : (const void *)key;
}

static snap_t *snap_new(const unsigned char *digest, long long exp, json_t *claims,
                        const struct mab_alg_t *alg, const char *kid, int typ_at_jwt,
                        const mab_key_t *key)
{
    size_t kid_len = kid ? strlen(kid) : 0;
    snap_t *snap = calloc(1, sizeof(*snap) + kid_len + 1);

    if (!snap) {
        return NULL;
    }
    atomic_init(&snap->refs, 1);
    snap->exp = exp;
    memcpy(snap->digest, digest, MAB_TOKENCACHE_DIGEST_LEN);
    snap->exports = mab_exports_build(claims);
    if (!snap->exports || (key->pkey && EVP_PKEY_up_ref(key->pkey) != 1)) {
        mab_exports_free(snap->exports);
        free(snap);
        return NULL;
    }
    snap->claims = claims; /* adopted: the caller's reference, now the snapshot's */
    snap->pkey = key->pkey;
    snap->verifier = identity(key);
    snap->alg = alg;
    snap->typ_at_jwt = typ_at_jwt;
    snap->has_kid = kid != NULL;
    memcpy(snap->kid, kid ? kid : "", kid_len + 1);
    return snap;
}

static apr_status_t release_held(void *data)
{
    snap_release(data);
    return APR_SUCCESS;
}

/* Hands a snapshot reference (already taken) to the request: released with its pool. */
static void hold(snap_t *snap, apr_pool_t *pool, mab_tokencache_hit_t *hit)
{
    hit->claims = snap->claims;
    hit->exports = snap->exports;
    hit->alg = snap->alg;
    hit->kid = snap->has_kid ? snap->kid : NULL;
    hit->typ_at_jwt = snap->typ_at_jwt;
    hit->verifier = snap->verifier;
    hit->pkey_ = snap->pkey;
    hit->digest = snap->digest;
    hit->exp = snap->exp;
    hit->mark = NULL;
    hit->snap_ = snap;
    apr_pool_cleanup_register(pool, snap, release_held, apr_pool_cleanup_null);
}

int mab_tokencache_store(mab_tokencache_t *tc,
                         const unsigned char digest[MAB_TOKENCACHE_DIGEST_LEN], long long exp,
                         long long now, json_t *claims, const struct mab_alg_t *alg,
                         const char *kid, int typ_at_jwt, const mab_key_t *key, apr_pool_t *pool,
                         mab_tokencache_hit_t *held)
{
    unsigned s = set_index(tc, digest);
    set_t *set = &tc->sets[s];
    apr_thread_mutex_t *lock = lock_of(tc, s);
    entry_t *victim = NULL, *empty = NULL, *lru = NULL;
    snap_t *snap, *dropped;
    int w;

    if (exp <= now || (kid && strlen(kid) > MAB_TOKENCACHE_KID_MAX) || !claims || !key) {
        return 0;
    }
    /* Built before the lock: writing the environment text is the costly part. */
    snap = snap_new(digest, exp, claims, alg, kid, typ_at_jwt, key);
    if (!snap) {
        return 0;
    }
    if (held) {
        atomic_fetch_add_explicit(&snap->refs, 1, memory_order_relaxed);
    }
    apr_thread_mutex_lock(lock);
    for (w = 0; w < MAB_TOKENCACHE_WAYS; w++) {
        entry_t *e = &set->way[w];
        if (same_digest(e, digest)) {
            victim = e; /* verified again (e.g. after a key rotation): replace */
            break;
        }
        if (e->exp <= now) {
            empty = empty ? empty : e; /* empty (exp 0) or expired */
        }
        else if (!lru || (apr_int32_t)(e->used - lru->used) < 0) {
            lru = e; /* wrapping comparison: used longer ago */
        }
    }
    victim = victim ? victim : empty ? empty : lru;
    dropped = clear(victim);
    memcpy(victim->digest, digest, MAB_TOKENCACHE_DIGEST_LEN);
    victim->exp = exp;
    victim->used = ++set->clock;
    victim->snap = snap;
    apr_thread_mutex_unlock(lock);
    snap_release(dropped);
    if (held) {
        hold(snap, pool, held);
    }
    return 1;
}

int mab_tokencache_lookup(mab_tokencache_t *tc,
                          const unsigned char digest[MAB_TOKENCACHE_DIGEST_LEN], long long now,
                          apr_pool_t *pool, mab_tokencache_hit_t *hit)
{
    unsigned s = set_index(tc, digest);
    set_t *set = &tc->sets[s];
    apr_thread_mutex_t *lock = lock_of(tc, s);
    snap_t *found = NULL, *dropped = NULL;
    int w;

    apr_thread_mutex_lock(lock);
    for (w = 0; w < MAB_TOKENCACHE_WAYS; w++) {
        entry_t *e = &set->way[w];
        if (!same_digest(e, digest)) {
            continue;
        }
        if (e->exp <= now) {
            dropped = clear(e); /* never outlives exp */
            break;
        }
        e->used = ++set->clock;
        /* Taken under the lock, so eviction by another thread cannot free it. */
        found = e->snap;
        atomic_fetch_add_explicit(&found->refs, 1, memory_order_relaxed);
        break;
    }
    apr_thread_mutex_unlock(lock);
    snap_release(dropped);
    if (found) {
        hold(found, pool, hit);
    }
    return found != NULL;
}

static apr_uint64_t tag_of(const char *token, apr_size_t len)
{
    apr_uint64_t tag = len;

    memcpy(&tag, token + len - (len < sizeof(tag) ? len : sizeof(tag)),
           len < sizeof(tag) ? len : sizeof(tag));
    return tag;
}

/* Whether two equally long byte strings are equal, in time that depends on the length only.
 * Eight bytes at a time: CRYPTO_memcmp's byte loop was the front's largest cost. */
static int same_bytes(const char *a, const char *b, apr_size_t len)
{
    apr_uint64_t diff = 0, x, y;
    apr_size_t i = 0;

    for (; i + sizeof(x) <= len; i += sizeof(x)) {
        memcpy(&x, a + i, sizeof(x));
        memcpy(&y, b + i, sizeof(y));
        diff |= x ^ y;
    }
    for (; i < len; i++) {
        diff |= (apr_uint64_t)(unsigned char)(a[i] ^ b[i]);
    }
    return diff == 0;
}

static front_t *front_of(const mab_tokencache_t *tc, int create)
{
    void *f = NULL;

    if (apr_threadkey_private_get(&f, tc->front_key) != APR_SUCCESS) {
        return NULL;
    }
    if (!f && create) {
        f = calloc(1, sizeof(front_t));
        if (f && apr_threadkey_private_set(f, tc->front_key) != APR_SUCCESS) {
            free(f);
            f = NULL;
        }
    }
    return f;
}

static front_entry_t *front_find(front_t *f, const char *token, apr_size_t len)
{
    apr_uint64_t tag = tag_of(token, len);
    int i;

    for (i = 0; f && i < MAB_TOKENCACHE_FRONT_WAYS; i++) {
        front_entry_t *e = &f->e[i];
        /* Only the equality of a whole token shows in the timing, never a matching prefix. */
        if (e->snap && e->len == len && e->tag == tag && same_bytes(e->token, token, len)) {
            return e;
        }
    }
    return NULL;
}

int mab_tokencache_front_lookup(mab_tokencache_t *tc, const char *token, apr_size_t len,
                                long long now, apr_pool_t *pool, mab_tokencache_hit_t *hit)
{
    front_entry_t *e;

    if (len == 0 || len > MAB_TOKENCACHE_FRONT_MAX_TOKEN) {
        return 0;
    }
    e = front_find(front_of(tc, 0), token, len);
    if (!e) {
        return 0;
    }
    if (e->snap->exp <= now) {
        front_clear(e); /* never outlives exp */
        return 0;
    }
    atomic_fetch_add_explicit(&e->snap->refs, 1, memory_order_relaxed);
    hold(e->snap, pool, hit);
    hit->mark = &e->mark;
    return 1;
}

mab_tokencache_mark_t *mab_tokencache_front_put(mab_tokencache_t *tc, const char *token,
                                                apr_size_t len, const mab_tokencache_hit_t *hit)
{
    snap_t *snap = hit->snap_;
    front_entry_t *e;
    front_t *f;

    if (len == 0 || len > MAB_TOKENCACHE_FRONT_MAX_TOKEN || !snap || !(f = front_of(tc, 1))) {
        return NULL;
    }
    e = front_find(f, token, len);
    if (!e) {
        e = &f->e[f->next++ % MAB_TOKENCACHE_FRONT_WAYS];
        if (e->cap < len) {
            char *grown = realloc(e->token, len);
            if (!grown) {
                return NULL;
            }
            e->token = grown;
            e->cap = len;
        }
    }
    if (e->snap == snap) {
        return &e->mark;
    }
    /* The front's own reference: the request's goes with its pool. */
    atomic_fetch_add_explicit(&snap->refs, 1, memory_order_relaxed);
    front_clear(e);
    memcpy(e->token, token, len);
    e->len = len;
    e->tag = tag_of(token, len);
    e->snap = snap;
    return &e->mark;
}

int mab_tokencache_verified_by(const mab_tokencache_hit_t *hit, const mab_key_t *key)
{
    return key && hit->verifier == identity(key);
}

/* The key selection of the full path (mab_jws_verify_keyset): a token with a kid only by a
 * key with that kid, and only a key that fits the alg (its JWK alg, type, curve). A key
 * republished under another kid or for another alg no longer vouches for cached tokens. */
static int selectable(const mab_key_t *key, const mab_tokencache_hit_t *hit)
{
    if (hit->kid && (!key->kid || strcmp(key->kid, hit->kid) != 0)) {
        return 0;
    }
    return mab_jwk_fits_alg(key, hit->alg);
}

int mab_tokencache_key_in(const mab_tokencache_hit_t *hit, const mab_keyset_t *ks)
{
    int i;

    if (!hit->pkey_) {
        return 0;
    }
    for (i = 0; ks && i < ks->nkeys; i++) {
        if (ks->keys[i]->pkey == hit->pkey_) {
            return selectable(ks->keys[i], hit);
        }
    }
    /* A refreshed key set imports its keys again: the same public key, re-published, still
     * vouches for the signature it verified. Compared in full, never by kid alone. */
    for (i = 0; ks && i < ks->nkeys; i++) {
        if (ks->keys[i]->pkey && EVP_PKEY_eq(ks->keys[i]->pkey, hit->pkey_) == 1
            && selectable(ks->keys[i], hit)) {
            return 1;
        }
    }
    return 0;
}
