#include <string.h>

#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "mab_alg.h"
#include "mab_b64.h"
#include "mab_jwtsign.h"

#define MIN_RSA_BITS 2048 /* RFC 7518 §3.3 */

struct mab_jwtsign_key_t {
    EVP_PKEY *pkey;
    const mab_alg_t *alg;
    const char *header_b64; /* BASE64URL({"alg":…}), the same for every assertion */
};

static apr_status_t free_key(void *data)
{
    mab_jwtsign_key_t *k = data;

    EVP_PKEY_free(k->pkey);
    k->pkey = NULL;
    return APR_SUCCESS;
}

/* httpd has no terminal to ask a passphrase on: an encrypted key is refused, not prompted
 * for (OpenSSL's default callback would read stdin). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* The JWK crv of an EC key, or NULL for a curve JOSE has no algorithm for. */
static const char *ec_curve(EVP_PKEY *k)
{
    char group[64];
    size_t n = 0;

    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &n)
        != 1) {
        return NULL;
    }
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
        return "P-256";
    }
    if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
        return "P-384";
    }
    if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0) {
        return "P-521";
    }
    return NULL;
}

/* The key's natural algorithm, or the requested one when it fits; else a reason. */
static const char *settle_alg(apr_pool_t *p, EVP_PKEY *k, const char *alg_name,
                              const mab_alg_t **out)
{
    const mab_alg_t *alg = NULL;

    if (alg_name) {
        alg = mab_alg_find(alg_name);
        if (!alg || alg->family == MAB_FAMILY_HMAC) {
            return apr_psprintf(p,
                                "'%s' is not a signature algorithm for a private key (RS256, "
                                "RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA; "
                                "names are case-sensitive)",
                                alg_name);
        }
    }
    if (EVP_PKEY_is_a(k, "RSA")) {
        if (EVP_PKEY_get_bits(k) < MIN_RSA_BITS) {
            return apr_psprintf(p, "the RSA key has %d bits; at least %d are needed",
                                EVP_PKEY_get_bits(k), MIN_RSA_BITS);
        }
        if (!alg) {
            alg = mab_alg_find("RS256");
        }
        else if (alg->family != MAB_FAMILY_RSA_PKCS1 && alg->family != MAB_FAMILY_RSA_PSS) {
            return apr_psprintf(p, "%s does not fit an RSA key", alg->name);
        }
    }
    else if (EVP_PKEY_is_a(k, "EC")) {
        const char *crv = ec_curve(k);
        static const char *const by_curve[][2] = {
            {"P-256", "ES256"}, {"P-384", "ES384"}, {"P-521", "ES512"}};
        size_t i;

        if (!crv) {
            return "the EC key is on a curve JOSE does not sign with (P-256, P-384 or P-521)";
        }
        for (i = 0; !alg && i < sizeof(by_curve) / sizeof(by_curve[0]); i++) {
            if (strcmp(by_curve[i][0], crv) == 0) {
                alg = mab_alg_find(by_curve[i][1]);
            }
        }
        if (alg->family != MAB_FAMILY_ECDSA || strcmp(alg->curve, crv) != 0) {
            return apr_psprintf(p, "%s does not fit an EC %s key", alg->name, crv);
        }
    }
    else if (EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "ED448")) {
        if (!alg) {
            alg = mab_alg_find("EdDSA");
        }
        else if (alg->family != MAB_FAMILY_EDDSA) {
            return apr_psprintf(p, "%s does not fit an EdDSA key", alg->name);
        }
    }
    else {
        return "the key is neither RSA, EC (P-256, P-384, P-521) nor Ed25519/Ed448";
    }
    *out = alg;
    return NULL;
}

/* OpenSSL's DER ECDSA-Sig-Value as RFC 7518 §3.4's fixed-size R||S. */
static int ecdsa_der_to_raw(const mab_alg_t *alg, const unsigned char *der, size_t der_len,
                            unsigned char *raw)
{
    const unsigned char *d = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)der_len);
    int n = (int)alg->ec_coord_len, good;

    if (!es) {
        return 0;
    }
    good = BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, n) == n
           && BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + n, n) == n;
    ECDSA_SIG_free(es);
    return good;
}

static char *sign_input(apr_pool_t *p, const mab_jwtsign_key_t *key, const char *input,
                        const char **err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL; /* owned by md */
    unsigned char *sig = NULL, raw[2 * 66];
    size_t len = 0;
    char *out = NULL;

    *err = "cannot sign the client assertion";
    if (!md
        || EVP_DigestSignInit_ex(md, &pctx, key->alg->digest, NULL, NULL, key->pkey, NULL) != 1) {
        goto cleanup;
    }
    if (key->alg->family == MAB_FAMILY_RSA_PSS
        && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
        goto cleanup;
    }
    /* One-shot: EdDSA has no streaming form. */
    if (EVP_DigestSign(md, NULL, &len, (const unsigned char *)input, strlen(input)) != 1) {
        goto cleanup;
    }
    sig = apr_palloc(p, len);
    if (EVP_DigestSign(md, sig, &len, (const unsigned char *)input, strlen(input)) != 1) {
        goto cleanup;
    }
    if (key->alg->family == MAB_FAMILY_ECDSA) {
        if (!ecdsa_der_to_raw(key->alg, sig, len, raw)) {
            goto cleanup;
        }
        out =
            apr_pstrcat(p, input, ".", mab_b64url_encode(p, raw, 2 * key->alg->ec_coord_len), NULL);
    }
    else {
        out = apr_pstrcat(p, input, ".", mab_b64url_encode(p, sig, len), NULL);
    }
    *err = NULL;
cleanup:
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return out;
}

char *mab_jwtsign_sign(apr_pool_t *p, const mab_jwtsign_key_t *key, const char *payload_json,
                       const char **err)
{
    const char *input = apr_pstrcat(
        p, key->header_b64, ".",
        mab_b64url_encode(p, (const unsigned char *)payload_json, strlen(payload_json)), NULL);

    return sign_input(p, key, input, err);
}

const char *mab_jwtsign_alg(const mab_jwtsign_key_t *key)
{
    return key->alg->name;
}

const char *mab_jwtsign_load(apr_pool_t *p, const void *pem, apr_size_t len, const char *alg_name,
                             mab_jwtsign_key_t **out)
{
    mab_jwtsign_key_t *k = apr_pcalloc(p, sizeof(*k));
    const char *why, *err = NULL;
    const char *header;
    BIO *bio;

    *out = NULL;
    if (len > (apr_size_t)1 << 30) {
        return "the PEM text is too large";
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio) {
        return "out of memory";
    }
    k->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (!k->pkey) {
        return "not an unencrypted PEM private key";
    }
    /* Ownership: from here the pool frees the key, on every path. */
    apr_pool_cleanup_register(p, k, free_key, apr_pool_cleanup_null);
    why = settle_alg(p, k->pkey, alg_name, &k->alg);
    if (why) {
        return why;
    }
    header = apr_psprintf(p, "{\"alg\":\"%s\"}", k->alg->name);
    k->header_b64 = mab_b64url_encode(p, (const unsigned char *)header, strlen(header));
    /* A key OpenSSL loads but cannot sign with is a startup error, not a per-request one. */
    if (!mab_jwtsign_sign(p, k, "{}", &err)) {
        return err;
    }
    *out = k;
    return NULL;
}
