/* AuthBearerIntrospectionAuth (src/mab_introspect_auth.c, src/mab_jwtsign.c): every
 * method's parse errors, the form parameters and Authorization header each one produces,
 * and the private_key_jwt client assertion, decoded and its signature checked with the
 * verifier's own primitives (mab_jws_parse, mab_jws_verify_key) against the public half of
 * each key. Keys and certificates are made with the openssl CLI, an implementation
 * independent of the module. */
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mab_alg.h"
#include "mab_b64.h"
#include "mab_claims.h"
#include "mab_introspect_auth.h"
#include "mab_jwk.h"
#include "mab_jws.h"
#include "tap.h"
#include "testutil.h"

#define NOW 1700000000LL
#define URL "https://as.example/oauth/introspect"

static char dir[] = "/tmp/mab-test-ia-XXXXXX";

static const char *path_of(apr_pool_t *p, const char *name)
{
    return apr_pstrcat(p, dir, "/", name, NULL);
}

static int sh(const char *cmd)
{
    return system(cmd) == 0;
}

static int make_files(apr_pool_t *p)
{
    static const struct {
        const char *name, *args;
    } keys[] = {
        {"rsa.pem", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"},
        {"rsa1024.pem", "-algorithm RSA -pkeyopt rsa_keygen_bits:1024"},
        {"ec256.pem", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256"},
        {"ec384.pem", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384"},
        {"ec521.pem", "-algorithm EC -pkeyopt ec_paramgen_curve:P-521"},
        {"k1.pem", "-algorithm EC -pkeyopt ec_paramgen_curve:secp256k1"},
        {"ed25519.pem", "-algorithm ED25519"},
        {"ed448.pem", "-algorithm ED448"},
        {"enc.pem", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 -pass pass:x"},
    };
    size_t i;

    if (!mkdtemp(dir)) {
        return 0;
    }
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!sh(apr_psprintf(p, "openssl genpkey %s -out %s/%s 2>/dev/null", keys[i].args, dir,
                             keys[i].name))) {
            return 0;
        }
    }
    return sh(apr_psprintf(p, "openssl pkey -in %s/ec256.pem -pubout -out %s/pub.pem", dir, dir))
           && sh(apr_psprintf(p,
                              "openssl req -x509 -new -key %s/ec256.pem -subj /CN=client -days 1 "
                              "-out %s/cert.pem 2>/dev/null",
                              dir, dir));
}

static void write_bytes(apr_pool_t *p, const char *name, const char *bytes, apr_size_t n)
{
    apr_file_t *f;

    apr_file_open(&f, path_of(p, name), APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                  APR_FPROT_OS_DEFAULT, p);
    apr_file_write_full(f, bytes, n, NULL);
    apr_file_close(f);
}

/* The glue's ap_server_root_relative stand-in: names are relative to the test's dir. */
static const char *resolve(void *ctx, const char *path)
{
    apr_pool_t *p = ctx;

    if (strcmp(path, "unresolvable") == 0) {
        return NULL;
    }
    return path[0] == '/' ? path : path_of(p, path);
}

/* Parses a directive line of up to 5 words; returns the error or NULL. */
static const char *parse(apr_pool_t *p, mab_introspect_auth_t **out, const char *a0, const char *a1,
                         const char *a2, const char *a3, const char *a4)
{
    char *argv[5];
    int argc = 0;

    if (a0) {
        argv[argc++] = (char *)a0;
    }
    if (a1) {
        argv[argc++] = (char *)a1;
    }
    if (a2) {
        argv[argc++] = (char *)a2;
    }
    if (a3) {
        argv[argc++] = (char *)a3;
    }
    if (a4) {
        argv[argc++] = (char *)a4;
    }
    *out = (mab_introspect_auth_t *)1;
    return mab_introspect_auth_parse(p, argc, argv, resolve, p, out);
}

/* The error of a line that must fail, checked to name the directive and contain `want`. */
#define refused(p, want, name, ...)                                                                \
    do {                                                                                           \
        mab_introspect_auth_t *a_;                                                                 \
        const char *e_ = parse(p, &a_, __VA_ARGS__);                                               \
        if (!ok(e_ && a_ == NULL && strstr(e_, "AuthBearerIntrospectionAuth") && strstr(e_, want), \
                "%s", name)) {                                                                     \
            printf("#   error: %s\n", e_ ? e_ : "(none)");                                         \
        }                                                                                          \
    } while (0)

static void test_parse_errors(apr_pool_t *p)
{
    char big[MAB_IA_MAX_SECRET + 2];

    write_bytes(p, "empty", "", 0);
    write_bytes(p, "newline", "\n", 1);
    write_bytes(p, "nul", "ab\0cd-s3cr3t", 12);
    memset(big, 'x', sizeof(big));
    write_bytes(p, "big", big, sizeof(big));
    write_bytes(p, "spaced", "two words\n", 10);
    write_bytes(p, "garbage.pem", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n",
                58);
    write_bytes(p, "good", "secret\n", 7);
    setenv("MAB_TEST_EMPTY", "", 1);
    unsetenv("MAB_TEST_UNSET");

    refused(p, "needs a method", "no method", NULL, NULL, NULL, NULL, NULL);
    refused(p, "unknown method 'client_secret_jwt'", "an unknown method", "client_secret_jwt", "c",
            "file:good", NULL, NULL);
    refused(p, "unknown method 'Client_Secret_Basic'", "methods are case-sensitive",
            "Client_Secret_Basic", "c", "file:good", NULL, NULL);
    refused(p, "client_secret_basic needs <client_id> file:<path>|env:<NAME>",
            "basic: missing secret", "client_secret_basic", "c", NULL, NULL, NULL);
    refused(p, "client_secret_post needs", "post: one word too many", "client_secret_post", "c",
            "file:good", "x", NULL);
    refused(p, "bearer needs file:<path>|env:<NAME>", "bearer: a client_id too", "bearer", "c",
            "file:good", NULL, NULL);
    refused(p, "private_key_jwt needs <client_id> <PEM private key file> [<alg>]",
            "private_key_jwt: no key", "private_key_jwt", "c", NULL, NULL, NULL);
    refused(p, "tls_client_auth needs <client_id> <PEM certificate file> <PEM private key file>",
            "tls_client_auth: no key", "tls_client_auth", "c", "cert.pem", NULL, NULL);

    refused(p, "never written in the configuration itself", "a literal secret is refused",
            "client_secret_basic", "c", "hunter2", NULL, NULL);
    refused(p, "environment variable MAB_TEST_UNSET is not set or empty", "env: unset",
            "client_secret_post", "c", "env:MAB_TEST_UNSET", NULL, NULL);
    refused(p, "MAB_TEST_EMPTY is not set or empty", "env: empty", "bearer", "env:MAB_TEST_EMPTY",
            NULL, NULL, NULL);
    refused(p, "cannot open the secret file", "file: missing", "client_secret_basic", "c",
            "file:missing", NULL, NULL);
    refused(p, "is empty", "file: empty", "client_secret_basic", "c", "file:empty", NULL, NULL);
    refused(p, "is empty", "file: a lone newline is empty", "client_secret_basic", "c",
            "file:newline", NULL, NULL);
    refused(p, "contains a NUL byte", "file: a NUL byte", "client_secret_basic", "c", "file:nul",
            NULL, NULL);
    refused(p, "larger than 8192 bytes", "file: too large", "bearer", "file:big", NULL, NULL, NULL);
    refused(p, "is not a valid path", "file: the path does not resolve", "client_secret_post", "c",
            "file:unresolvable", NULL, NULL);
    refused(p, "client_id is empty", "an empty client_id", "client_secret_post", "", "file:good",
            NULL, NULL);
    refused(p, "client_id has a byte outside printable ASCII", "a client_id with a newline",
            "client_secret_basic", "a\r\nX-Injected: 1", "file:good", NULL, NULL);
    refused(p, "client_id has a byte outside printable ASCII", "a client_id in UTF-8",
            "private_key_jwt", "caf\xc3\xa9", "rsa.pem", NULL, NULL);
    refused(p, "not a token68", "bearer: a secret with a space", "bearer", "file:spaced", NULL,
            NULL, NULL);
    {
        mab_introspect_auth_t *a;
        const char *e = parse(p, &a, "client_secret_basic", "c", "file:nul", NULL, NULL);
        ok(e && !strstr(e, "s3cr3t") && !strstr(e, "cd"), "an error never quotes the secret");
    }

    refused(p, "cannot open the private key file", "private_key_jwt: missing key",
            "private_key_jwt", "c", "missing.pem", NULL, NULL);
    refused(p, "not an unencrypted PEM private key", "private_key_jwt: not a key",
            "private_key_jwt", "c", "garbage.pem", NULL, NULL);
    refused(p, "not an unencrypted PEM private key", "private_key_jwt: a public key",
            "private_key_jwt", "c", "pub.pem", NULL, NULL);
    refused(p, "not an unencrypted PEM private key", "private_key_jwt: an encrypted key",
            "private_key_jwt", "c", "enc.pem", NULL, NULL);
    refused(p, "has 1024 bits; at least 2048", "private_key_jwt: RSA-1024", "private_key_jwt", "c",
            "rsa1024.pem", NULL, NULL);
    refused(p, "curve JOSE does not sign with", "private_key_jwt: secp256k1", "private_key_jwt",
            "c", "k1.pem", NULL, NULL);
    refused(p, "'HS256' is not a signature algorithm for a private key", "private_key_jwt: HS256",
            "private_key_jwt", "c", "rsa.pem", "HS256", NULL);
    refused(p, "'rs256' is not a signature algorithm", "private_key_jwt: alg names are exact",
            "private_key_jwt", "c", "rsa.pem", "rs256", NULL);
    refused(p, "'none' is not a signature algorithm", "private_key_jwt: none", "private_key_jwt",
            "c", "rsa.pem", "none", NULL);
    refused(p, "ES384 does not fit an EC P-256 key", "private_key_jwt: ES384 with P-256",
            "private_key_jwt", "c", "ec256.pem", "ES384", NULL);
    refused(p, "RS256 does not fit an EC", "private_key_jwt: RS256 with EC", "private_key_jwt", "c",
            "ec256.pem", "RS256", NULL);
    refused(p, "ES256 does not fit an RSA key", "private_key_jwt: ES256 with RSA",
            "private_key_jwt", "c", "rsa.pem", "ES256", NULL);
    refused(p, "PS256 does not fit an EdDSA key", "private_key_jwt: PS256 with Ed25519",
            "private_key_jwt", "c", "ed25519.pem", "PS256", NULL);
    refused(p, "EdDSA does not fit an RSA key", "private_key_jwt: EdDSA with RSA",
            "private_key_jwt", "c", "rsa.pem", "EdDSA", NULL);

    refused(p, "cannot open the certificate file", "tls_client_auth: missing certificate",
            "tls_client_auth", "c", "missing.pem", "ec256.pem", NULL);
    refused(p, "is not a PEM certificate", "tls_client_auth: a key for a certificate",
            "tls_client_auth", "c", "ec384.pem", "ec256.pem", NULL);
    refused(p, "is not an unencrypted PEM private key", "tls_client_auth: encrypted key",
            "tls_client_auth", "c", "cert.pem", "enc.pem", NULL);
    refused(p, "does not belong to the certificate", "tls_client_auth: another key",
            "tls_client_auth", "c", "cert.pem", "ec384.pem", NULL);
}

/* RFC 6749 §2.3.1 by hand: form-encoded id and secret, then base64. */
static void test_secret_methods(apr_pool_t *p)
{
    mab_introspect_auth_t *a = NULL;
    const char *form = "x", *authz = "x", *e;

    write_bytes(p, "odd", "p@ss word+/=%\xc3\xa9\n", 16);
    write_bytes(p, "crlf", "abc\r\n", 5);
    write_bytes(p, "two-newlines", "abc\n\n", 5);
    setenv("MAB_TEST_SECRET", "env-s3cret", 1);
    setenv("MAB_TEST_BEARER", "eyJ.abc-_~+/==", 1);

    e = parse(p, &a, "client_secret_basic", "my:client", "file:odd", NULL, NULL);
    ok(!e && a, "client_secret_basic parses");
    is_int(mab_introspect_auth_method(a), MAB_IA_CLIENT_SECRET_BASIC, "its method");
    is_str(mab_introspect_auth_method_name(a), "client_secret_basic", "its name");
    is_str(mab_introspect_auth_client_id(a), "my:client", "its client_id");
    ok(mab_introspect_auth_alg(a) == NULL && mab_introspect_auth_tls(a) == NULL,
       "no alg, no certificate");
    ok(!mab_introspect_auth_apply(a, URL, NOW, p, &form, &authz), "applied");
    ok(form == NULL, "basic: no form parameters");
    {
        const char *pair = "my%3Aclient:p%40ss%20word%2B%2F%3D%25%C3%A9";
        unsigned char b64[200];
        EVP_EncodeBlock(b64, (const unsigned char *)pair, (int)strlen(pair));
        is_str(authz, apr_pstrcat(p, "Basic ", (char *)b64, NULL),
               "basic: Basic base64(urlencode(id) ':' urlencode(secret)), newline dropped");
    }

    e = parse(p, &a, "client_secret_basic", "c", "file:crlf", NULL, NULL);
    mab_introspect_auth_apply(a, URL, NOW, p, &form, &authz);
    is_str(authz, "Basic YzphYmM=", "basic: a trailing CRLF is dropped");
    e = parse(p, &a, "client_secret_basic", "c", "file:two-newlines", NULL, NULL);
    mab_introspect_auth_apply(a, URL, NOW, p, &form, &authz);
    is_str(authz, "Basic YzphYmMlMEE=", "basic: only one trailing newline is dropped");

    e = parse(p, &a, "client_secret_post", "my client", "file:odd", NULL, NULL);
    ok(!e && mab_introspect_auth_method(a) == MAB_IA_CLIENT_SECRET_POST,
       "client_secret_post parses");
    mab_introspect_auth_apply(a, URL, NOW, p, &form, &authz);
    is_str(form, "client_id=my%20client&client_secret=p%40ss%20word%2B%2F%3D%25%C3%A9",
           "post: client_id and client_secret, form-encoded");
    ok(authz == NULL, "post: no Authorization header");

    e = parse(p, &a, "client_secret_post", "c", "env:MAB_TEST_SECRET", NULL, NULL);
    ok(!e, "a secret from the environment");
    mab_introspect_auth_apply(a, URL, NOW, p, &form, &authz);
    is_str(form, "client_id=c&client_secret=env-s3cret", "post: the environment's secret");

    e = parse(p, &a, "bearer", "env:MAB_TEST_BEARER", NULL, NULL, NULL);
    ok(!e && mab_introspect_auth_method(a) == MAB_IA_BEARER, "bearer parses");
    ok(mab_introspect_auth_client_id(a) == NULL, "bearer: no client_id");
    mab_introspect_auth_apply(a, URL, NOW, p, &form, &authz);
    is_str(authz, "Bearer eyJ.abc-_~+/==", "bearer: Authorization: Bearer <secret>");
    ok(form == NULL, "bearer: no form parameters");
    e = parse(p, &a, "bearer", "file:crlf", NULL, NULL, NULL);
    mab_introspect_auth_apply(a, URL, NOW, p, &form, &authz);
    is_str(authz, "Bearer abc", "bearer from a file: the newline dropped");

    ok(!mab_introspect_auth_apply(NULL, URL, NOW, p, &form, &authz) && !form && !authz,
       "no authentication configured: nothing added");
}

static void test_tls(apr_pool_t *p)
{
    mab_introspect_auth_t *a = NULL;
    const mab_introspect_tls_t *t;
    const char *form = NULL, *authz = "x", *e;

    e = parse(p, &a, "tls_client_auth", "rs-client", "cert.pem", path_of(p, "ec256.pem"), NULL);
    ok(!e && a, "tls_client_auth parses (relative and absolute paths)");
    if (e) {
        printf("#   %s\n", e);
        return;
    }
    is_int(mab_introspect_auth_method(a), MAB_IA_TLS_CLIENT_AUTH, "its method");
    mab_introspect_auth_apply(a, URL, NOW, p, &form, &authz);
    is_str(form, "client_id=rs-client", "tls_client_auth: client_id in the body (RFC 8705)");
    ok(authz == NULL, "tls_client_auth: no Authorization header");
    t = mab_introspect_auth_tls(a);
    ok(t != NULL, "the certificate is there");
    is_str(t->cert_path, path_of(p, "cert.pem"), "the certificate path, resolved");
    is_str(t->key_path, path_of(p, "ec256.pem"), "the key path");
    ok(t->cert_len > 100 && strncmp(t->cert_pem, "-----BEGIN CERTIFICATE-----", 27) == 0,
       "the certificate's PEM, read at startup");
    ok(t->key_len > 100 && strncmp(t->key_pem, "-----BEGIN PRIVATE KEY-----", 27) == 0,
       "the key's PEM, read at startup");
}

/* The public half of a PEM private key file as a verification key. */
static mab_key_t *public_key(apr_pool_t *p, const char *name, const char *kty, const char *crv)
{
    FILE *f = fopen(path_of(p, name), "r");
    EVP_PKEY *priv = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL, *pub = NULL;
    unsigned char *der = NULL;
    const unsigned char *d;
    int n;
    mab_key_t *k = apr_pcalloc(p, sizeof(*k));

    if (f) {
        fclose(f);
    }
    n = priv ? i2d_PUBKEY(priv, &der) : -1;
    d = der;
    pub = n > 0 ? d2i_PUBKEY(NULL, &d, n) : NULL;
    OPENSSL_free(der);
    EVP_PKEY_free(priv);
    k->kty = kty;
    k->crv = crv;
    k->pkey = pub;
    return k;
}

static const char *form_value(apr_pool_t *p, const char *form, const char *name)
{
    const char *at = strstr(form, apr_pstrcat(p, name, "=", NULL));

    if (!at) {
        return NULL;
    }
    at += strlen(name) + 1;
    return apr_pstrndup(p, at, strcspn(at, "&"));
}

static void one_assertion(apr_pool_t *p, const char *keyfile, const char *alg_arg,
                          const char *want_alg, const char *kty, const char *crv)
{
    mab_introspect_auth_t *a = NULL;
    const char *form = NULL, *authz = "x", *e, *detail = NULL, *jws, *first_jti;
    mab_key_t *pub = public_key(p, keyfile, kty, crv);
    mab_jws_t *parsed = NULL;
    json_t *claims;
    const char *label =
        apr_psprintf(p, "%s%s%s", keyfile, alg_arg ? " " : "", alg_arg ? alg_arg : "");

    e = parse(p, &a, "private_key_jwt", "rs-client", keyfile, alg_arg, NULL);
    if (!ok(!e && a, "%s: parses", label)) {
        printf("#   %s\n", e ? e : "?");
        return;
    }
    is_str(mab_introspect_auth_alg(a), want_alg, "%s: alg %s", label, want_alg);
    ok(!mab_introspect_auth_apply(a, URL, NOW, p, &form, &authz), "%s: applied", label);
    ok(authz == NULL, "%s: no Authorization header", label);
    is_str(form_value(p, form, "client_id"), "rs-client", "%s: client_id", label);
    is_str(form_value(p, form, "client_assertion_type"),
           "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
           "%s: client_assertion_type (RFC 7523 section 2.2)", label);
    jws = form_value(p, form, "client_assertion");
    ok(jws && mab_jws_parse(p, jws, strlen(jws), MAB_MAX_TOKEN_SIZE, &parsed, &detail) == MAB_OK,
       "%s: the assertion is a compact JWS", label);
    if (!parsed) {
        return;
    }
    is_str(parsed->alg_name, want_alg, "%s: header alg", label);
    is_int(json_object_size(parsed->header), 1, "%s: the header is alg alone", label);
    is_int(mab_jws_verify_key(parsed, pub, &detail), MAB_OK,
           "%s: the signature verifies with the public key", label);
    claims = mab_claims_parse(p, parsed->payload, parsed->payload_len, &detail);
    is_str(json_string_value(json_object_get(claims, "iss")), "rs-client", "%s: iss", label);
    is_str(json_string_value(json_object_get(claims, "sub")), "rs-client", "%s: sub", label);
    is_str(json_string_value(json_object_get(claims, "aud")), URL, "%s: aud is the URL", label);
    is_int(json_integer_value(json_object_get(claims, "iat")), NOW, "%s: iat", label);
    is_int(json_integer_value(json_object_get(claims, "exp")), NOW + MAB_IA_ASSERTION_LIFETIME,
           "%s: exp a minute later", label);
    first_jti = json_string_value(json_object_get(claims, "jti"));
    ok(first_jti && strlen(first_jti) == 22, "%s: jti of 128 random bits", label);
    is_int(json_object_size(claims), 6, "%s: nothing else in the claims", label);

    mab_introspect_auth_apply(a, URL, NOW, p, &form, &authz);
    jws = form_value(p, form, "client_assertion");
    if (mab_jws_parse(p, jws, strlen(jws), MAB_MAX_TOKEN_SIZE, &parsed, &detail) == MAB_OK) {
        claims = mab_claims_parse(p, parsed->payload, parsed->payload_len, &detail);
        ok(first_jti && strcmp(json_string_value(json_object_get(claims, "jti")), first_jti) != 0,
           "%s: the next assertion has another jti", label);
    }
    EVP_PKEY_free(pub->pkey);
}

static void test_private_key_jwt(apr_pool_t *p)
{
    one_assertion(p, "rsa.pem", NULL, "RS256", "RSA", NULL);
    one_assertion(p, "rsa.pem", "PS256", "PS256", "RSA", NULL);
    one_assertion(p, "rsa.pem", "RS512", "RS512", "RSA", NULL);
    one_assertion(p, "rsa.pem", "PS384", "PS384", "RSA", NULL);
    one_assertion(p, "ec256.pem", NULL, "ES256", "EC", "P-256");
    one_assertion(p, "ec384.pem", NULL, "ES384", "EC", "P-384");
    one_assertion(p, "ec521.pem", NULL, "ES512", "EC", "P-521");
    one_assertion(p, "ec521.pem", "ES512", "ES512", "EC", "P-521");
    one_assertion(p, "ed25519.pem", NULL, "EdDSA", "OKP", "Ed25519");
    one_assertion(p, "ed448.pem", NULL, "EdDSA", "OKP", "Ed448");
}

int main(void)
{
    apr_pool_t *p = test_setup();

    if (!ok(make_files(p), "keys and a certificate made with the openssl CLI in %s", dir)) {
        return tap_done();
    }
    test_parse_errors(p);
    test_secret_methods(p);
    test_tls(p);
    test_private_key_jwt(p);
    if (!sh(apr_psprintf(p, "rm -rf %s", dir))) {
        printf("# cannot remove %s\n", dir);
    }
    apr_pool_destroy(p);
    return tap_done();
}
