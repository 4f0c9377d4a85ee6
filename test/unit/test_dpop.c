/* DPoP proofs (RFC 9449 §4.3), built here with OpenSSL's signing side: ES256, RS256, PS256
 * and EdDSA proofs accepted with the right thumbprint; each refusal reason with its own
 * detail, every one checked without a key cache, and with one twice (a miss, then a hit
 * where the header passed), so a hit never changes a verdict; the RFC's ath vector; the
 * key cache's hits, its judging of the mask, claims and signature on a hit, and eviction;
 * threads sharing a cache too small for their keys (also run under ThreadSanitizer). */
#include <stdatomic.h>

#include <apr_thread_proc.h>
#include <apr_time.h>
#include <openssl/evp.h>

#include "mab_alg.h"
#include "mab_dpop.h"
#include "signer.h"
#include "tap.h"
#include "testutil.h"

#define NOW 1700000000LL
/* apr_psprintf has no %lld */
#define LLD "%" APR_INT64_T_FMT
#define HTU "https://rs.example/api"
#define TOKEN "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"

typedef struct {
    EVP_PKEY *k;
    const char *alg;
    const char *jwk;
    int pss;
} signer_t;

static signer_t es, es2, rs, ps, ed;

/* The claims of a proof as JSON value texts; NULL leaves the member out. */
typedef struct {
    const char *jti, *htm, *htu, *iat, *ath, *extra;
} claims_t;

static const char *ath_of(apr_pool_t *p, const char *token)
{
    unsigned char d[32];
    unsigned int n = 0;

    EVP_Digest(token, strlen(token), d, &n, EVP_sha256(), NULL);
    return apr_psprintf(p, "\"%s\"", mab_b64url_encode(p, d, n));
}

static claims_t good_claims(apr_pool_t *p)
{
    claims_t c = {"\"e1thsjy3-pX0mE8gZyCbaQ\"",
                  "\"POST\"",
                  "\"" HTU "\"",
                  apr_psprintf(p, LLD, (apr_int64_t)(NOW)),
                  ath_of(p, TOKEN),
                  NULL};
    return c;
}

static char *payload_of(apr_pool_t *p, const claims_t *c)
{
    const char *names[] = {"jti", "htm", "htu", "iat", "ath"};
    const char *vals[] = {c->jti, c->htm, c->htu, c->iat, c->ath};
    char *out = "{";
    int i, first = 1;

    for (i = 0; i < 5; i++) {
        if (vals[i]) {
            out = apr_psprintf(p, "%s%s\"%s\":%s", out, first ? "" : ",", names[i], vals[i]);
            first = 0;
        }
    }
    if (c->extra) {
        out = apr_psprintf(p, "%s%s%s", out, first ? "" : ",", c->extra);
    }
    return apr_pstrcat(p, out, "}", NULL);
}

static char *header_of(apr_pool_t *p, const signer_t *s)
{
    return apr_psprintf(p, "{\"typ\":\"dpop+jwt\",\"alg\":\"%s\",\"jwk\":%s}", s->alg, s->jwk);
}

static char *proof_of(apr_pool_t *p, const signer_t *s, const char *header, const claims_t *c)
{
    return sign_token(p, s->k, header ? header : header_of(p, s), payload_of(p, c), s->pss, 0);
}

static char *good_proof(apr_pool_t *p, const signer_t *s)
{
    claims_t c = good_claims(p);
    return proof_of(p, s, NULL, &c);
}

static mab_dpop_expect_t good_expect(void)
{
    mab_dpop_expect_t e;

    memset(&e, 0, sizeof(e));
    e.alg_mask = mab_alg_default_mask();
    e.max_age = 60;
    e.skew = 5;
    e.now = NOW;
    e.htm = "POST";
    e.htu = HTU;
    e.token = TOKEN;
    e.token_len = strlen(TOKEN);
    return e;
}

/* The thumbprint computed here from the members, not by the code under test. */
static const char *jkt_of(apr_pool_t *p, const signer_t *s)
{
    json_t *j = json_loads(s->jwk, 0, NULL);
    const char *kty = json_string_value(json_object_get(j, "kty")), *canon;
    unsigned char d[32];
    unsigned int n = 0;

#define M(name) json_string_value(json_object_get(j, name))
    if (strcmp(kty, "RSA") == 0) {
        canon = apr_psprintf(p, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", M("e"), M("n"));
    }
    else if (strcmp(kty, "EC") == 0) {
        canon = apr_psprintf(p, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                             M("crv"), M("x"), M("y"));
    }
    else {
        canon = apr_psprintf(p, "{\"crv\":\"%s\",\"kty\":\"OKP\",\"x\":\"%s\"}", M("crv"), M("x"));
    }
#undef M
    EVP_Digest(canon, strlen(canon), d, &n, EVP_sha256(), NULL);
    json_decref(j);
    return mab_b64url_encode(p, d, n);
}

static mab_dpop_keys_t *shared; /* one cache every refusal also goes through */

/* The proof refused with exactly this detail: without a cache, and twice through one. */
static void refused(apr_pool_t *p, const char *proof, const mab_dpop_expect_t *e, const char *want,
                    const char *name)
{
    mab_dpop_keys_t *modes[3] = {NULL, shared, shared};
    int i, good = 1;

    for (i = 0; i < 3; i++) {
        mab_dpop_proof_t out;
        const char *detail = NULL;
        mab_err_e rv = mab_dpop_check(modes[i], proof, e, p, &out, &detail);

        if (rv != MAB_ERR_DPOP_PROOF || !detail || strcmp(detail, want) != 0 || out.jti
            || out.jkt[0]) {
            printf("# %s (%s): rv %d, detail '%s'\n", name, i ? "cache" : "no cache", rv,
                   detail ? detail : "(null)");
            good = 0;
        }
    }
    ok(good, "refused: %s", name);
}

static int accepted(apr_pool_t *p, mab_dpop_keys_t *keys, const char *proof,
                    const mab_dpop_expect_t *e, mab_dpop_proof_t *out)
{
    const char *detail = NULL;
    mab_err_e rv = mab_dpop_check(keys, proof, e, p, out, &detail);

    if (rv != MAB_OK) {
        printf("# refused: rv %d, %s\n", rv, detail ? detail : "(null)");
    }
    return rv == MAB_OK;
}

/* --- accepted proofs --------------------------------------------------------------------- */

static void test_accepted(apr_pool_t *p)
{
    const signer_t *all[] = {&es, &rs, &ps, &ed};
    mab_dpop_expect_t e = good_expect();
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        mab_dpop_proof_t out;
        int j;

        for (j = 0; j < 3; j++) {
            mab_dpop_keys_t *keys = j ? shared : NULL;
            ok(accepted(p, keys, good_proof(p, all[i]), &e, &out), "%s proof accepted (%s)",
               all[i]->alg,
               j == 0   ? "no cache"
               : j == 1 ? "cache"
                        : "cache again");
            is_str(out.jkt, jkt_of(p, all[i]), "%s: jkt is the RFC 7638 thumbprint", all[i]->alg);
            is_str(out.alg, all[i]->alg, "%s: alg", all[i]->alg);
            is_str(out.jti, "e1thsjy3-pX0mE8gZyCbaQ", "%s: jti", all[i]->alg);
            is_int(out.iat, NOW, "%s: iat", all[i]->alg);
            ok(out.nonce == NULL, "%s: no nonce", all[i]->alg);
        }
    }
}

static void test_accepted_variants(apr_pool_t *p)
{
    mab_dpop_expect_t e = good_expect();
    mab_dpop_proof_t out;
    claims_t c;
    char *jti;

    c = good_claims(p);
    c.extra = "\"nonce\":\"n-0S6_WzA2Mj\"";
    ok(accepted(p, shared, proof_of(p, &es, NULL, &c), &e, &out) && out.nonce
           && strcmp(out.nonce, "n-0S6_WzA2Mj") == 0,
       "nonce read into out->nonce");

    c = good_claims(p);
    c.htu = "\"HTTPS://RS.Example:443/api?x=1#frag\"";
    ok(accepted(p, shared, proof_of(p, &es, NULL, &c), &e, &out),
       "htu with other case, default port, query, fragment: normalises equal");
    c.htu = "\"https://rs.example/./x/../api\"";
    ok(accepted(p, shared, proof_of(p, &es, NULL, &c), &e, &out),
       "htu with dot segments: normalises equal");

    c = good_claims(p);
    c.iat = apr_psprintf(p, LLD, (apr_int64_t)(NOW - 60));
    ok(accepted(p, shared, proof_of(p, &es, NULL, &c), &e, &out), "iat at now - max_age");
    c.iat = apr_psprintf(p, LLD, (apr_int64_t)(NOW + 5));
    ok(accepted(p, shared, proof_of(p, &es, NULL, &c), &e, &out), "iat at now + skew");
    c.iat = apr_psprintf(p, LLD ".75", (apr_int64_t)NOW);
    ok(accepted(p, shared, proof_of(p, &es, NULL, &c), &e, &out) && out.iat == NOW,
       "a fractional iat (RFC 7519 NumericDate): whole seconds");

    c = good_claims(p);
    jti = apr_palloc(p, MAB_DPOP_MAX_JTI + 3);
    memset(jti, 'j', MAB_DPOP_MAX_JTI + 2);
    jti[0] = jti[MAB_DPOP_MAX_JTI + 1] = '"';
    jti[MAB_DPOP_MAX_JTI + 2] = '\0';
    c.jti = jti;
    ok(accepted(p, shared, proof_of(p, &es, NULL, &c), &e, &out)
           && strlen(out.jti) == MAB_DPOP_MAX_JTI,
       "jti of MAB_DPOP_MAX_JTI bytes");

    c = good_claims(p);
    c.extra = "\"extra\":{\"nested\":[1,2,3]}";
    ok(accepted(p, shared, proof_of(p, &es, NULL, &c), &e, &out), "other claims ignored");

    c = good_claims(p);
    ok(accepted(
           p, shared,
           proof_of(p, &es,
                    apr_psprintf(p, "{\"typ\":\"DPoP+JWT\",\"alg\":\"ES256\",\"jwk\":%s}", es.jwk),
                    &c),
           &e, &out),
       "typ compared case-insensitively (RFC 7515 §4.1.9)");
    ok(accepted(p, shared,
                proof_of(p, &es,
                         apr_psprintf(p,
                                      "{\"typ\":\"application/dpop+jwt\",\"alg\":\"ES256\","
                                      "\"jwk\":%s}",
                                      es.jwk),
                         &c),
                &e, &out),
       "typ with the application/ prefix (RFC 7515 §4.1.9)");
}

/* RFC 9449 §7.1: the access token and its ath. */
static void test_rfc_ath(apr_pool_t *p)
{
    static const char token[] = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
    mab_dpop_expect_t e = good_expect();
    mab_dpop_proof_t out;
    claims_t c = good_claims(p);
    char *proof;

    c.ath = "\"fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo\"";
    proof = proof_of(p, &es, NULL, &c);
    e.token = token;
    e.token_len = strlen(token);
    ok(accepted(p, shared, proof, &e, &out), "RFC 9449 §7.1 ath vector");
    e.token_len--;
    refused(p, proof, &e, "DPoP proof ath does not match the access token",
            "RFC 9449 ath with the token one byte short");
}

/* --- refusals ---------------------------------------------------------------------------- */

static char *with_header(apr_pool_t *p, const signer_t *s, const char *fmt_header)
{
    claims_t c = good_claims(p);
    return proof_of(p, s, fmt_header, &c);
}

/* jwk text with one more member */
static const char *jwk_plus(apr_pool_t *p, const char *jwk, const char *member)
{
    return apr_psprintf(p, "%.*s,%s}", (int)strlen(jwk) - 1, jwk, member);
}

static void test_header_refusals(apr_pool_t *p)
{
    mab_dpop_expect_t e = good_expect();
    mab_dpop_expect_t rs_only = good_expect();
    static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
    claims_t c = good_claims(p);

#define H(...) with_header(p, &es, apr_psprintf(p, __VA_ARGS__))
    refused(p, H("{\"typ\":\"JWT\",\"alg\":\"ES256\",\"jwk\":%s}", es.jwk), &e,
            "DPoP proof typ is not dpop+jwt", "typ JWT");
    refused(p, H("{\"typ\":\"at+jwt\",\"alg\":\"ES256\",\"jwk\":%s}", es.jwk), &e,
            "DPoP proof typ is not dpop+jwt", "typ at+jwt");
    refused(p, H("{\"typ\":\"dpop+jwt \",\"alg\":\"ES256\",\"jwk\":%s}", es.jwk), &e,
            "DPoP proof typ is not dpop+jwt", "typ with a trailing space");
    refused(p, H("{\"typ\":7,\"alg\":\"ES256\",\"jwk\":%s}", es.jwk), &e,
            "DPoP proof typ is not dpop+jwt", "typ not a string");
    refused(p, H("{\"alg\":\"ES256\",\"jwk\":%s}", es.jwk), &e, "DPoP proof header has no typ",
            "typ missing");
    refused(p, H("{\"typ\":\"dpop+jwt\",\"jwk\":%s}", es.jwk), &e, "DPoP proof header has no alg",
            "alg missing");
    refused(p, H("{\"typ\":\"dpop+jwt\",\"alg\":\"none\",\"jwk\":%s}", es.jwk), &e,
            "DPoP proof alg is not a registered signature algorithm", "alg none");
    refused(p, H("{\"typ\":\"dpop+jwt\",\"alg\":\"ES999\",\"jwk\":%s}", es.jwk), &e,
            "DPoP proof alg is not a registered signature algorithm", "alg unknown");
    refused(p, H("{\"typ\":\"dpop+jwt\",\"alg\":\"es256\",\"jwk\":%s}", es.jwk), &e,
            "DPoP proof alg is not a registered signature algorithm", "alg in lower case");
    refused(p,
            apr_pstrcat(
                p, signing_input(p, "{\"typ\":\"dpop+jwt\",\"alg\":\"none\"}", payload_of(p, &c)),
                ".", NULL),
            &e, "DPoP proof is not a three-part compact JWS", "alg none, empty signature");

    /* HMAC is refused whatever the mask says: a proof has no shared secret. */
    e.alg_mask = ~0u;
    refused(
        p,
        hmac_token(p, secret, sizeof(secret) - 1,
                   apr_psprintf(p, "{\"typ\":\"dpop+jwt\",\"alg\":\"HS256\",\"jwk\":%s}",
                                jwk_plus(p, "{\"kty\":\"oct\"}",
                                         "\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"")),
                   payload_of(p, &c)),
        &e, "DPoP proof alg is a MAC, never accepted", "HS256, even with HMAC in the mask");
    refused(
        p,
        hmac_token(p, secret, sizeof(secret) - 1,
                   apr_psprintf(p, "{\"typ\":\"dpop+jwt\",\"alg\":\"HS256\",\"jwk\":%s}", es.jwk),
                   payload_of(p, &c)),
        &e, "DPoP proof alg is a MAC, never accepted", "HS256 with an EC jwk");
    e.alg_mask = mab_alg_default_mask();

    rs_only.alg_mask = mab_alg_find("RS256")->bit;
    refused(p, good_proof(p, &es), &rs_only, "DPoP proof alg is not allowed here",
            "ES256 where only RS256 is allowed");
    rs_only.alg_mask = 0;
    refused(p, good_proof(p, &rs), &rs_only, "DPoP proof alg is not allowed here", "empty mask");

    refused(
        p,
        H("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"crit\":[\"x\"],\"x\":1,\"jwk\":%s}", es.jwk),
        &e, "DPoP proof header uses a JWS extension (crit, b64)", "crit");
    refused(p, H("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"b64\":false,\"jwk\":%s}", es.jwk), &e,
            "DPoP proof header uses a JWS extension (crit, b64)", "b64");

    refused(p, H("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\"}"), &e, "DPoP proof header has no jwk",
            "jwk missing");
    refused(p, H("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":\"%s\"}", "key"), &e,
            "DPoP proof jwk is not an object", "jwk a string");
    refused(p, H("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":[%s]}", es.jwk), &e,
            "DPoP proof jwk is not an object", "jwk an array");
    refused(p,
            H("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":%s}",
              jwk_plus(p, es.jwk, "\"d\":\"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE\"")),
            &e, "DPoP proof jwk holds a private key member", "EC jwk with d");
    refused(p,
            H("{\"typ\":\"dpop+jwt\",\"alg\":\"EdDSA\",\"jwk\":%s}",
              jwk_plus(p, ed.jwk, "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"")),
            &e, "DPoP proof jwk holds a private key member", "OKP jwk with d");
    {
        static const char *const rsa_private[] = {"d", "p", "q", "dp", "dq", "qi", "oth"};
        size_t i;
        for (i = 0; i < sizeof(rsa_private) / sizeof(rsa_private[0]); i++) {
            refused(p,
                    with_header(
                        p, &rs,
                        apr_psprintf(p, "{\"typ\":\"dpop+jwt\",\"alg\":\"RS256\",\"jwk\":%s}",
                                     jwk_plus(p, rs.jwk,
                                              apr_psprintf(p, "\"%s\":\"AQAB\"", rsa_private[i])))),
                    &e, "DPoP proof jwk holds a private key member",
                    apr_psprintf(p, "RSA jwk with %s", rsa_private[i]));
        }
    }
    refused(p,
            H("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}"),
            &e, "DPoP proof jwk is a symmetric (oct) key", "kty oct");
    refused(p,
            H("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\","
              "\"x\":\"AAAA\",\"y\":\"AAAA\"}}"),
            &e, "DPoP proof jwk is not a usable public key", "EC jwk with short coordinates");
    refused(p,
            H("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":%s}",
              jwk_plus(p, es.jwk, "\"use\":\"enc\"")),
            &e, "DPoP proof jwk is not a usable public key", "jwk for encryption");
    refused(p, H("{\"typ\":\"dpop+jwt\",\"alg\":\"RS256\",\"jwk\":%s}", es.jwk), &e,
            "DPoP proof jwk does not fit the proof's alg", "EC key, alg RS256");
    refused(p, H("{\"typ\":\"dpop+jwt\",\"alg\":\"ES384\",\"jwk\":%s}", es.jwk), &e,
            "DPoP proof jwk does not fit the proof's alg", "P-256 key, alg ES384");
    refused(p, H("{\"typ\":\"dpop+jwt\",\"alg\":\"EdDSA\",\"jwk\":%s}", es.jwk), &e,
            "DPoP proof jwk does not fit the proof's alg", "EC key, alg EdDSA");
    refused(p,
            H("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":%s}",
              jwk_plus(p, es.jwk, "\"alg\":\"ES384\"")),
            &e, "DPoP proof jwk does not fit the proof's alg", "jwk's own alg differs");
#undef H
}

static void test_signature_refusals(apr_pool_t *p)
{
    mab_dpop_expect_t e = good_expect();
    char *proof = good_proof(p, &es), *dot;

    /* a signature bit flipped (in the middle: the last character's low bits are padding) */
    dot = strrchr(proof, '.');
    dot[10] = dot[10] == 'A' ? 'B' : 'A';
    refused(p, proof, &e, "DPoP proof signature does not verify with its jwk",
            "ES256 signature changed");
    proof = good_proof(p, &rs);
    dot = strrchr(proof, '.');
    dot[10] = dot[10] == 'A' ? 'B' : 'A';
    refused(p, proof, &e, "DPoP proof signature does not verify with its jwk",
            "RS256 signature changed");
    proof = good_proof(p, &ed);
    dot = strrchr(proof, '.');
    dot[10] = dot[10] == 'A' ? 'B' : 'A';
    refused(p, proof, &e, "DPoP proof signature does not verify with its jwk",
            "EdDSA signature changed");

    /* signed by another key than the header's */
    {
        signer_t other = es2;
        claims_t c = good_claims(p);
        other.jwk = es.jwk;
        refused(p, proof_of(p, &other, NULL, &c), &e,
                "DPoP proof signature does not verify with its jwk", "signed by another key");
    }
    /* PS256 header over an RS256 signature */
    {
        signer_t pkcs1 = rs;
        claims_t c = good_claims(p);
        refused(
            p,
            proof_of(p, &pkcs1,
                     apr_psprintf(p, "{\"typ\":\"dpop+jwt\",\"alg\":\"PS256\",\"jwk\":%s}", rs.jwk),
                     &c),
            &e, "DPoP proof signature does not verify with its jwk",
            "PS256 header, PKCS#1 v1.5 signature");
    }
    /* the payload changed after signing */
    {
        char *good = good_proof(p, &es), *d1 = strchr(good, '.'), *d2 = strrchr(good, '.');
        claims_t c = good_claims(p);
        c.jti = "\"another\"";
        refused(p,
                apr_psprintf(p, "%.*s.%s%s", (int)(d1 - good), good,
                             mab_b64url_encode(p, (const unsigned char *)payload_of(p, &c),
                                               strlen(payload_of(p, &c))),
                             d2),
                &e, "DPoP proof signature does not verify with its jwk", "payload changed");
    }
}

static void test_claim_refusals(apr_pool_t *p)
{
    mab_dpop_expect_t e = good_expect();
    claims_t c;
    char *jti;

#define REFUSED(field, value, want, name)                                                          \
    do {                                                                                           \
        c = good_claims(p);                                                                        \
        c.field = (value);                                                                         \
        refused(p, proof_of(p, &es, NULL, &c), &e, want, name);                                    \
    } while (0)

    REFUSED(jti, NULL, "DPoP proof has no jti", "jti missing");
    REFUSED(jti, "\"\"", "DPoP proof jti is empty", "jti empty");
    REFUSED(jti, "42", "DPoP proof jti is not a string", "jti a number");
    jti = apr_palloc(p, MAB_DPOP_MAX_JTI + 4);
    memset(jti, 'j', MAB_DPOP_MAX_JTI + 3);
    jti[0] = jti[MAB_DPOP_MAX_JTI + 2] = '"';
    jti[MAB_DPOP_MAX_JTI + 3] = '\0';
    REFUSED(jti, jti, "DPoP proof jti is longer than 256 bytes", "jti one byte too long");

    REFUSED(htm, NULL, "DPoP proof htm is missing or not a string", "htm missing");
    REFUSED(htm, "1", "DPoP proof htm is missing or not a string", "htm a number");
    REFUSED(htm, "\"GET\"", "DPoP proof htm does not match the request method", "htm GET for POST");
    REFUSED(htm, "\"post\"", "DPoP proof htm does not match the request method",
            "htm in lower case (methods are case-sensitive)");

    REFUSED(htu, NULL, "DPoP proof htu is missing or not a string", "htu missing");
    REFUSED(htu, "[\"" HTU "\"]", "DPoP proof htu is missing or not a string", "htu an array");
    REFUSED(htu, "\"https://rs.example/other\"", "DPoP proof htu does not match the request URL",
            "htu another path");
    REFUSED(htu, "\"https://rs.example/API\"", "DPoP proof htu does not match the request URL",
            "htu path in another case");
    REFUSED(htu, "\"http://rs.example/api\"", "DPoP proof htu does not match the request URL",
            "htu another scheme");
    REFUSED(htu, "\"https://rs.example:8443/api\"", "DPoP proof htu does not match the request URL",
            "htu another port");
    REFUSED(htu, "\"https://rs.example/api/\"", "DPoP proof htu does not match the request URL",
            "htu with a trailing slash");
    REFUSED(htu, "\"https://rs.example%2Fapi\"", "DPoP proof htu is not an http(s) URL",
            "htu with an encoded slash in the host");
    REFUSED(htu, "\"/api\"", "DPoP proof htu is not an http(s) URL", "htu a relative reference");
    REFUSED(htu, "\"https://user@rs.example/api\"", "DPoP proof htu is not an http(s) URL",
            "htu with userinfo");

    REFUSED(iat, NULL, "DPoP proof has no iat", "iat missing");
    REFUSED(iat, apr_psprintf(p, "\"" LLD "\"", (apr_int64_t)NOW), "DPoP proof iat is not a number",
            "iat a string");
    REFUSED(iat, "null", "DPoP proof iat is not a number", "iat null");
    REFUSED(iat, "-1", "DPoP proof iat is not a number", "iat negative");
    REFUSED(iat, "1e300", "DPoP proof iat is not a number", "iat absurdly large");
    REFUSED(iat, apr_psprintf(p, LLD, (apr_int64_t)(NOW - 61)), "DPoP proof iat is too old",
            "iat one second older than max_age");
    REFUSED(iat, "0", "DPoP proof iat is too old", "iat 0");
    REFUSED(iat, apr_psprintf(p, LLD, (apr_int64_t)(NOW + 6)), "DPoP proof iat is in the future",
            "iat one second past the skew");
    REFUSED(iat, apr_psprintf(p, LLD, (apr_int64_t)(NOW + 86400)),
            "DPoP proof iat is in the future", "iat a day ahead");

    REFUSED(ath, NULL, "DPoP proof has no ath", "ath missing");
    REFUSED(ath, "123", "DPoP proof ath is not a string", "ath a number");
    REFUSED(ath, ath_of(p, "another.token.here"), "DPoP proof ath does not match the access token",
            "ath of another token");
    REFUSED(ath, "\"\"", "DPoP proof ath does not match the access token", "ath empty");
    REFUSED(ath, apr_psprintf(p, "%.*s=\"", 44, ath_of(p, TOKEN)),
            "DPoP proof ath does not match the access token", "ath with padding");

    REFUSED(extra, "\"nonce\":5", "DPoP proof nonce is not a string", "nonce a number");
#undef REFUSED

    /* what the request shows is missing */
    {
        mab_dpop_expect_t none = good_expect();
        char *proof = good_proof(p, &es);

        none.htm = NULL;
        refused(p, proof, &none, "DPoP proof htm does not match the request method",
                "no request method");
        none = good_expect();
        none.htu = NULL;
        refused(p, proof, &none, "DPoP proof htu does not match the request URL", "no request URL");
        none = good_expect();
        none.token = NULL;
        refused(p, proof, &none, "DPoP proof ath does not match the access token", "no token");
    }
}

static void test_form_refusals(apr_pool_t *p)
{
    mab_dpop_expect_t e = good_expect();
    char *proof = good_proof(p, &es), *big, *d1 = strchr(proof, '.'), *d2 = strrchr(proof, '.');
    claims_t c = good_claims(p);

    refused(p, apr_pstrcat(p, proof, ", ", good_proof(p, &es), NULL), &e,
            "DPoP header holds more than one proof", "two proofs joined with ', '");
    refused(p, apr_pstrcat(p, proof, ",", NULL), &e, "DPoP header holds more than one proof",
            "a trailing comma");

    /* a valid proof padded to just over the limit with an unused claim */
    c.extra = apr_psprintf(p, "\"pad\":\"%0*d\"", (int)(MAB_DPOP_MAX_PROOF * 3 / 4), 0);
    big = proof_of(p, &es, NULL, &c);
    ok(strlen(big) > MAB_DPOP_MAX_PROOF, "the padded proof is over the limit");
    refused(p, big, &e, "DPoP proof is longer than 8192 bytes", "too long");
    big = apr_palloc(p, MAB_DPOP_MAX_PROOF + 2);
    memset(big, 'A', MAB_DPOP_MAX_PROOF + 1);
    big[MAB_DPOP_MAX_PROOF + 1] = '\0';
    refused(p, big, &e, "DPoP proof is longer than 8192 bytes", "8193 bytes of anything");

    refused(p, "", &e, "DPoP proof is not a three-part compact JWS", "empty");
    refused(p, apr_pstrndup(p, proof, (apr_size_t)(d2 - proof)), &e,
            "DPoP proof is not a three-part compact JWS", "two parts");
    refused(p, apr_pstrcat(p, proof, ".AAAA", NULL), &e,
            "DPoP proof is not a three-part compact JWS", "four parts");
    refused(p, apr_pstrcat(p, apr_pstrndup(p, proof, (apr_size_t)(d2 - proof)), ".", NULL), &e,
            "DPoP proof is not a three-part compact JWS", "empty signature");
    refused(p, apr_pstrcat(p, "..", NULL), &e, "DPoP proof is not a three-part compact JWS",
            "only dots");
    refused(p, apr_psprintf(p, "%.*s.%s", (int)(d1 - proof), proof, d2), &e,
            "DPoP proof is not a three-part compact JWS", "empty payload");
    refused(p, apr_psprintf(p, "e30%s", d1), &e, "DPoP proof header has no typ", "header {}");

    refused(p, apr_psprintf(p, "eyJ0eXAi!%s", d1), &e, "DPoP proof header is not base64url",
            "header not base64url");
    refused(p, apr_psprintf(p, "eyJ0eXAiOiJkcG9wK2p3dCJ9=%s", d1), &e,
            "DPoP proof header is not base64url", "header with padding");
    refused(p, apr_psprintf(p, "%s%s", mab_b64url_encode(p, (const unsigned char *)"[1]", 3), d1),
            &e, "DPoP proof header is not a JSON object", "header a JSON array");
    refused(p,
            apr_psprintf(p, "%s%s",
                         mab_b64url_encode(p, (const unsigned char *)"{\"typ\":\"dpop+jwt\"", 17),
                         d1),
            &e, "DPoP proof header is not a JSON object", "header truncated JSON");
    refused(p, apr_psprintf(p, "%.*s.e30!%s", (int)(d1 - proof), proof, d2), &e,
            "DPoP proof payload is not base64url", "payload not base64url");
    refused(p, apr_psprintf(p, "%.*s.WzFd%s", (int)(d1 - proof), proof, d2), &e,
            "DPoP proof payload is not a JSON object", "payload a JSON array");
    refused(p, apr_psprintf(p, "%.*s.%s", (int)(d2 - proof), proof, "AB+/"), &e,
            "DPoP proof signature is not base64url", "signature in standard base64");
    refused(p, apr_psprintf(p, "%s ", proof), &e, "DPoP proof signature is not base64url",
            "a trailing space");
    refused(p, apr_psprintf(p, "%.*s.%s", (int)(d2 - proof), proof, "AAAA"), &e,
            "DPoP proof signature does not verify with its jwk", "a short signature");
    {
        mab_dpop_proof_t out;
        const char *detail = NULL;
        ok(mab_dpop_check(shared, NULL, &e, p, &out, &detail) == MAB_ERR_DPOP_PROOF && detail,
           "refused: NULL proof");
    }
}

/* --- the key cache ----------------------------------------------------------------------- */

static void test_cache(apr_pool_t *p)
{
    mab_dpop_keys_t *keys = mab_dpop_keys_create(p, 8), *tiny;
    mab_dpop_expect_t e = good_expect();
    mab_dpop_proof_t out;
    unsigned long hits, misses;
    const char *detail;
    char *proof, *d;
    claims_t c;

    ok(mab_dpop_keys_create(p, 0) == NULL, "entries 0: no cache");
    ok(keys != NULL, "a cache of 8");
    ok(accepted(p, keys, good_proof(p, &es), &e, &out), "first proof of a key");
    mab_dpop_keys_stats(keys, &hits, &misses);
    ok(hits == 0 && misses == 1, "a miss (%lu/%lu)", hits, misses);
    ok(accepted(p, keys, good_proof(p, &es), &e, &out), "a new proof, same key and header");
    mab_dpop_keys_stats(keys, &hits, &misses);
    ok(hits == 1 && misses == 1, "a hit (%lu/%lu)", hits, misses);
    is_str(out.jkt, jkt_of(p, &es), "a hit gives the same jkt");
    is_str(out.alg, "ES256", "and the same alg");

    /* on a hit the mask, the claims and the signature are still judged */
    e.alg_mask = mab_alg_find("PS256")->bit;
    detail = NULL;
    ok(mab_dpop_check(keys, good_proof(p, &es), &e, p, &out, &detail) == MAB_ERR_DPOP_PROOF
           && strcmp(detail, "DPoP proof alg is not allowed here") == 0,
       "hit: the mask is this check's");
    e = good_expect();
    c = good_claims(p);
    c.htm = "\"GET\"";
    ok(mab_dpop_check(keys, proof_of(p, &es, NULL, &c), &e, p, &out, &detail) == MAB_ERR_DPOP_PROOF
           && strcmp(detail, "DPoP proof htm does not match the request method") == 0,
       "hit: claims checked");
    proof = good_proof(p, &es);
    d = strrchr(proof, '.');
    d[10] = d[10] == 'A' ? 'B' : 'A';
    ok(mab_dpop_check(keys, proof, &e, p, &out, &detail) == MAB_ERR_DPOP_PROOF
           && strcmp(detail, "DPoP proof signature does not verify with its jwk") == 0,
       "hit: the signature verified");
    {
        /* same header bytes, signed by another key: the cached key decides */
        signer_t other = es2;
        other.jwk = es.jwk;
        c = good_claims(p);
        ok(mab_dpop_check(keys, proof_of(p, &other, NULL, &c), &e, p, &out, &detail)
               == MAB_ERR_DPOP_PROOF,
           "hit: a signature by another key under the cached header refused");
    }
    mab_dpop_keys_stats(keys, &hits, &misses);
    ok(hits == 5 && misses == 1, "all of them hits (%lu/%lu)", hits, misses);

    /* a refused header is not kept */
    proof = with_header(p, &es,
                        apr_psprintf(p, "{\"typ\":\"JWT\",\"alg\":\"ES256\",\"jwk\":%s}", es.jwk));
    mab_dpop_check(keys, proof, &e, p, &out, &detail);
    mab_dpop_check(keys, proof, &e, p, &out, &detail);
    mab_dpop_keys_stats(keys, &hits, &misses);
    ok(hits == 5 && misses == 3, "a refused header is looked up, never found (%lu/%lu)", hits,
       misses);

    /* eviction: one set of 4 ways; the least recently used goes */
    tiny = mab_dpop_keys_create(p, 4);
    {
        signer_t s[5];
        int i, ok_all = 1;
        for (i = 0; i < 5; i++) {
            s[i] = es;
            s[i].jwk = ec_jwk(p, es.k, apr_psprintf(p, "kid-%d", i)); /* other header bytes */
        }
        for (i = 0; i < 4; i++) {
            ok_all &= accepted(p, tiny, good_proof(p, &s[i]), &e, &out);
        }
        ok_all &= accepted(p, tiny, good_proof(p, &s[0]), &e, &out); /* 0 is now the newest */
        ok_all &= accepted(p, tiny, good_proof(p, &s[4]), &e, &out); /* evicts 1 */
        mab_dpop_keys_stats(tiny, &hits, &misses);
        ok(ok_all && hits == 1 && misses == 5, "four keys, a reuse, a fifth (%lu/%lu)", hits,
           misses);
        ok_all &= accepted(p, tiny, good_proof(p, &s[0]), &e, &out);
        ok_all &= accepted(p, tiny, good_proof(p, &s[4]), &e, &out);
        mab_dpop_keys_stats(tiny, &hits, &misses);
        ok(ok_all && hits == 3 && misses == 5, "the recently used stayed (%lu/%lu)", hits, misses);
        ok_all &= accepted(p, tiny, good_proof(p, &s[1]), &e, &out);
        mab_dpop_keys_stats(tiny, &hits, &misses);
        ok(ok_all && hits == 3 && misses == 6, "the least recently used was evicted (%lu/%lu)",
           hits, misses);
        is_str(out.jkt, jkt_of(p, &es), "an evicted key, imported again, gives the same jkt");
    }
}

/* --- threads ----------------------------------------------------------------------------- */
#define THREADS 8
#define PROOFS 6
#define ROUNDS 60

typedef struct {
    mab_dpop_keys_t *keys;
    const char *const *proofs;
    const char *const *jkts;
    const char *bad;
    atomic_int *go;
    int wrong;
    int seed;
} job_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    job_t *j = data;
    mab_dpop_expect_t e = good_expect();
    apr_pool_t *p;
    int r;

    apr_pool_create(&p, NULL);
    while (!atomic_load(j->go)) {
    }
    for (r = 0; r < ROUNDS; r++) {
        int i = (r * 7 + j->seed) % PROOFS;
        mab_dpop_proof_t out;
        const char *detail = NULL;

        if (mab_dpop_check(j->keys, j->proofs[i], &e, p, &out, &detail) != MAB_OK
            || strcmp(out.jkt, j->jkts[i]) != 0) {
            j->wrong++;
        }
        if (r % 5 == 0 && mab_dpop_check(j->keys, j->bad, &e, p, &out, &detail) == MAB_OK) {
            j->wrong++;
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

static void test_threads(apr_pool_t *p)
{
    /* Fewer entries than keys: entries are evicted while other threads verify with them. */
    mab_dpop_keys_t *keys = mab_dpop_keys_create(p, 2);
    const char *proofs[PROOFS], *jkts[PROOFS];
    apr_thread_t *th[THREADS];
    job_t jobs[THREADS];
    atomic_int go;
    unsigned long hits, misses;
    char *bad;
    int i, wrong = 0;

    for (i = 0; i < PROOFS; i++) {
        signer_t s = i % 3 == 2 ? ed : es;
        s.jwk = (i % 3 == 2 ? okp_jwk : ec_jwk)(p, s.k, apr_psprintf(p, "t-%d", i));
        proofs[i] = good_proof(p, &s);
        jkts[i] = jkt_of(p, &s);
    }
    bad = apr_pstrdup(p, proofs[0]);
    bad[strlen(bad) - 10] = bad[strlen(bad) - 10] == 'A' ? 'B' : 'A';
    atomic_init(&go, 0);
    for (i = 0; i < THREADS; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].keys = keys;
        jobs[i].proofs = proofs;
        jobs[i].jkts = jkts;
        jobs[i].bad = bad;
        jobs[i].go = &go;
        jobs[i].seed = i;
        apr_thread_create(&th[i], NULL, worker, &jobs[i], p);
    }
    atomic_store(&go, 1);
    for (i = 0; i < THREADS; i++) {
        apr_status_t rv;
        apr_thread_join(&rv, th[i]);
        wrong += jobs[i].wrong;
    }
    mab_dpop_keys_stats(keys, &hits, &misses);
    is_int(wrong, 0, "%d threads, %d keys, a cache of 2: every verdict right", THREADS, PROOFS);
    ok(hits > 0 && misses > 0, "both hits and misses happened (%lu/%lu)", hits, misses);
}

/* Not a test: what a check costs with and without the cache, for the record. */
static void timing(apr_pool_t *p)
{
    mab_dpop_keys_t *keys = mab_dpop_keys_create(p, 64);
    mab_dpop_expect_t e = good_expect();
    char *proof = good_proof(p, &es);
    mab_dpop_proof_t out;
    const char *detail;
    apr_pool_t *scratch;
    int mode, i, n = getenv("MAB_DPOP_TIMING") ? 2000 : 50;

    apr_pool_create(&scratch, p);
    for (mode = 0; mode < 2; mode++) {
        apr_time_t t0 = apr_time_now();
        for (i = 0; i < n; i++) {
            mab_dpop_check(mode ? keys : NULL, proof, &e, scratch, &out, &detail);
            apr_pool_clear(scratch);
        }
        printf("# ES256 proof check %s: %.1f us\n", mode ? "with the key cache" : "without a cache",
               (double)(apr_time_now() - t0) / n);
    }
    apr_pool_destroy(scratch);
}

int main(void)
{
    apr_pool_t *p = test_setup();

    es.k = EVP_EC_gen("P-256");
    es.alg = "ES256";
    es.jwk = ec_jwk(p, es.k, "es");
    es2.k = EVP_EC_gen("P-256");
    es2.alg = "ES256";
    es2.jwk = ec_jwk(p, es2.k, "es2");
    rs.k = EVP_RSA_gen(2048);
    rs.alg = "RS256";
    rs.jwk = rsa_jwk(p, rs.k, "rs");
    ps = rs;
    ps.alg = "PS256";
    ps.pss = 1;
    ed.k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    ed.alg = "EdDSA";
    ed.jwk = okp_jwk(p, ed.k, "ed");
    shared = mab_dpop_keys_create(p, 64);

    test_accepted(p);
    test_accepted_variants(p);
    test_rfc_ath(p);
    test_header_refusals(p);
    test_signature_refusals(p);
    test_claim_refusals(p);
    test_form_refusals(p);
    test_cache(p);
    test_threads(p);
    timing(p);

    apr_pool_destroy(p); /* the caches' keys go before the keys they were made from */
    EVP_PKEY_free(es.k);
    EVP_PKEY_free(es2.k);
    EVP_PKEY_free(rs.k);
    EVP_PKEY_free(ed.k);
    return tap_done();
}
