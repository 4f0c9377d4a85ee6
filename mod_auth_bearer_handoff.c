/* Hands the verified identity to a proxied application (or CGI program) as request
 * headers, and makes sure a client can never supply those headers itself.
 *
 * Where the removal happens: every configured name is removed from the client's request
 * in header_parser (REALLY_FIRST), the first hook that knows the per-directory
 * configuration and the earliest other modules (mod_setenvif, mod_rewrite, authn, authz,
 * the access log of a 401/403) could read a spoofed value; it runs for every main request,
 * internal redirects included. It is removed again in fixups, which also runs for
 * subrequests (their headers are a copy of the main request's, but their configuration can
 * differ), right before the verified values are set: nothing that reaches a handler (CGI,
 * mod_proxy) can carry a client's copy, whether the request was authenticated, anonymous,
 * or under a public section of the same configuration. */
#include <apr_lib.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_request.h>

#include <jansson.h>

#include "mab_b64.h"
#include "mab_claims.h"
#include "mab_exports.h"
#include "mod_auth_bearer.h"

#ifdef APLOG_USE_MODULE
APLOG_USE_MODULE(auth_bearer);
#endif

/* Headers a claim must never overwrite: message framing, routing and credentials. */
static const char *const reserved_headers[] = {"Authorization",
                                               "Proxy-Authorization",
                                               "Host",
                                               "Content-Length",
                                               "Content-Type",
                                               "Transfer-Encoding",
                                               "Connection",
                                               "Keep-Alive",
                                               "TE",
                                               "Trailer",
                                               "Upgrade",
                                               "Expect",
                                               "Cookie",
                                               "Forwarded",
                                               "X-Forwarded-For",
                                               "X-Forwarded-Host",
                                               "X-Forwarded-Server"};

/* An RFC 9110 field name (a token) without '_': many proxies and CGI-style gateways drop
 * or rewrite underscores, and "X_User" would become the same HTTP_X_USER as "X-User". */
static const char *header_name_error(apr_pool_t *p, const char *name)
{
    const char *c;
    size_t i;

    if (!*name) {
        return "empty header name";
    }
    for (c = name; *c; c++) {
        if (*c == '_') {
            return apr_psprintf(p, "header name '%s' contains '_' (use '-')", name);
        }
        if (!apr_isalnum(*c) && !ap_strchr_c("!#$%&'*+-.^`|~", *c)) {
            return apr_psprintf(p, "'%s' is not a valid header name", name);
        }
    }
    for (i = 0; i < sizeof(reserved_headers) / sizeof(reserved_headers[0]); i++) {
        if (strcasecmp(name, reserved_headers[i]) == 0) {
            return apr_psprintf(p, "header %s is reserved and cannot carry a claim", name);
        }
    }
    return NULL;
}

const char *mab_set_claim_header(cmd_parms *cmd, void *dconf, const char *claim, const char *header)
{
    mab_dir_conf_t *conf = dconf;

    return mab_conf_claim_map(cmd, &conf->claim_headers, claim, header,
                              header_name_error(cmd->temp_pool, header));
}

const char *mab_set_payload_header(cmd_parms *cmd, void *dconf, const char *header)
{
    mab_dir_conf_t *conf = dconf;
    const char *why = header_name_error(cmd->temp_pool, header);

    if (why) {
        return apr_pstrcat(cmd->pool, "AuthBearerPayloadHeader: ", why, NULL);
    }
    conf->payload_header = header;
    return NULL;
}

static apr_array_header_t *append(apr_pool_t *p, apr_array_header_t *base, apr_array_header_t *add)
{
    if (base && add) {
        return apr_array_append(p, base, add);
    }
    return add ? add : base;
}

void mab_merge_handoff(apr_pool_t *p, mab_dir_conf_t *conf, const mab_dir_conf_t *base,
                       const mab_dir_conf_t *add)
{
    /* Inner sections add headers: a name configured outside is still removed inside. */
    conf->claim_headers = append(p, base->claim_headers, add->claim_headers);
    conf->claim_envs = append(p, base->claim_envs, add->claim_envs);
    conf->payload_header = add->payload_header ? add->payload_header : base->payload_header;
    conf->pass_token = add->pass_token != -1 ? add->pass_token : base->pass_token;
    conf->optional = add->optional != -1 ? add->optional : base->optional;
    conf->allow_preflight =
        add->allow_preflight != -1 ? add->allow_preflight : base->allow_preflight;
    conf->scope_claim = add->scope_claim ? add->scope_claim : base->scope_claim;
}

/* Header names compare case-insensitively, and '_' equals '-' (see header_name_error). */
static int same_header(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a == '_' ? '-' : (char)apr_tolower(*a);
        char y = *b == '_' ? '-' : (char)apr_tolower(*b);
        if (x != y) {
            return 0;
        }
    }
    return *a == *b;
}

static int is_configured(const mab_dir_conf_t *conf, const char *name)
{
    int i;

    if (conf->payload_header && same_header(conf->payload_header, name)) {
        return 1;
    }
    for (i = 0; conf->claim_headers && i < conf->claim_headers->nelts; i++) {
        if (same_header(APR_ARRAY_IDX(conf->claim_headers, i, mab_claim_map_t).name, name)) {
            return 1;
        }
    }
    return 0;
}

typedef struct {
    const mab_dir_conf_t *conf;
    apr_array_header_t *found;
} strip_ctx_t;

static int find_configured(void *data, const char *key, const char *value)
{
    strip_ctx_t *ctx = data;

    if (is_configured(ctx->conf, key)) {
        APR_ARRAY_PUSH(ctx->found, const char *) = key;
    }
    return 1;
}

/* `log`: only the first pass over what the client sent says so; later passes (internal
 * redirects, subrequests, fixups) also remove the module's own values from earlier. */
static void strip_client_copies(request_rec *r, const mab_dir_conf_t *conf, int log)
{
    strip_ctx_t ctx;
    int i;

    if (!conf->claim_headers && !conf->payload_header) {
        return;
    }
    ctx.conf = conf;
    ctx.found = apr_array_make(r->pool, 2, sizeof(const char *));
    apr_table_do(find_configured, &ctx, r->headers_in, NULL);
    for (i = 0; i < ctx.found->nelts; i++) {
        const char *name = APR_ARRAY_IDX(ctx.found, i, const char *);
        /* The value is the client's and may be anything: only the name is logged. */
        if (log) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "MAB00300: removed client-sent request header %s from %s (the module "
                          "sets it from the verified token)",
                          ap_escape_logitem(r->pool, name), ap_escape_logitem(r->pool, r->uri));
        }
        apr_table_unset(r->headers_in, name);
    }
}

static int strip_early(request_rec *r)
{
    strip_client_copies(r, ap_get_module_config(r->per_dir_config, &auth_bearer_module),
                        r->prev == NULL);
    return DECLINED;
}

/* This request's verification, or the one it inherited: httpd skips authentication for a
 * subrequest or internal redirect whose configuration is the same as its parent's. */
static const mab_req_t *state_of(const request_rec *r)
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

/* Header values cannot hold CR, LF or other controls (tab is fine): such a claim is not
 * forwarded rather than mangled or allowed to split the request. */
static int header_safe(const char *v)
{
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static void set_claim_headers(request_rec *r, const mab_dir_conf_t *conf, const mab_req_t *st)
{
    int i;

    for (i = 0; conf->claim_headers && i < conf->claim_headers->nelts; i++) {
        const mab_claim_map_t *h = &APR_ARRAY_IDX(conf->claim_headers, i, mab_claim_map_t);
        const json_t *v = mab_claims_lookup(st->claims, h->claim);
        const char *text;

        if (!v || json_is_null(v)) {
            continue;
        }
        text = mab_claims_env_value(r->pool, v);
        /* No NUL can hide in a string: payloads with \u0000 are refused when parsed. */
        if (!header_safe(text)) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "MAB00301: claim %s holds control characters: request header %s is "
                          "not sent for %s",
                          ap_escape_logitem(r->pool, h->claim), h->name,
                          ap_escape_logitem(r->pool, r->uri));
            continue;
        }
        apr_table_set(r->headers_in, h->name, text);
    }
    if (conf->payload_header) {
        apr_table_setn(r->headers_in, conf->payload_header,
                       mab_b64url_encode(r->pool, (const unsigned char *)st->exports->claims_json,
                                         st->exports->claims_json_len));
    }
}

static int forward_identity(request_rec *r)
{
    const mab_dir_conf_t *conf = ap_get_module_config(r->per_dir_config, &auth_bearer_module);
    const mab_req_t *st;

    strip_client_copies(r, conf, 0);
    if (!conf->claim_headers && !conf->payload_header) {
        return DECLINED;
    }
    st = state_of(r);
    /* Only a request this module authenticated: not an anonymous one, nor one that
     * another Require line (ip, all granted) let through without authentication. */
    if (!st || st->status != OK || !r->user || !st->user || strcmp(r->user, st->user) != 0) {
        return DECLINED;
    }
    set_claim_headers(r, conf, st);
    return DECLINED;
}

/* Last of all fixups, so that modules that make subrequests in fixups (mod_dir's index
 * lookup) still authenticate them with the token. */
static int withhold_token(request_rec *r)
{
    const mab_dir_conf_t *conf = ap_get_module_config(r->per_dir_config, &auth_bearer_module);

    if (conf->pass_token == 0) {
        apr_table_unset(r->headers_in, "Authorization");
    }
    return DECLINED;
}

void mab_register_handoff_hooks(apr_pool_t *p)
{
    ap_hook_header_parser(strip_early, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_fixups(forward_identity, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_fixups(withhold_token, NULL, NULL, APR_HOOK_REALLY_LAST);
}
