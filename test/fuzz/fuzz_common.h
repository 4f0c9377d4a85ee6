/* Shared by the JWS fuzz targets (fuzz_token.c, fuzz_jws_parts.c): the fixed key set, the
 * HMAC secret, a fresh pool per input and the parse -> verify -> claims pipeline.
 *
 * The keys are the public halves of published RFC example keys (RFC 7515 A.2 RSA-2048 and
 * A.3 P-256, RFC 8037 A.4 Ed25519, RFC 7520 §3 RSA-2048 and P-521) and the HMAC secret is
 * RFC 7515 A.1's, so the RFC example tokens and the seeds minted by test/fuzz/gen-seeds
 * carry signatures that really verify and the fuzzer sees the success paths too. */
#ifndef MAB_FUZZ_COMMON_H
#define MAB_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_allocator.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <jansson.h>
#include <openssl/err.h>

#include "mab_alg.h"
#include "mab_b64.h"
#include "mab_claims.h"
#include "mab_error.h"
#include "mab_exports.h"
#include "mab_jwk.h"
#include "mab_jwks.h"
#include "mab_jws.h"
#include "mab_log.h"

static const char FUZZ_JWKS[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa-2048\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_"
    "wWJcyQoTbji9"
    "k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b3269"
    "0r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665"
    "xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91"
    "kzk2PAcDTW9gb54h4FRWyuXpoQ\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"kid\":\"ec-p256\",\"crv\":\"P-"
    "256\",\"x\":\"f83"
    "OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    "\"},{\"kty\":\"OKP\",\"kid\":\"ed25519\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_"
    "7TyWQHOg7hcvPapiMlrwIaa"
    "PcHURo\"},{\"kty\":\"RSA\",\"kid\":\"bilbo.baggins@hobbiton.example\",\"use\":\"sig\",\"n\":"
    "\"n4EPtAOCc9Al"
    "keQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSF"
    "KrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6c"
    "S6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKn"
    "S2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw\",\"e\":\"AQAB\"},{\"kty\":"
    "\"EC\",\"kid"
    "\":\"bilbo.baggins@hobbiton.example\",\"use\":\"sig\",\"crv\":\"P-521\",\"x\":"
    "\"AHKZLLOsCOzz5cY97ewNUajB"
    "957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt\",\"y\":\"AdymlHvOiLxXkEhayXQ"
    "nNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1\"}]}";

/* RFC 7515 A.1 HMAC key (64 bytes: long enough for HS256, HS384 and HS512). */
static const char FUZZ_HMAC_B64[] =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

/* Every name mab_alg_find knows, plus a few it must refuse. */
static const char *const FUZZ_ALG_NAMES[] = {
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",  "ES512",
    "EdDSA", "HS256", "HS384", "HS512", "none",  "None",  "rs256", "ES256K", "",
};
#define FUZZ_NALGS (sizeof(FUZZ_ALG_NAMES) / sizeof(FUZZ_ALG_NAMES[0]))

static apr_pool_t *fuzz_long_pool; /* keys live here for the whole run */
static mab_keyset_t *fuzz_keyset;
static mab_key_t *fuzz_hmac_key;
static apr_array_header_t *fuzz_scopes; /* required scopes */
static apr_array_header_t *fuzz_values; /* values mab_claims_match compares against */
static apr_array_header_t *fuzz_audiences;

static inline void fuzz_die(const char *what)
{
    fprintf(stderr, "fuzz harness setup failed: %s\n", what);
    abort();
}

/* The core reports through mab_log; route it somewhere so that path runs too. */
static inline void fuzz_log_sink(void *baton, int level, const char *msg)
{
    volatile size_t n = strlen(msg) + (size_t)level;
    (void)baton;
    (void)n;
}

static inline void fuzz_global_init(int with_keys)
{
    apr_initialize();
    atexit(apr_terminate);
    if (apr_pool_create(&fuzz_long_pool, NULL) != APR_SUCCESS) {
        fuzz_die("pool");
    }
    mab_log_set(fuzz_log_sink, NULL);
    if (with_keys) {
        const char *why = NULL;
        unsigned char *secret = NULL;
        apr_size_t secret_len = 0;

        fuzz_keyset =
            mab_jwks_parse(fuzz_long_pool, FUZZ_JWKS, sizeof(FUZZ_JWKS) - 1, "fuzz", &why);
        if (!fuzz_keyset || fuzz_keyset->nkeys != 5 || fuzz_keyset->nskipped != 0) {
            fuzz_die(why ? why : "key set lost a key");
        }
        if (mab_b64url_decode(fuzz_long_pool, FUZZ_HMAC_B64, sizeof(FUZZ_HMAC_B64) - 1, &secret,
                              &secret_len)
            != 0) {
            fuzz_die("hmac secret");
        }
        fuzz_hmac_key = mab_jwk_secret(fuzz_long_pool, secret, secret_len);
    }
    fuzz_scopes = apr_array_make(fuzz_long_pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(fuzz_scopes, const char *) = "read";
    APR_ARRAY_PUSH(fuzz_scopes, const char *) = "write";
    fuzz_values = apr_array_make(fuzz_long_pool, 6, sizeof(const char *));
    APR_ARRAY_PUSH(fuzz_values, const char *) = "alice";
    APR_ARRAY_PUSH(fuzz_values, const char *) = "true";
    APR_ARRAY_PUSH(fuzz_values, const char *) = "false";
    APR_ARRAY_PUSH(fuzz_values, const char *) = "42";
    APR_ARRAY_PUSH(fuzz_values, const char *) = "-1.5e3";
    APR_ARRAY_PUSH(fuzz_values, const char *) = "admin";
    fuzz_audiences = apr_array_make(fuzz_long_pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(fuzz_audiences, const char *) = "https://api.example.com";
    APR_ARRAY_PUSH(fuzz_audiences, const char *) = "api";
}

/* A pool on its own allocator, so everything an input allocates is really freed when the
 * input is done (libFuzzer's malloc/free balance then only flags genuine leaks). */
static inline apr_pool_t *fuzz_pool_new(void)
{
    apr_allocator_t *alloc = NULL;
    apr_pool_t *p = NULL;

    if (apr_allocator_create(&alloc) != APR_SUCCESS) {
        fuzz_die("allocator");
    }
    if (apr_pool_create_ex(&p, NULL, NULL, alloc) != APR_SUCCESS) {
        fuzz_die("pool");
    }
    apr_allocator_owner_set(alloc, p);
    return p;
}

static inline void fuzz_pool_done(apr_pool_t *p)
{
    apr_pool_destroy(p); /* destroys its allocator too */
    ERR_clear_error();   /* OpenSSL's per-thread error queue: keep inputs independent */
}

/* Everything the request path does with a token's claims, with a couple of policies. */
static inline void fuzz_claims(apr_pool_t *p, const unsigned char *payload, apr_size_t len)
{
    const char *detail = NULL, *missing = NULL, *key;
    json_t *claims, *value;
    mab_claim_policy_t pol;
    static const long long nows[] = {1300819000LL, 1700000100LL};
    size_t i;

    claims = mab_claims_parse(p, payload, len, &detail);
    if (!claims) {
        return;
    }
    for (i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
        mab_err_e rv;

        memset(&pol, 0, sizeof(pol));
        pol.issuer = i == 0 ? "joe" : "https://issuer.example.com";
        pol.audiences = fuzz_audiences;
        pol.audience_any = i == 0;
        pol.skew = 60;
        pol.now = nows[i];
        pol.access_token_jwt = i == 1;
        rv = mab_claims_validate(claims, &pol, p, &detail);
        if (rv < 0 || rv >= MAB_ERR__COUNT || !mab_err_desc(rv)) {
            abort();
        }
        if (rv != MAB_OK && !detail) {
            abort(); /* every refusal must say why */
        }
    }
    (void)mab_claims_has_scopes(claims, fuzz_scopes, &missing);
    json_object_foreach (claims, key, value) {
        (void)mab_claims_match(claims, key, fuzz_values);
        if (!mab_claims_env_value(p, value)) {
            abort();
        }
    }
    /* The environment text a verified token gets: at most a name per claim, no two alike
     * (claims whose names clash may all be left out). */
    {
        mab_exports_t *x = mab_exports_build(claims);
        size_t k, j;

        if (!x || !x->claims_json || x->n > json_object_size(claims)) {
            abort();
        }
        for (k = 0; k < x->n; k++) {
            if (!x->vars[k].value || strncmp(x->vars[k].name, "BEARER_CLAIM_", 13) != 0) {
                abort();
            }
            for (j = 0; j < k; j++) {
                if (strcmp(x->vars[j].name, x->vars[k].name) == 0) {
                    abort();
                }
            }
        }
        mab_exports_free(x);
    }
    (void)mab_claims_match(claims, "no-such-claim", fuzz_values);
}

/* Parse, verify against the key set and each key alone, then the claims. */
static inline void fuzz_token_pipeline(apr_pool_t *p, const char *tok, apr_size_t len)
{
    mab_jws_t *jws = NULL;
    const char *detail = NULL;
    mab_err_e rv;
    int i;

    rv = mab_jws_parse(p, tok, len, MAB_MAX_TOKEN_SIZE, &jws, &detail);
    if (rv != MAB_OK) {
        if (!detail) {
            abort();
        }
        /* A refused header is still handed out so the log can name kid and alg. */
        if (jws) {
            (void)mab_jws_typ_is(jws, "at+jwt");
        }
        return;
    }
    if (!jws || !jws->alg || !jws->sig || jws->sig_len == 0 || !jws->payload) {
        abort();
    }
    (void)mab_jws_typ_is(jws, "at+jwt");
    (void)mab_jws_typ_is(jws, "jwt");
    rv = mab_jws_verify_keyset(jws, fuzz_keyset, mab_alg_default_mask(), &detail);
    if (rv == MAB_OK && jws->alg->family == MAB_FAMILY_HMAC) {
        abort(); /* a key set can never verify an HMAC token */
    }
    (void)mab_jws_verify_keyset(jws, fuzz_keyset, 0xffffffffu, &detail);
    for (i = 0; i < fuzz_keyset->nkeys; i++) {
        (void)mab_jws_verify_key(jws, fuzz_keyset->keys[i], &detail);
    }
    rv = mab_jws_verify_key(jws, fuzz_hmac_key, &detail);
    if (rv == MAB_OK && jws->alg->family != MAB_FAMILY_HMAC) {
        abort(); /* a secret must never verify an asymmetric alg */
    }
    fuzz_claims(p, jws->payload, jws->payload_len);
}

#endif
