/* mod_auth_bearer: httpd as an OAuth 2.0 resource server (RFC 6750 bearer JWTs).
 * This file is the thin glue: hooks, the per-request verification and the challenges.
 * Token and key logic live in src/ and never see httpd. */
#include <apr_lib.h>
#include <apr_strings.h>
#include <ap_mpm.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>
#include <util_mutex.h>

#include <math.h>

#include <jansson.h>

#include "mab_alg.h"
#include "mab_claims.h"
#include "mab_exports.h"
#include "mab_fetch.h"
#include "mab_json.h"
#include "mab_jws.h"
#include "mab_jwks.h"
#include "mab_keycache.h"
#include "mab_log.h"
#include "mab_tokencache.h"
#include "mod_auth_bearer.h"

#define MAB_MUTEX_TYPE "auth-bearer-jwks"
/* After a failed fetch with no keys at all, the next try waits this long: a cold start
 * with the issuer down answers 401 quickly instead of queueing on timeouts. */
#define MAB_RETRY_INTERVAL 5

mab_keycache_t *mab_glue_keycache;
static apr_global_mutex_t *jwks_mutex;
static server_rec *log_server;
/* issue 6: this process's verified-token cache; NULL when AuthBearerTokenCache is 0. */
static mab_tokencache_t *token_cache;

static void core_log(void *baton, int level, const char *msg)
{
    server_rec *s = baton ? baton : log_server;

    ap_log_error(APLOG_MARK, level, 0, s, "%s", msg);
}

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    apr_status_t rv = ap_mutex_register(pconf, MAB_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* A new configuration generation gets a new set of key sources. */
    mab_glue_keycache = mab_keycache_create(pconf);
    return OK;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    static int curl_ready;
    mab_keycache_opts_t opts;
    mab_srv_conf_t *sconf;
    const char *err = NULL;
    apr_status_t rv;

    log_server = s;
    mab_log_set(core_log, NULL);
    /* jansson's hash seed is its only global state: set it before any thread parses. */
    json_object_seed(0);
    /* The first pass at startup only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    mab_check_sections(s, ptemp);
    if (!curl_ready) {
        if (mab_fetch_global_init() != 0) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MAB00001: libcurl initialisation failed");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        curl_ready = 1;
    }
    mab_tokencache_global_init(pconf);
    rv = ap_global_mutex_create(&jwks_mutex, NULL, MAB_MUTEX_TYPE, NULL, s, pconf, 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "MAB00003: cannot create the JWKS mutex");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    sconf = ap_get_module_config(s->module_config, &auth_bearer_module);
    opts.slot_size = sconf->cache_size > 0 ? (apr_size_t)sconf->cache_size : MAB_DEFAULT_CACHE_SIZE;
    opts.ca_file = sconf->ca_file;
    opts.allow_insecure = sconf->allow_insecure == 1;
    opts.fetch_timeout_ms =
        1000 * (sconf->fetch_timeout >= 0 ? sconf->fetch_timeout : MAB_DEFAULT_FETCH_TIMEOUT);
    opts.refresh_min_s = sconf->refresh_min >= 0 ? sconf->refresh_min : MAB_DEFAULT_REFRESH_MIN;
    opts.refresh_max_s = sconf->refresh_max >= 0 ? sconf->refresh_max : MAB_DEFAULT_REFRESH_MAX;
    opts.refetch_interval_s =
        sconf->refetch_interval >= 0 ? sconf->refetch_interval : MAB_DEFAULT_REFETCH_INTERVAL;
    opts.retry_interval_s = MAB_RETRY_INTERVAL;
    if (mab_keycache_init(mab_glue_keycache, pconf, jwks_mutex, &opts, &err) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MAB00004: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    mab_refresh_start(s, pconf, mab_glue_keycache); /* issue 4 */
    return OK;
}

/* issue 4: plain http key sources are a configuration error; check_config also runs for
 * apachectl -t and before a restart replaces the running configuration. */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    return mab_check_transport(s, ptemp) == 0 ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

/* issue 6: one verified-token cache per process, shared by its threads. */
static void token_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    const mab_srv_conf_t *sconf = ap_get_module_config(s->module_config, &auth_bearer_module);
    long entries = sconf->token_cache >= 0 ? sconf->token_cache : MAB_TOKENCACHE_DEFAULT_ENTRIES;

    token_cache = NULL;
    if (entries > 0) {
        token_cache = mab_tokencache_create(pchild, (unsigned)entries);
        if (!token_cache) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "MAB00008: cannot create the token cache: every token is verified");
        }
    }
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    if (jwks_mutex) {
        apr_status_t rv =
            apr_global_mutex_child_init(&jwks_mutex, apr_global_mutex_lockfile(jwks_mutex), pchild);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                         "MAB00005: cannot attach to the JWKS mutex in this child");
        }
    }
    if (mab_glue_keycache && mab_keycache_child_init(mab_glue_keycache, pchild) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MAB00006: cannot create key cache locks");
    }
    else if (mab_glue_keycache) {
        mab_refresh_child_ready(); /* issue 4 */
    }
    token_cache_child_init(pchild, s);
}

static int is_bearer(request_rec *r)
{
    const char *type = ap_auth_type(r);

    return type && strcasecmp(type, MAB_AUTH_TYPE) == 0;
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

/* One place builds every challenge, so 400/401/403 stay consistent. */
static void set_challenge(request_rec *r, const char *error, const char *description,
                          const char *scope)
{
    const char *realm = ap_auth_name(r);
    const char *v = MAB_AUTH_TYPE;
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
        if (scope) {
            v = apr_pstrcat(r->pool, v, sep, "scope=", quote(r->pool, scope), NULL);
        }
    }
    apr_table_setn(r->err_headers_out,
                   (PROXYREQ_PROXY == r->proxyreq) ? "Proxy-Authenticate" : "WWW-Authenticate", v);
}

/* Token-supplied text (kid, alg, iss) is attacker-chosen: bounded and escaped. */
static const char *loggable(request_rec *r, const char *s)
{
    if (!s) {
        return "-";
    }
    if (strlen(s) > 64) {
        s = apr_pstrcat(r->pool, apr_pstrndup(r->pool, s, 64), "...", NULL);
    }
    return ap_escape_logitem(r->pool, s);
}

/* The sub of a token whose signature verified (claims are parsed only after that), even
 * when a later check failed: an admin can tell whose token it was. */
static const char *denial_sub(const mab_req_t *st)
{
    json_t *v = st && st->claims ? json_object_get(st->claims, "sub") : NULL;

    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void log_denial(request_rec *r, int status, const mab_req_t *st, const char *reason,
                       const char *detail)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "MAB00100: denied %d %s: %s%s%s (kid=%s, alg=%s, iss=%s, sub=%s, token=%s)",
                  status, ap_escape_logitem(r->pool, r->uri), reason, detail ? ": " : "",
                  detail ? ap_escape_logitem(r->pool, detail) : "",
                  loggable(r, st ? st->kid : NULL), loggable(r, st ? st->alg : NULL),
                  loggable(r, st ? st->iss : NULL), loggable(r, denial_sub(st)),
                  st && st->fingerprint ? st->fingerprint : "-");
}

static mab_req_t *fail(mab_req_t *st, int status, const char *error, const char *description,
                       const char *detail)
{
    st->status = status;
    st->error = error;
    st->description = description;
    st->detail = detail;
    return st;
}

static mab_req_t *reject(mab_req_t *st, mab_err_e err, const char *detail)
{
    return fail(st, HTTP_UNAUTHORIZED, "invalid_token", mab_err_desc(err), detail);
}

/* RFC 6750 §2.1 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
 * A table filled at load time: the per-character ctype and strchr calls it replaces
 * showed in the profile (issue 6). */
static unsigned char b64token_char[256];

static void b64token_init(void)
{
    int c;

    for (c = 1; c < 256; c++) {
        b64token_char[c] = apr_isalnum(c) || strchr("-._~+/", c);
    }
}

static int is_b64token(const char *t, apr_size_t len)
{
    apr_size_t i = 0;

    while (i < len && b64token_char[(unsigned char)t[i]]) {
        i++;
    }
    if (i == 0) {
        return 0;
    }
    while (i < len && t[i] == '=') {
        i++;
    }
    return i == len;
}

static int query_has_token(const request_rec *r)
{
    const char *a = r->args;

    while (a && *a) {
        if (strncmp(a, "access_token=", 13) == 0) {
            return 1;
        }
        a = ap_strchr_c(a, '&');
        if (a) {
            a++;
        }
    }
    return 0;
}

/* HMAC tokens are checked with the admin's secret only; everything else with the key
 * set. The allow-list is applied first either way. */
static mab_err_e verify_signature(request_rec *r, const mab_dir_conf_t *conf, const mab_jws_t *jws,
                                  const mab_key_t **used, const char **detail)
{
    unsigned mask = mab_conf_alg_mask(conf);
    struct mab_source_t *src;
    const mab_keyset_t *ks;
    const char *kerr = NULL;
    mab_err_e err;

    if (!(jws->alg->bit & mask)) {
        *detail = "alg is not in the allow-list";
        return MAB_ERR_ALG;
    }
    if (jws->alg->family == MAB_FAMILY_HMAC) {
        if (!conf->secret) {
            *detail = "HMAC token but no AuthBearerSharedSecret here";
            return MAB_ERR_ALG;
        }
        err = mab_jws_verify_key(jws, conf->secret, detail);
        *used = conf->secret;
        return err == MAB_ERR_NO_KEY ? MAB_ERR_ALG : err;
    }
    src = mab_conf_key_source(conf);
    if (!src) {
        *detail = "asymmetric token but no AuthBearerJWKS here";
        return MAB_ERR_NO_KEY;
    }
    ks = mab_keycache_get(mab_glue_keycache, src, r->pool, 0, &kerr);
    if (!ks) {
        /* The failed fetch itself was logged at error level, once per attempt. */
        *detail = apr_pstrcat(r->pool, mab_source_uri(src), ": ", kerr, NULL);
        return MAB_ERR_NO_KEYS;
    }
    err = mab_jws_verify_keyset_ex(jws, ks, mask, used, detail);
    if (err == MAB_ERR_NO_KEY && jws->kid) {
        /* Maybe the issuer rotated keys: refetch, at most once per interval for everyone. */
        ks = mab_keycache_get(mab_glue_keycache, src, r->pool, 1, &kerr);
        if (ks) {
            err = mab_jws_verify_keyset_ex(jws, ks, mask, used, detail);
        }
    }
    return err;
}

/* The log fingerprint: the first 8 hex digits of SHA-256(token), enough to correlate log
 * lines, never enough to replay anything. */
static const char *hex8(apr_pool_t *p, const unsigned char *d)
{
    static const char hex[] = "0123456789abcdef";
    char *out = apr_palloc(p, 9);
    int i;

    for (i = 0; i < 4; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[8] = '\0';
    return out;
}

/* issue 6: whether a cache hit may stand for this location: its alg allowed here, and the
 * key that verified it still one this location trusts. A front hit remembers which key
 * source generation last vouched for it, so a warm repeat needs no key-set reference. */
static int usable(request_rec *r, const mab_dir_conf_t *conf, const mab_tokencache_hit_t *hit)
{
    struct mab_source_t *src;
    const char *kerr = NULL;
    apr_uint32_t gen = 0;

    if (!(hit->alg->bit & mab_conf_alg_mask(conf)) || (conf->at_jwt == 1 && !hit->typ_at_jwt)) {
        return 0;
    }
    if (hit->alg->family == MAB_FAMILY_HMAC) {
        return mab_tokencache_verified_by(hit, conf->secret);
    }
    if (!(src = mab_conf_key_source(conf))) {
        return 0;
    }
    if (hit->mark) {
        /* Only a front hit keeps a note to compare the generation with. */
        gen = mab_keycache_current_gen(mab_glue_keycache, src,
                                       (apr_uint32_t)apr_time_sec(r->request_time));
        if (gen && hit->mark->scope == src && hit->mark->gen == gen) {
            return 1;
        }
    }
    if (!mab_tokencache_key_in(hit, mab_keycache_get(mab_glue_keycache, src, r->pool, 0, &kerr))) {
        return 0;
    }
    if (hit->mark) {
        hit->mark->scope = src; /* gen was read first: a newer set may have vouched too */
        hit->mark->gen = gen;
    }
    return 1;
}

static void take_hit(request_rec *r, mab_req_t *st, const mab_tokencache_hit_t *hit)
{
    st->claims = hit->claims;
    st->exports = hit->exports;
    st->kid = hit->kid;
    st->alg = hit->alg->name;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "MAB00110: token %s: signature verified earlier",
                  st->fingerprint);
}

/* issue 6: a token this thread saw verified a moment ago, compared byte for byte. */
static int front_hit(request_rec *r, mab_req_t *st, const mab_dir_conf_t *conf, const char *tok,
                     apr_size_t len)
{
    mab_tokencache_hit_t hit;

    if (!mab_tokencache_front_lookup(token_cache, tok, len,
                                     (long long)apr_time_sec(r->request_time), r->pool, &hit)) {
        return 0;
    }
    st->fingerprint = hex8(r->pool, hit.digest);
    if (!usable(r, conf, &hit)) {
        return 0;
    }
    take_hit(r, st, &hit);
    return 1;
}

/* issue 6: a token this process verified before, still bound to a key this location
 * trusts now. Anything that does not line up takes the full path, which words the
 * refusal. The caller checks the claims either way. */
static int cached(request_rec *r, mab_req_t *st, const mab_dir_conf_t *conf,
                  const unsigned char *digest, const char *tok, apr_size_t len)
{
    mab_tokencache_hit_t hit;

    if (!mab_tokencache_lookup(token_cache, digest, (long long)apr_time_sec(r->request_time),
                               r->pool, &hit)) {
        return 0;
    }
    if (!usable(r, conf, &hit)) {
        return 0;
    }
    mab_tokencache_front_put(token_cache, tok, len, &hit);
    take_hit(r, st, &hit);
    return 1;
}

/* issue 6: kept until its exp, for whichever location sees it next. The request goes on
 * with the entry's copy, whose environment text is already written. */
static void remember(request_rec *r, mab_req_t *st, const unsigned char *digest,
                     const mab_jws_t *jws, const mab_key_t *key, const char *tok, apr_size_t len)
{
    json_t *v = json_object_get(st->claims, "exp");
    mab_tokencache_hit_t held;
    double exp;

    if (!json_is_number(v)) {
        return;
    }
    exp = json_number_value(v);
    if (!isfinite(exp) || exp < 0 || exp > MAB_MAX_NUMERIC_DATE) {
        return;
    }
    /* The parse's reference goes to the entry: no copy, and this request then holds the
     * entry like any hit, so it never touches the claims' own count again. */
    mab_json_disown(r->pool, st->claims);
    if (mab_tokencache_store(token_cache, digest, (long long)exp,
                             (long long)apr_time_sec(r->request_time), st->claims, jws->alg,
                             jws->kid, mab_jws_typ_is(jws, "at+jwt"), key, r->pool, &held)) {
        st->claims = held.claims;
        st->exports = held.exports;
        mab_tokencache_front_put(token_cache, tok, len, &held);
    }
    else {
        mab_json_own(r->pool, st->claims);
    }
}

static apr_status_t free_exports(void *data)
{
    mab_exports_free(data);
    return APR_SUCCESS;
}

/* The full path: parse, check the header, verify the signature, parse the claims.
 * NULL when all of it worked (st->claims is set), else the refusal. */
static mab_req_t *verify_token(request_rec *r, mab_req_t *st, const mab_dir_conf_t *conf,
                               const char *tok, apr_size_t len, const unsigned char *digest)
{
    const char *detail = NULL;
    const mab_key_t *key = NULL;
    mab_jws_t *jws = NULL;
    mab_err_e err;

    err = mab_jws_parse(r->pool, tok, len, mab_conf_max_token_size(conf), &jws, &detail);
    if (jws) {
        st->kid = jws->kid;
        st->alg = jws->alg_name;
    }
    if (err != MAB_OK) {
        return reject(st, err, detail);
    }
    if (conf->at_jwt == 1 && !mab_jws_typ_is(jws, "at+jwt")) {
        return reject(
            st, MAB_ERR_TOKEN_TYPE,
            apr_psprintf(r->pool, "typ is %s, not at+jwt", jws->typ ? jws->typ : "absent"));
    }
    err = verify_signature(r, conf, jws, &key, &detail);
    if (err != MAB_OK) {
        return reject(st, err, detail);
    }
    st->claims = mab_claims_parse(r->pool, jws->payload, jws->payload_len, &detail);
    if (!st->claims) {
        return reject(st, MAB_ERR_MALFORMED, apr_pstrcat(r->pool, "payload: ", detail, NULL));
    }
    if (digest && key) {
        remember(r, st, digest, jws, key, tok, len);
    }
    return NULL;
}

/* The location's own requirements, on a fresh or a cached token alike. */
static mab_req_t *check_claims(request_rec *r, mab_req_t *st, const mab_dir_conf_t *conf)
{
    const char *detail = NULL;
    mab_claim_policy_t policy;
    mab_err_e err;
    const json_t *v;

    v = json_object_get(st->claims, "iss");
    st->iss = json_is_string(v) ? json_string_value(v) : NULL;
    policy.issuer = conf->issuer;
    policy.audiences = conf->audiences;
    policy.audience_any = conf->audience_any == 1;
    policy.skew = conf->skew >= 0 ? conf->skew : MAB_DEFAULT_SKEW;
    policy.now = (long long)apr_time_sec(r->request_time);
    policy.access_token_jwt = conf->at_jwt == 1;
    err = mab_claims_validate(st->claims, &policy, r->pool, &detail);
    if (err != MAB_OK) {
        return reject(st, err, detail);
    }
    v = mab_claims_lookup(st->claims, conf->user_claim ? conf->user_claim : MAB_DEFAULT_USER_CLAIM);
    if (!json_is_string(v) || json_string_length(v) == 0) {
        return reject(st, MAB_ERR_USER_CLAIM,
                      apr_psprintf(r->pool, "claim %s is absent or not a non-empty string",
                                   conf->user_claim ? conf->user_claim : MAB_DEFAULT_USER_CLAIM));
    }
    st->user = apr_pstrmemdup(r->pool, json_string_value(v), json_string_length(v));
    if (!st->exports) {
        /* Not cached: written for this request only. */
        mab_exports_t *x = mab_exports_build(st->claims);
        if (!x) {
            return fail(st, HTTP_INTERNAL_SERVER_ERROR, NULL, NULL,
                        "out of memory writing the claims as text");
        }
        apr_pool_cleanup_register(r->pool, x, free_exports, apr_pool_cleanup_null);
        st->exports = x;
    }
    st->status = OK;
    return st;
}

static mab_req_t *verify(request_rec *r, mab_req_t *st, const mab_dir_conf_t *conf)
{
    unsigned char digest[MAB_TOKENCACHE_DIGEST_LEN];
    const char *auth, *tok, *end, *missing;
    apr_size_t len;
    int use_cache;

    missing = mab_conf_missing(conf);
    if (missing) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "MAB00010: %s is not configured for %s: AuthType Bearer refuses every "
                      "request until it is set",
                      missing, r->uri);
        return fail(st, HTTP_INTERNAL_SERVER_ERROR, NULL, NULL, missing);
    }
    auth = apr_table_get(r->headers_in,
                         (PROXYREQ_PROXY == r->proxyreq) ? "Proxy-Authorization" : "Authorization");
    if (!auth) {
        return fail(st, HTTP_UNAUTHORIZED, NULL, NULL, "no Authorization header");
    }
    while (apr_isspace(*auth)) {
        auth++;
    }
    if (strncasecmp(auth, "Bearer", 6) != 0 || (auth[6] && !apr_isspace(auth[6]))) {
        return fail(st, HTTP_UNAUTHORIZED, NULL, NULL, "Authorization is not a Bearer credential");
    }
    tok = auth + 6;
    while (apr_isspace(*tok)) {
        tok++;
    }
    if (!*tok) {
        return fail(st, HTTP_BAD_REQUEST, "invalid_request", "empty bearer token", NULL);
    }
    /* The credential ends at white space (apr_isspace's set), ',' or the end of the header. */
    len = strcspn(tok, " \t\n\v\f\r,");
    end = tok + len;
    while (apr_isspace(*end)) {
        end++;
    }
    if (*end) {
        return fail(st, HTTP_BAD_REQUEST, "invalid_request", "more than one token", NULL);
    }
    if (query_has_token(r)) {
        return fail(st, HTTP_BAD_REQUEST, "invalid_request", "token sent in more than one way",
                    "access_token query parameter and Authorization header");
    }
    use_cache = token_cache && conf->token_cache != 0 && len <= mab_conf_max_token_size(conf);
    /* A hit is the very bytes of a token that passed every check below when it was stored. */
    if (use_cache && front_hit(r, st, conf, tok, len)) {
        return check_claims(r, st, conf);
    }
    /* One SHA-256 of the whole token: the log fingerprint and the cache key. */
    if (mab_tokencache_digest(tok, len, digest) == 0) {
        st->fingerprint = hex8(r->pool, digest);
    }
    else {
        st->fingerprint = "-";
        use_cache = 0;
    }
    if (!use_cache || !cached(r, st, conf, digest, tok, len)) {
        mab_req_t *refused;
        if (!is_b64token(tok, len)) {
            return reject(st, MAB_ERR_MALFORMED, "not a b64token");
        }
        refused = verify_token(r, st, conf, tok, len, use_cache ? digest : NULL);
        if (refused) {
            return refused;
        }
    }
    return check_claims(r, st, conf);
}

mab_req_t *mab_request_verify(request_rec *r)
{
    mab_req_t *st = ap_get_module_config(r->request_config, &auth_bearer_module);

    if (st) {
        return st;
    }
    if (!is_bearer(r)) {
        return NULL;
    }
    st = apr_pcalloc(r->pool, sizeof(*st));
    ap_set_module_config(r->request_config, &auth_bearer_module, st);
    return verify(r, st, ap_get_module_config(r->per_dir_config, &auth_bearer_module));
}

int mab_authn_result(request_rec *r, const mab_req_t *st)
{
    if (st->status == OK) {
        r->user = (char *)st->user;
        r->ap_auth_type = (char *)MAB_AUTH_TYPE;
        mab_export_env(r, st);
        return OK;
    }
    if (st->status != HTTP_INTERNAL_SERVER_ERROR) {
        set_challenge(r, st->error, st->description, NULL);
    }
    log_denial(r, st->status, st, st->description ? st->description : st->detail,
               st->description ? st->detail : NULL);
    return st->status;
}

static int authenticate(request_rec *r)
{
    mab_req_t *st;

    if (!is_bearer(r)) {
        return DECLINED;
    }
    st = mab_request_verify(r);
    if (mab_optional_anonymous(r, st)) {
        return OK;
    }
    return mab_authn_result(r, st);
}

/* mod_authz_core asks the auth type for a challenge when authorization fails after a
 * successful authentication (e.g. Require user); answer with a plain Bearer challenge. */
static int note_auth_failure(request_rec *r, const char *auth_type)
{
    if (strcasecmp(auth_type, MAB_AUTH_TYPE) != 0) {
        return DECLINED;
    }
    if (!apr_table_get(r->err_headers_out, "WWW-Authenticate")) {
        set_challenge(r, NULL, NULL, NULL);
    }
    return OK;
}

/* A 403 decided by our authz providers gets its RFC 6750 challenge and its log line here,
 * once the outcome is final: a provider that said no inside a <RequireAny> that another
 * provider granted must leave no trace on the response. */
static void insert_error_filter(request_rec *r)
{
    mab_req_t *st;

    if (r->status != HTTP_FORBIDDEN) {
        return;
    }
    st = ap_get_module_config(r->request_config, &auth_bearer_module);
    if (!st || st->status != OK) {
        return;
    }
    if (st->denied_scopes && st->denied_scopes->nelts) {
        const char *scopes = apr_array_pstrcat(r->pool, st->denied_scopes, ' ');
        set_challenge(r, "insufficient_scope", NULL, scopes);
        log_denial(r, HTTP_FORBIDDEN, st, "insufficient scope",
                   apr_pstrcat(r->pool, "requires ", scopes, NULL));
    }
    else if (st->denied_claim) {
        log_denial(r, HTTP_FORBIDDEN, st, "claim requirement not met", st->denied_claim);
    }
    else if (st->refused_rule) {
        log_denial(r, HTTP_FORBIDDEN, st, "token meets a negated requirement", st->refused_rule);
    }
}

static void register_hooks(apr_pool_t *p)
{
    b64token_init();
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE); /* issue 4 */
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_authn(authenticate, NULL, NULL, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(note_auth_failure, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(insert_error_filter, NULL, NULL, APR_HOOK_MIDDLE);
    mab_register_authz_providers(p);
    mab_register_handoff_hooks(p);
    mab_register_access_hooks(p);
    mab_register_status_handler(); /* issue 4 */
}

/* clang-format off */
AP_DECLARE_MODULE(auth_bearer) = {
    STANDARD20_MODULE_STUFF,
    mab_create_dir_conf,  /* per-directory config */
    mab_merge_dir_conf,   /* merged down the URL space */
    mab_create_srv_conf,  /* server-wide key cache settings */
    NULL,                 /* only the main server's are used */
    mab_cmds,
    register_hooks,
    AP_MODULE_FLAG_NONE,
};
/* clang-format on */
