/* A deterministic cost figure for the request path of the core: what verify() in
 * mod_auth_bearer.c does per request (SHA-256 of the token, the key set from the JWKS
 * cache, the verified-token cache, parse + signature + claims on a miss, the claim checks
 * always), repeated N times in run_requests() so callgrind can count its instructions:
 *
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=run_requests \
 *     bench/callgrind_driver <RS256|PS256|ES256|EdDSA> <cache|nocache> <N>
 *
 * and the yardstick for the uncached figure: the bare OpenSSL operation on the same key and
 * signing input, EVP_DigestVerify on contexts all initialised before the count starts
 * (mode "bare", counted in run_bare), so nothing but the signature check is in it:
 *
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=run_bare \
 *     bench/callgrind_driver <alg> bare <N>
 *
 * One warm-up request runs first, outside the count, so the figure is the steady state:
 * with the cache every counted request is a hit. The httpd glue around it (header
 * parsing, the request pool, authz) is not in the figure. Tokens are signed here with
 * OpenSSL's signing side (test/unit/signer.h), never with the module's code. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/ec.h>

#include "mab_alg.h"
#include "mab_claims.h"
#include "mab_exports.h"
#include "mab_json.h"
#include "mab_jws.h"
#include "mab_jwks.h"
#include "mab_keycache.h"
#include "mab_tokencache.h"
#include "signer.h"

#define ISS "https://issuer.test/"
#define AUD "https://api.example.test"

typedef struct {
    mab_keycache_t *kc;
    mab_source_t *src;
    mab_tokencache_t *tc; /* NULL: no cache */
    mab_claim_policy_t policy;
    unsigned mask;
} ctx_t;

static apr_status_t free_exports(void *data)
{
    mab_exports_free(data);
    return APR_SUCCESS;
}

static int cached(ctx_t *c, apr_pool_t *r, const unsigned char *digest, json_t **claims,
                  const mab_exports_t **exports)
{
    mab_tokencache_hit_t hit;
    const char *err = NULL;

    if (!mab_tokencache_lookup(c->tc, digest, c->policy.now, r, &hit)) {
        return 0;
    }
    if (!(hit.alg->bit & c->mask)
        || !mab_tokencache_key_in(&hit, mab_keycache_get(c->kc, c->src, r, 0, &err))) {
        return 0;
    }
    *claims = hit.claims;
    *exports = hit.exports;
    return 1;
}

static int one_request(ctx_t *c, apr_pool_t *r, const char *tok)
{
    unsigned char digest[MAB_TOKENCACHE_DIGEST_LEN];
    apr_size_t len = strlen(tok);
    const char *detail = NULL;
    json_t *claims = NULL, *v;
    const mab_exports_t *exports = NULL;

    if (mab_tokencache_digest(tok, len, digest) != 0) {
        return 0;
    }
    if (!c->tc || !cached(c, r, digest, &claims, &exports)) {
        const mab_key_t *key = NULL;
        const mab_keyset_t *ks;
        mab_jws_t *jws = NULL;

        if (mab_jws_parse(r, tok, len, MAB_MAX_TOKEN_SIZE, &jws, &detail) != MAB_OK) {
            return 0;
        }
        ks = mab_keycache_get(c->kc, c->src, r, 0, &detail);
        if (!ks || mab_jws_verify_keyset_ex(jws, ks, c->mask, &key, &detail) != MAB_OK) {
            return 0;
        }
        claims = mab_claims_parse(r, jws->payload, jws->payload_len, &detail);
        if (!claims) {
            return 0;
        }
        if (c->tc) {
            double exp = json_number_value(json_object_get(claims, "exp"));
            mab_tokencache_hit_t held;
            mab_json_disown(r, claims); /* the entry adopts the parse, as in the module */
            if (mab_tokencache_store(c->tc, digest, (long long)exp, c->policy.now, claims, jws->alg,
                                     jws->kid, 0, key, r, &held)) {
                claims = held.claims;
                exports = held.exports;
            }
            else {
                mab_json_own(r, claims);
            }
        }
        if (!exports) {
            /* What verify() does for a token it does not cache: the environment text. */
            mab_exports_t *x = mab_exports_build(claims);
            if (!x) {
                return 0;
            }
            apr_pool_cleanup_register(r, x, free_exports, apr_pool_cleanup_null);
            exports = x;
        }
    }
    if (mab_claims_validate(claims, &c->policy, r, &detail) != MAB_OK) {
        return 0;
    }
    v = json_object_get(claims, "sub");
    return json_is_string(v) && apr_pstrdup(r, json_string_value(v)) != NULL && exports->n > 0;
}

__attribute__((noinline)) static int run_requests(ctx_t *c, apr_pool_t *p, const char *tok, int n)
{
    int i, good = 0;

    for (i = 0; i < n; i++) {
        apr_pool_t *r = NULL;
        apr_pool_create(&r, p); /* a request pool, as httpd gives each request */
        good += one_request(c, r, tok);
        apr_pool_destroy(r);
    }
    return good;
}

/* What OpenSSL is handed when nothing is left to prepare: the key, the padding, the digest
 * and the signature in its own (DER for ECDSA) form, set up outside the count. */
static EVP_MD_CTX *bare_context(EVP_PKEY *k, const char *alg)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;

    if (!md
        || EVP_DigestVerifyInit_ex(md, &pctx, strcmp(alg, "EdDSA") == 0 ? NULL : "SHA256", NULL,
                                   NULL, k, NULL)
               != 1) {
        EVP_MD_CTX_free(md);
        return NULL;
    }
    if (strcmp(alg, "PS256") == 0) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    else if (strcmp(alg, "RS256") == 0) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING);
    }
    return md;
}

__attribute__((noinline)) static int run_bare(EVP_MD_CTX **ctx, const unsigned char *sig,
                                              size_t sig_len, const char *msg, size_t msg_len,
                                              int n)
{
    int i, good = 0;

    for (i = 0; i < n; i++) {
        good += EVP_DigestVerify(ctx[i], sig, sig_len, (const unsigned char *)msg, msg_len) == 1;
    }
    return good;
}

static int bare(apr_pool_t *p, EVP_PKEY *k, const char *alg, const char *tok, int n)
{
    const char *dot = strrchr(tok, '.');
    EVP_MD_CTX **ctx = apr_pcalloc(p, sizeof(*ctx) * (size_t)(n + 1));
    unsigned char *sig = NULL, *der = NULL;
    apr_size_t sig_len = 0;
    int i, good = -1;

    if (!dot || mab_b64url_decode(p, dot + 1, strlen(dot + 1), &sig, &sig_len) != 0) {
        return -1;
    }
    if (strcmp(alg, "ES256") == 0) {
        ECDSA_SIG *es = ECDSA_SIG_new();
        int len;
        ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
        len = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        if (len <= 0) {
            return -1;
        }
        sig = der;
        sig_len = (apr_size_t)len;
    }
    for (i = 0; i <= n; i++) {
        if (!(ctx[i] = bare_context(k, alg))) {
            goto done;
        }
    }
    /* ctx[n] is the warm-up, outside the count. */
    if (run_bare(ctx + n, sig, sig_len, tok, (size_t)(dot - tok), 1) != 1) {
        goto done;
    }
    good = run_bare(ctx, sig, sig_len, tok, (size_t)(dot - tok), n);
done:
    for (i = 0; i <= n; i++) {
        EVP_MD_CTX_free(ctx[i]);
    }
    OPENSSL_free(der);
    return good;
}

int main(int argc, char **argv)
{
    apr_pool_t *p = NULL;
    ctx_t c;
    EVP_PKEY *k;
    const char *alg = argc > 1 ? argv[1] : "RS256";
    int use_cache = argc > 2 && strcmp(argv[2], "cache") == 0;
    int bare_only = argc > 2 && strcmp(argv[2], "bare") == 0;
    int n = argc > 3 ? atoi(argv[3]) : 1000, good;
    char dir[] = "/tmp/mab-callgrind-XXXXXX";
    char *jwks, *payload, *tok, *path;
    mab_keycache_opts_t opts = {64 * 1024, 2000, 3600, 3600, 30, 5, NULL, 0, 86400, NULL, NULL};
    const char *err = NULL;
    FILE *f;
    long long now = (long long)apr_time_sec(apr_time_now());

    apr_initialize();
    apr_pool_create(&p, NULL);
    json_object_seed(0);
    mab_tokencache_global_init(p);
    if (!mkdtemp(dir)) {
        return 2;
    }
    if (strcmp(alg, "ES256") == 0) {
        k = EVP_EC_gen("P-256");
        jwks = ec_jwk(p, k, "k1");
    }
    else if (strcmp(alg, "EdDSA") == 0) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        jwks = okp_jwk(p, k, "k1");
    }
    else if (strcmp(alg, "RS256") == 0 || strcmp(alg, "PS256") == 0) {
        k = EVP_RSA_gen(2048);
        jwks = rsa_jwk(p, k, "k1");
    }
    else {
        fprintf(stderr, "usage: %s <RS256|PS256|ES256|EdDSA> <cache|nocache|bare> <N>\n", argv[0]);
        return 2;
    }
    jwks = apr_psprintf(p, "{\"keys\":[%s]}", jwks);
    path = apr_pstrcat(p, dir, "/jwks.json", NULL);
    f = fopen(path, "w");
    fputs(jwks, f);
    fclose(f);
    payload = apr_psprintf(p,
                           "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"bench-user\","
                           "\"scope\":\"read:messages\",\"permissions\":[\"read:messages\"],"
                           "\"iat\":%ld,\"exp\":%ld,\"jti\":\"one\"}",
                           (long)now, (long)(now + 3600));
    tok = sign_token(p, k, apr_psprintf(p, "{\"alg\":\"%s\",\"kid\":\"k1\",\"typ\":\"JWT\"}", alg),
                     payload, strcmp(alg, "PS256") == 0, 0);
    if (bare_only) {
        good = bare(p, k, alg, tok, n);
        printf("%s bare: %d of %d signatures verified\n", alg, good, n);
        unlink(path);
        rmdir(dir);
        EVP_PKEY_free(k);
        apr_pool_destroy(p);
        apr_terminate();
        return good == n ? 0 : 1;
    }

    memset(&c, 0, sizeof(c));
    c.kc = mab_keycache_create(p);
    c.src = mab_keycache_source(c.kc, path);
    if (mab_keycache_init(c.kc, p, &opts, &err) != 0 || mab_keycache_child_init(c.kc, p)) {
        fprintf(stderr, "key cache: %s\n", err ? err : "?");
        return 2;
    }
    c.tc = use_cache ? mab_tokencache_create(p, MAB_TOKENCACHE_DEFAULT_ENTRIES) : NULL;
    c.policy.issuer = ISS;
    c.policy.audiences = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH((apr_array_header_t *)c.policy.audiences, const char *) = AUD;
    c.policy.skew = 30;
    c.policy.now = now;
    c.mask = mab_alg_default_mask();

    {
        /* Warm-up, not counted: reads the JWKS, fills the cache. */
        apr_pool_t *r = NULL;
        int warm;
        apr_pool_create(&r, p);
        warm = one_request(&c, r, tok);
        apr_pool_destroy(r);
        if (!warm) {
            fprintf(stderr, "the token does not verify\n");
            return 1;
        }
    }
    good = run_requests(&c, p, tok, n);
    printf("%s %s: %d of %d requests verified\n", alg, use_cache ? "cache" : "nocache", good, n);
    unlink(path);
    apr_pool_destroy(p);
    rmdir(dir);
    EVP_PKEY_free(k);
    apr_terminate();
    return good == n ? 0 : 1;
}
