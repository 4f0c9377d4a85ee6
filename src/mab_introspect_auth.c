#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "mab_b64.h"
#include "mab_credential.h"
#include "mab_form.h"
#include "mab_introspect_auth.h"
#include "mab_jwtsign.h"

#define DIRECTIVE "AuthBearerIntrospectionAuth"
#define JTI_BYTES 16 /* 128 random bits: no two assertions share a jti */

struct mab_introspect_auth_t {
    mab_introspect_auth_method_e method;
    const char *name;
    const char *client_id;
    /* Precomputed at parse time for the secret methods: what every request carries. */
    const char *form_extra;
    const char *authz;
    mab_jwtsign_key_t *key; /* private_key_jwt */
    mab_introspect_tls_t tls;
};

static const struct {
    const char *name;
    mab_introspect_auth_method_e method;
    int min_args, max_args; /* after the method */
    const char *usage;
} methods[] = {
    {"client_secret_basic", MAB_IA_CLIENT_SECRET_BASIC, 2, 2, "<client_id> file:<path>|env:<NAME>"},
    {"client_secret_post", MAB_IA_CLIENT_SECRET_POST, 2, 2, "<client_id> file:<path>|env:<NAME>"},
    {"private_key_jwt", MAB_IA_PRIVATE_KEY_JWT, 2, 3, "<client_id> <PEM private key file> [<alg>]"},
    {"tls_client_auth", MAB_IA_TLS_CLIENT_AUTH, 3, 3,
     "<client_id> <PEM certificate file> <PEM private key file>"},
    {"bearer", MAB_IA_BEARER, 1, 1, "file:<path>|env:<NAME>"},
};

/* A secret, certificate or key kept in memory: wiped, not just freed, when the pool goes. */
typedef struct {
    void *buf;
    apr_size_t len;
} wipe_t;

static apr_status_t wipe(void *data)
{
    wipe_t *w = data;

    OPENSSL_cleanse(w->buf, w->len);
    return APR_SUCCESS;
}

static void wipe_later(apr_pool_t *p, void *buf, apr_size_t len)
{
    wipe_t *w = apr_palloc(p, sizeof(*w));

    w->buf = buf;
    w->len = len;
    apr_pool_cleanup_register(p, w, wipe, apr_pool_cleanup_null);
}

/* A wiped-with-the-pool NUL-terminated copy of n bytes. */
static char *secret_copy(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *c = apr_palloc(p, n + 1);

    memcpy(c, s, n);
    c[n] = '\0';
    wipe_later(p, c, n + 1);
    return c;
}

static const char *resolve_path(apr_pool_t *p, const char *path,
                                const char *(*resolve)(void *, const char *), void *ctx,
                                const char *what, const char **out)
{
    *out = resolve ? resolve(ctx, path) : path;
    if (!*out || !**out) {
        return apr_psprintf(p, DIRECTIVE ": %s '%s' is not a valid path", what, path);
    }
    return NULL;
}

/* The whole of a file of at most max bytes, NUL-terminated, from p (wiped with it). */
static const char *read_whole(apr_pool_t *p, const char *path, apr_size_t max, const char *what,
                              char **buf, apr_size_t *len)
{
    apr_file_t *f = NULL;
    apr_status_t rv;
    char *b = apr_palloc(p, max + 2);

    wipe_later(p, b, max + 2);
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv != APR_SUCCESS) {
        char msg[120];
        return apr_psprintf(p, DIRECTIVE ": cannot open the %s %s: %s", what, path,
                            apr_strerror(rv, msg, sizeof(msg)));
    }
    /* One byte more than allowed, to tell "exactly max" from "larger". */
    rv = apr_file_read_full(f, b, max + 1, len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return apr_psprintf(p, DIRECTIVE ": cannot read the %s %s", what, path);
    }
    if (*len > max) {
        return apr_psprintf(p, DIRECTIVE ": the %s %s is larger than %lu bytes", what, path,
                            (unsigned long)max);
    }
    b[*len] = '\0';
    *buf = b;
    return NULL;
}

/* file:<path> (its content, one trailing newline dropped, like AuthBearerSharedSecret) or
 * env:<NAME>, read now; the value is wiped with p. */
static const char *read_secret(apr_pool_t *p, const char *method, const char *spec,
                               const char *(*resolve)(void *, const char *), void *ctx,
                               const char **value, apr_size_t *len)
{
    const char *err;

    if (strncmp(spec, "env:", 4) == 0) {
        const char *v = spec[4] ? getenv(spec + 4) : NULL;
        if (!v || !*v) {
            return apr_psprintf(p, DIRECTIVE " %s: environment variable %s is not set or empty",
                                method, spec + 4);
        }
        *len = strlen(v);
        if (*len > MAB_IA_MAX_SECRET) {
            return apr_psprintf(p, DIRECTIVE " %s: environment variable %s is longer than %d bytes",
                                method, spec + 4, MAB_IA_MAX_SECRET);
        }
        *value = secret_copy(p, v, *len);
        return NULL;
    }
    if (strncmp(spec, "file:", 5) == 0) {
        const char *path = NULL;
        char *buf = NULL;

        err = resolve_path(p, spec + 5, resolve, ctx, "secret file", &path);
        if (!err) {
            err = read_whole(p, path, MAB_IA_MAX_SECRET, "secret file", &buf, len);
        }
        if (err) {
            return err;
        }
        if (*len && buf[*len - 1] == '\n') {
            (*len)--;
        }
        if (*len && buf[*len - 1] == '\r') {
            (*len)--;
        }
        buf[*len] = '\0';
        if (!*len) {
            return apr_psprintf(p, DIRECTIVE " %s: the secret file %s is empty", method, path);
        }
        if (memchr(buf, '\0', *len)) {
            return apr_psprintf(p, DIRECTIVE " %s: the secret file %s contains a NUL byte", method,
                                path);
        }
        *value = buf;
        return NULL;
    }
    return apr_psprintf(p,
                        DIRECTIVE " %s: the secret must be file:<path> or env:<NAME> (a secret is "
                                  "never written in the configuration itself)",
                        method);
}

/* RFC 6749 Appendix A.1: client-id = *VSCHAR (%x20-7E). Nothing else can reach a header,
 * a form or the assertion's JSON by surprise. */
static const char *check_client_id(apr_pool_t *p, const char *method, const char *id)
{
    const unsigned char *c;

    if (!*id) {
        return apr_psprintf(p, DIRECTIVE " %s: the client_id is empty", method);
    }
    for (c = (const unsigned char *)id; *c; c++) {
        if (*c < 0x20 || *c > 0x7e) {
            return apr_psprintf(p,
                                DIRECTIVE " %s: the client_id has a byte outside printable "
                                          "ASCII (RFC 6749 VSCHAR)",
                                method);
        }
    }
    return NULL;
}

/* RFC 6749 §2.3.1: each of id and secret form-encoded, then "id:secret" in base64. */
static const char *basic_header(apr_pool_t *p, const char *id, const char *secret,
                                apr_size_t secret_len)
{
    char *eid = mab_form_encode(p, id, strlen(id));
    char *esecret = mab_form_encode(p, secret, secret_len);
    apr_size_t n = strlen(eid) + 1 + strlen(esecret);
    char *pair = apr_palloc(p, n + 1);
    char *out = apr_palloc(p, sizeof("Basic ") + 4 * ((n + 2) / 3));

    apr_snprintf(pair, n + 1, "%s:%s", eid, esecret);
    memcpy(out, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)pair, (int)n);
    OPENSSL_cleanse(esecret, strlen(esecret));
    OPENSSL_cleanse(pair, n);
    wipe_later(p, out, strlen(out));
    return out;
}

static const char *parse_secret_method(apr_pool_t *p, mab_introspect_auth_t *a, char *const argv[],
                                       const char *(*resolve)(void *, const char *), void *ctx)
{
    const char *secret = NULL, *err;
    apr_size_t len = 0;

    if (a->method != MAB_IA_BEARER) {
        err = check_client_id(p, a->name, argv[1]);
        if (err) {
            return err;
        }
        a->client_id = apr_pstrdup(p, argv[1]);
    }
    err = read_secret(p, a->name, argv[a->method == MAB_IA_BEARER ? 1 : 2], resolve, ctx, &secret,
                      &len);
    if (err) {
        return err;
    }
    switch (a->method) {
    case MAB_IA_CLIENT_SECRET_BASIC:
        a->authz = basic_header(p, a->client_id, secret, len);
        break;
    case MAB_IA_CLIENT_SECRET_POST: {
        char *esecret = mab_form_encode(p, secret, len);
        char *form =
            apr_pstrcat(p, "client_id=", mab_form_encode(p, a->client_id, strlen(a->client_id)),
                        "&client_secret=", esecret, NULL);
        OPENSSL_cleanse(esecret, strlen(esecret));
        wipe_later(p, form, strlen(form));
        a->form_extra = form;
        break;
    }
    default: /* bearer: the secret goes into a header as it is, so it must be a token68 */
        if (!mab_credential_is_b64token(secret, len)) {
            return DIRECTIVE " bearer: the secret is not a token68 (RFC 6750 b64token: letters, "
                             "digits, - . _ ~ + / and trailing =)";
        }
        {
            char *h = apr_pstrcat(p, "Bearer ", secret, NULL);
            wipe_later(p, h, strlen(h));
            a->authz = h;
        }
        break;
    }
    return NULL;
}

static const char *parse_private_key_jwt(apr_pool_t *p, mab_introspect_auth_t *a, int argc,
                                         char *const argv[],
                                         const char *(*resolve)(void *, const char *), void *ctx)
{
    const char *path = NULL, *err;
    char *pem = NULL;
    apr_size_t len = 0;

    err = check_client_id(p, a->name, argv[1]);
    if (!err) {
        err = resolve_path(p, argv[2], resolve, ctx, "private key file", &path);
    }
    if (!err) {
        err = read_whole(p, path, MAB_IA_MAX_PEM, "private key file", &pem, &len);
    }
    if (err) {
        return err;
    }
    a->client_id = apr_pstrdup(p, argv[1]);
    err = mab_jwtsign_load(p, pem, len, argc > 3 ? argv[3] : NULL, &a->key);
    /* The key lives on in a->key; the PEM text is no longer needed. */
    OPENSSL_cleanse(pem, len);
    if (err) {
        return apr_psprintf(p, DIRECTIVE " private_key_jwt: %s: %s", path, err);
    }
    return NULL;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Loads both now: a certificate that does not parse or a key that is not its own would
 * otherwise show only as failed handshakes, one per request. */
static const char *check_cert_and_key(apr_pool_t *p, const mab_introspect_tls_t *t)
{
    BIO *cb = BIO_new_mem_buf(t->cert_pem, (int)t->cert_len);
    BIO *kb = BIO_new_mem_buf(t->key_pem, (int)t->key_len);
    X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, no_passphrase, NULL) : NULL;
    EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, NULL) : NULL;
    const char *err = NULL;

    if (!cert) {
        err = apr_psprintf(p, DIRECTIVE " tls_client_auth: %s is not a PEM certificate",
                           t->cert_path);
    }
    else if (!key) {
        err = apr_psprintf(
            p, DIRECTIVE " tls_client_auth: %s is not an unencrypted PEM private key", t->key_path);
    }
    else if (X509_check_private_key(cert, key) != 1) {
        err = apr_psprintf(p,
                           DIRECTIVE " tls_client_auth: the key %s does not belong to the "
                                     "certificate %s",
                           t->key_path, t->cert_path);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
    ERR_clear_error();
    return err;
}

static const char *parse_tls_client_auth(apr_pool_t *p, mab_introspect_auth_t *a,
                                         char *const argv[],
                                         const char *(*resolve)(void *, const char *), void *ctx)
{
    mab_introspect_tls_t *t = &a->tls;
    char *cert = NULL, *key = NULL;
    const char *err;

    err = check_client_id(p, a->name, argv[1]);
    if (!err) {
        err = resolve_path(p, argv[2], resolve, ctx, "certificate file", &t->cert_path);
    }
    if (!err) {
        err = resolve_path(p, argv[3], resolve, ctx, "private key file", &t->key_path);
    }
    if (!err) {
        err = read_whole(p, t->cert_path, MAB_IA_MAX_PEM, "certificate file", &cert, &t->cert_len);
    }
    if (!err) {
        err = read_whole(p, t->key_path, MAB_IA_MAX_PEM, "private key file", &key, &t->key_len);
    }
    if (err) {
        return err;
    }
    t->cert_pem = cert;
    t->key_pem = key;
    a->client_id = apr_pstrdup(p, argv[1]);
    err = check_cert_and_key(p, t);
    if (err) {
        return err;
    }
    /* RFC 8705 §2.1: the certificate authenticates, the client_id says who claims it. */
    a->form_extra =
        apr_pstrcat(p, "client_id=", mab_form_encode(p, a->client_id, strlen(a->client_id)), NULL);
    return NULL;
}

const char *mab_introspect_auth_parse(apr_pool_t *p, int argc, char *const argv[],
                                      const char *(*resolve)(void *ctx, const char *path),
                                      void *ctx, mab_introspect_auth_t **out)
{
    mab_introspect_auth_t *a;
    size_t i;

    *out = NULL;
    if (argc < 1) {
        return DIRECTIVE " needs a method: client_secret_basic, client_secret_post, "
                         "private_key_jwt, tls_client_auth or bearer";
    }
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(methods[i].name, argv[0]) == 0) {
            break;
        }
    }
    if (i == sizeof(methods) / sizeof(methods[0])) {
        return apr_psprintf(p,
                            DIRECTIVE ": unknown method '%s' (client_secret_basic, "
                                      "client_secret_post, private_key_jwt, tls_client_auth or "
                                      "bearer)",
                            argv[0]);
    }
    if (argc - 1 < methods[i].min_args || argc - 1 > methods[i].max_args) {
        return apr_psprintf(p, DIRECTIVE " %s needs %s", methods[i].name, methods[i].usage);
    }
    a = apr_pcalloc(p, sizeof(*a));
    a->method = methods[i].method;
    a->name = methods[i].name;
    switch (a->method) {
    case MAB_IA_PRIVATE_KEY_JWT: {
        const char *err = parse_private_key_jwt(p, a, argc, argv, resolve, ctx);
        if (err) {
            return err;
        }
        break;
    }
    case MAB_IA_TLS_CLIENT_AUTH: {
        const char *err = parse_tls_client_auth(p, a, argv, resolve, ctx);
        if (err) {
            return err;
        }
        break;
    }
    default: {
        const char *err = parse_secret_method(p, a, argv, resolve, ctx);
        if (err) {
            return err;
        }
        break;
    }
    }
    *out = a;
    return NULL;
}

mab_introspect_auth_method_e mab_introspect_auth_method(const mab_introspect_auth_t *auth)
{
    return auth->method;
}

const char *mab_introspect_auth_method_name(const mab_introspect_auth_t *auth)
{
    return auth->name;
}

const char *mab_introspect_auth_client_id(const mab_introspect_auth_t *auth)
{
    return auth->client_id;
}

const char *mab_introspect_auth_alg(const mab_introspect_auth_t *auth)
{
    return auth->key ? mab_jwtsign_alg(auth->key) : NULL;
}

const mab_introspect_tls_t *mab_introspect_auth_tls(const mab_introspect_auth_t *auth)
{
    return auth->method == MAB_IA_TLS_CLIENT_AUTH ? &auth->tls : NULL;
}

/* RFC 7523 §3 and OIDC Core §9: iss and sub are the client_id; jti is new every time (a
 * server may refuse a replayed one); exp is a minute away.
 * aud is the URL the assertion is posted to. RFC 7523 asks for a value identifying the
 * authorization server and allows its token endpoint URL; servers differ in what they take
 * (oidc-provider: its issuer or any of its endpoint URLs; Okta: the URL of the endpoint
 * called; Keycloak: issuer, token or introspection endpoint), and the URL the request goes
 * to is the one value all of them take. It also names exactly where the assertion was sent,
 * so whoever receives it (even a wrong endpoint from a spoofed discovery document) holds an
 * assertion for itself only, never one for another server. */
static char *client_assertion(const mab_introspect_auth_t *a, const char *aud, long long now,
                              apr_pool_t *p, const char **err)
{
    unsigned char jti[JTI_BYTES];
    json_t *claims;
    char *text, *payload, *jws;

    if (RAND_bytes(jti, sizeof(jti)) != 1) {
        ERR_clear_error();
        *err = "the random source failed (no jti for the client assertion)";
        return NULL;
    }
    claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", a->client_id, "sub", a->client_id,
                       "aud", aud, "jti", mab_b64url_encode(p, jti, sizeof(jti)), "iat",
                       (json_int_t)now, "exp", (json_int_t)(now + MAB_IA_ASSERTION_LIFETIME));
    text = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
    json_decref(claims);
    if (!text) {
        *err = "cannot build the client assertion (out of memory, or aud is not UTF-8)";
        return NULL;
    }
    payload = apr_pstrdup(p, text);
    free(text);
    jws = mab_jwtsign_sign(p, a->key, payload, err);
    return jws;
}

const char *mab_introspect_auth_apply(const mab_introspect_auth_t *auth, const char *endpoint_url,
                                      long long now, apr_pool_t *p, const char **form_extra,
                                      const char **authz_header)
{
    const char *err = NULL;
    char *jws;

    *form_extra = NULL;
    *authz_header = NULL;
    if (!auth) {
        return NULL;
    }
    if (auth->method != MAB_IA_PRIVATE_KEY_JWT) {
        *form_extra = auth->form_extra;
        *authz_header = auth->authz;
        return NULL;
    }
    jws = client_assertion(auth, endpoint_url, now, p, &err);
    if (!jws) {
        return err;
    }
    /* RFC 7521 §4.2: client_id is optional beside an assertion; sent, it lets the server
     * find the client before it parses the JWT. */
    *form_extra = apr_pstrcat(
        p, "client_id=", mab_form_encode(p, auth->client_id, strlen(auth->client_id)),
        "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
        "&client_assertion=",
        jws, NULL); /* base64url and '.': nothing a form needs encoded */
    return NULL;
}
