/* Signature primitives: one JWA algorithm, one key, bytes in, verdict out. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <apr_pools.h>

#include "mab_alg.h"
#include "mab_jwk.h"
#include "mab_sig.h"

/* RFC 7518 §3.4: R and S, each exactly the curve's size, in (0, order). OpenSSL wants
 * DER, so the fixed form is checked and converted here, never passed through. */
static unsigned char *ecdsa_raw_to_der(const mab_alg_t *alg, const unsigned char *sig,
                                       size_t sig_len, int *der_len, const char **detail)
{
    size_t n = alg->ec_coord_len;
    int nid = strcmp(alg->curve, "P-256") == 0   ? NID_X9_62_prime256v1
              : strcmp(alg->curve, "P-384") == 0 ? NID_secp384r1
                                                 : NID_secp521r1;
    EC_GROUP *group = NULL;
    ECDSA_SIG *esig = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *der = NULL;

    if (sig_len != 2 * n) {
        *detail = "ECDSA signature is not the raw R||S of the curve's size";
        return NULL;
    }
    group = EC_GROUP_new_by_curve_name(nid);
    r = BN_bin2bn(sig, (int)n, NULL);
    s = BN_bin2bn(sig + n, (int)n, NULL);
    if (!group || !r || !s) {
        *detail = "out of memory";
        goto cleanup;
    }
    if (BN_is_zero(r) || BN_is_zero(s) || BN_cmp(r, EC_GROUP_get0_order(group)) >= 0
        || BN_cmp(s, EC_GROUP_get0_order(group)) >= 0) {
        *detail = "ECDSA R or S is zero or not below the group order";
        goto cleanup;
    }
    esig = ECDSA_SIG_new();
    if (!esig || ECDSA_SIG_set0(esig, r, s) != 1) {
        *detail = "out of memory";
        goto cleanup;
    }
    r = s = NULL; /* owned by esig */
    *der_len = i2d_ECDSA_SIG(esig, &der);
    if (*der_len <= 0) {
        der = NULL;
        *detail = "cannot encode ECDSA signature";
    }
cleanup:
    ECDSA_SIG_free(esig);
    BN_free(r);
    BN_free(s);
    EC_GROUP_free(group);
    return der;
}

/* RFC 7518 §3.2, compared in constant time. The key is the admin's secret, never
 * anything derived from a key set or a public key. */
static mab_err_e hmac_verify(const mab_alg_t *alg, const mab_key_t *key, const unsigned char *msg,
                             size_t msg_len, const unsigned char *sig, size_t sig_len,
                             const char **detail)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;

    if (!EVP_Q_mac(NULL, "HMAC", NULL, alg->digest, NULL, key->secret, key->secret_len, msg,
                   msg_len, mac, sizeof(mac), &mac_len)) {
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

/* One algorithm's prepared state for one key. */
typedef struct {
    EVP_PKEY_CTX *tmpl; /* after EVP_PKEY_verify_init, digest and padding: only duplicated */
    EVP_MD *md;         /* the signing input's digest, fetched once */
} prep_one_t;

struct mab_sig_prep_t {
    prep_one_t by_alg[MAB_ALG_COUNT]; /* by mab_alg_index; empty where the key does not fit */
};

static apr_status_t prep_cleanup(void *data)
{
    struct mab_sig_prep_t *prep = data;
    size_t i;

    for (i = 0; i < MAB_ALG_COUNT; i++) {
        EVP_PKEY_CTX_free(prep->by_alg[i].tmpl);
        EVP_MD_free(prep->by_alg[i].md);
    }
    return APR_SUCCESS;
}

/* EdDSA hashes inside the signature (no separate digest to hand over) and HMAC keys are
 * secrets: only RSA and ECDSA verify through a prepared EVP_PKEY_verify context. */
static int preparable(const mab_alg_t *alg)
{
    return alg->family == MAB_FAMILY_RSA_PKCS1 || alg->family == MAB_FAMILY_RSA_PSS
           || alg->family == MAB_FAMILY_ECDSA;
}

void mab_sig_prepare(apr_pool_t *p, mab_key_t *key)
{
    struct mab_sig_prep_t *prep;
    size_t i;
    int any = 0;

    key->prep = NULL;
    if (!key->pkey) {
        return;
    }
    prep = apr_pcalloc(p, sizeof(*prep));
    apr_pool_cleanup_register(p, prep, prep_cleanup, apr_pool_cleanup_null);
    for (i = 0; i < MAB_ALG_COUNT; i++) {
        const mab_alg_t *alg = mab_alg_at(i);
        prep_one_t *one = &prep->by_alg[i];

        if (!preparable(alg) || !mab_jwk_fits_alg(key, alg)) {
            continue;
        }
        one->md = EVP_MD_fetch(NULL, alg->digest, NULL);
        one->tmpl = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
        if (!one->md || !one->tmpl || EVP_PKEY_verify_init(one->tmpl) != 1
            || EVP_PKEY_CTX_set_signature_md(one->tmpl, one->md) != 1
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
    unsigned char *der = NULL;
    size_t index;
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
        int der_len = 0;
        der = ecdsa_raw_to_der(alg, sig, sig_len, &der_len, detail);
        if (!der) {
            return MAB_ERR_SIGNATURE;
        }
        sig = der;
        sig_len = (size_t)der_len;
    }
    else if (alg->family != MAB_FAMILY_EDDSA && sig_len != (size_t)EVP_PKEY_get_size(key->pkey)) {
        *detail = "RSA signature length differs from the modulus size";
        return MAB_ERR_SIGNATURE;
    }
    index = mab_alg_index(alg);
    if (key->prep && index < MAB_ALG_COUNT && key->prep->by_alg[index].tmpl) {
        rv = verify_prepared(&key->prep->by_alg[index], msg, msg_len, sig, sig_len, detail);
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
    OPENSSL_free(der);
    return rv;
}
