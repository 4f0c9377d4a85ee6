/* Signature primitives: one JWA algorithm, one key, bytes in, verdict out. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

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

mab_err_e mab_sig_verify(const mab_alg_t *alg, const mab_key_t *key, const unsigned char *msg,
                         size_t msg_len, const unsigned char *sig, size_t sig_len,
                         const char **detail)
{
    EVP_MD_CTX *md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
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
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestVerifyInit_ex(md, &pctx, alg->digest, NULL, NULL, key->pkey, NULL) != 1) {
        *detail = "cannot initialise verification";
        goto cleanup;
    }
    if (alg->family == MAB_FAMILY_RSA_PSS) {
        /* RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash. */
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
            *detail = "cannot set PSS parameters";
            goto cleanup;
        }
    }
    else if (alg->family == MAB_FAMILY_RSA_PKCS1) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
            *detail = "cannot set PKCS#1 padding";
            goto cleanup;
        }
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
