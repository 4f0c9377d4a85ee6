#include <string.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "mab_alg.h"
#include "mab_b64.h"
#include "mab_jwk.h"

#define MAB_MIN_RSA_BITS 2048

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

/* A required base64url member, decoded strictly. */
static int get_b64(apr_pool_t *p, json_t *jwk, const char *name, unsigned char **out,
                   apr_size_t *len)
{
    json_t *v = json_object_get(jwk, name);

    if (!json_is_string(v)) {
        return -1;
    }
    return mab_b64url_decode(p, json_string_value(v), json_string_length(v), out, len);
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;

    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

/* OpenSSL's own public-key check: catches points off the curve and broken moduli. */
static int public_check(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = ctx && EVP_PKEY_public_check(ctx) == 1;

    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static EVP_PKEY *import_rsa(apr_pool_t *p, json_t *jwk, const char **reason)
{
    unsigned char *n = NULL, *e = NULL;
    apr_size_t n_len, e_len;
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pkey = NULL;

    if (get_b64(p, jwk, "n", &n, &n_len) != 0 || get_b64(p, jwk, "e", &e, &e_len) != 0) {
        *reason = "RSA key needs base64url n and e";
        return NULL;
    }
    /* Exponents are small odd numbers in practice; a huge or even one is a broken key. */
    if (e_len == 0 || e_len > 8 || (e[e_len - 1] & 1) == 0) {
        *reason = "RSA exponent is not acceptable";
        return NULL;
    }
    bn_n = BN_bin2bn(n, (int)n_len, NULL);
    bn_e = BN_bin2bn(e, (int)e_len, NULL);
    if (!bn_n || !bn_e) {
        *reason = "out of memory";
        goto cleanup;
    }
    if (BN_num_bits(bn_n) < MAB_MIN_RSA_BITS) {
        *reason = "RSA key is shorter than 2048 bits";
        goto cleanup;
    }
    if (BN_is_one(bn_e) || BN_cmp(bn_e, bn_n) >= 0) {
        *reason = "RSA exponent is not acceptable";
        goto cleanup;
    }
    bld = OSSL_PARAM_BLD_new();
    if (!bld || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1
        || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1) {
        *reason = "out of memory";
        goto cleanup;
    }
    pkey = from_params("RSA", bld);
    if (!pkey) {
        *reason = "RSA key rejected by OpenSSL";
    }
cleanup:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return pkey;
}

static const struct {
    const char *crv;
    const char *group;
    apr_size_t len;
} ec_curves[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
};

static EVP_PKEY *import_ec(apr_pool_t *p, json_t *jwk, const char *crv, const char **reason)
{
    unsigned char *x = NULL, *y = NULL, *point;
    apr_size_t x_len, y_len, i;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pkey = NULL;

    for (i = 0; i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++) {
        if (crv && strcmp(crv, ec_curves[i].crv) == 0) {
            break;
        }
    }
    if (i == sizeof(ec_curves) / sizeof(ec_curves[0])) {
        *reason = "EC key has an unsupported crv";
        return NULL;
    }
    if (get_b64(p, jwk, "x", &x, &x_len) != 0 || get_b64(p, jwk, "y", &y, &y_len) != 0) {
        *reason = "EC key needs base64url x and y";
        return NULL;
    }
    /* RFC 7518 §6.2.1.2: coordinates are exactly the field size, no more, no less. */
    if (x_len != ec_curves[i].len || y_len != ec_curves[i].len) {
        *reason = "EC coordinate has the wrong length for its curve";
        return NULL;
    }
    point = apr_palloc(p, 1 + x_len + y_len);
    point[0] = 0x04; /* uncompressed */
    memcpy(point + 1, x, x_len);
    memcpy(point + 1 + x_len, y, y_len);
    bld = OSSL_PARAM_BLD_new();
    if (!bld
        || OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, ec_curves[i].group, 0)
               != 1
        || OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + x_len + y_len)
               != 1) {
        *reason = "out of memory";
        goto cleanup;
    }
    pkey = from_params("EC", bld);
    if (!pkey) {
        *reason = "EC point rejected by OpenSSL";
    }
cleanup:
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

static EVP_PKEY *import_okp(apr_pool_t *p, json_t *jwk, const char *crv, const char **reason)
{
    unsigned char *x = NULL;
    apr_size_t x_len;
    int type;
    apr_size_t want;
    EVP_PKEY *pkey;

    if (crv && strcmp(crv, "Ed25519") == 0) {
        type = EVP_PKEY_ED25519;
        want = 32;
    }
    else if (crv && strcmp(crv, "Ed448") == 0) {
        type = EVP_PKEY_ED448;
        want = 57;
    }
    else {
        *reason = "OKP key has an unsupported crv (signing needs Ed25519 or Ed448)";
        return NULL;
    }
    if (get_b64(p, jwk, "x", &x, &x_len) != 0 || x_len != want) {
        *reason = "OKP key needs a base64url x of the curve's length";
        return NULL;
    }
    pkey = EVP_PKEY_new_raw_public_key(type, NULL, x, x_len);
    if (!pkey) {
        *reason = "OKP key rejected by OpenSSL";
    }
    return pkey;
}

/* `use` and `key_ops`, when present, must allow signature verification. */
static int usage_allows_verify(json_t *jwk, const char **reason)
{
    json_t *use = json_object_get(jwk, "use");
    json_t *ops = json_object_get(jwk, "key_ops");

    if (use && !(json_is_string(use) && strcmp(json_string_value(use), "sig") == 0)) {
        *reason = "key use is not sig";
        return 0;
    }
    if (ops) {
        size_t i;
        json_t *op;
        int found = 0;

        if (!json_is_array(ops)) {
            *reason = "key_ops is not an array";
            return 0;
        }
        json_array_foreach (ops, i, op) {
            if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0) {
                found = 1;
            }
        }
        if (!found) {
            *reason = "key_ops does not include verify";
            return 0;
        }
    }
    return 1;
}

static const char *opt_string(apr_pool_t *p, json_t *jwk, const char *name, int *bad)
{
    json_t *v = json_object_get(jwk, name);

    if (!v) {
        return NULL;
    }
    if (!json_is_string(v)) {
        *bad = 1;
        return NULL;
    }
    return apr_pstrdup(p, json_string_value(v));
}

mab_key_t *mab_jwk_import(apr_pool_t *p, json_t *jwk, const char **reason)
{
    mab_key_t *key;
    EVP_PKEY *pkey = NULL;
    int bad = 0;

    *reason = NULL;
    if (!json_is_object(jwk)) {
        *reason = "JWK is not an object";
        return NULL;
    }
    key = apr_pcalloc(p, sizeof(*key));
    key->kid = opt_string(p, jwk, "kid", &bad);
    key->kty = opt_string(p, jwk, "kty", &bad);
    key->crv = opt_string(p, jwk, "crv", &bad);
    key->alg = opt_string(p, jwk, "alg", &bad);
    if (bad) {
        *reason = "kid, kty, crv and alg must be strings";
        return NULL;
    }
    if (!key->kty) {
        *reason = "JWK has no kty";
        return NULL;
    }
    if (!usage_allows_verify(jwk, reason)) {
        return NULL;
    }
    if (key->alg) {
        const mab_alg_t *alg = mab_alg_find(key->alg);
        if (!alg || alg->family == MAB_FAMILY_HMAC) {
            *reason = "JWK alg is not an asymmetric signature algorithm";
            return NULL;
        }
    }
    if (strcmp(key->kty, "RSA") == 0) {
        key->crv = NULL;
        pkey = import_rsa(p, jwk, reason);
    }
    else if (strcmp(key->kty, "EC") == 0) {
        pkey = import_ec(p, jwk, key->crv, reason);
    }
    else if (strcmp(key->kty, "OKP") == 0) {
        pkey = import_okp(p, jwk, key->crv, reason);
    }
    else if (strcmp(key->kty, "oct") == 0) {
        /* A shared secret published in a key set would let anyone mint tokens. */
        *reason = "symmetric (oct) keys are never accepted from a key set";
    }
    else {
        *reason = "unsupported kty";
    }
    if (!pkey) {
        return NULL;
    }
    if (!public_check(pkey)) {
        EVP_PKEY_free(pkey);
        *reason = "OpenSSL public key check failed";
        return NULL;
    }
    key->pkey = pkey; /* owned by p from here on */
    apr_pool_cleanup_register(p, pkey, pkey_cleanup, apr_pool_cleanup_null);
    return key;
}

static apr_status_t secret_cleanup(void *data)
{
    mab_key_t *key = data;

    OPENSSL_cleanse((void *)key->secret, key->secret_len);
    return APR_SUCCESS;
}

mab_key_t *mab_jwk_secret(apr_pool_t *p, const unsigned char *secret, apr_size_t len)
{
    mab_key_t *key = apr_pcalloc(p, sizeof(*key));

    key->kty = "oct";
    key->secret = apr_pmemdup(p, secret, len);
    key->secret_len = len;
    apr_pool_cleanup_register(p, key, secret_cleanup, apr_pool_cleanup_null);
    return key;
}

int mab_jwk_fits_alg(const mab_key_t *key, const mab_alg_t *alg)
{
    if (!key || !alg || !(key->pkey || key->secret)) {
        return 0;
    }
    if (alg->family == MAB_FAMILY_HMAC) {
        return key->secret && strcmp(key->kty, "oct") == 0
               && key->secret_len >= (apr_size_t)EVP_MD_get_size(EVP_get_digestbyname(alg->digest));
    }
    if (!key->pkey) {
        return 0;
    }
    if (key->alg && strcmp(key->alg, alg->name) != 0) {
        return 0;
    }
    switch (alg->family) {
    case MAB_FAMILY_RSA_PKCS1:
    case MAB_FAMILY_RSA_PSS:
        return strcmp(key->kty, "RSA") == 0;
    case MAB_FAMILY_ECDSA:
        return strcmp(key->kty, "EC") == 0 && key->crv && strcmp(key->crv, alg->curve) == 0;
    case MAB_FAMILY_EDDSA:
        return strcmp(key->kty, "OKP") == 0;
    case MAB_FAMILY_HMAC:
    default:
        return 0;
    }
}
