#ifndef MAB_TEST_SIGNER_H
#define MAB_TEST_SIGNER_H

/* Test-only token minting with OpenSSL's signing side, so attack tokens with arbitrary
 * headers can be built. The module itself never signs anything. */
#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "mab_b64.h"

static inline char *b64_bn(apr_pool_t *p, EVP_PKEY *k, const char *param, size_t pad_to)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int n;

    EVP_PKEY_get_bn_param(k, param, &bn);
    n = pad_to ? BN_bn2binpad(bn, buf, (int)pad_to) : BN_bn2bin(bn, buf);
    BN_free(bn);
    return mab_b64url_encode(p, buf, (apr_size_t)n);
}

/* The public JWK of an RSA key, as JSON text. */
static inline char *rsa_jwk(apr_pool_t *p, EVP_PKEY *k, const char *kid)
{
    return apr_psprintf(p, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"}", kid,
                        b64_bn(p, k, OSSL_PKEY_PARAM_RSA_N, 0),
                        b64_bn(p, k, OSSL_PKEY_PARAM_RSA_E, 0));
}

static inline char *ec_jwk(apr_pool_t *p, EVP_PKEY *k, const char *kid)
{
    return apr_psprintf(
        p, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", kid,
        b64_bn(p, k, OSSL_PKEY_PARAM_EC_PUB_X, 32), b64_bn(p, k, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
}

/* The public JWK of an Ed25519 key. */
static inline char *okp_jwk(apr_pool_t *p, EVP_PKEY *k, const char *kid)
{
    unsigned char raw[32];
    size_t len = sizeof(raw);

    EVP_PKEY_get_raw_public_key(k, raw, &len);
    return apr_psprintf(p, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"%s\",\"x\":\"%s\"}", kid,
                        mab_b64url_encode(p, raw, (apr_size_t)len));
}

static inline char *signing_input(apr_pool_t *p, const char *header, const char *payload)
{
    return apr_pstrcat(p, mab_b64url_encode(p, (const unsigned char *)header, strlen(header)), ".",
                       mab_b64url_encode(p, (const unsigned char *)payload, strlen(payload)), NULL);
}

/* RS256/PS256 (pss != 0), ES256 with DER (der != 0) or raw R||S signatures, or EdDSA
 * (an Ed25519 key: no separate digest). */
static inline char *sign_token(apr_pool_t *p, EVP_PKEY *k, const char *header, const char *payload,
                               int pss, int der)
{
    char *in = signing_input(p, header, payload);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char sig[1024], raw[64];
    size_t len = sizeof(sig);
    const unsigned char *sigp = sig;

    EVP_DigestSignInit_ex(md, &pctx, EVP_PKEY_is_a(k, "ED25519") ? NULL : "SHA256", NULL, NULL, k,
                          NULL);
    if (pss) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    EVP_DigestSign(md, sig, &len, (const unsigned char *)in, strlen(in));
    EVP_MD_CTX_free(md);
    if (EVP_PKEY_is_a(k, "EC") && !der) {
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &sigp, (long)len);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
        ECDSA_SIG_free(es);
        return apr_pstrcat(p, in, ".", mab_b64url_encode(p, raw, 64), NULL);
    }
    return apr_pstrcat(p, in, ".", mab_b64url_encode(p, sig, len), NULL);
}

static inline char *hmac_token(apr_pool_t *p, const unsigned char *key, size_t key_len,
                               const char *header, const char *payload)
{
    char *in = signing_input(p, header, payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;

    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)in, strlen(in), mac, &mac_len);
    return apr_pstrcat(p, in, ".", mab_b64url_encode(p, mac, mac_len), NULL);
}

#endif
