/* JWS parsing and key selection against the classic JWT attacks. */
#include <openssl/pem.h>

#include "mab_claims.h"
#include "mab_jwk.h"
#include "mab_jwks.h"
#include "mab_jws.h"
#include "signer.h"
#include "tap.h"
#include "testutil.h"

static const char *const PAYLOAD = "{\"sub\":\"alice\",\"exp\":4102444800}";

static mab_err_e parse(apr_pool_t *p, const char *tok, mab_jws_t **jws)
{
    const char *detail = NULL;

    return mab_jws_parse(p, tok, strlen(tok), MAB_MAX_TOKEN_SIZE, jws, &detail);
}

/* Parse and verify against a key set with the given allow-list. */
static mab_err_e check(apr_pool_t *p, const char *tok, const mab_keyset_t *ks, unsigned mask)
{
    mab_jws_t *jws = NULL;
    const char *detail = NULL;
    mab_err_e rv = parse(p, tok, &jws);

    if (rv != MAB_OK) {
        return rv;
    }
    return mab_jws_verify_keyset(jws, ks, mask, &detail);
}

static char *unsigned_token(apr_pool_t *p, const char *header, const char *sig)
{
    return apr_pstrcat(p, signing_input(p, header, PAYLOAD), ".", sig, NULL);
}

static mab_keyset_t *keyset(apr_pool_t *p, const char *jwks)
{
    const char *why = NULL;
    mab_keyset_t *ks = mab_jwks_parse(p, jwks, strlen(jwks), "test", &why);

    if (!ks) {
        printf("# keyset: %s\n", why);
    }
    return ks;
}

int main(void)
{
    apr_pool_t *p = test_setup();
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *rsa2 = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
    unsigned all = 0xffffffffu & ~((1u << 10) | (1u << 11) | (1u << 12));
    unsigned rs256 = 1u << 0, ps256 = 1u << 3;
    mab_keyset_t *ks, *ks_nokid;
    mab_jws_t *jws = NULL;
    char *good, *tok, *big;
    const char *hdr_rsa = "{\"alg\":\"RS256\",\"kid\":\"r1\"}";

    ks = keyset(p,
                apr_psprintf(p, "{\"keys\":[%s,%s]}", rsa_jwk(p, rsa, "r1"), ec_jwk(p, ec, "e1")));
    ok(ks && ks->nkeys == 2, "test key set with an RSA and an EC key");

    good = sign_token(p, rsa, hdr_rsa, PAYLOAD, 0, 0);
    is_int(check(p, good, ks, all), MAB_OK, "well-formed RS256 token verifies");
    is_int(check(p, good, ks, ps256), MAB_ERR_ALG, "RS256 outside the allow-list is refused");
    is_int(check(p, good, ks, rs256), MAB_OK, "RS256 inside the allow-list verifies");
    is_int(
        check(p, sign_token(p, rsa, "{\"alg\":\"PS256\",\"kid\":\"r1\"}", PAYLOAD, 1, 0), ks, all),
        MAB_OK, "PS256 token verifies with the same RSA key");
    is_int(
        check(p, sign_token(p, rsa, "{\"alg\":\"PS256\",\"kid\":\"r1\"}", PAYLOAD, 0, 0), ks, all),
        MAB_ERR_SIGNATURE, "PKCS#1 v1.5 signature labelled PS256 fails");

    /* Structure. */
    is_int(parse(p, "abc.def", &jws), MAB_ERR_MALFORMED, "two parts are malformed");
    is_int(parse(p, apr_pstrcat(p, good, ".x", NULL), &jws), MAB_ERR_MALFORMED,
           "four parts are malformed");
    is_int(parse(p, "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", &jws), MAB_ERR_MALFORMED,
           "JWE (five parts) is malformed");
    is_int(parse(p, apr_pstrcat(p, good, "=", NULL), &jws), MAB_ERR_MALFORMED,
           "padded signature is malformed");
    is_int(parse(p, unsigned_token(p, "[\"alg\",\"RS256\"]", "AAAA"), &jws), MAB_ERR_MALFORMED,
           "header that is not an object is malformed");
    is_int(parse(p, unsigned_token(p, "{\"alg\":\"RS256\",\"alg\":\"none\"}", "AAAA"), &jws),
           MAB_ERR_MALFORMED, "duplicate alg members are malformed");
    is_int(parse(p, unsigned_token(p, "{\"kid\":\"r1\"}", "AAAA"), &jws), MAB_ERR_MALFORMED,
           "missing alg is malformed");
    is_int(parse(p, unsigned_token(p, "{\"alg\":256}", "AAAA"), &jws), MAB_ERR_MALFORMED,
           "alg that is not a string is malformed");
    is_int(parse(p, unsigned_token(p, "{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}", "AAAA"),
                 &jws),
           MAB_ERR_CRIT, "unknown crit is refused");
    is_int(parse(p, unsigned_token(p, "{\"alg\":\"RS256\",\"b64\":false}", "AAAA"), &jws),
           MAB_ERR_MALFORMED, "b64 false is refused");
    is_int(parse(p, unsigned_token(p, "{\"alg\":\"RS256\",\"zip\":\"DEF\"}", "AAAA"), &jws),
           MAB_ERR_MALFORMED, "zip is refused");
    is_int(parse(p, unsigned_token(p, "{\"alg\":\"RS256\",\"kid\":7}", "AAAA"), &jws),
           MAB_ERR_MALFORMED, "kid that is not a string is malformed");
    is_int(parse(p, unsigned_token(p, "{\"alg\":\"RS256\",\"x\":\"a\\u0000b\"}", "AAAA"), &jws),
           MAB_ERR_MALFORMED, "NUL in the header is malformed");
    big = apr_palloc(p, MAB_MAX_TOKEN_SIZE + 2);
    memset(big, '.', MAB_MAX_TOKEN_SIZE + 1);
    big[MAB_MAX_TOKEN_SIZE + 1] = '\0';
    is_int(parse(p, big, &jws), MAB_ERR_TOO_LARGE, "oversized token is refused before decoding");

    /* alg none in every spelling, and unregistered spellings. */
    is_int(parse(p, unsigned_token(p, "{\"alg\":\"none\"}", "AAAA"), &jws), MAB_ERR_ALG,
           "alg none");
    is_int(parse(p, unsigned_token(p, "{\"alg\":\"None\"}", "AAAA"), &jws), MAB_ERR_ALG,
           "alg None");
    is_int(parse(p, unsigned_token(p, "{\"alg\":\"NONE\"}", "AAAA"), &jws), MAB_ERR_ALG,
           "alg NONE");
    is_int(parse(p, unsigned_token(p, "{\"alg\":\"nOnE\"}", "AAAA"), &jws), MAB_ERR_ALG,
           "alg nOnE");
    is_int(
        parse(p, apr_pstrcat(p, signing_input(p, "{\"alg\":\"none\"}", PAYLOAD), ".", NULL), &jws),
        MAB_ERR_ALG, "alg none with an empty signature");
    is_int(parse(p, unsigned_token(p, "{\"alg\":\"rs256\"}", "AAAA"), &jws), MAB_ERR_ALG,
           "alg names are case-sensitive");

    /* RS256 -> HS256 key confusion: HMAC keyed with the public key in PEM and DER. */
    {
        BIO *bio = BIO_new(BIO_s_mem());
        char *pem = NULL;
        long pem_len;
        unsigned char *der = NULL;
        int der_len;

        PEM_write_bio_PUBKEY(bio, rsa);
        pem_len = BIO_get_mem_data(bio, &pem);
        tok = hmac_token(p, (unsigned char *)pem, (size_t)pem_len,
                         "{\"alg\":\"HS256\",\"kid\":\"r1\"}", PAYLOAD);
        is_int(check(p, tok, ks, all), MAB_ERR_ALG, "HS256 keyed with the PEM public key");
        is_int(check(p, tok, ks, 0xffffffffu), MAB_ERR_NO_KEY,
               "even an allow-list naming HS256 finds no key for it in a key set");
        BIO_free(bio);
        der_len = i2d_PUBKEY(rsa, &der);
        tok = hmac_token(p, der, (size_t)der_len, "{\"alg\":\"HS256\",\"kid\":\"r1\"}", PAYLOAD);
        is_int(check(p, tok, ks, all), MAB_ERR_ALG, "HS256 keyed with the DER public key");
        OPENSSL_free(der);
    }

    /* Keys carried by the token are never used: the attacker's own key signs. */
    tok = sign_token(
        p, rsa2,
        apr_psprintf(p, "{\"alg\":\"RS256\",\"kid\":\"r1\",\"jwk\":%s}", rsa_jwk(p, rsa2, "r1")),
        PAYLOAD, 0, 0);
    is_int(check(p, tok, ks, all), MAB_ERR_SIGNATURE, "embedded jwk header is ignored");
    tok = sign_token(p, rsa2,
                     "{\"alg\":\"RS256\",\"jku\":\"https://evil.test/jwks\",\"x5u\":\"https://"
                     "evil.test/c\",\"x5c\":[\"MIIB\"]}",
                     PAYLOAD, 0, 0);
    is_int(check(p, tok, ks, all), MAB_ERR_SIGNATURE, "jku/x5u/x5c headers are ignored");

    /* kid tricks. */
    is_int(check(p,
                 sign_token(p, rsa, "{\"alg\":\"RS256\",\"kid\":\"../../../etc/passwd\"}", PAYLOAD,
                            0, 0),
                 ks, all),
           MAB_ERR_NO_KEY, "path traversal kid finds no key");
    is_int(check(p,
                 sign_token(p, rsa, "{\"alg\":\"RS256\",\"kid\":\"r1' OR '1'='1\"}", PAYLOAD, 0, 0),
                 ks, all),
           MAB_ERR_NO_KEY, "injection kid finds no key");
    {
        char *longkid = apr_palloc(p, 5001);
        memset(longkid, 'k', 5000);
        longkid[5000] = '\0';
        is_int(
            check(p,
                  sign_token(p, rsa, apr_psprintf(p, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", longkid),
                             PAYLOAD, 0, 0),
                  ks, all),
            MAB_ERR_NO_KEY, "5000-byte kid finds no key");
    }
    is_int(
        check(p, sign_token(p, rsa, "{\"alg\":\"ES256\",\"kid\":\"r1\"}", PAYLOAD, 0, 0), ks, all),
        MAB_ERR_NO_KEY, "kid of an RSA key with alg ES256: the key does not fit");
    is_int(check(p, sign_token(p, rsa2, hdr_rsa, PAYLOAD, 0, 0), ks, all), MAB_ERR_SIGNATURE,
           "right kid, other key's signature");

    /* Without kid: every fitting key is tried. */
    ks_nokid = keyset(
        p, apr_psprintf(p, "{\"keys\":[%s,%s]}", rsa_jwk(p, rsa2, "a"), rsa_jwk(p, rsa, "b")));
    is_int(check(p, sign_token(p, rsa, "{\"alg\":\"RS256\"}", PAYLOAD, 0, 0), ks_nokid, all),
           MAB_OK, "no kid: the second fitting key verifies");
    is_int(check(p, sign_token(p, ec, "{\"alg\":\"ES256\"}", PAYLOAD, 0, 0), ks_nokid, all),
           MAB_ERR_NO_KEY, "no kid and no fitting key");

    /* A key set cannot make one token cost more than MAB_MAX_VERIFY_ATTEMPTS signature
     * checks: keys that do not fit the alg are not counted, the ones past the cap never
     * tried, with or without a (shared) kid. */
    {
        char *jwks = apr_pstrdup(p, ""), *jwks_kid = apr_pstrdup(p, "");
        int i;
        for (i = 0; i < MAB_MAX_VERIFY_ATTEMPTS - 1; i++) {
            jwks = apr_pstrcat(p, jwks, ec_jwk(p, ec, "x"), ",", rsa_jwk(p, rsa2, "x"), ",", NULL);
            jwks_kid = apr_pstrcat(p, jwks_kid, rsa_jwk(p, rsa2, "dup"), ",", NULL);
        }
        tok = sign_token(p, rsa, "{\"alg\":\"RS256\"}", PAYLOAD, 0, 0);
        is_int(check(p, tok,
                     keyset(p, apr_psprintf(p, "{\"keys\":[%s%s]}", jwks, rsa_jwk(p, rsa, "x"))),
                     all),
               MAB_OK, "no kid: the key at the attempt cap verifies");
        is_int(check(p, tok,
                     keyset(p, apr_psprintf(p, "{\"keys\":[%s%s,%s]}", jwks, rsa_jwk(p, rsa2, "x"),
                                            rsa_jwk(p, rsa, "x"))),
                     all),
               MAB_ERR_SIGNATURE, "no kid: a key past the attempt cap is never tried");
        tok = sign_token(p, rsa, "{\"alg\":\"RS256\",\"kid\":\"dup\"}", PAYLOAD, 0, 0);
        is_int(
            check(p, tok,
                  keyset(p, apr_psprintf(p, "{\"keys\":[%s%s]}", jwks_kid, rsa_jwk(p, rsa, "dup"))),
                  all),
            MAB_OK, "shared kid: the key at the attempt cap verifies");
        is_int(check(p, tok,
                     keyset(p, apr_psprintf(p, "{\"keys\":[%s%s,%s]}", jwks_kid,
                                            rsa_jwk(p, rsa2, "dup"), rsa_jwk(p, rsa, "dup"))),
                     all),
               MAB_ERR_SIGNATURE, "shared kid: a key past the attempt cap is never tried");
    }

    /* ECDSA signature forms. */
    tok = sign_token(p, ec, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", PAYLOAD, 0, 0);
    is_int(check(p, tok, ks, all), MAB_OK, "ES256 raw R||S verifies");
    is_int(
        check(p, sign_token(p, ec, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", PAYLOAD, 0, 1), ks, all),
        MAB_ERR_SIGNATURE, "ES256 DER signature is refused");
    {
        unsigned char zero[64] = {0}, order[64];
        static const unsigned char n256[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
                                               0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                               0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
                                               0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
        const char *hdr = "{\"alg\":\"ES256\",\"kid\":\"e1\"}";

        is_int(check(p, unsigned_token(p, hdr, mab_b64url_encode(p, zero, 64)), ks, all),
               MAB_ERR_SIGNATURE, "psychic signature r = s = 0 is refused");
        memcpy(order, n256, 32);
        memcpy(order + 32, n256, 32);
        is_int(check(p, unsigned_token(p, hdr, mab_b64url_encode(p, order, 64)), ks, all),
               MAB_ERR_SIGNATURE, "r = s = group order is refused");
        is_int(check(p, unsigned_token(p, hdr, mab_b64url_encode(p, zero, 63)), ks, all),
               MAB_ERR_SIGNATURE, "63-byte ECDSA signature is refused");
    }
    {
        const char *dot = strrchr(good, '.');
        unsigned char *sig = NULL;
        apr_size_t sig_len = 0;
        char *trunc;

        mab_b64url_decode(p, dot + 1, strlen(dot + 1), &sig, &sig_len);
        trunc = apr_pstrcat(p, apr_pstrndup(p, good, (apr_size_t)(dot - good)), ".",
                            mab_b64url_encode(p, sig, sig_len - 1), NULL);
        is_int(check(p, trunc, ks, all), MAB_ERR_SIGNATURE, "RSA signature one byte short fails");
    }

    /* Nested JWT: the signature may be fine, but the payload is not a claims object. */
    {
        const char *detail = NULL;
        tok = sign_token(p, rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\",\"cty\":\"JWT\"}", good, 0, 0);
        is_int(check(p, tok, ks, all), MAB_OK, "nested JWT: outer signature verifies");
        parse(p, tok, &jws);
        ok(mab_claims_parse(p, jws->payload, jws->payload_len, &detail) == NULL,
           "nested JWT: payload is not accepted as claims");
    }

    /* typ for AuthBearerTokenType at+jwt (RFC 9068 §2.1, RFC 7515 §4.1.9). */
    {
        static const struct {
            const char *typ;
            int want;
        } typs[] = {
            {"at+jwt", 1}, {"AT+JWT", 1},  {"application/at+jwt", 1}, {"Application/At+Jwt", 1},
            {"JWT", 0},    {"at+jwt2", 0}, {"application/", 0},       {"xapplication/at+jwt", 0}};
        size_t k;

        for (k = 0; k < sizeof(typs) / sizeof(typs[0]); k++) {
            parse(p,
                  unsigned_token(p,
                                 apr_psprintf(p, "{\"alg\":\"RS256\",\"typ\":\"%s\"}", typs[k].typ),
                                 "AAAA"),
                  &jws);
            is_int(mab_jws_typ_is(jws, "at+jwt"), typs[k].want, "typ %s %s at+jwt", typs[k].typ,
                   typs[k].want ? "is" : "is not");
        }
        parse(p, unsigned_token(p, "{\"alg\":\"RS256\"}", "AAAA"), &jws);
        is_int(mab_jws_typ_is(jws, "at+jwt"), 0, "no typ is not at+jwt");
    }

    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsa2);
    EVP_PKEY_free(ec);
    return tap_done();
}
