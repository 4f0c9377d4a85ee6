/* The client certificate a certificate-bound token (RFC 8705 §3) is checked against.
 *
 * Where TLS ends at httpd, mod_ssl has it (SSLVerifyClient optional_no_ca is enough: the
 * binding is the check, not a chain to some CA). Where a front proxy ends TLS, the proxy
 * passes it in a header (AuthBearerClientCertHeader), which is believed only on connections
 * whose TCP peer is one of the listed proxies: r->connection->client_addr, never
 * r->useragent_ip, which mod_remoteip rewrites from a header a client can send. Every other
 * request loses that header before any module reads it. */
#include <apr_strings.h>
#include <http_ssl.h>

#include "mab_certbind.h"
#include "mod_auth_bearer_cert.h"
#include "mod_auth_bearer_config.h"
#include "mod_auth_bearer_sender_conf.h"

#if !AP_MODULE_MAGIC_AT_LEAST(20120211, 104)
#error "certificate-bound tokens need httpd 2.4.47 or later (ap_ssl_var_lookup in http_ssl.h)"
#endif

/* The request's answer, kept in its pool: internal redirects share the pool and the
 * connection, so they share it too while the section names the same header. */
typedef struct {
    const mab_cert_header_t *hdr;
    const unsigned char *digest;
} cert_memo_t;

#define MEMO_KEY "mod_auth_bearer:client-cert"

static int from_proxy(const conn_rec *c, const mab_cert_header_t *hdr)
{
    int i;

    for (i = 0; hdr->proxies && i < hdr->proxies->nelts; i++) {
        if (apr_ipsubnet_test(APR_ARRAY_IDX(hdr->proxies, i, apr_ipsubnet_t *), c->client_addr)) {
            return 1;
        }
    }
    return 0;
}

static const unsigned char *from_header(request_rec *r, const mab_cert_header_t *hdr)
{
    const char *value = apr_table_get(r->headers_in, hdr->name);
    unsigned char *d;

    /* The proxy saw no certificate (some send the header empty then). Its own TLS
     * connection to us, if any, carries the proxy's certificate, not the client's: never
     * fall back to it. */
    if (!value || !*value) {
        return NULL;
    }
    d = apr_palloc(r->pool, MAB_CERT_DIGEST_LEN);
    if (mab_cert_digest_header(r->pool, value, d) != 0) {
        /* The value is not logged: it is whatever reached the proxy. */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "MAB00950: the %s header from front proxy %s is not a client certificate "
                      "(URL-encoded PEM, PEM or base64 DER; AuthBearerClientCertHeader at %s): "
                      "the request has none",
                      ap_escape_logitem(r->pool, hdr->name), r->connection->client_ip,
                      hdr->where ? hdr->where : "?");
        return NULL;
    }
    return d;
}

static const unsigned char *from_mod_ssl(request_rec *r)
{
    const char *pem = ap_ssl_var_lookup(r->pool, r->server, r->connection, r, "SSL_CLIENT_CERT");
    unsigned char *d;

    /* mod_ssl answers "" on a connection without TLS or without a certificate; NULL when
     * mod_ssl is not loaded. */
    if (!pem || !*pem) {
        return NULL;
    }
    d = apr_palloc(r->pool, MAB_CERT_DIGEST_LEN);
    if (mab_cert_digest_pem(pem, strlen(pem), d) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "MAB00951: the client certificate of this TLS connection is not one "
                      "canonically encoded X.509 certificate: the request has none");
        return NULL;
    }
    return d;
}

const unsigned char *mab_cert_client_digest(request_rec *r, const mab_cert_header_t *hdr)
{
    cert_memo_t *memo = NULL;
    void *data = NULL;

    if (apr_pool_userdata_get(&data, MEMO_KEY, r->pool) == APR_SUCCESS && data) {
        memo = data;
        if (memo->hdr == hdr) {
            return memo->digest;
        }
    }
    else {
        memo = apr_palloc(r->pool, sizeof(*memo));
        apr_pool_userdata_setn(memo, MEMO_KEY, NULL, r->pool);
    }
    memo->hdr = hdr;
    memo->digest = hdr && from_proxy(r->connection, hdr) ? from_header(r, hdr) : from_mod_ssl(r);
    return memo->digest;
}

typedef struct {
    const apr_array_header_t *headers; /* mab_cert_header_t * */
    const conn_rec *c;
    apr_array_header_t *found; /* const char *: names to remove */
} scrub_ctx_t;

/* A field goes unless the peer is a proxy of an AuthBearerClientCertHeader of exactly that
 * name. Spellings that only CGI or an application would take for it ('_' for '-') go in
 * any case: no proxy is trusted to send those, and nothing here reads them. */
static int find_untrusted(void *data, const char *key, const char *value)
{
    scrub_ctx_t *ctx = data;
    int i, named = 0;

    (void)value;
    for (i = 0; i < ctx->headers->nelts; i++) {
        const mab_cert_header_t *h = APR_ARRAY_IDX(ctx->headers, i, const mab_cert_header_t *);
        if (!mab_conf_same_header(h->name, key)) {
            continue;
        }
        named = 1;
        if (strcasecmp(h->name, key) == 0 && from_proxy(ctx->c, h)) {
            return 1;
        }
    }
    if (named) {
        APR_ARRAY_PUSH(ctx->found, const char *) = key;
    }
    return 1;
}

void mab_cert_scrub(request_rec *r)
{
    const apr_array_header_t *headers = mab_sender_conf_cert_headers();
    scrub_ctx_t ctx;
    int i;

    if (!headers || !headers->nelts) {
        return;
    }
    ctx.headers = headers;
    ctx.c = r->connection;
    ctx.found = apr_array_make(r->pool, 1, sizeof(const char *));
    apr_table_do(find_untrusted, &ctx, r->headers_in, NULL);
    for (i = 0; i < ctx.found->nelts; i++) {
        const char *name = APR_ARRAY_IDX(ctx.found, i, const char *);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "MAB00952: removed request header %s: %s is not a front proxy "
                      "AuthBearerClientCertHeader trusts with it",
                      ap_escape_logitem(r->pool, name), r->connection->client_ip);
        apr_table_unset(r->headers_in, name);
    }
}
