#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mab_jwk.h"
#include "mab_jwks.h"
#include "mab_tokencache.h"

/* Enough stripes that two threads rarely share one, few enough to cost nothing. */
#define MAB_TOKENCACHE_LOCKS 64

typedef struct {
    unsigned char digest[MAB_TOKENCACHE_DIGEST_LEN];
    long long exp; /* 0: the way is empty */
    apr_uint32_t used;
    json_t *claims; /* our own copy: its references change only under the set's lock */
    EVP_PKEY *pkey; /* one reference, ours, when a public key verified the token */
    const void *verifier;
    const struct mab_alg_t *alg;
    int typ_at_jwt;
    char kid[MAB_TOKENCACHE_KID_MAX + 1];
    int has_kid;
} entry_t;

typedef struct {
    apr_uint32_t clock; /* ticks on every use, for least-recently-used eviction */
    entry_t way[MAB_TOKENCACHE_WAYS];
} set_t;

struct mab_tokencache_t {
    set_t *sets;
    unsigned nsets;
    unsigned nlocks;
    apr_thread_mutex_t *locks[MAB_TOKENCACHE_LOCKS];
};

/* What an entry gives up. The claims are released under the set's lock, like every change
 * of their reference count: jansson's decrement is a release without an acquire, so the
 * lock is what orders a last reader's accesses before the free (ThreadSanitizer agrees).
 * A public key is released anywhere: OpenSSL's counts are fully ordered. */
typedef struct {
    json_t *claims;
    EVP_PKEY *pkey;
} dropped_t;

static EVP_MD *sha256;

void mab_tokencache_global_init(void)
{
    if (!sha256) {
        /* An explicit fetch: EVP_sha256() would look the implementation up on every call. */
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
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

static void release(dropped_t *d)
{
    if (d->claims) {
        json_decref(d->claims);
    }
    EVP_PKEY_free(d->pkey);
    d->claims = NULL;
    d->pkey = NULL;
}

/* Empties a way; its references go to *d for release after unlocking. */
static void clear(entry_t *e, dropped_t *d)
{
    d->claims = e->claims;
    d->pkey = e->pkey;
    memset(e, 0, sizeof(*e));
}

static apr_status_t drop_all(void *data)
{
    mab_tokencache_t *tc = data;
    unsigned i, w;

    for (i = 0; i < tc->nsets; i++) {
        for (w = 0; w < MAB_TOKENCACHE_WAYS; w++) {
            dropped_t d;
            clear(&tc->sets[i].way[w], &d);
            release(&d);
        }
    }
    return APR_SUCCESS;
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

void mab_tokencache_store(mab_tokencache_t *tc,
                          const unsigned char digest[MAB_TOKENCACHE_DIGEST_LEN], long long exp,
                          long long now, json_t *claims, const struct mab_alg_t *alg,
                          const char *kid, int typ_at_jwt, const mab_key_t *key)
{
    unsigned s = set_index(tc, digest);
    set_t *set = &tc->sets[s];
    apr_thread_mutex_t *lock = lock_of(tc, s);
    entry_t *victim = NULL, *empty = NULL, *lru = NULL;
    dropped_t d = {NULL, NULL};
    size_t kid_len = kid ? strlen(kid) : 0;
    int w;

    if (exp <= now || kid_len > MAB_TOKENCACHE_KID_MAX || !claims || !key) {
        return;
    }
    /* The references the entry will own, taken before the lock (both are atomic). */
    if (key->pkey && EVP_PKEY_up_ref(key->pkey) != 1) {
        return;
    }
    /* Our own copy, so that no reference the request holds on its parse is shared. */
    claims = json_deep_copy(claims);
    if (!claims) {
        EVP_PKEY_free(key->pkey);
        return;
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
    clear(victim, &d);
    json_decref(d.claims);
    d.claims = NULL;
    memcpy(victim->digest, digest, MAB_TOKENCACHE_DIGEST_LEN);
    victim->exp = exp;
    victim->used = ++set->clock;
    victim->claims = claims;
    victim->pkey = key->pkey;
    victim->verifier = identity(key);
    victim->alg = alg;
    victim->typ_at_jwt = typ_at_jwt;
    victim->has_kid = kid != NULL;
    if (kid) {
        memcpy(victim->kid, kid, kid_len + 1);
    }
    apr_thread_mutex_unlock(lock);
    release(&d);
}

/* A hit's references, released with the request pool. */
typedef struct {
    json_t *claims;
    EVP_PKEY *pkey;
    apr_thread_mutex_t *lock;
} held_t;

static apr_status_t release_held(void *data)
{
    held_t *h = data;

    apr_thread_mutex_lock(h->lock);
    json_decref(h->claims);
    apr_thread_mutex_unlock(h->lock);
    EVP_PKEY_free(h->pkey);
    return APR_SUCCESS;
}

int mab_tokencache_lookup(mab_tokencache_t *tc,
                          const unsigned char digest[MAB_TOKENCACHE_DIGEST_LEN], long long now,
                          apr_pool_t *pool, mab_tokencache_hit_t *hit)
{
    unsigned s = set_index(tc, digest);
    set_t *set = &tc->sets[s];
    apr_thread_mutex_t *lock = lock_of(tc, s);
    dropped_t d = {NULL, NULL};
    held_t *held = apr_palloc(pool, sizeof(*held));
    int w, found = 0;

    apr_thread_mutex_lock(lock);
    for (w = 0; w < MAB_TOKENCACHE_WAYS; w++) {
        entry_t *e = &set->way[w];
        if (!same_digest(e, digest)) {
            continue;
        }
        if (e->exp <= now) {
            clear(e, &d); /* never outlives exp */
            json_decref(d.claims);
            d.claims = NULL;
            break;
        }
        e->used = ++set->clock;
        /* Taken under the lock, so eviction by another thread cannot free them. */
        held->claims = hit->claims = json_incref(e->claims);
        held->pkey = e->pkey;
        held->lock = lock;
        if (e->pkey) {
            EVP_PKEY_up_ref(e->pkey);
        }
        hit->alg = e->alg;
        hit->kid = e->has_kid ? apr_pstrdup(pool, e->kid) : NULL;
        hit->typ_at_jwt = e->typ_at_jwt;
        hit->verifier = e->verifier;
        found = 1;
        break;
    }
    apr_thread_mutex_unlock(lock);
    release(&d);
    if (found) {
        hit->pkey_ = held->pkey;
        apr_pool_cleanup_register(pool, held, release_held, apr_pool_cleanup_null);
    }
    return found;
}

int mab_tokencache_verified_by(const mab_tokencache_hit_t *hit, const mab_key_t *key)
{
    return key && hit->verifier == identity(key);
}

int mab_tokencache_key_in(const mab_tokencache_hit_t *hit, const mab_keyset_t *ks)
{
    int i;

    if (!hit->pkey_) {
        return 0;
    }
    for (i = 0; ks && i < ks->nkeys; i++) {
        if (ks->keys[i]->pkey == hit->pkey_) {
            return 1;
        }
    }
    /* A refreshed key set imports its keys again: the same public key, re-published, still
     * vouches for the signature it verified. Compared in full, never by kid alone. */
    for (i = 0; ks && i < ks->nkeys; i++) {
        if (ks->keys[i]->pkey && EVP_PKEY_eq(ks->keys[i]->pkey, hit->pkey_) == 1) {
            return 1;
        }
    }
    return 0;
}
