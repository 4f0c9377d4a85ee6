/* The verified-token cache: a hit only for the very same token, never past exp, bounded
 * with least-recently-used eviction, tied to the key object that verified the token, and
 * safe under concurrent threads. */
#include <apr_thread_proc.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "mab_alg.h"
#include "mab_exports.h"
#include "mab_jwk.h"
#include "mab_jwks.h"
#include "mab_tokencache.h"
#include "tap.h"
#include "testutil.h"

#define NOW 1700000000LL

static void digest_of(const char *tok, unsigned char *d)
{
    mab_tokencache_digest(tok, strlen(tok), d);
}

static json_t *claims_n(int n)
{
    return json_pack("{s:s, s:i, s:i}", "iss", "https://issuer.test/", "n", n, "exp",
                     (json_int_t)(NOW + 3600));
}

static mab_key_t *ec_key(apr_pool_t *p, const char *kid)
{
    mab_key_t *k = apr_pcalloc(p, sizeof(*k));

    k->kid = kid;
    k->kty = "EC";
    k->crv = "P-256";
    k->pkey = EVP_EC_gen("P-256");
    return k;
}

/* The module gives the cache its own parse (adopted on success); the tests store a copy
 * of a shared object, released here when the cache does not take it. */
static int store_copy(mab_tokencache_t *tc, const unsigned char *d, long long exp, long long now,
                      const json_t *claims, const struct mab_alg_t *alg, const char *kid,
                      int typ_at_jwt, const mab_key_t *key, apr_pool_t *pool,
                      mab_tokencache_hit_t *held)
{
    json_t *copy = json_deep_copy(claims);

    if (mab_tokencache_store(tc, d, exp, now, copy, alg, kid, typ_at_jwt, key, pool, held)) {
        return 1;
    }
    json_decref(copy);
    return 0;
}

static void store_n(mab_tokencache_t *tc, int n, const mab_key_t *key)
{
    unsigned char d[MAB_TOKENCACHE_DIGEST_LEN];
    char tok[32];
    json_t *c = claims_n(n);

    snprintf(tok, sizeof(tok), "token-%d", n);
    digest_of(tok, d);
    store_copy(tc, d, NOW + 3600, NOW, c, mab_alg_find("ES256"), "k1", 0, key, NULL, NULL);
    json_decref(c); /* the cache keeps its own reference */
}

/* The n the cached claims carry, or -1 on a miss. With `front`, this thread's front is
 * asked first and a hit from the sets is put in it, as the module does. */
static int lookup_front(mab_tokencache_t *tc, int n, apr_pool_t *p, int front)
{
    unsigned char d[MAB_TOKENCACHE_DIGEST_LEN];
    mab_tokencache_hit_t hit;
    char tok[32];

    snprintf(tok, sizeof(tok), "token-%d", n);
    if (front && mab_tokencache_front_lookup(tc, tok, strlen(tok), NOW, p, &hit)) {
        return (int)json_integer_value(json_object_get(hit.claims, "n"));
    }
    digest_of(tok, d);
    if (!mab_tokencache_lookup(tc, d, NOW, p, &hit)) {
        return -1;
    }
    if (front) {
        mab_tokencache_front_put(tc, tok, strlen(tok), &hit);
    }
    return (int)json_integer_value(json_object_get(hit.claims, "n"));
}

static int lookup_n(mab_tokencache_t *tc, int n, apr_pool_t *p)
{
    return lookup_front(tc, n, p, 0);
}

typedef struct {
    mab_tokencache_t *tc;
    const char *token;
    int found;
} front_probe_t;

static void *APR_THREAD_FUNC front_probe(apr_thread_t *t, void *data)
{
    front_probe_t *probe = data;
    apr_pool_t *p = NULL;
    mab_tokencache_hit_t hit;

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    probe->found =
        mab_tokencache_front_lookup(probe->tc, probe->token, strlen(probe->token), NOW, p, &hit);
    apr_pool_destroy(p);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

typedef struct {
    mab_tokencache_t *tc;
    const mab_key_t *key;
    int seed;
    int wrong; /* hits whose claims belong to another token */
    int hits;
} worker_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    worker_t *w = data;
    apr_pool_t *p = NULL;
    unsigned x = (unsigned)w->seed * 2654435761u + 1;
    int i;

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    for (i = 0; i < 4000; i++) {
        int n, got;
        x = x * 1103515245u + 12345u;
        n = (int)((x >> 8) % 48);
        got = lookup_front(w->tc, n, p, w->seed % 2); /* half the threads use a front */
        if (got == -1) {
            store_n(w->tc, n, w->key);
        }
        else {
            w->hits++;
            w->wrong += got != n;
        }
        if (i % 64 == 0) {
            apr_pool_clear(p); /* drops the references the hits took */
        }
    }
    apr_pool_destroy(p);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

int main(void)
{
    apr_pool_t *p = test_setup(), *cp = NULL, *req = NULL;
    unsigned char d1[MAB_TOKENCACHE_DIGEST_LEN], d2[MAB_TOKENCACHE_DIGEST_LEN], abc[32];
    static const unsigned char abc_sha256[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                                 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                                 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                                 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    const char *tok = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
    const char *tok2 = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lo";
    mab_tokencache_t *tc;
    mab_tokencache_hit_t hit;
    mab_key_t *key, *other, *secret;
    mab_keyset_t ks;
    mab_key_t *keys[2];
    json_t *claims, *shared;
    char long_kid[MAB_TOKENCACHE_KID_MAX + 2];
    int i;

    mab_tokencache_global_init(p);

    /* --- the key: SHA-256 of the whole token ---------------------------------------------- */
    is_int(mab_tokencache_digest("abc", 3, abc), 0, "digest: computed");
    ok(memcmp(abc, abc_sha256, 32) == 0, "digest: SHA-256 (FIPS 180-2 'abc' vector)");

    /* --- sizing ----------------------------------------------------------------------------- */
    apr_pool_create(&cp, p);
    ok(mab_tokencache_create(cp, 0) == NULL, "create: 0 entries is no cache");
    ok(mab_tokencache_create(cp, MAB_TOKENCACHE_MAX_ENTRIES + 1) == NULL, "create: above the max");
    tc = mab_tokencache_create(cp, 4096);
    is_int(mab_tokencache_capacity(tc), 4096, "create: 4096 entries");
    tc = mab_tokencache_create(cp, 100);
    is_int(mab_tokencache_capacity(tc), 96, "create: rounded down to whole sets of 8");
    tc = mab_tokencache_create(cp, 3);
    is_int(mab_tokencache_capacity(tc), 8, "create: at least one set");

    /* --- hit, miss, a different token ------------------------------------------------------- */
    key = ec_key(p, "k1");
    other = ec_key(p, "k1");
    secret = mab_jwk_secret(p, (const unsigned char *)"0123456789abcdef0123456789abcdef", 32);
    tc = mab_tokencache_create(cp, 64);
    digest_of(tok, d1);
    digest_of(tok2, d2);
    apr_pool_create(&req, p);
    ok(!mab_tokencache_lookup(tc, d1, NOW, req, &hit), "miss: empty cache");
    claims = claims_n(1);
    store_copy(tc, d1, NOW + 60, NOW, claims, mab_alg_find("ES256"), "k1", 1, key, NULL, NULL);
    is_int(claims->refcount, 1, "store: the caller's object is not the cache's");
    {
        /* The object given is adopted as it is: no copy, no further reference. */
        json_t *given = claims_n(9);
        unsigned char d9[MAB_TOKENCACHE_DIGEST_LEN];
        digest_of("adopted", d9);
        ok(mab_tokencache_store(tc, d9, NOW + 60, NOW, given, mab_alg_find("ES256"), "k1", 0, key,
                                req, &hit)
               && hit.claims == given && given->refcount == 1,
           "store: adopts the reference it is given");
        ok(!mab_tokencache_store(tc, d9, NOW, NOW, claims, mab_alg_find("ES256"), "k1", 0, key, req,
                                 &hit)
               && claims->refcount == 1,
           "store: a refused token leaves the object to the caller");
        apr_pool_clear(req);
    }
    ok(mab_tokencache_lookup(tc, d1, NOW, req, &hit), "hit: the same token");
    ok(hit.claims != claims && json_equal(hit.claims, claims), "hit: the claims stored");
    is_int(hit.claims->refcount, 1, "hit: the request holds the entry, not jansson's count");
    is_int(hit.exports->n, 3, "hit: the environment text, one per claim");
    is_str(hit.exports->vars[1].name, "BEARER_CLAIM_N", "hit: env name");
    is_str(hit.exports->vars[1].value, "1", "hit: env value");
    is_str(hit.exports->claims_json,
           "{\"iss\":\"https://issuer.test/\",\"n\":1,\"exp\":1700003600}", "hit: BEARER_CLAIMS");
    shared = hit.claims;
    is_str(hit.kid, "k1", "hit: kid");
    ok(hit.alg == mab_alg_find("ES256"), "hit: alg");
    is_int(hit.typ_at_jwt, 1, "hit: typ at+jwt remembered");
    ok(!mab_tokencache_lookup(tc, d2, NOW, req, &hit), "miss: a token differing in one byte");
    /* The entry goes while the request still reads it: the request's reference keeps it. */
    for (i = 0; i < 20; i++) {
        store_copy(tc, d1, NOW + 60, NOW, claims, mab_alg_find("ES256"), "k1", 1, key, NULL, NULL);
    }
    is_int((int)json_integer_value(json_object_get(shared, "n")), 1,
           "hit: readable after its entry was replaced (ASan/valgrind check the memory)");
    apr_pool_clear(req);
    {
        mab_tokencache_hit_t held;
        ok(store_copy(tc, d2, NOW + 60, NOW, claims, mab_alg_find("ES256"), "k1", 0, key, req,
                      &held),
           "store: stored");
        ok(held.claims != claims && json_equal(held.claims, claims) && held.exports
               && strcmp(held.exports->vars[0].value, "https://issuer.test/") == 0,
           "store: the request gets the entry's copy and texts");
        ok(mab_tokencache_lookup(tc, d2, NOW, req, &hit) && hit.claims == held.claims,
           "store: the very entry a lookup finds");
        ok(!store_copy(tc, d2, NOW, NOW, claims, mab_alg_find("ES256"), "k1", 0, key, req, &held),
           "store: 0 for an expired token");
        apr_pool_clear(req);
    }

    /* --- bound to the very key object ------------------------------------------------------- */
    ok(mab_tokencache_lookup(tc, d1, NOW, req, &hit), "hit again");
    ok(mab_tokencache_verified_by(&hit, key), "verified_by: the key that verified it");
    ok(!mab_tokencache_verified_by(&hit, other), "verified_by: not another key with the same kid");
    ok(!mab_tokencache_verified_by(&hit, secret), "verified_by: not a secret");
    ok(!mab_tokencache_verified_by(&hit, NULL), "verified_by: not no key");
    keys[0] = other;
    keys[1] = key;
    ks.keys = keys;
    ks.nkeys = 2;
    ks.nskipped = 0;
    ok(mab_tokencache_key_in(&hit, &ks), "key_in: the key is in the set");
    ks.nkeys = 1;
    ok(!mab_tokencache_key_in(&hit, &ks), "key_in: rotated out (a new set re-imports keys)");
    ok(!mab_tokencache_key_in(&hit, NULL), "key_in: no key set");
    {
        /* A refresh re-imports the same public key as a new object: still the same key. */
        mab_key_t again = *key;
        again.pkey = EVP_PKEY_dup(key->pkey);
        keys[1] = &again;
        ks.nkeys = 2;
        ok(mab_tokencache_key_in(&hit, &ks), "key_in: the same public key, re-imported");
        ok(!mab_tokencache_verified_by(&hit, &again), "verified_by: identity, not equality");
        /* The same key republished with other metadata: a hit applies the key rules of the
         * full path (issue 12, item 4), or its verdict would depend on the cache. */
        again.alg = "ES384";
        ok(!mab_tokencache_key_in(&hit, &ks), "key_in: republished for another alg");
        again.alg = "ES256";
        ok(mab_tokencache_key_in(&hit, &ks), "key_in: republished with its own alg named");
        again.alg = NULL;
        again.kid = "k2";
        ok(!mab_tokencache_key_in(&hit, &ks), "key_in: republished under another kid");
        again.kid = NULL;
        ok(!mab_tokencache_key_in(&hit, &ks), "key_in: republished without a kid (token has one)");
        again.kid = key->kid;
        keys[1] = key;
        key->alg = "ES384";
        ok(!mab_tokencache_key_in(&hit, &ks), "key_in: even the very key object must fit the alg");
        key->alg = NULL;
        EVP_PKEY_free(again.pkey);
    }
    apr_pool_clear(req);

    /* The entry keeps the public key alive: the key set's own reference may go first. */
    EVP_PKEY_free(key->pkey);
    ok(mab_tokencache_lookup(tc, d1, NOW, req, &hit), "hit: after the key set freed its key");
    apr_pool_clear(req);

    digest_of("hmac-token", d2);
    store_copy(tc, d2, NOW + 60, NOW, claims, mab_alg_find("HS256"), NULL, 0, secret, NULL, NULL);
    ok(mab_tokencache_lookup(tc, d2, NOW, req, &hit), "hit: HMAC token");
    ok(mab_tokencache_verified_by(&hit, secret), "verified_by: the configured secret");
    ok(!mab_tokencache_key_in(&hit, &ks), "key_in: a secret is never in a key set");
    ok(hit.kid == NULL, "hit: no kid");
    apr_pool_clear(req);

    /* --- exp -------------------------------------------------------------------------------- */
    ok(mab_tokencache_lookup(tc, d1, NOW + 59, req, &hit), "exp: hit one second before exp");
    apr_pool_clear(req);
    ok(!mab_tokencache_lookup(tc, d1, NOW + 60, req, &hit), "exp: miss at exp");
    ok(!mab_tokencache_lookup(tc, d1, NOW, req, &hit), "exp: the expired entry was dropped");
    digest_of("expired", d2);
    store_copy(tc, d2, NOW, NOW, claims, mab_alg_find("ES256"), "k1", 0, other, NULL, NULL);
    ok(!mab_tokencache_lookup(tc, d2, NOW - 10, req, &hit), "exp: an expired token is not stored");
    memset(long_kid, 'k', sizeof(long_kid) - 1);
    long_kid[sizeof(long_kid) - 1] = '\0';
    digest_of("long-kid", d2);
    store_copy(tc, d2, NOW + 60, NOW, claims, mab_alg_find("ES256"), long_kid, 0, other, NULL,
               NULL);
    ok(!mab_tokencache_lookup(tc, d2, NOW, req, &hit), "kid: too long to keep, not stored");
    long_kid[MAB_TOKENCACHE_KID_MAX] = '\0';
    store_copy(tc, d2, NOW + 60, NOW, claims, mab_alg_find("ES256"), long_kid, 0, other, NULL,
               NULL);
    ok(mab_tokencache_lookup(tc, d2, NOW, req, &hit) && strcmp(hit.kid, long_kid) == 0,
       "kid: the longest kept whole");
    apr_pool_clear(req);
    json_decref(claims);

    /* --- the thread's front: byte for byte, no hash, no lock ------------------------------- */
    {
        const char *ft = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJmcm9udCJ9.c2lnbmF0dXJlLWJ5dGVz";
        char *near = apr_pstrdup(p, ft), *big = apr_palloc(p, MAB_TOKENCACHE_FRONT_MAX_TOKEN + 2);
        size_t flen = strlen(ft);
        mab_tokencache_mark_t *mark;
        mab_tokencache_hit_t fh;
        apr_thread_t *th;
        apr_status_t rv;
        front_probe_t probe;
        json_t *fclaims = claims_n(7), *kept;

        tc = mab_tokencache_create(cp, 64);
        digest_of(ft, d1);
        ok(!mab_tokencache_front_lookup(tc, ft, flen, NOW, req, &fh), "front: empty");
        ok(store_copy(tc, d1, NOW + 60, NOW, fclaims, mab_alg_find("ES256"), "k1", 0, key, req,
                      &hit),
           "front: stored");
        mark = mab_tokencache_front_put(tc, ft, flen, &hit);
        ok(mark && mark->scope == NULL && mark->gen == 0, "front: put, its notes empty");
        ok(mab_tokencache_front_lookup(tc, ft, flen, NOW, req, &fh) && fh.claims == hit.claims
               && fh.exports == hit.exports && fh.mark == mark,
           "front: hit, the very entry the cache holds");
        ok(memcmp(fh.digest, d1, sizeof(d1)) == 0 && fh.exp == NOW + 60,
           "front: a hit carries the digest (log fingerprint) and exp");
        mark->scope = key;
        mark->gen = 5;
        ok(mab_tokencache_front_lookup(tc, ft, flen, NOW, req, &fh) && fh.mark->gen == 5
               && fh.mark->scope == key,
           "front: the caller's notes are kept with the entry");
        ok(mab_tokencache_front_put(tc, ft, flen, &fh) == mark && mark->gen == 5,
           "front: putting the same entry again keeps the notes");
        near[0] = 'f'; /* same length, same tail: the full compare decides */
        ok(!mab_tokencache_front_lookup(tc, near, flen, NOW, req, &fh),
           "front: a token differing in its first byte misses");
        near[0] = ft[0];
        near[flen - 1] = 'X';
        ok(!mab_tokencache_front_lookup(tc, near, flen, NOW, req, &fh),
           "front: a token differing in its last byte misses");
        ok(!mab_tokencache_front_lookup(tc, ft, flen - 1, NOW, req, &fh),
           "front: a prefix of the token misses");

        /* Other threads have fronts of their own. */
        probe.tc = tc;
        probe.token = ft;
        probe.found = -1;
        apr_thread_create(&th, NULL, front_probe, &probe, p);
        apr_thread_join(&rv, th);
        is_int(probe.found, 0, "front: another thread does not see this thread's front");

        /* Stored again (another key verified it): a new entry, the notes start over. */
        ok(store_copy(tc, d1, NOW + 60, NOW, fclaims, mab_alg_find("ES256"), "k1", 0, other, req,
                      &hit),
           "front: stored again");
        mark = mab_tokencache_front_put(tc, ft, flen, &hit);
        ok(mark && mark->gen == 0 && mark->scope == NULL, "front: a new entry clears the notes");
        ok(mab_tokencache_front_lookup(tc, ft, flen, NOW, req, &fh)
               && mab_tokencache_verified_by(&fh, other),
           "front: hands out the new entry");
        kept = fh.claims;

        /* Round robin over MAB_TOKENCACHE_FRONT_WAYS: the oldest goes. */
        for (i = 0; i < MAB_TOKENCACHE_FRONT_WAYS; i++) {
            char other_tok[64];
            unsigned char od[MAB_TOKENCACHE_DIGEST_LEN];
            snprintf(other_tok, sizeof(other_tok), "front-token-%d", i);
            digest_of(other_tok, od);
            store_copy(tc, od, NOW + 60, NOW, fclaims, mab_alg_find("ES256"), "k1", 0, other, req,
                       &hit);
            mab_tokencache_front_put(tc, other_tok, strlen(other_tok), &hit);
        }
        ok(!mab_tokencache_front_lookup(tc, ft, flen, NOW, req, &fh),
           "front: pushed out after %d other tokens", MAB_TOKENCACHE_FRONT_WAYS);
        ok(mab_tokencache_front_lookup(tc, "front-token-7", 13, NOW, req, &fh),
           "front: the newest is in");
        is_int((int)json_integer_value(json_object_get(kept, "n")), 7,
               "front: a request's hit outlives the front entry it came from");
        ok(mab_tokencache_lookup(tc, d1, NOW, req, &hit), "front: the cache proper still has it");

        /* exp applies to the front as to the cache. */
        ok(!mab_tokencache_front_lookup(tc, "front-token-7", 13, NOW + 60, req, &fh),
           "front: miss at exp");
        ok(!mab_tokencache_front_lookup(tc, "front-token-7", 13, NOW, req, &fh),
           "front: the expired entry was dropped");

        memset(big, 'a', MAB_TOKENCACHE_FRONT_MAX_TOKEN + 1);
        big[MAB_TOKENCACHE_FRONT_MAX_TOKEN + 1] = '\0';
        ok(mab_tokencache_front_put(tc, big, MAB_TOKENCACHE_FRONT_MAX_TOKEN + 1, &hit) == NULL,
           "front: a token over %d bytes is not kept", MAB_TOKENCACHE_FRONT_MAX_TOKEN);
        apr_pool_clear(req);
        json_decref(fclaims);
    }

    /* --- bound and least-recently-used eviction (one set of 8) ------------------------------ */
    tc = mab_tokencache_create(cp, 8);
    for (i = 0; i < 8; i++) {
        store_n(tc, i, other);
    }
    for (i = 0; i < 8; i++) {
        is_int(lookup_n(tc, i, req), i, "bound: token %d cached", i);
    }
    apr_pool_clear(req);
    is_int(lookup_n(tc, 0, req), 0, "lru: token 0 used last");
    store_n(tc, 8, other);
    is_int(lookup_n(tc, 1, req), -1, "lru: token 1, least recently used, evicted");
    is_int(lookup_n(tc, 0, req), 0, "lru: token 0 kept");
    is_int(lookup_n(tc, 8, req), 8, "lru: token 8 in");
    for (i = 0; i < 20; i++) {
        store_n(tc, 8, other); /* the same token again replaces its own entry */
    }
    is_int(lookup_n(tc, 2, req), 2, "replace: storing one token again does not evict others");
    apr_pool_clear(req);

    /* --- threads ---------------------------------------------------------------------------- */
    {
        apr_thread_t *th[4];
        worker_t w[4];
        int wrong = 0, hits = 0;

        tc = mab_tokencache_create(cp, 16); /* smaller than the 48 tokens: constant eviction */
        for (i = 0; i < 4; i++) {
            w[i].tc = tc;
            w[i].key = other;
            w[i].seed = i + 1;
            w[i].wrong = w[i].hits = 0;
            apr_thread_create(&th[i], NULL, worker, &w[i], p);
        }
        for (i = 0; i < 4; i++) {
            apr_status_t rv;
            apr_thread_join(&rv, th[i]);
            wrong += w[i].wrong;
            hits += w[i].hits;
        }
        is_int(wrong, 0, "threads: every hit had its own token's claims");
        ok(hits > 0, "threads: there were hits (%d)", hits);
    }

    apr_pool_destroy(req);
    apr_pool_destroy(cp); /* drops every entry's references */
    EVP_PKEY_free(other->pkey);
    apr_pool_destroy(p);
    return tap_done();
}
