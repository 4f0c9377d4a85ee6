/* A DPoP proof's complete check at a resource server (RFC 9449 §4.3), and the per-process
 * cache of proof keys that makes it cheap for a client that keeps its key.
 *
 * A proof is a JWS whose key travels in its own header. Everything the header decides (typ,
 * alg, the jwk, its import into OpenSSL, its thumbprint) is a function of the header's
 * bytes alone, and a client reusing its key sends the same bytes every time, so the result
 * is kept by those bytes: a hit skips the header's JSON, the key import and the thumbprint.
 * What a hit never skips: the allow-list (it differs between locations), every claim and
 * the signature, which are checked on every proof. Only headers that passed are kept. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mab_alg.h"
#include "mab_b64.h"
#include "mab_claims.h"
#include "mab_dpop.h"
#include "mab_htu.h"
#include "mab_json.h"
#include "mab_jwk.h"
#include "mab_jws.h"
#include "mab_sig.h"

/* --- the proof-key cache ---------------------------------------------------------------- */

#define KEYS_WAYS 4
/* Enough stripes that two threads rarely share one, few enough to cost nothing. */
#define KEYS_LOCKS 64

/* What one header decided: immutable once built, shared by the table and by every check
 * using it, freed by whoever drops the last reference (an entry evicted while another
 * thread verifies with it lives until that thread is done). */
typedef struct {
    atomic_uint refs;
    apr_pool_t *pool; /* owns key, its EVP_PKEY and prepared contexts; NULL when uncached */
    const mab_key_t *key;
    const mab_alg_t *alg;
    char jkt[MAB_JKT_LEN + 1];
    apr_uint64_t hash;
    apr_size_t hdr_len;
    char hdr[]; /* the header segment, base64url as it came */
} entry_t;

typedef struct {
    apr_uint32_t used; /* the set's clock when last used: the oldest is evicted */
    entry_t *e;
} way_t;

typedef struct {
    apr_uint32_t clock;
    way_t way[KEYS_WAYS];
} set_t;

struct mab_dpop_keys_t {
    set_t *sets;
    unsigned nsets, ways, nlocks;
    apr_thread_mutex_t *locks[KEYS_LOCKS];
    atomic_ulong hits, misses;
};

static void entry_release(entry_t *e)
{
    /* acq_rel: every user's reads happen before the free by the last one. */
    if (e && e->pool && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) {
        apr_pool_destroy(e->pool);
        free(e);
    }
}

/* FNV-1a: the set only spreads entries; an attacker who aims headers at one set only
 * evicts entries there, which sending many keys does anyway. */
static apr_uint64_t hash_of(const char *s, apr_size_t len)
{
    apr_uint64_t h = 0xcbf29ce484222325ULL;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    }
    return h;
}

static apr_status_t keys_cleanup(void *data)
{
    mab_dpop_keys_t *keys = data;
    unsigned s, w;

    for (s = 0; s < keys->nsets; s++) {
        for (w = 0; w < keys->ways; w++) {
            entry_release(keys->sets[s].way[w].e);
            keys->sets[s].way[w].e = NULL;
        }
    }
    return APR_SUCCESS;
}

mab_dpop_keys_t *mab_dpop_keys_create(apr_pool_t *p, unsigned entries)
{
    mab_dpop_keys_t *keys;
    unsigned i;

    if (entries == 0) {
        return NULL;
    }
    if (entries > MAB_DPOP_KEYS_MAX) {
        entries = MAB_DPOP_KEYS_MAX;
    }
    keys = apr_pcalloc(p, sizeof(*keys));
    keys->ways = entries < KEYS_WAYS ? entries : KEYS_WAYS;
    keys->nsets = entries / keys->ways;
    keys->nlocks = keys->nsets < KEYS_LOCKS ? keys->nsets : KEYS_LOCKS;
    keys->sets = apr_pcalloc(p, sizeof(set_t) * keys->nsets);
    atomic_init(&keys->hits, 0);
    atomic_init(&keys->misses, 0);
    for (i = 0; i < keys->nlocks; i++) {
        if (apr_thread_mutex_create(&keys->locks[i], APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS) {
            return NULL;
        }
    }
    /* Registered after the mutexes, so it runs before they are destroyed. */
    apr_pool_cleanup_register(p, keys, keys_cleanup, apr_pool_cleanup_null);
    return keys;
}

void mab_dpop_keys_stats(mab_dpop_keys_t *keys, unsigned long *hits, unsigned long *misses)
{
    *hits = keys ? atomic_load_explicit(&keys->hits, memory_order_relaxed) : 0;
    *misses = keys ? atomic_load_explicit(&keys->misses, memory_order_relaxed) : 0;
}

static set_t *set_of(mab_dpop_keys_t *keys, apr_uint64_t hash, apr_thread_mutex_t **lock)
{
    unsigned s = (unsigned)(hash % keys->nsets);

    *lock = keys->locks[s % keys->nlocks];
    return &keys->sets[s];
}

static int same_header(const entry_t *e, apr_uint64_t hash, const char *hdr, apr_size_t len)
{
    return e && e->hash == hash && e->hdr_len == len && memcmp(e->hdr, hdr, len) == 0;
}

/* The entry for these header bytes with a reference for the caller, or NULL. */
static entry_t *cache_get(mab_dpop_keys_t *keys, const char *hdr, apr_size_t len, apr_uint64_t hash)
{
    apr_thread_mutex_t *lock;
    set_t *set = set_of(keys, hash, &lock);
    entry_t *found = NULL;
    unsigned w;

    apr_thread_mutex_lock(lock);
    for (w = 0; w < keys->ways; w++) {
        if (same_header(set->way[w].e, hash, hdr, len)) {
            found = set->way[w].e;
            atomic_fetch_add_explicit(&found->refs, 1, memory_order_relaxed);
            set->way[w].used = ++set->clock;
            break;
        }
    }
    apr_thread_mutex_unlock(lock);
    atomic_fetch_add_explicit(found ? &keys->hits : &keys->misses, 1, memory_order_relaxed);
    return found;
}

/* Puts e (holding the caller's reference) into the table, which takes one of its own; when
 * another thread put the same header in meanwhile, that one is used and e dropped. Returns
 * the entry the caller now holds a reference to. */
static entry_t *cache_put(mab_dpop_keys_t *keys, entry_t *e)
{
    apr_thread_mutex_t *lock;
    set_t *set = set_of(keys, e->hash, &lock);
    entry_t *old = NULL, *use = e;
    unsigned w, victim = 0;
    int empty = -1;

    apr_thread_mutex_lock(lock);
    for (w = 0; w < keys->ways; w++) {
        const way_t *way = &set->way[w];

        if (same_header(way->e, e->hash, e->hdr, e->hdr_len)) {
            use = way->e;
            atomic_fetch_add_explicit(&use->refs, 1, memory_order_relaxed);
            set->way[w].used = ++set->clock;
            break;
        }
        if (!way->e && empty < 0) {
            empty = (int)w;
        }
        if (way->used < set->way[victim].used) {
            victim = w;
        }
    }
    if (empty >= 0) {
        victim = (unsigned)empty;
    }
    if (use == e) {
        old = set->way[victim].e;
        atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
        set->way[victim].e = e;
        set->way[victim].used = ++set->clock;
    }
    apr_thread_mutex_unlock(lock);
    /* Outside the lock: the last reference frees OpenSSL objects. */
    entry_release(old);
    if (use != e) {
        entry_release(e);
    }
    return use;
}

/* --- the header ------------------------------------------------------------------------- */

/* Members that make a JWK private (RFC 7518 §6.3.2, §6.2.2, RFC 8037 §2), refused whatever
 * the kty: none of them belongs in any public key. */
static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL};

/* The header's checks and, when they pass, the key imported into pool, the alg and the
 * thumbprint in e. Static details only: they go to the log and the client. */
static mab_err_e check_header(const char *hdr_b64, apr_size_t hdr_len, apr_pool_t *p,
                              apr_pool_t *pool, entry_t *e, const char **detail)
{
    unsigned char *hdr;
    apr_size_t len;
    json_t *h, *v, *jwk;
    mab_jws_t typ_holder;
    const char *reason, *kty;
    mab_key_t *key;
    int i;

    if (mab_b64url_decode(p, hdr_b64, hdr_len, &hdr, &len) != 0 || len == 0) {
        *detail = "DPoP proof header is not base64url";
        return MAB_ERR_DPOP_PROOF;
    }
    h = mab_json_parse_object(p, hdr, len, &reason);
    if (!h) {
        *detail = "DPoP proof header is not a JSON object";
        return MAB_ERR_DPOP_PROOF;
    }
    /* RFC 7515 §4.1.9: media type names are case-insensitive and "application/" may be
     * left out, so "DPoP+JWT" and "application/dpop+jwt" name the same type; the JWT's
     * own rule (mab_jws_typ_is) is the one at+jwt tokens are judged by too. */
    v = json_object_get(h, "typ");
    if (!v) {
        *detail = "DPoP proof header has no typ";
        return MAB_ERR_DPOP_PROOF;
    }
    memset(&typ_holder, 0, sizeof(typ_holder));
    typ_holder.typ = json_is_string(v) ? json_string_value(v) : NULL;
    if (!mab_jws_typ_is(&typ_holder, "dpop+jwt")) {
        *detail = "DPoP proof typ is not dpop+jwt";
        return MAB_ERR_DPOP_PROOF;
    }
    v = json_object_get(h, "alg");
    if (!json_is_string(v)) {
        *detail = "DPoP proof header has no alg";
        return MAB_ERR_DPOP_PROOF;
    }
    e->alg = mab_alg_find(json_string_value(v));
    if (!e->alg) {
        /* "none" included: it is not in the table. */
        *detail = "DPoP proof alg is not a registered signature algorithm";
        return MAB_ERR_DPOP_PROOF;
    }
    if (e->alg->family == MAB_FAMILY_HMAC) {
        /* §4.3: a MAC would need a secret shared with the server, which a proof has not. */
        *detail = "DPoP proof alg is a MAC, never accepted";
        return MAB_ERR_DPOP_PROOF;
    }
    /* We implement no JWS extension (RFC 7515 §4.1.11), and b64 (RFC 7797) would change
     * what the signature covers. */
    if (json_object_get(h, "crit") || json_object_get(h, "b64")) {
        *detail = "DPoP proof header uses a JWS extension (crit, b64)";
        return MAB_ERR_DPOP_PROOF;
    }
    jwk = json_object_get(h, "jwk");
    if (!jwk) {
        *detail = "DPoP proof header has no jwk";
        return MAB_ERR_DPOP_PROOF;
    }
    if (!json_is_object(jwk)) {
        *detail = "DPoP proof jwk is not an object";
        return MAB_ERR_DPOP_PROOF;
    }
    v = json_object_get(jwk, "kty");
    kty = json_is_string(v) ? json_string_value(v) : NULL;
    if (kty && strcmp(kty, "oct") == 0) {
        *detail = "DPoP proof jwk is a symmetric (oct) key";
        return MAB_ERR_DPOP_PROOF;
    }
    for (i = 0; private_members[i]; i++) {
        if (json_object_get(jwk, private_members[i])) {
            *detail = "DPoP proof jwk holds a private key member";
            return MAB_ERR_DPOP_PROOF;
        }
    }
    key = mab_jwk_import(pool, jwk, &reason);
    if (!key) {
        *detail = "DPoP proof jwk is not a usable public key";
        return MAB_ERR_DPOP_PROOF;
    }
    if (!mab_jwk_fits_alg(key, e->alg)) {
        *detail = "DPoP proof jwk does not fit the proof's alg";
        return MAB_ERR_DPOP_PROOF;
    }
    if (mab_jwk_thumbprint(jwk, e->jkt) != 0) {
        *detail = "DPoP proof jwk has no RFC 7638 thumbprint";
        return MAB_ERR_DPOP_PROOF;
    }
    /* A kept key verifies many proofs: set up its verification contexts once (as a key
     * set's keys are), instead of fetching and initialising them for every proof. A key
     * used once (no cache) would spend more on that than it saves. */
    if (pool != p) {
        mab_sig_prepare(pool, key);
    }
    e->key = key;
    return MAB_OK;
}

/* The entry for the proof's header: from the cache, or checked now (and then cached).
 * On MAB_OK *out holds one reference (released with entry_release). */
static mab_err_e header_entry(mab_dpop_keys_t *keys, const char *hdr, apr_size_t hdr_len,
                              apr_pool_t *p, entry_t **out, const char **detail)
{
    apr_uint64_t hash = keys ? hash_of(hdr, hdr_len) : 0;
    entry_t *e;
    mab_err_e rv;

    if (keys && (*out = cache_get(keys, hdr, hdr_len, hash)) != NULL) {
        return MAB_OK;
    }
    if (!keys) {
        /* No reuse: the key lives in the request's pool, no reference counting. */
        e = apr_pcalloc(p, sizeof(*e));
        rv = check_header(hdr, hdr_len, p, p, e, detail);
        *out = rv == MAB_OK ? e : NULL;
        return rv;
    }
    e = calloc(1, sizeof(*e) + hdr_len);
    if (!e || apr_pool_create_unmanaged_ex(&e->pool, NULL, NULL) != APR_SUCCESS) {
        free(e);
        *detail = "out of memory";
        return MAB_ERR_INTERNAL;
    }
    atomic_init(&e->refs, 1);
    e->hash = hash;
    e->hdr_len = hdr_len;
    memcpy(e->hdr, hdr, hdr_len);
    rv = check_header(hdr, hdr_len, p, e->pool, e, detail);
    if (rv != MAB_OK) {
        entry_release(e);
        return rv;
    }
    *out = cache_put(keys, e);
    return MAB_OK;
}

/* --- the claims ------------------------------------------------------------------------- */

/* base64url(SHA-256(token)) against ath, in constant time (RFC 9449 §4.3 point 11). */
static int ath_matches(const json_t *ath, const mab_dpop_expect_t *expect)
{
    unsigned char d[32];
    unsigned int n = 0;
    char want[MAB_JKT_LEN + 1];

    if (!expect->token || json_string_length(ath) != MAB_JKT_LEN
        || EVP_Digest(expect->token, expect->token_len, d, &n, EVP_sha256(), NULL) != 1
        || n != sizeof(d)) {
        return 0;
    }
    mab_b64url_encode_into(d, sizeof(d), want);
    return CRYPTO_memcmp(want, json_string_value(ath), MAB_JKT_LEN) == 0;
}

/* RFC 7519 NumericDate: an integer normally, but a fraction is allowed there too; it is
 * cut to whole seconds (at most a second more lenient towards the future). */
static int iat_of(const json_t *v, long long *iat)
{
    double d;

    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || (double)i > MAB_MAX_NUMERIC_DATE) {
            return -1;
        }
        *iat = (long long)i;
        return 0;
    }
    if (!json_is_real(v)) {
        return -1;
    }
    d = json_real_value(v);
    if (!isfinite(d) || d < 0 || d > MAB_MAX_NUMERIC_DATE) {
        return -1;
    }
    *iat = (long long)floor(d);
    return 0;
}

static mab_err_e check_claims(const json_t *c, const mab_dpop_expect_t *expect, apr_pool_t *p,
                              mab_dpop_proof_t *out, const char **detail)
{
    const json_t *v;
    const char *htu;

    v = json_object_get(c, "jti");
    if (!v) {
        *detail = "DPoP proof has no jti";
        return MAB_ERR_DPOP_PROOF;
    }
    if (!json_is_string(v)) {
        *detail = "DPoP proof jti is not a string";
        return MAB_ERR_DPOP_PROOF;
    }
    if (json_string_length(v) == 0) {
        *detail = "DPoP proof jti is empty";
        return MAB_ERR_DPOP_PROOF;
    }
    if (json_string_length(v) > MAB_DPOP_MAX_JTI) {
        *detail = "DPoP proof jti is longer than 256 bytes";
        return MAB_ERR_DPOP_PROOF;
    }
    out->jti = apr_pstrmemdup(p, json_string_value(v), json_string_length(v));

    /* Methods are case-sensitive (RFC 9110 §9.1). */
    v = json_object_get(c, "htm");
    if (!json_is_string(v)) {
        *detail = "DPoP proof htm is missing or not a string";
        return MAB_ERR_DPOP_PROOF;
    }
    if (!expect->htm || strcmp(json_string_value(v), expect->htm) != 0) {
        *detail = "DPoP proof htm does not match the request method";
        return MAB_ERR_DPOP_PROOF;
    }

    v = json_object_get(c, "htu");
    if (!json_is_string(v)) {
        *detail = "DPoP proof htu is missing or not a string";
        return MAB_ERR_DPOP_PROOF;
    }
    /* A normalised URL is its own normal form: a client that sends exactly the request's
     * URL (the usual case) needs no normalising. */
    htu = json_string_value(v);
    if (!expect->htu || strcmp(htu, expect->htu) != 0) {
        htu = mab_htu_normalize(p, htu, json_string_length(v));
        if (!htu) {
            *detail = "DPoP proof htu is not an http(s) URL";
            return MAB_ERR_DPOP_PROOF;
        }
        if (!expect->htu || strcmp(htu, expect->htu) != 0) {
            *detail = "DPoP proof htu does not match the request URL";
            return MAB_ERR_DPOP_PROOF;
        }
    }

    v = json_object_get(c, "iat");
    if (!v) {
        *detail = "DPoP proof has no iat";
        return MAB_ERR_DPOP_PROOF;
    }
    if (iat_of(v, &out->iat) != 0) {
        *detail = "DPoP proof iat is not a number";
        return MAB_ERR_DPOP_PROOF;
    }
    if (out->iat < expect->now - expect->max_age) {
        *detail = "DPoP proof iat is too old";
        return MAB_ERR_DPOP_PROOF;
    }
    if (out->iat > expect->now + expect->skew) {
        *detail = "DPoP proof iat is in the future";
        return MAB_ERR_DPOP_PROOF;
    }

    v = json_object_get(c, "ath");
    if (!v) {
        *detail = "DPoP proof has no ath";
        return MAB_ERR_DPOP_PROOF;
    }
    if (!json_is_string(v)) {
        *detail = "DPoP proof ath is not a string";
        return MAB_ERR_DPOP_PROOF;
    }
    if (!ath_matches(v, expect)) {
        *detail = "DPoP proof ath does not match the access token";
        return MAB_ERR_DPOP_PROOF;
    }

    v = json_object_get(c, "nonce");
    if (v && !json_is_string(v)) {
        *detail = "DPoP proof nonce is not a string";
        return MAB_ERR_DPOP_PROOF;
    }
    out->nonce = v ? apr_pstrmemdup(p, json_string_value(v), json_string_length(v)) : NULL;
    return MAB_OK;
}

/* --- the proof -------------------------------------------------------------------------- */

mab_err_e mab_dpop_check(mab_dpop_keys_t *keys, const char *proof, const mab_dpop_expect_t *expect,
                         apr_pool_t *p, mab_dpop_proof_t *out, const char **detail)
{
    const char *dot1, *dot2, *reason = NULL;
    apr_size_t len;
    unsigned char *payload, *sig;
    apr_size_t payload_len, sig_len;
    entry_t *e = NULL;
    json_t *claims;
    mab_err_e rv;

    *detail = NULL;
    memset(out, 0, sizeof(*out));
    if (!proof || !expect) {
        *detail = "DPoP proof is missing";
        return MAB_ERR_DPOP_PROOF;
    }
    len = strnlen(proof, MAB_DPOP_MAX_PROOF + 1);
    if (len > MAB_DPOP_MAX_PROOF) {
        *detail = "DPoP proof is longer than 8192 bytes";
        return MAB_ERR_DPOP_PROOF;
    }
    /* httpd joins repeated header fields with ", ", and no base64url has a comma. */
    if (memchr(proof, ',', len)) {
        *detail = "DPoP header holds more than one proof";
        return MAB_ERR_DPOP_PROOF;
    }
    dot1 = memchr(proof, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', len - (apr_size_t)(dot1 + 1 - proof)) : NULL;
    if (!dot1 || !dot2 || dot1 == proof || dot2 == dot1 + 1 || dot2 + 1 == proof + len
        || memchr(dot2 + 1, '.', len - (apr_size_t)(dot2 + 1 - proof))) {
        *detail = "DPoP proof is not a three-part compact JWS";
        return MAB_ERR_DPOP_PROOF;
    }

    rv = header_entry(keys, proof, (apr_size_t)(dot1 - proof), p, &e, detail);
    if (rv != MAB_OK) {
        return rv;
    }
    /* The allow-list is the location's, not the header's: judged on every proof. */
    if (!(e->alg->bit & expect->alg_mask)) {
        *detail = "DPoP proof alg is not allowed here";
        rv = MAB_ERR_DPOP_PROOF;
        goto cleanup;
    }
    rv = MAB_ERR_DPOP_PROOF;
    if (mab_b64url_decode(p, dot1 + 1, (apr_size_t)(dot2 - dot1 - 1), &payload, &payload_len)
        != 0) {
        *detail = "DPoP proof payload is not base64url";
        goto cleanup;
    }
    if (mab_b64url_decode(p, dot2 + 1, len - (apr_size_t)(dot2 + 1 - proof), &sig, &sig_len) != 0) {
        *detail = "DPoP proof signature is not base64url";
        goto cleanup;
    }
    claims = mab_json_parse_object(p, payload, payload_len, &reason);
    if (!claims) {
        *detail = "DPoP proof payload is not a JSON object";
        goto cleanup;
    }
    /* The claims before the signature: they cost less, and a refusal for either says
     * nothing a proof's signer could not know (the key is the signer's own). */
    rv = check_claims(claims, expect, p, out, detail);
    if (rv != MAB_OK) {
        goto cleanup;
    }
    if (mab_sig_verify(e->alg, e->key, (const unsigned char *)proof, (size_t)(dot2 - proof), sig,
                       sig_len, &reason)
        != MAB_OK) {
        *detail = "DPoP proof signature does not verify with its jwk";
        rv = MAB_ERR_DPOP_PROOF;
        goto cleanup;
    }
    memcpy(out->jkt, e->jkt, sizeof(out->jkt));
    out->alg = e->alg->name;
    rv = MAB_OK;
cleanup:
    if (rv != MAB_OK) {
        memset(out, 0, sizeof(*out));
    }
    entry_release(e);
    return rv;
}
