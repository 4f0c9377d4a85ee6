/* Signature primitives: one JWA algorithm, one key, bytes in, verdict out. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <apr_pools.h>

#include "mab_alg.h"
#include "mab_jwk.h"
#include "mab_sig.h"

/* The group orders of P-256, P-384 and P-521, big-endian, as long as the curve's R and S
 * (test_sig checks them against OpenSSL's at both sides of the bound). Compared as bytes
 * so a signature needs no group object and no big numbers: building the group per
 * signature cost more than a fifth of an ES256 verification. */
static const unsigned char order_p256[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
static const unsigned char order_p384[48] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73};
static const unsigned char order_p521[66] = {
    0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xfa, 0x51, 0x86, 0x87, 0x83, 0xbf, 0x2f, 0x96, 0x6b,
    0x7f, 0xcc, 0x01, 0x48, 0xf7, 0x09, 0xa5, 0xd0, 0x3b, 0xb5, 0xc9, 0xb8, 0x89, 0x9c,
    0x47, 0xae, 0xbb, 0x6f, 0xb7, 0x1e, 0x91, 0x38, 0x64, 0x09};

#define MAX_COORD 66
/* SEQUENCE { INTEGER r, INTEGER s }: each INTEGER at most tag, length, a 0x00 and 66 bytes;
 * the SEQUENCE's length (up to 138) may take the long form 0x81 nn. */
#define MAX_DER (3 + 2 * (3 + MAX_COORD))

static const unsigned char *order_of(const mab_alg_t *alg)
{
    switch (alg->ec_coord_len) {
    case sizeof(order_p256):
        return order_p256;
    case sizeof(order_p384):
        return order_p384;
    case sizeof(order_p521):
        return order_p521;
    default:
        return NULL;
    }
}

/* In (0, order): not all zero bytes, and below the order as a big-endian number. */
static int in_range(const unsigned char *v, const unsigned char *order, size_t n)
{
    size_t i;
    unsigned char any = 0;

    for (i = 0; i < n; i++) {
        any |= v[i];
    }
    return any != 0 && memcmp(v, order, n) < 0;
}

/* A positive INTEGER in DER: no leading zero bytes, one 0x00 when the top bit is set. */
static size_t der_integer(unsigned char *out, const unsigned char *v, size_t n)
{
    size_t skip = 0, len, pad;

    while (skip < n - 1 && v[skip] == 0) {
        skip++;
    }
    len = n - skip;
    pad = (v[skip] & 0x80) ? 1 : 0;
    out[0] = 0x02;
    out[1] = (unsigned char)(len + pad);
    out[2] = 0x00;
    memcpy(out + 2 + pad, v + skip, len);
    return 2 + pad + len;
}

/* RFC 7518 §3.4: R and S, each exactly the curve's size, in (0, order). OpenSSL wants
 * DER, so the fixed form is checked and written out here, never passed through; the DER
 * is canonical, the only form OpenSSL accepts. */
static int ecdsa_raw_to_der(const mab_alg_t *alg, const unsigned char *sig, size_t sig_len,
                            unsigned char der[MAX_DER], size_t *der_len, const char **detail)
{
    const unsigned char *order = order_of(alg);
    size_t n = alg->ec_coord_len, body;
    unsigned char ints[2 * (3 + MAX_COORD)];

    if (!order || sig_len != 2 * n) {
        *detail = "ECDSA signature is not the raw R||S of the curve's size";
        return -1;
    }
    if (!in_range(sig, order, n) || !in_range(sig + n, order, n)) {
        *detail = "ECDSA R or S is zero or not below the group order";
        return -1;
    }
    body = der_integer(ints, sig, n);
    body += der_integer(ints + body, sig + n, n);
    der[0] = 0x30;
    if (body < 0x80) {
        der[1] = (unsigned char)body;
        memcpy(der + 2, ints, body);
        *der_len = 2 + body;
    }
    else {
        der[1] = 0x81;
        der[2] = (unsigned char)body;
        memcpy(der + 3, ints, body);
        *der_len = 3 + body;
    }
    return 0;
}

/* One algorithm's prepared state for one key. */
typedef struct {
    EVP_PKEY_CTX *tmpl; /* after EVP_PKEY_verify_init, digest and padding: only duplicated */
    EVP_MD *md;         /* the signing input's digest, fetched once */
    EVP_MAC_CTX *mac;   /* HMAC keyed with the secret: only duplicated */
} prep_one_t;

struct mab_sig_prep_t {
    prep_one_t by_alg[MAB_ALG_COUNT]; /* by mab_alg_index; empty where the key does not fit */
};

static const prep_one_t *prepared(const mab_alg_t *alg, const mab_key_t *key)
{
    size_t index = mab_alg_index(alg);

    return key->prep && index < MAB_ALG_COUNT ? &key->prep->by_alg[index] : NULL;
}

/* HMAC from a duplicate of the keyed template: EVP_Q_mac fetched the MAC and the digest
 * by name and set the key up again on every call. */
static int hmac_prepared(EVP_MAC_CTX *tmpl, const unsigned char *msg, size_t msg_len,
                         unsigned char *mac, size_t mac_size, size_t *mac_len)
{
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(tmpl);
    int ok = ctx && EVP_MAC_update(ctx, msg, msg_len) == 1
             && EVP_MAC_final(ctx, mac, mac_len, mac_size) == 1;

    EVP_MAC_CTX_free(ctx);
    return ok;
}

/* RFC 7518 §3.2, compared in constant time. The key is the admin's secret, never
 * anything derived from a key set or a public key. */
static mab_err_e hmac_verify(const mab_alg_t *alg, const mab_key_t *key, const unsigned char *msg,
                             size_t msg_len, const unsigned char *sig, size_t sig_len,
                             const char **detail)
{
    const prep_one_t *one = prepared(alg, key);
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;

    if (one && one->mac ? !hmac_prepared(one->mac, msg, msg_len, mac, sizeof(mac), &mac_len)
                        : !EVP_Q_mac(NULL, "HMAC", NULL, alg->digest, NULL, key->secret,
                                     key->secret_len, msg, msg_len, mac, sizeof(mac), &mac_len)) {
        *detail = "cannot compute HMAC";
        return MAB_ERR_SIGNATURE;
    }
    if (sig_len != mac_len || CRYPTO_memcmp(mac, sig, mac_len) != 0) {
        OPENSSL_cleanse(mac, sizeof(mac));
        *detail = "signature does not verify";
        return MAB_ERR_SIGNATURE;
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    return MAB_OK;
}

/* The padding RFC 7518 names for the RSA families; nothing to set for the others. */
static int set_padding(EVP_PKEY_CTX *pctx, const mab_alg_t *alg)
{
    if (alg->family == MAB_FAMILY_RSA_PSS) {
        /* RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash. */
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1
               && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    }
    if (alg->family == MAB_FAMILY_RSA_PKCS1) {
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    }
    return 1;
}

static apr_status_t prep_cleanup(void *data)
{
    struct mab_sig_prep_t *prep = data;
    size_t i;

    for (i = 0; i < MAB_ALG_COUNT; i++) {
        EVP_PKEY_CTX_free(prep->by_alg[i].tmpl);
        EVP_MD_free(prep->by_alg[i].md);
        EVP_MAC_CTX_free(prep->by_alg[i].mac); /* wipes its copy of the secret */
    }
    return APR_SUCCESS;
}

/* EdDSA hashes inside the signature (no separate digest to hand over): only RSA and
 * ECDSA verify through a prepared EVP_PKEY_verify context. */
static int preparable(const mab_alg_t *alg)
{
    return alg->family == MAB_FAMILY_RSA_PKCS1 || alg->family == MAB_FAMILY_RSA_PSS
           || alg->family == MAB_FAMILY_ECDSA;
}

static EVP_MAC_CTX *new_hmac(const mab_alg_t *alg, const mab_key_t *key)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2];

    EVP_MAC_free(mac); /* the context holds its own reference */
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)alg->digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx && EVP_MAC_init(ctx, key->secret, key->secret_len, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

/* An admin's secret: one keyed HMAC template per algorithm it is long enough for. */
static int prepare_secret(struct mab_sig_prep_t *prep, const mab_key_t *key)
{
    size_t i;
    int any = 0;

    for (i = 0; i < MAB_ALG_COUNT; i++) {
        const mab_alg_t *alg = mab_alg_at(i);

        if (alg->family == MAB_FAMILY_HMAC && mab_jwk_fits_alg(key, alg)) {
            prep->by_alg[i].mac = new_hmac(alg, key);
            any |= prep->by_alg[i].mac != NULL;
        }
    }
    return any;
}

void mab_sig_prepare(apr_pool_t *p, mab_key_t *key)
{
    EVP_PKEY_CTX *base;
    struct mab_sig_prep_t *prep;
    size_t i;
    int any = 0;

    key->prep = NULL;
    if (!key->pkey && !key->secret) {
        return;
    }
    prep = apr_pcalloc(p, sizeof(*prep));
    apr_pool_cleanup_register(p, prep, prep_cleanup, apr_pool_cleanup_null);
    if (!key->pkey) {
        if (prepare_secret(prep, key)) {
            key->prep = prep;
        }
        return;
    }
    /* One context initialised for verification, duplicated for each algorithm, and each
     * digest fetched once: a key that fits six algorithms needs three digests. */
    base = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    if (!base || EVP_PKEY_verify_init(base) != 1) {
        EVP_PKEY_CTX_free(base);
        return;
    }
    for (i = 0; i < MAB_ALG_COUNT; i++) {
        const mab_alg_t *alg = mab_alg_at(i);
        prep_one_t *one = &prep->by_alg[i];
        size_t j;

        if (!preparable(alg) || !mab_jwk_fits_alg(key, alg)) {
            continue;
        }
        for (j = 0; j < i && !one->md; j++) {
            const mab_alg_t *other = mab_alg_at(j);
            if (prep->by_alg[j].md && strcmp(other->digest, alg->digest) == 0
                && EVP_MD_up_ref(prep->by_alg[j].md) == 1) {
                one->md = prep->by_alg[j].md;
            }
        }
        if (!one->md) {
            one->md = EVP_MD_fetch(NULL, alg->digest, NULL);
        }
        one->tmpl = EVP_PKEY_CTX_dup(base);
        if (!one->md || !one->tmpl || EVP_PKEY_CTX_set_signature_md(one->tmpl, one->md) != 1
            || !set_padding(one->tmpl, alg)) {
            /* This algorithm sets itself up per call instead. */
            EVP_PKEY_CTX_free(one->tmpl);
            EVP_MD_free(one->md);
            one->tmpl = NULL;
            one->md = NULL;
            continue;
        }
        any = 1;
    }
    EVP_PKEY_CTX_free(base);
    if (any) {
        key->prep = prep;
    }
}

/* The template is never used itself, only copied: a context carries per-call scratch
 * (the RSA provider's buffers), so one shared by threads would be a race. */
static mab_err_e verify_prepared(const prep_one_t *one, const unsigned char *msg, size_t msg_len,
                                 const unsigned char *sig, size_t sig_len, const char **detail)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    EVP_PKEY_CTX *pctx = NULL;
    mab_err_e rv = MAB_ERR_SIGNATURE;

    if (EVP_Digest(msg, msg_len, digest, &digest_len, one->md, NULL) != 1) {
        *detail = "cannot hash the signing input";
        return MAB_ERR_SIGNATURE;
    }
    pctx = EVP_PKEY_CTX_dup(one->tmpl);
    if (!pctx) {
        *detail = "cannot initialise verification";
        return MAB_ERR_SIGNATURE;
    }
    /* Only exactly 1 means valid: 0 is a bad signature, negative an error. */
    if (EVP_PKEY_verify(pctx, sig, sig_len, digest, digest_len) == 1) {
        rv = MAB_OK;
    }
    else {
        *detail = "signature does not verify";
    }
    EVP_PKEY_CTX_free(pctx);
    return rv;
}

mab_err_e mab_sig_verify(const mab_alg_t *alg, const mab_key_t *key, const unsigned char *msg,
                         size_t msg_len, const unsigned char *sig, size_t sig_len,
                         const char **detail)
{
    EVP_MD_CTX *md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char der[MAX_DER];
    const prep_one_t *one;
    mab_err_e rv = MAB_ERR_SIGNATURE;

    *detail = NULL;
    if (!alg || !key) {
        *detail = "no algorithm or key";
        return MAB_ERR_ALG;
    }
    if (alg->family == MAB_FAMILY_HMAC) {
        if (!key->secret) {
            *detail = "HMAC needs a configured secret, never a public key";
            return MAB_ERR_ALG;
        }
        return hmac_verify(alg, key, msg, msg_len, sig, sig_len, detail);
    }
    if (!key->pkey) {
        *detail = "a secret cannot verify an asymmetric signature";
        return MAB_ERR_ALG;
    }
    if (alg->family == MAB_FAMILY_ECDSA) {
        if (ecdsa_raw_to_der(alg, sig, sig_len, der, &sig_len, detail) != 0) {
            return MAB_ERR_SIGNATURE;
        }
        sig = der;
    }
    else if (alg->family != MAB_FAMILY_EDDSA && sig_len != (size_t)EVP_PKEY_get_size(key->pkey)) {
        *detail = "RSA signature length differs from the modulus size";
        return MAB_ERR_SIGNATURE;
    }
    one = prepared(alg, key);
    if (one && one->tmpl) {
        rv = verify_prepared(one, msg, msg_len, sig, sig_len, detail);
        goto cleanup;
    }
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestVerifyInit_ex(md, &pctx, alg->digest, NULL, NULL, key->pkey, NULL) != 1) {
        *detail = "cannot initialise verification";
        goto cleanup;
    }
    if (!set_padding(pctx, alg)) {
        *detail = "cannot set the RSA padding";
        goto cleanup;
    }
    /* Only exactly 1 means valid: 0 is a bad signature, negative an error. */
    if (EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1) {
        rv = MAB_OK;
    }
    else {
        *detail = "signature does not verify";
    }
cleanup:
    EVP_MD_CTX_free(md); /* frees pctx too */
    return rv;
}
