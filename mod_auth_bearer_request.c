/* A request's verification: httpd state in (the credential header, the query, the time,
 * the merged section's policy), the core verifier's verdict out, mapped to an HTTP status,
 * a challenge and a log line. No rule about tokens lives here. */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>

#include <jansson.h>

#include "mab_alg.h"
#include "mab_counters.h"
#include "mab_credential.h"
#include "mab_dpop.h"
#include "mab_htu.h"
#include "mab_log.h"
#include "mab_tokencache.h"
#include "mod_auth_bearer_cert.h"
#include "mod_auth_bearer_config.h"
#include "mod_auth_bearer_export.h"
#include "mod_auth_bearer_introspect.h"
#include "mod_auth_bearer_metrics.h"
#include "mod_auth_bearer_request.h"
#include "mod_auth_bearer_resource.h"
#include "mod_auth_bearer_resource_conf.h"
#include "mod_auth_bearer_sender_conf.h"

/* A client refused because the token could not be checked now tries again after this. */
#define MAB_RETRY_AFTER "5"
/* Proof keys kept per process (a client reuses its key): enough for the clients of a busy
 * minute; a client beyond them only costs a key import. */
#define MAB_PROOF_KEYS 512

/* This process's stores: the configuration's key cache, its own token cache, and the
 * introspector when anything introspects. */
static mab_verifier_t verifier;

void mab_request_child_init(apr_pool_t *pchild, server_rec *s)
{
    long entries = mab_srv_token_cache_entries(mab_srv_conf(s));

    verifier.keys = mab_conf_keycache();
    verifier.tokens = NULL;
    verifier.introspector = mab_introspect_child_init(pchild, s);
    verifier.replay = mab_introspect_store();
    verifier.proof_keys = NULL;
    if (mab_sender_conf_dpop_used()) {
        verifier.proof_keys = mab_dpop_keys_create(pchild, MAB_PROOF_KEYS);
    }
    if (entries > 0) {
        verifier.tokens = mab_tokencache_create(pchild, (unsigned)entries);
        if (!verifier.tokens) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "MAB00008: cannot create the token cache: every token is verified");
        }
    }
}

int mab_request_is_bearer(request_rec *r)
{
    const char *type = ap_auth_type(r);

    return type && strcasecmp(type, MAB_AUTH_TYPE) == 0;
}

/* The verdict's reason as the response status: the core's, so the metrics' status label
 * is always the status answered. */
static int status_of(mab_err_e err)
{
    return err == MAB_OK ? OK : mab_err_http_status(err);
}

/* The request as the client sent it: an internal redirect's or a subrequest's own URL is
 * not what the client's proof names. */
static const request_rec *client_request(const request_rec *r)
{
    for (;;) {
        if (r->prev) {
            r = r->prev;
        }
        else if (r->main) {
            r = r->main;
        }
        else {
            return r;
        }
    }
}

/* scheme://host[:port] the client used, for htu: AuthBearerPublicURL, or the virtual host's
 * own scheme, ServerName and port as with UseCanonicalName On. Never a client-sent Host or
 * X-Forwarded-* header: those would let a proof for one site be replayed at another. */
static const char *request_origin(request_rec *r, const mab_dir_conf_t *conf)
{
    const char *pub = conf->resource ? conf->resource->public_url : NULL;
    const char *host = r->server->server_hostname;
    apr_port_t port = r->server->port ? r->server->port : ap_default_port(r);

    if (pub) {
        return pub;
    }
    if (!host) {
        return NULL;
    }
    return apr_psprintf(r->pool, "%s://%s%s%s:%u", ap_http_scheme(r), strchr(host, ':') ? "[" : "",
                        host, strchr(host, ':') ? "]" : "", (unsigned)port);
}

typedef struct {
    request_rec *r;
    const mab_cert_header_t *hdr;
} cert_ctx_t;

static const unsigned char *cert_lookup(void *ctx)
{
    cert_ctx_t *c = ctx;

    return mab_cert_client_digest(c->r, c->hdr);
}

static int count_field(void *data, const char *key, const char *value)
{
    (void)key;
    (void)value;
    (*(int *)data)++;
    return 1;
}

/* What the request shows besides the token: its DPoP proof and what the proof must name. */
static const mab_sender_t *sender_of(request_rec *r, const mab_dir_conf_t *conf)
{
    mab_sender_t *s = apr_pcalloc(r->pool, sizeof(*s));
    const request_rec *top = client_request(r);
    cert_ctx_t *cc = apr_palloc(r->pool, sizeof(*cc));
    const char *origin;

    cc->r = r;
    cc->hdr = mab_sender_conf_cert_header(conf->sender);
    s->cert_lookup = cert_lookup;
    s->cert_ctx = cc;
    apr_table_do(count_field, &s->proofs, top->headers_in, "DPoP", NULL);
    s->proof = apr_table_get(top->headers_in, "DPoP");
    s->method = top->method;
    if (s->proof && (origin = request_origin(r, conf)) != NULL && top->unparsed_uri) {
        s->htu = mab_htu_request(r->pool, origin, top->unparsed_uri);
    }
    return s;
}

static void verify(request_rec *r, mab_req_t *st, const mab_dir_conf_t *conf)
{
    mab_policy_t policy;
    const char *missing = mab_conf_policy(r->server, conf, r->pool, &policy), *detail = NULL,
               *authz;
    mab_credential_t cred;
    mab_err_e err;

    if (missing) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "MAB00010: %s is not configured for %s: AuthType Bearer refuses every "
                      "request until it is set",
                      missing, r->uri);
        st->v.err = MAB_ERR_CONFIG;
        st->v.detail = missing;
        st->status = HTTP_INTERNAL_SERVER_ERROR;
        return;
    }
    authz = apr_table_get(r->headers_in, (PROXYREQ_PROXY == r->proxyreq) ? "Proxy-Authorization"
                                                                         : "Authorization");
    st->dpop_mode = policy.sender.dpop;
    st->dpop_algs = policy.sender.dpop_alg_mask;
    err = mab_credential_parse(authz, r->args,
                               st->dpop_mode != MAB_BIND_OFF ? MAB_CREDENTIAL_ACCEPT_DPOP : 0,
                               &cred, &detail);
    st->scheme = cred.scheme;
    if (err != MAB_OK) {
        st->v.err = err;
        st->v.detail = detail;
    }
    else {
        cred.sender = sender_of(r, conf);
        mab_verify(&verifier, &policy, &cred, (long long)apr_time_sec(r->request_time), r->pool,
                   &st->v);
        /* Every verification that looked the token up (the verifier's own condition), a
         * subrequest's too: a cache's hit rate is about lookups, not responses. */
        if (verifier.tokens && policy.use_cache && cred.len <= policy.max_token_size) {
            mab_counters_inc(mab_metrics(),
                             st->v.cached ? MAB_C_TOKEN_CACHE_HITS : MAB_C_TOKEN_CACHE_MISSES, 0);
        }
        if (st->v.cached) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "MAB00110: token %s: signature verified earlier", st->v.fingerprint);
        }
        if (st->v.err == MAB_ERR_REPLAY_STORE) {
            /* Failing closed: without the record a stolen proof could be used again. */
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "MAB00961: DPoP request refused with 503: %s (check that the "
                          "AuthBearerSOCache server is running and reachable)",
                          st->v.detail ? st->v.detail : "no replay store");
        }
    }
    st->status = status_of(st->v.err);
}

mab_req_t *mab_request_verify(request_rec *r)
{
    mab_req_t *st = ap_get_module_config(r->request_config, &auth_bearer_module);

    if (st) {
        return st;
    }
    if (!mab_request_is_bearer(r)) {
        return NULL;
    }
    st = apr_pcalloc(r->pool, sizeof(*st));
    ap_set_module_config(r->request_config, &auth_bearer_module, st);
    verify(r, st, mab_dir_conf(r));
    return st;
}

const mab_req_t *mab_request_state(const request_rec *r)
{
    while (r) {
        const mab_req_t *st = ap_get_module_config(r->request_config, &auth_bearer_module);
        if (st) {
            return st;
        }
        if (r->prev && r->prev->per_dir_config == r->per_dir_config) {
            r = r->prev;
        }
        else if (r->main && r->main->per_dir_config == r->per_dir_config) {
            r = r->main;
        }
        else {
            return NULL;
        }
    }
    return NULL;
}

int mab_request_no_token(const mab_req_t *st)
{
    return st->v.err == MAB_ERR_NO_CREDENTIAL || st->v.err == MAB_ERR_OTHER_SCHEME;
}

int mab_request_anonymous(request_rec *r, mab_req_t *st)
{
    if (!mab_conf_optional(mab_dir_conf(r)) || !mab_request_no_token(st) || st->token_needed) {
        return 0;
    }
    st->anonymous = 1;
    r->user = (char *)"";
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "MAB00401: no bearer token: anonymous (AuthBearerOptional On)");
    return 1;
}

/* A quoted-string for WWW-Authenticate: backslash-escape '"' and '\'. */
static const char *quote(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0;
    const char *c;
    char *out, *o;

    for (c = s; *c; c++) {
        n += (*c == '"' || *c == '\\') ? 2 : 1;
    }
    o = out = apr_palloc(p, n + 3);
    *o++ = '"';
    for (c = s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *o++ = '\\';
        }
        *o++ = *c;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* One challenge: scheme, realm, the error when it is this scheme's, then extras. */
static const char *challenge(request_rec *r, const char *scheme, const char *error,
                             const char *description, const char *scope, const char *algs,
                             const char *metadata)
{
    const char *realm = ap_auth_name(r);
    const char *v = scheme;
    const char *sep = " ";

    if (realm) {
        v = apr_pstrcat(r->pool, v, " realm=", quote(r->pool, realm), NULL);
        sep = ", ";
    }
    if (error) {
        v = apr_pstrcat(r->pool, v, sep, "error=", quote(r->pool, error), NULL);
        sep = ", ";
        if (description) {
            v = apr_pstrcat(r->pool, v, sep, "error_description=", quote(r->pool, description),
                            NULL);
        }
    }
    if (scope) {
        v = apr_pstrcat(r->pool, v, sep, "scope=", quote(r->pool, scope), NULL);
        sep = ", ";
    }
    /* RFC 9449 §7.1 */
    if (algs) {
        v = apr_pstrcat(r->pool, v, sep, "algs=", quote(r->pool, algs), NULL);
        sep = ", ";
    }
    /* RFC 9728 §5.1 */
    if (metadata) {
        v = apr_pstrcat(r->pool, v, sep, "resource_metadata=", quote(r->pool, metadata), NULL);
    }
    return v;
}

void mab_request_challenge(request_rec *r, const char *error, const char *description,
                           const char *scope)
{
    const mab_req_t *st = mab_request_state(r);
    const char *metadata = mab_resource_challenge_url(r);
    int mode = st ? st->dpop_mode : MAB_BIND_OFF;
    int dpop_used = st && st->scheme == MAB_SCHEME_DPOP;
    int bearer_used = st && st->scheme == MAB_SCHEME_BEARER;
    const char *v = NULL;

    /* DPoP Required offers no Bearer challenge, except to carry the error of a client that
     * used Bearer all the same: the error goes on the scheme the client used. */
    if (mode != MAB_BIND_REQUIRED || (bearer_used && error)) {
        v = challenge(r, MAB_AUTH_TYPE, dpop_used ? NULL : error, description, scope, NULL,
                      metadata);
    }
    if (mode != MAB_BIND_OFF) {
        char names[160];
        const char *d =
            challenge(r, "DPoP", bearer_used ? NULL : error, description, scope,
                      mab_alg_mask_names(names, sizeof(names), st->dpop_algs), metadata);
        v = v ? apr_pstrcat(r->pool, v, ", ", d, NULL) : d;
    }
    apr_table_setn(r->err_headers_out,
                   (PROXYREQ_PROXY == r->proxyreq) ? "Proxy-Authenticate" : "WWW-Authenticate", v);
}

/* Token-supplied text (kid, alg, iss) is attacker-chosen: bounded and escaped, by the same
 * rule as the core's own log lines. */
static const char *loggable(request_rec *r, const char *s)
{
    return mab_log_item(r->pool, s);
}

/* The sub of a token whose signature verified (claims are parsed only after that), even
 * when a later check failed: an admin can tell whose token it was. */
static const char *denial_sub(const mab_req_t *st)
{
    json_t *v = st && st->v.claims ? json_object_get(st->v.claims, "sub") : NULL;

    return json_is_string(v) ? json_string_value(v) : NULL;
}

void mab_request_log_denial(request_rec *r, int status, const mab_req_t *st, const char *reason,
                            const char *detail)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "MAB00100: denied %d %s: %s%s%s (kid=%s, alg=%s, iss=%s, sub=%s, token=%s)",
                  status, ap_escape_logitem(r->pool, r->uri), reason, detail ? ": " : "",
                  detail ? ap_escape_logitem(r->pool, detail) : "",
                  loggable(r, st ? st->v.kid : NULL), loggable(r, st ? st->v.alg : NULL),
                  loggable(r, st ? st->v.iss : NULL), loggable(r, denial_sub(st)),
                  st && st->v.fingerprint ? st->v.fingerprint : "-");
}

/* One outcome per client request: none for a subrequest (its outcome is no response), and
 * none again for an internal redirect (an ErrorDocument) once a request it came from was
 * counted. */
static void count_outcome(request_rec *r, mab_req_t *st)
{
    const request_rec *p;

    if (st->counted || r->main) {
        return;
    }
    for (p = r->prev; p; p = p->prev) {
        const mab_req_t *earlier = ap_get_module_config(p->request_config, &auth_bearer_module);
        if (earlier && earlier->counted) {
            return;
        }
    }
    st->counted = 1;
    if (st->status == OK) {
        /* The configured iss that vouched for the token, never the token's own text. */
        mab_counters_inc(mab_metrics(), MAB_C_TOKENS_ACCEPTED,
                         mab_metrics_issuer(st->v.issuer ? st->v.issuer->iss : NULL));
    }
    else {
        mab_counters_inc(mab_metrics(), MAB_C_REFUSED, mab_counters_refusal(st->v.err));
    }
}

int mab_request_authn_result(request_rec *r, mab_req_t *st)
{
    const char *code, *description;

    count_outcome(r, st);
    /* RFC 9449 §8: the nonce to use, on the refusal that asks for it and when a proof used
     * the previous window's. */
    if (st->v.dpop_nonce) {
        apr_table_setn(r->err_headers_out, "DPoP-Nonce", st->v.dpop_nonce);
    }
    /* A browser client reads the challenge and the nonce only if CORS exposes them. */
    if (st->dpop_mode != MAB_BIND_OFF && apr_table_get(r->headers_in, "Origin")) {
        apr_table_mergen(r->err_headers_out, "Access-Control-Expose-Headers",
                         "WWW-Authenticate, DPoP-Nonce");
    }
    if (st->status == OK) {
        r->user = (char *)st->v.user;
        r->ap_auth_type = (char *)MAB_AUTH_TYPE;
        mab_export_env(r, &st->v);
        return OK;
    }
    /* Without an RFC 6750 code (no token, another scheme, a server-side failure) the reason
     * is the log's, not the client's. */
    code = mab_err_rfc6750(st->v.err);
    description = code ? mab_err_desc(st->v.err) : NULL;
    if (st->status == HTTP_SERVICE_UNAVAILABLE) {
        /* Nothing is known against the token: the client keeps it and asks again. */
        apr_table_setn(r->err_headers_out, "Retry-After", MAB_RETRY_AFTER);
    }
    else if (st->status != HTTP_INTERNAL_SERVER_ERROR) {
        /* A declared resource's 401 names the scopes its Require lines asked for (MCP). */
        mab_request_challenge(r, code, description,
                              st->status == HTTP_UNAUTHORIZED && st->asked_scopes
                                      && st->asked_scopes->nelts && mab_resource_declared(r)
                                  ? apr_array_pstrcat(r->pool, st->asked_scopes, ' ')
                                  : NULL);
    }
    if (description) {
        mab_request_log_denial(r, st->status, st, description, st->v.detail);
    }
    else {
        mab_request_log_denial(r, st->status, st,
                               st->v.detail ? st->v.detail : mab_err_desc(st->v.err), NULL);
    }
    return st->status;
}
