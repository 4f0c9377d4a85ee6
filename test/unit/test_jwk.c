/* JWK import (mab_jwk_import), key/algorithm fit (mab_jwk_fits_alg) and key-set parsing
 * (mab_jwks_parse): the published RFC keys import, every broken or unsuitable key is
 * refused with its specific reason, and a key set keeps its good keys only. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "mab_alg.h"
#include "mab_b64.h"
#include "mab_jwk.h"
#include "mab_jwks.h"
#include "mab_log.h"
#include "tap.h"
#include "testutil.h"

/* Imports a JWK given as JSON text; NULL (with *why) when refused or not JSON. */
static mab_key_t *import_text(apr_pool_t *p, const char *text, const char **why)
{
    json_error_t err;
    json_t *jwk = json_loads(text, 0, &err);
    mab_key_t *key;

    *why = NULL;
    if (!jwk) {
        printf("# test JSON does not parse: %s\n", err.text);
        *why = "(test JSON does not parse)";
        return NULL;
    }
    key = mab_jwk_import(p, jwk, why);
    json_decref(jwk);
    return key;
}

/* A copy of jwk with member `name` set to `value` (stolen), or removed when value is NULL. */
static json_t *with(json_t *jwk, const char *name, json_t *value)
{
    json_t *c = json_deep_copy(jwk);

    if (value) {
        json_object_set_new(c, name, value);
    }
    else {
        json_object_del(c, name);
    }
    return c;
}

/* Imports jwk (which it decrefs) and checks it is refused with exactly `want`. */
static void refused(apr_pool_t *p, json_t *jwk, const char *want, const char *what)
{
    const char *why = NULL;
    mab_key_t *key = mab_jwk_import(p, jwk, &why);

    ok(key == NULL, "%s: refused", what);
    is_str(why, want, "%s: reason", what);
    json_decref(jwk);
}

/* Imports jwk (which it decrefs) and checks it is accepted. */
static mab_key_t *accepted(apr_pool_t *p, json_t *jwk, const char *what)
{
    const char *why = NULL;
    mab_key_t *key = mab_jwk_import(p, jwk, &why);

    if (!ok(key != NULL && key->pkey != NULL, "%s: accepted", what)) {
        printf("#   reason: %s\n", why ? why : "(none)");
    }
    json_decref(jwk);
    return key;
}

static char *b64_bn_param(apr_pool_t *p, EVP_PKEY *k, const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int n;

    if (EVP_PKEY_get_bn_param(k, param, &bn) != 1) {
        return NULL;
    }
    n = BN_bn2bin(bn, buf);
    BN_free(bn);
    return mab_b64url_encode(p, buf, (apr_size_t)n);
}

/* The public JWK of a freshly generated EC key: x and y split from the uncompressed point. */
static json_t *ec_jwk(apr_pool_t *p, EVP_PKEY *k, const char *crv, size_t coord)
{
    unsigned char pt[1 + 2 * 66];
    size_t len = 0;

    if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len) != 1
        || len != 1 + 2 * coord || pt[0] != 0x04) {
        printf("# cannot export the EC public point (len %zu)\n", len);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", crv, "x",
                     mab_b64url_encode(p, pt + 1, coord), "y",
                     mab_b64url_encode(p, pt + 1 + coord, coord));
}

static json_t *okp_jwk(apr_pool_t *p, EVP_PKEY *k, const char *crv)
{
    unsigned char raw[64];
    size_t len = sizeof(raw);

    if (EVP_PKEY_get_raw_public_key(k, raw, &len) != 1) {
        printf("# cannot export the raw public key\n");
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", crv, "x",
                     mab_b64url_encode(p, raw, len));
}

/* Flips one bit of one byte inside the base64url member `name`, re-encoding strictly. */
static json_t *flip_member(apr_pool_t *p, json_t *jwk, const char *name, size_t at)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    unsigned char *raw = NULL;
    apr_size_t len = 0;

    if (!s || mab_b64url_decode(p, s, strlen(s), &raw, &len) != 0 || at >= len) {
        return NULL;
    }
    raw[at] ^= 0x01;
    return with(jwk, name, json_string(mab_b64url_encode(p, raw, len)));
}

static int fits(const mab_key_t *key, const char *alg)
{
    return mab_jwk_fits_alg(key, mab_alg_find(alg));
}

static void test_published_keys(apr_pool_t *p, json_t *all, mab_key_t **rsa_out,
                                mab_key_t **p256_out)
{
    mab_key_t *k;

    k = accepted(p, json_incref(vector(all, "rfc7515_A2", "jwk")), "rfc7515_A2 RSA");
    if (k) {
        is_str(k->kty, "RSA", "RSA key: kty");
        ok(k->crv == NULL, "RSA key: no crv");
        ok(k->kid == NULL && k->alg == NULL, "RSA key: no kid, no alg");
        is_int(EVP_PKEY_get_base_id(k->pkey), EVP_PKEY_RSA, "RSA key: EVP type RSA");
        is_int(EVP_PKEY_get_bits(k->pkey), 2048, "RSA key: 2048 bits");
    }
    *rsa_out = k;

    k = accepted(p, json_incref(vector(all, "rfc7515_A3", "jwk")), "rfc7515_A3 EC P-256");
    if (k) {
        is_str(k->kty, "EC", "P-256 key: kty");
        is_str(k->crv, "P-256", "P-256 key: crv");
        is_int(EVP_PKEY_get_base_id(k->pkey), EVP_PKEY_EC, "P-256 key: EVP type EC");
        is_int(EVP_PKEY_get_bits(k->pkey), 256, "P-256 key: 256 bits");
    }
    *p256_out = k;

    k = accepted(p, json_incref(vector(all, "rfc7515_A4", "jwk")), "rfc7515_A4 EC P-521");
    if (k) {
        is_str(k->crv, "P-521", "P-521 key: crv");
        is_int(EVP_PKEY_get_bits(k->pkey), 521, "P-521 key: 521 bits");
        ok(fits(k, "ES512"), "P-521 key fits ES512");
        ok(!fits(k, "ES256"), "P-521 key does not fit ES256");
    }

    k = accepted(p, json_incref(vector(all, "rfc8037_A4", "jwk")), "rfc8037_A4 OKP Ed25519");
    if (k) {
        is_str(k->kty, "OKP", "Ed25519 key: kty");
        is_str(k->crv, "Ed25519", "Ed25519 key: crv");
        is_int(EVP_PKEY_get_base_id(k->pkey), EVP_PKEY_ED25519, "Ed25519 key: EVP type");
        ok(fits(k, "EdDSA"), "Ed25519 key fits EdDSA");
        ok(!fits(k, "ES256") && !fits(k, "RS256"), "Ed25519 key fits neither ES256 nor RS256");
    }

    /* RFC 7520 §3.4 style: kid and use=sig are carried through. */
    k = accepted(p, json_incref(vector(all, "rfc7520_4_1", "jwk")), "rfc7520_4_1 RSA with kid");
    if (k) {
        is_str(k->kid, "bilbo.baggins@hobbiton.example", "kid is kept");
    }
}

static void test_generated_keys(apr_pool_t *p)
{
    EVP_PKEY *gen;
    json_t *jwk;
    mab_key_t *k;

    gen = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    jwk = gen ? ec_jwk(p, gen, "P-384", 48) : NULL;
    if (ok(jwk != NULL, "P-384 key generated and exported")) {
        k = accepted(p, json_incref(jwk), "generated EC P-384");
        if (k) {
            is_str(k->crv, "P-384", "P-384 key: crv");
            is_int(EVP_PKEY_get_bits(k->pkey), 384, "P-384 key: 384 bits");
            ok(fits(k, "ES384"), "P-384 key fits ES384");
            ok(!fits(k, "ES256") && !fits(k, "ES512"), "P-384 key fits neither ES256 nor ES512");
        }
        /* The same coordinates claimed as another curve are the wrong length for it. */
        refused(p, with(jwk, "crv", json_string("P-256")),
                "EC coordinate has the wrong length for its curve", "P-384 point labelled P-256");
        refused(p, with(jwk, "crv", json_string("P-521")),
                "EC coordinate has the wrong length for its curve", "P-384 point labelled P-521");
        json_decref(jwk);
    }
    EVP_PKEY_free(gen);

    gen = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    jwk = gen ? okp_jwk(p, gen, "Ed448") : NULL;
    if (ok(jwk != NULL, "Ed448 key generated and exported")) {
        k = accepted(p, json_incref(jwk), "generated OKP Ed448");
        if (k) {
            is_str(k->crv, "Ed448", "Ed448 key: crv");
            is_int(EVP_PKEY_get_base_id(k->pkey), EVP_PKEY_ED448, "Ed448 key: EVP type");
            ok(fits(k, "EdDSA"), "Ed448 key fits EdDSA");
        }
        /* 57 bytes are not an Ed25519 key. */
        refused(p, with(jwk, "crv", json_string("Ed25519")),
                "OKP key needs a base64url x of the curve's length", "Ed448 x labelled Ed25519");
        json_decref(jwk);
    }
    EVP_PKEY_free(gen);

    /* A 1024-bit RSA key is too short. */
    gen = EVP_RSA_gen(1024);
    if (ok(gen != NULL, "1024-bit RSA key generated")) {
        const char *n = b64_bn_param(p, gen, OSSL_PKEY_PARAM_RSA_N);
        const char *e = b64_bn_param(p, gen, OSSL_PKEY_PARAM_RSA_E);
        ok(n && e, "1024-bit RSA key: n and e exported");
        if (n && e) {
            refused(p, json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n, "e", e),
                    "RSA key is shorter than 2048 bits", "RSA 1024-bit");
        }
    }
    EVP_PKEY_free(gen);
}

static void test_rsa_rejections(apr_pool_t *p, json_t *rsa)
{
    const char *n = json_string_value(json_object_get(rsa, "n"));

    refused(p, with(rsa, "e", json_string("AQAA")),
            "RSA exponent is not an odd number from 3 to 2^32-1", "RSA even exponent (65536)");
    refused(p, with(rsa, "e", json_string("Ag")),
            "RSA exponent is not an odd number from 3 to 2^32-1", "RSA even exponent (2)");
    refused(p, with(rsa, "e", json_string("AQ")),
            "RSA exponent is not an odd number from 3 to 2^32-1", "RSA exponent 1");
    refused(p, with(rsa, "e", json_string("AAAAAQ")),
            "RSA exponent is not an odd number from 3 to 2^32-1",
            "RSA exponent 1 with leading zero bytes");
    refused(p, with(rsa, "e", json_string("")),
            "RSA exponent is not an odd number from 3 to 2^32-1", "RSA empty exponent");
    refused(p, with(rsa, "e", json_string("AQEBAQEBAQEB")),
            "RSA exponent is not an odd number from 3 to 2^32-1", "RSA exponent of 9 bytes");
    refused(p, with(rsa, "n", NULL), "RSA key needs base64url n and e", "RSA missing n");
    refused(p, with(rsa, "e", NULL), "RSA key needs base64url n and e", "RSA missing e");
    refused(p, with(rsa, "n", json_integer(65537)), "RSA key needs base64url n and e",
            "RSA n is a number");
    /* The 2048-bit n is 256 bytes: 342 base64url characters, 2 '=' in padded base64. */
    refused(p, with(rsa, "n", json_string(apr_pstrcat(p, n, "==", NULL))),
            "RSA key needs base64url n and e", "RSA n with '=' padding");
    refused(p, with(rsa, "e", json_string("AQAB=")), "RSA key needs base64url n and e",
            "RSA e with '=' padding");
    {
        char *std = apr_pstrdup(p, n), *c;
        int changed = 0;
        for (c = std; *c; c++) {
            if (*c == '-' || *c == '_') {
                *c = *c == '-' ? '+' : '/';
                changed = 1;
            }
        }
        if (ok(changed, "RSA n has a '-' or '_' to turn into standard base64")) {
            refused(p, with(rsa, "n", json_string(std)), "RSA key needs base64url n and e",
                    "RSA n in standard base64 alphabet");
        }
    }
    /* Still usable: an odd e of 3 on a real modulus is accepted. */
    accepted(p, with(rsa, "e", json_string("Aw")), "RSA exponent 3");

    /* Each bit of e adds a modular squaring to every verification: capped at 32 bits. */
    accepted(p, with(rsa, "e", json_string("_____w")), "RSA exponent 2^32-1");
    refused(p, with(rsa, "e", json_string("AQAAAAE")),
            "RSA exponent is not an odd number from 3 to 2^32-1", "RSA exponent 2^32+1");
    refused(p, with(rsa, "e", json_string("__________8")),
            "RSA exponent is not an odd number from 3 to 2^32-1", "RSA exponent 2^64-1");
    refused(p, with(rsa, "e", json_string("AAAAAAEAAAAB")),
            "RSA exponent is not an odd number from 3 to 2^32-1",
            "RSA exponent 2^32+1 with leading zero bytes");
}

/* An odd modulus of exactly `bits` bits that survives the trial division and ROCA checks:
 * 2^(bits-1) + 1, stepped by 2. Not a product of two primes, but the import cannot tell,
 * so it stands in for a huge key that would cost a lot to generate. */
static const char *big_modulus(apr_pool_t *p, int bits)
{
    BIGNUM *n = BN_new();
    unsigned char *buf;
    const char *out = NULL;
    int found = 0, len, tries;

    BN_set_bit(n, bits - 1);
    BN_add_word(n, 1);
    for (tries = 0; tries < 100000 && !found; tries++) {
        BN_ULONG d;
        found = 1;
        for (d = 3; d < 2000; d += 2) {
            if (BN_mod_word(n, d) == 0) {
                found = 0;
                break;
            }
        }
        if (!found) {
            BN_add_word(n, 2);
        }
    }
    if (found) {
        buf = apr_palloc(p, (apr_size_t)BN_num_bytes(n));
        len = BN_bn2bin(n, buf);
        out = mab_b64url_encode(p, buf, (apr_size_t)len);
    }
    BN_free(n);
    return out;
}

static void test_rsa_size_bounds(apr_pool_t *p)
{
    const char *n8192 = big_modulus(p, 8192), *n8193 = big_modulus(p, 8193);
    const char *n16384 = big_modulus(p, 16384);

    if (!ok(n8192 && n8193 && n16384, "big moduli built")) {
        return;
    }
    accepted(p, json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n8192, "e", "AQAB"),
             "RSA 8192-bit modulus");
    refused(p, json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n8193, "e", "AQAB"),
            "RSA key is longer than 8192 bits", "RSA 8193-bit modulus");
    refused(p, json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n16384, "e", "__________8"),
            "RSA key is longer than 8192 bits",
            "RSA 16384-bit modulus, e 2^64-1 (the review's key)");
    refused(p, json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n16384, "e", "AQAB"),
            "RSA key is longer than 8192 bits", "RSA 16384-bit modulus");
}

static json_t *rsa_of(apr_pool_t *p, const BIGNUM *n)
{
    unsigned char *buf = apr_palloc(p, (apr_size_t)BN_num_bytes(n));
    int len = BN_bn2bin(n, buf);

    return json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n",
                     mab_b64url_encode(p, buf, (apr_size_t)len), "e", "AQAB");
}

/* Trial division: a modulus with any odd factor below 2000 is refused, one whose smallest
 * factor is above it is not. Every prime below 2000 times a factor-free 2048-bit number,
 * a few composites, and the first numbers past the bound. */
static void test_rsa_small_factors(apr_pool_t *p)
{
    static const char reason[] = "RSA modulus is even or has a small prime factor";
    static const unsigned composites[] = {9, 15, 25, 1995, 1997 * 3, 2001};
    BIGNUM *base = BN_new(), *n = BN_new();
    const char *b64 = big_modulus(p, 2048);
    unsigned char *raw = NULL;
    apr_size_t raw_len = 0;
    unsigned d, e, primes = 0, refused_primes = 0;
    size_t i;

    if (!ok(base && n && b64 && mab_b64url_decode(p, b64, strlen(b64), &raw, &raw_len) == 0,
            "factor-free modulus built")) {
        goto done;
    }
    BN_bin2bn(raw, (int)raw_len, base);
    for (d = 3; d < 2000; d += 2) {
        const char *why = NULL;
        json_t *jwk;
        int prime = 1;

        for (e = 3; e * e <= d; e += 2) {
            if (d % e == 0) {
                prime = 0;
                break;
            }
        }
        if (!prime) {
            continue;
        }
        primes++;
        BN_copy(n, base);
        BN_mul_word(n, d);
        jwk = rsa_of(p, n);
        if (!mab_jwk_import(p, jwk, &why) && why && strcmp(why, reason) == 0) {
            refused_primes++;
        }
        else {
            printf("#   %u times the modulus: not refused for its factor\n", d);
        }
        json_decref(jwk);
    }
    is_int(primes, 302, "302 odd primes below 2000");
    is_int(refused_primes, primes, "a factor of every odd prime below 2000: refused");
    for (i = 0; i < sizeof(composites) / sizeof(composites[0]); i++) {
        BN_copy(n, base);
        BN_mul_word(n, composites[i]);
        refused(p, rsa_of(p, n), reason, apr_psprintf(p, "a factor %u", composites[i]));
    }
    BN_copy(n, base);
    BN_mul_word(n, 2);
    refused(p, rsa_of(p, n), reason, "an even modulus");
    BN_copy(n, base);
    BN_mul_word(n, 2003);
    accepted(p, rsa_of(p, n), "smallest factor 2003, the first prime past the bound");
    BN_copy(n, base);
    BN_mul_word(n, 2011);
    BN_mul_word(n, 2017);
    accepted(p, rsa_of(p, n), "factors 2011 and 2017");
    accepted(p, rsa_of(p, base), "the factor-free modulus itself");
done:
    BN_free(base);
    BN_free(n);
}

static void test_ec_rejections(apr_pool_t *p, json_t *ec)
{
    const char *x = json_string_value(json_object_get(ec, "x"));
    json_t *bad;
    const char *why = NULL;
    mab_key_t *k;

    bad = flip_member(p, ec, "y", 31);
    if (ok(bad != NULL, "P-256 y with one bit flipped built")) {
        k = mab_jwk_import(p, bad, &why);
        ok(k == NULL, "EC point not on the curve: refused");
        ok(why
               && (strcmp(why, "EC point rejected by OpenSSL") == 0
                   || strcmp(why, "OpenSSL public key check failed") == 0),
           "EC point not on the curve: reason is an OpenSSL rejection");
        printf("#   reason: %s\n", why ? why : "(null)");
        json_decref(bad);
    }
    bad = flip_member(p, ec, "x", 0);
    if (ok(bad != NULL, "P-256 x with one bit flipped built")) {
        k = mab_jwk_import(p, bad, &why);
        ok(k == NULL, "EC point with changed x: refused");
        json_decref(bad);
    }
    /* 31 bytes: the leading byte dropped. */
    {
        unsigned char *raw = NULL;
        apr_size_t len = 0;
        if (ok(mab_b64url_decode(p, x, strlen(x), &raw, &len) == 0 && len == 32,
               "P-256 x decodes to 32 bytes")) {
            refused(p, with(ec, "x", json_string(mab_b64url_encode(p, raw + 1, 31))),
                    "EC coordinate has the wrong length for its curve", "EC x of 31 bytes");
            unsigned char longer[33] = {0};
            memcpy(longer + 1, raw, 32);
            refused(p, with(ec, "x", json_string(mab_b64url_encode(p, longer, 33))),
                    "EC coordinate has the wrong length for its curve",
                    "EC x of 33 bytes (leading zero)");
        }
    }
    refused(p, with(ec, "y", NULL), "EC key needs base64url x and y", "EC missing y");
    refused(p, with(ec, "x", json_string(apr_pstrcat(p, x, "=", NULL))),
            "EC key needs base64url x and y", "EC x with '=' padding");
    refused(p, with(ec, "crv", json_string("P-192")), "EC key has an unsupported crv",
            "EC crv P-192");
    refused(p, with(ec, "crv", json_string("secp256k1")), "EC key has an unsupported crv",
            "EC crv secp256k1");
    refused(p, with(ec, "crv", json_string("p-256")), "EC key has an unsupported crv",
            "EC crv is case-sensitive");
    refused(p, with(ec, "crv", NULL), "EC key has an unsupported crv", "EC missing crv");
    refused(p, with(ec, "crv", json_integer(256)), "kid, kty, crv and alg must be strings",
            "EC crv is a number");
}

static void test_other_rejections(apr_pool_t *p, json_t *all, json_t *ec, json_t *okp)
{
    static const unsigned char x25519[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

    refused(p,
            json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "X25519", "x",
                      mab_b64url_encode(p, x25519, sizeof(x25519))),
            "OKP key has an unsupported crv (signing needs Ed25519 or Ed448)", "OKP X25519");
    refused(p, with(okp, "crv", json_string("X448")),
            "OKP key has an unsupported crv (signing needs Ed25519 or Ed448)", "OKP X448");
    refused(p, with(okp, "x", json_string("AAEC")),
            "OKP key needs a base64url x of the curve's length", "OKP Ed25519 x of 3 bytes");
    refused(p, with(okp, "x", NULL), "OKP key needs a base64url x of the curve's length",
            "OKP missing x");
    refused(p, json_incref(vector(all, "rfc7515_A1", "jwk")),
            "symmetric (oct) keys are never accepted from a key set", "kty oct (rfc7515_A1)");
    refused(p, json_incref(vector(all, "rfc7520_4_4", "jwk")),
            "JWK alg is not an asymmetric signature algorithm",
            "kty oct with alg HS256 (rfc7520_4_4)");
    refused(p, with(ec, "kty", json_string("DSA")), "unsupported kty", "unknown kty DSA");
    refused(p, with(ec, "kty", json_string("ec")), "unsupported kty", "kty is case-sensitive");
    refused(p, with(ec, "kty", NULL), "JWK has no kty", "missing kty");
    refused(p, with(ec, "kty", json_null()), "kid, kty, crv and alg must be strings", "kty null");
    refused(p, with(ec, "use", json_string("enc")), "key use is not sig", "use enc");
    refused(p, with(ec, "use", json_true()), "key use is not sig", "use not a string");
    accepted(p, with(ec, "use", json_string("sig")), "use sig");
    refused(p, with(ec, "key_ops", json_pack("[s]", "sign")), "key_ops does not include verify",
            "key_ops [sign]");
    refused(p, with(ec, "key_ops", json_array()), "key_ops does not include verify", "key_ops []");
    refused(p, with(ec, "key_ops", json_string("verify")), "key_ops is not an array",
            "key_ops is a string");
    accepted(p, with(ec, "key_ops", json_pack("[s,s]", "sign", "verify")),
             "key_ops [sign, verify]");
    refused(p, with(ec, "kid", json_integer(7)), "kid, kty, crv and alg must be strings",
            "kid is a number");
    refused(p, with(ec, "kid", json_pack("[s]", "a")), "kid, kty, crv and alg must be strings",
            "kid is an array");
    refused(p, with(ec, "alg", json_string("HS256")),
            "JWK alg is not an asymmetric signature algorithm", "JWK alg HS256");
    refused(p, with(ec, "alg", json_string("none")),
            "JWK alg is not an asymmetric signature algorithm", "JWK alg none");
    refused(p, with(ec, "alg", json_string("es256")),
            "JWK alg is not an asymmetric signature algorithm", "JWK alg es256 (case)");
    {
        const char *why = NULL;
        json_t *arr = json_pack("[s]", "kty");
        ok(mab_jwk_import(p, arr, &why) == NULL, "JWK array: refused");
        is_str(why, "JWK is not an object", "JWK array: reason");
        json_decref(arr);
    }
}

static void test_fits(apr_pool_t *p, const mab_key_t *rsa, const mab_key_t *p256, json_t *rsa_jwk,
                      json_t *ec_jwk)
{
    mab_key_t *k;

    if (rsa) {
        ok(fits(rsa, "RS256"), "RSA key fits RS256");
        ok(fits(rsa, "RS512"), "RSA key fits RS512");
        ok(fits(rsa, "PS256"), "RSA key fits PS256");
        ok(!fits(rsa, "ES256"), "RSA key does not fit ES256");
        ok(!fits(rsa, "EdDSA"), "RSA key does not fit EdDSA");
        ok(!fits(rsa, "HS256"), "RSA key does not fit HS256");
        ok(!mab_jwk_fits_alg(rsa, NULL), "no alg: no fit");
    }
    if (p256) {
        ok(fits(p256, "ES256"), "P-256 key fits ES256");
        ok(!fits(p256, "ES384"), "P-256 key does not fit ES384");
        ok(!fits(p256, "ES512"), "P-256 key does not fit ES512");
        ok(!fits(p256, "RS256"), "P-256 key does not fit RS256");
        ok(!fits(p256, "EdDSA"), "P-256 key does not fit EdDSA");
    }
    ok(!mab_jwk_fits_alg(NULL, mab_alg_find("RS256")), "no key: no fit");

    k = accepted(p, with(rsa_jwk, "alg", json_string("RS256")), "RSA JWK with alg RS256");
    if (k) {
        is_str(k->alg, "RS256", "JWK alg kept");
        ok(fits(k, "RS256"), "alg RS256 JWK fits RS256");
        ok(!fits(k, "RS384"), "alg RS256 JWK does not fit RS384");
        ok(!fits(k, "PS256"), "alg RS256 JWK does not fit PS256");
    }
    k = accepted(p, with(ec_jwk, "alg", json_string("ES256")), "P-256 JWK with alg ES256");
    if (k) {
        ok(fits(k, "ES256"), "alg ES256 JWK fits ES256");
    }
    /* An alg that disagrees with the key type imports but never fits anything. */
    k = accepted(p, with(ec_jwk, "alg", json_string("RS256")), "P-256 JWK with alg RS256");
    if (k) {
        ok(!fits(k, "RS256"), "P-256 JWK with alg RS256 does not fit RS256");
        ok(!fits(k, "ES256"), "P-256 JWK with alg RS256 does not fit ES256");
    }
}

static int nlogged;
static void count_log(void *baton, int level, const char *msg)
{
    (void)baton;
    (void)level;
    (void)msg;
    nlogged++;
}

static mab_keyset_t *parse_text(apr_pool_t *p, const char *text, const char **why)
{
    *why = NULL;
    return mab_jwks_parse(p, text, strlen(text), "test", why);
}

static void test_jwks(apr_pool_t *p, json_t *all, json_t *ec)
{
    mab_keyset_t *ks;
    const char *why = NULL, *doc;
    char *ec_text = json_dumps(ec, JSON_COMPACT);
    char *rsa_text = json_dumps(vector(all, "rfc7515_A2", "jwk"), JSON_COMPACT);
    char *okp_text = json_dumps(vector(all, "rfc8037_A4", "jwk"), JSON_COMPACT);
    char *oct_text = json_dumps(vector(all, "rfc7515_A1", "jwk"), JSON_COMPACT);
    int i;

    mab_log_set(count_log, NULL);

    nlogged = 0;
    doc =
        apr_psprintf(p,
                     "{\"keys\":[%s, {\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"},"
                     " %s, %s, {\"kty\":\"RSA\",\"use\":\"enc\"}, 42, %s]}",
                     ec_text, oct_text, rsa_text, okp_text);
    ks = parse_text(p, doc, &why);
    if (ok(ks != NULL, "mixed key set parses")) {
        is_int(ks->nkeys, 3, "mixed key set: 3 usable keys");
        is_int(ks->nskipped, 4, "mixed key set: 4 skipped");
        if (ks->nkeys == 3) {
            is_str(ks->keys[0]->kty, "EC", "mixed key set: order kept (EC first)");
            is_str(ks->keys[1]->kty, "RSA", "mixed key set: RSA second");
            is_str(ks->keys[2]->kty, "OKP", "mixed key set: OKP third");
        }
    }
    is_int(nlogged, 4, "mixed key set: one log line per skipped key");

    ks = parse_text(
        p, apr_psprintf(p, "{\"keys\":[%s, {\"kty\":\"oct\",\"k\":\"AAAA\"}]}", oct_text), &why);
    ok(ks == NULL, "only bad keys: NULL");
    is_str(why, "key set holds no usable key", "only bad keys: reason");

    ks = parse_text(p, "{\"keys\":[]}", &why);
    ok(ks == NULL, "empty keys array: NULL");
    is_str(why, "key set holds no usable key", "empty keys array: reason");

    ks = parse_text(p, "this is not JSON", &why);
    ok(ks == NULL, "not JSON: NULL");
    ok(why && strncmp(why, "key set is not valid JSON", 25) == 0, "not JSON: reason");

    ks = mab_jwks_parse(p, ec_text, strlen(ec_text) - 1, "test", &why);
    ok(ks == NULL, "truncated JSON: NULL");
    ok(why && strncmp(why, "key set is not valid JSON", 25) == 0, "truncated JSON: reason");

    ks = parse_text(p, apr_psprintf(p, "{\"key\":[%s]}", ec_text), &why);
    ok(ks == NULL, "no keys member: NULL");
    is_str(why, "key set has no \"keys\" array", "no keys member: reason");

    ks = parse_text(p, apr_psprintf(p, "{\"keys\":%s}", ec_text), &why);
    ok(ks == NULL, "keys is an object: NULL");
    is_str(why, "key set has no \"keys\" array", "keys is an object: reason");

    ks = parse_text(p, apr_psprintf(p, "[%s]", ec_text), &why);
    ok(ks == NULL, "top-level array: NULL");
    is_str(why, "key set has no \"keys\" array", "top-level array: reason");

    ks = parse_text(p, apr_psprintf(p, "{\"keys\":[%s],\"keys\":[%s]}", ec_text, rsa_text), &why);
    ok(ks == NULL, "duplicate \"keys\": NULL");
    ok(why && strncmp(why, "key set is not valid JSON", 25) == 0, "duplicate \"keys\": reason");

    /* A duplicate inside a key (two different x values) must not be resolved silently. */
    ks = parse_text(
        p, apr_psprintf(p, "{\"keys\":[{\"kty\":\"RSA\",\"kty\":\"EC\"}, %s]}", ec_text), &why);
    ok(ks == NULL, "duplicate member inside a key: whole document refused");

    /* More keys than the cap: the first MAB_MAX_JWKS_KEYS are kept, the rest counted. */
    {
        char *many = apr_pstrdup(p, "{\"keys\":[");
        for (i = 0; i < MAB_MAX_JWKS_KEYS + 6; i++) {
            many = apr_pstrcat(p, many, i ? "," : "", ec_text, NULL);
        }
        many = apr_pstrcat(p, many, "]}", NULL);
        nlogged = 0;
        ks = parse_text(p, many, &why);
        if (ok(ks != NULL, "%d keys: parses", MAB_MAX_JWKS_KEYS + 6)) {
            is_int(ks->nkeys, MAB_MAX_JWKS_KEYS, "%d keys: capped at %d", MAB_MAX_JWKS_KEYS + 6,
                   MAB_MAX_JWKS_KEYS);
            is_int(ks->nskipped, 6, "%d keys: 6 counted as skipped", MAB_MAX_JWKS_KEYS + 6);
            ok(ks->keys[MAB_MAX_JWKS_KEYS - 1] != NULL, "last kept key is set");
        }
        is_int(nlogged, 1, "cap is logged once");

        /* Exactly at the cap: nothing skipped. */
        many = apr_pstrdup(p, "{\"keys\":[");
        for (i = 0; i < MAB_MAX_JWKS_KEYS; i++) {
            many = apr_pstrcat(p, many, i ? "," : "", ec_text, NULL);
        }
        many = apr_pstrcat(p, many, "]}", NULL);
        ks = parse_text(p, many, &why);
        if (ok(ks != NULL, "%d keys: parses", MAB_MAX_JWKS_KEYS)) {
            is_int(ks->nkeys, MAB_MAX_JWKS_KEYS, "%d keys: all kept", MAB_MAX_JWKS_KEYS);
            is_int(ks->nskipped, 0, "%d keys: none skipped", MAB_MAX_JWKS_KEYS);
        }
    }

    mab_log_set(NULL, NULL);
    free(ec_text);
    free(rsa_text);
    free(okp_text);
    free(oct_text);
}

static char last_log[1024];
static void keep_log(void *baton, int level, const char *msg)
{
    (void)baton;
    (void)level;
    snprintf(last_log, sizeof(last_log), "%s", msg);
}

/* The kid is the issuer's text: in MAB00021 it must not forge log lines or fill the log. */
static void test_skip_log_kid(apr_pool_t *p)
{
    static const struct {
        const char *kid_json, *logged, *what;
    } cases[] = {
        {"\"k1\"", "kid=k1)", "plain kid as it is"},
        {"\"a\\nMAB00100: forged\"", "kid=a\\x0aMAB00100: forged)", "newline escaped"},
        {"\"\\u001b[31mred\"", "kid=\\x1b[31mred)", "ESC escaped"},
        {"\"q\\\"b\\\\s\"", "kid=q\\\"b\\\\s)", "quote and backslash escaped"},
        {"\"Zo\\u00eb\"", "kid=Zo\\xc3\\xab)", "UTF-8 bytes escaped"},
        {"7", "kid=-)", "kid that is not a string"},
    };
    size_t i;
    char *long_kid = apr_palloc(p, 101);

    mab_log_set(keep_log, NULL);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = NULL;
        const char *doc = apr_psprintf(
            p, "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":%s}]}", cases[i].kid_json);
        last_log[0] = '\0';
        mab_jwks_parse(p, doc, strlen(doc), "test", &why);
        if (!ok(strstr(last_log, cases[i].logged) != NULL, "MAB00021 kid: %s", cases[i].what)) {
            printf("#   logged: %s\n", last_log);
        }
        ok(!strchr(last_log, '\n') && !strchr(last_log, '\x1b'),
           "MAB00021 kid: %s: no control byte in the line", cases[i].what);
    }
    memset(long_kid, 'k', 100);
    long_kid[100] = '\0';
    {
        const char *why = NULL;
        const char *doc = apr_psprintf(
            p, "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":\"%s\"}]}", long_kid);
        const char *want = apr_psprintf(p, "kid=%.64s...)", long_kid);
        last_log[0] = '\0';
        mab_jwks_parse(p, doc, strlen(doc), "test", &why);
        if (!ok(strstr(last_log, want) != NULL, "MAB00021 kid: 100 bytes cut to 64 and \"...\"")) {
            printf("#   logged: %s\n", last_log);
        }
    }
    is_str(mab_log_item(p, NULL), "-", "mab_log_item(NULL) is \"-\"");
    is_str(mab_log_item(p, apr_pstrndup(p, long_kid, 64)), apr_pstrndup(p, long_kid, 64),
           "mab_log_item: exactly 64 bytes are not cut");
    mab_log_set(NULL, NULL);
}

/* Fuzzer finding: a key set with a malformed RSA modulus must get the same verdict on every
 * parse (OpenSSL's RSA public-key check is probabilistic, so RSA moduli are checked by the
 * core's own deterministic rules). */
static void test_deterministic_rsa_check(apr_pool_t *p)
{
    const char *path = "test/fuzz/crashes/fuzz_jwks/rsa-public-check-nondeterministic.json";
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    int accepted = 0, k;

    for (k = 0; text && k < 300; k++) {
        apr_pool_t *sub;
        const char *why = NULL;
        apr_pool_create(&sub, p);
        accepted += mab_jwks_parse(sub, text, strlen(text), "fuzz", &why) != NULL;
        apr_pool_destroy(sub);
    }
    ok(text && (accepted == 0 || accepted == 300),
       "malformed RSA modulus: the same verdict on 300 parses (%d accepted)", accepted);
    free(text);
    json_decref(doc);
}

int main(void)
{
    apr_pool_t *p = test_setup();
    json_t *all = load_vectors();
    mab_key_t *rsa = NULL, *p256 = NULL;
    json_t *rsa_jwk, *ec_jwk_v, *okp_jwk_v;

    if (!ok(all != NULL, "vectors file loads")) {
        return tap_done();
    }
    rsa_jwk = vector(all, "rfc7515_A2", "jwk");
    ec_jwk_v = vector(all, "rfc7515_A3", "jwk");
    okp_jwk_v = vector(all, "rfc8037_A4", "jwk");

    test_published_keys(p, all, &rsa, &p256);
    test_generated_keys(p);
    test_rsa_rejections(p, rsa_jwk);
    test_rsa_size_bounds(p);
    test_rsa_small_factors(p);
    test_ec_rejections(p, ec_jwk_v);
    test_other_rejections(p, all, ec_jwk_v, okp_jwk_v);
    test_fits(p, rsa, p256, rsa_jwk, ec_jwk_v);
    {
        const char *why = NULL;
        ok(import_text(p, "{\"kty\":\"EC\",\"crv\":\"P-256\"}", &why) == NULL,
           "EC without coordinates: refused");
        is_str(why, "EC key needs base64url x and y", "EC without coordinates: reason");
    }
    test_jwks(p, all, ec_jwk_v);
    test_deterministic_rsa_check(p);
    test_skip_log_kid(p);

    json_decref(all);
    apr_pool_destroy(p);
    return tap_done();
}
