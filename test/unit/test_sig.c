/* Signature primitives: the prepared contexts a key carries give the verdicts of a
 * verification set up from scratch, for every algorithm, and stay right when many
 * threads verify with one key at once (run under ThreadSanitizer by make unit-tsan). */
#include <apr_thread_proc.h>
#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "mab_alg.h"
#include "mab_b64.h"
#include "mab_jwk.h"
#include "mab_sig.h"
#include "signer.h"
#include "tap.h"
#include "testutil.h"

#define MSG "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9"
/* 48 bytes: long enough for HS256 and HS384, not for HS512 */
#define SECRET "0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct {
    unsigned char sig[1024];
    size_t len;
} signature_t;

/* OpenSSL's signing side, in the JWS form: raw R||S for ECDSA. */
static int sign(EVP_PKEY *k, const mab_alg_t *alg, const char *msg, signature_t *out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char der[1024];
    size_t len = sizeof(der);
    int ok_ = 0;

    if (alg->family == MAB_FAMILY_HMAC) {
        unsigned int n = 0;
        /* k is unused: the secret is the test's fixed one */
        HMAC(EVP_get_digestbyname(alg->digest), SECRET, (int)strlen(SECRET),
             (const unsigned char *)msg, strlen(msg), out->sig, &n);
        out->len = n;
        ok_ = n > 0;
        goto done;
    }
    if (EVP_DigestSignInit_ex(md, &pctx, alg->digest, NULL, NULL, k, NULL) != 1) {
        goto done;
    }
    if (alg->family == MAB_FAMILY_RSA_PSS) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    if (EVP_DigestSign(md, der, &len, (const unsigned char *)msg, strlen(msg)) != 1) {
        goto done;
    }
    if (alg->family == MAB_FAMILY_ECDSA) {
        const unsigned char *q = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)len);
        size_t n = alg->ec_coord_len;

        if (!es) {
            goto done;
        }
        BN_bn2binpad(ECDSA_SIG_get0_r(es), out->sig, (int)n);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), out->sig + n, (int)n);
        ECDSA_SIG_free(es);
        out->len = 2 * n;
    }
    else {
        memcpy(out->sig, der, len);
        out->len = len;
    }
    ok_ = 1;
done:
    EVP_MD_CTX_free(md);
    return ok_;
}

static mab_key_t *import(apr_pool_t *p, const char *jwk_text)
{
    json_t *jwk = json_loads(jwk_text, 0, NULL);
    const char *why = NULL;
    mab_key_t *key = mab_jwk_import(p, jwk, &why);

    if (!key) {
        printf("# import: %s\n", why);
    }
    json_decref(jwk);
    return key;
}

static char *ec_jwk_curve(apr_pool_t *p, EVP_PKEY *k, const char *crv, size_t n)
{
    return apr_psprintf(p, "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", crv,
                        b64_bn(p, k, OSSL_PKEY_PARAM_EC_PUB_X, n),
                        b64_bn(p, k, OSSL_PKEY_PARAM_EC_PUB_Y, n));
}

static mab_err_e verify(const mab_alg_t *alg, const mab_key_t *key, const char *msg,
                        const signature_t *s)
{
    const char *detail = NULL;

    return mab_sig_verify(alg, key, (const unsigned char *)msg, strlen(msg), s->sig, s->len,
                          &detail);
}

/* The same verdict with the key's prepared contexts and without them. */
static void both_ways(const mab_alg_t *alg, const mab_key_t *key, const char *msg,
                      const signature_t *s, mab_err_e want, const char *what)
{
    mab_key_t bare = *key;

    bare.prep = NULL;
    is_int(verify(alg, key, msg, s), want, "%s %s: prepared", alg->name, what);
    is_int(verify(alg, &bare, msg, s), want, "%s %s: set up per call", alg->name, what);
}

static void one_alg(apr_pool_t *p, EVP_PKEY *k, const mab_key_t *key, const char *name)
{
    const mab_alg_t *alg = mab_alg_find(name);
    signature_t s, bad;

    if (!ok(sign(k, alg, MSG, &s), "%s: signed", name)) {
        return;
    }
    both_ways(alg, key, MSG, &s, MAB_OK, "valid signature");
    both_ways(alg, key, MSG "x", &s, MAB_ERR_SIGNATURE, "other message");
    bad = s;
    bad.sig[bad.len / 2] ^= 0x01;
    both_ways(alg, key, MSG, &bad, MAB_ERR_SIGNATURE, "one bit flipped");
    bad = s;
    bad.len--;
    both_ways(alg, key, MSG, &bad, MAB_ERR_SIGNATURE, "one byte short");
}

/* Another algorithm of the same family's signature never passes for this one: the prepared
 * context is the algorithm's own, not whichever the key was last used with. */
static void cross(apr_pool_t *p, EVP_PKEY *k, const mab_key_t *key, const char *signed_as,
                  const char *checked_as)
{
    signature_t s;

    if (ok(sign(k, mab_alg_find(signed_as), MSG, &s), "%s: signed", signed_as)) {
        both_ways(mab_alg_find(checked_as), key, MSG, &s, MAB_ERR_SIGNATURE,
                  apr_psprintf(p, "signed with %s", signed_as));
    }
}

static const char *detail_of(const mab_alg_t *alg, const mab_key_t *key, const signature_t *s)
{
    const char *detail = NULL;

    mab_sig_verify(alg, key, (const unsigned char *)MSG, strlen(MSG), s->sig, s->len, &detail);
    return detail ? detail : "(valid)";
}

/* R or S set to v (n bytes, big-endian) in an otherwise valid signature. */
static signature_t with_part(const signature_t *s, int which, const unsigned char *v, size_t n)
{
    signature_t out = *s;

    memcpy(out.sig + (which ? n : 0), v, n);
    return out;
}

/* The range check of R and S at both sides of OpenSSL's own group order, and the DER
 * written for values with leading zero bytes and with the top bit set. */
static void ecdsa_bounds(EVP_PKEY *k, const mab_key_t *key, const char *name, int nid)
{
    static const char range[] = "ECDSA R or S is zero or not below the group order";
    static const char bad[] = "signature does not verify";
    const mab_alg_t *alg = mab_alg_find(name);
    size_t n = alg->ec_coord_len, j;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    BIGNUM *below = BN_new();
    unsigned char order[66], order_1[66], zero[66] = {0}, one[66] = {0}, top[66];
    signature_t s, t;
    int which;

    if (!ok(g && below && sign(k, alg, MSG, &s), "%s: group and signature", name)) {
        EC_GROUP_free(g);
        BN_free(below);
        return;
    }
    BN_bn2binpad(EC_GROUP_get0_order(g), order, (int)n);
    BN_copy(below, EC_GROUP_get0_order(g));
    BN_sub_word(below, 1);
    BN_bn2binpad(below, order_1, (int)n);
    one[n - 1] = 1;
    for (j = 0; j < n; j++) {
        top[j] = order_1[j];
    }
    top[0] = n == 66 ? 0x01 : 0x80; /* the highest byte with its top bit set (P-521: 1 bit) */
    for (which = 0; which < 2; which++) {
        const char *part = which ? "S" : "R";

        t = with_part(&s, which, order, n);
        is_str(detail_of(alg, key, &t), range, "%s: %s = the order: refused before OpenSSL", name,
               part);
        t = with_part(&s, which, order_1, n);
        is_str(detail_of(alg, key, &t), bad, "%s: %s = order - 1: in range, does not verify", name,
               part);
        t = with_part(&s, which, zero, n);
        is_str(detail_of(alg, key, &t), range, "%s: %s = 0: refused", name, part);
        t = with_part(&s, which, one, n);
        is_str(detail_of(alg, key, &t), bad, "%s: %s = 1 (leading zero bytes): does not verify",
               name, part);
        t = with_part(&s, which, top, n);
        is_str(detail_of(alg, key, &t), bad, "%s: %s with the top bit set: does not verify", name,
               part);
    }
    is_str(detail_of(alg, key, &s), "(valid)", "%s: the untouched signature verifies", name);
    EC_GROUP_free(g);
    BN_free(below);
}

typedef struct {
    const mab_alg_t *alg;
    const mab_key_t *key;
    const signature_t *good;
    const signature_t *bad;
    int wrong; /* verdicts that were not the expected one */
} job_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    job_t *job = data;
    int i;

    for (i = 0; i < 200; i++) {
        if (verify(job->alg, job->key, MSG, job->good) != MAB_OK
            || verify(job->alg, job->key, MSG, job->bad) != MAB_ERR_SIGNATURE) {
            job->wrong++;
        }
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* Eight threads verifying with one key's prepared contexts at once. */
static void threads(apr_pool_t *p, EVP_PKEY *k, const mab_key_t *key, const char *name)
{
    enum { NTHREADS = 8 };
    apr_thread_t *th[NTHREADS];
    job_t jobs[NTHREADS];
    signature_t good, bad;
    int i, wrong = 0, started = 0;

    if (!sign(k, mab_alg_find(name), MSG, &good)) {
        ok(0, "%s: signed for the threads", name);
        return;
    }
    bad = good;
    bad.sig[0] ^= 0x80;
    for (i = 0; i < NTHREADS; i++) {
        jobs[i] = (job_t){mab_alg_find(name), key, &good, &bad, 0};
        if (apr_thread_create(&th[i], NULL, worker, &jobs[i], p) == APR_SUCCESS) {
            started++;
        }
    }
    for (i = 0; i < started; i++) {
        apr_status_t rv;
        apr_thread_join(&rv, th[i]);
        wrong += jobs[i].wrong;
    }
    is_int(started, NTHREADS, "%s: %d threads started", name, NTHREADS);
    is_int(wrong, 0, "%s: every verdict of %d threads x 400 right", name, NTHREADS);
}

int main(void)
{
    apr_pool_t *p = test_setup();
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *p256 = EVP_EC_gen("P-256"), *p384 = EVP_EC_gen("P-384"),
             *p521 = EVP_EC_gen("P-521");
    mab_key_t *krsa, *krs256, *k256, *k384, *k521;
    static const char *const rsa_algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"};
    size_t i;

    krsa = import(p, rsa_jwk(p, rsa, "r"));
    krs256 =
        import(p, apr_psprintf(p, "{\"kty\":\"RSA\",\"alg\":\"RS256\",\"n\":\"%s\",\"e\":\"%s\"}",
                               b64_bn(p, rsa, OSSL_PKEY_PARAM_RSA_N, 0),
                               b64_bn(p, rsa, OSSL_PKEY_PARAM_RSA_E, 0)));
    k256 = import(p, ec_jwk_curve(p, p256, "P-256", 32));
    k384 = import(p, ec_jwk_curve(p, p384, "P-384", 48));
    k521 = import(p, ec_jwk_curve(p, p521, "P-521", 66));
    if (!ok(krsa && krs256 && k256 && k384 && k521, "keys import")) {
        return tap_done();
    }
    ok(krsa->prep != NULL && k256->prep != NULL && k384->prep != NULL && k521->prep != NULL,
       "imported RSA and EC keys carry prepared contexts");
    for (i = 0; i < sizeof(rsa_algs) / sizeof(rsa_algs[0]); i++) {
        one_alg(p, rsa, krsa, rsa_algs[i]);
    }
    one_alg(p, p256, k256, "ES256");
    one_alg(p, p384, k384, "ES384");
    one_alg(p, p521, k521, "ES512");
    ecdsa_bounds(p256, k256, "ES256", NID_X9_62_prime256v1);
    ecdsa_bounds(p384, k384, "ES384", NID_secp384r1);
    ecdsa_bounds(p521, k521, "ES512", NID_secp521r1);
    /* A JWK with its own alg is prepared for that alg only; the primitive still answers
     * for the others (fits_alg, the caller's, keeps them from being asked). */
    one_alg(p, rsa, krs256, "RS256");
    one_alg(p, rsa, krs256, "PS256");
    cross(p, rsa, krsa, "PS256", "RS256");
    cross(p, rsa, krsa, "RS256", "PS256");
    cross(p, rsa, krsa, "RS384", "RS256");
    cross(p, rsa, krsa, "PS512", "PS256");
    {
        /* An admin's secret: keyed HMAC templates for the algorithms it is long enough
         * for; HS512 (a 64-byte minimum) sets itself up per call if ever asked. */
        mab_key_t *secret = mab_jwk_secret(p, (const unsigned char *)SECRET, strlen(SECRET));

        ok(secret->prep != NULL, "a secret carries prepared HMAC contexts");
        one_alg(p, NULL, secret, "HS256");
        one_alg(p, NULL, secret, "HS384");
        one_alg(p, NULL, secret, "HS512");
        cross(p, NULL, secret, "HS384", "HS256");
        threads(p, NULL, secret, "HS256");
    }
    threads(p, rsa, krsa, "RS256");
    threads(p, rsa, krsa, "PS256");
    threads(p, p256, k256, "ES256");
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(p521);
    return tap_done();
}
