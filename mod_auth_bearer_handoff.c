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
#include <apr_strings.h>
#include <http_core.h>
#include <http_request.h>

#include <jansson.h>

#include "mab_b64.h"
#include "mab_claims.h"
#include "mab_exports.h"
#include "mod_auth_bearer_config.h"
#include "mod_auth_bearer_handoff.h"
#include "mod_auth_bearer_request.h"

static int is_configured(const mab_dir_conf_t *conf, const char *name)
{
    int i;

    if (conf->payload_header && mab_conf_same_header(conf->payload_header, name)) {
        return 1;
    }
    for (i = 0; conf->claim_headers && i < conf->claim_headers->nelts; i++) {
        if (mab_conf_same_header(APR_ARRAY_IDX(conf->claim_headers, i, mab_claim_map_t).name,
                                 name)) {
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

void mab_handoff_scrub(request_rec *r)
{
    strip_client_copies(r, mab_dir_conf(r), r->prev == NULL);
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

static void set_claim_headers(request_rec *r, const mab_dir_conf_t *conf, const mab_verdict_t *v)
{
    int i;

    for (i = 0; conf->claim_headers && i < conf->claim_headers->nelts; i++) {
        const mab_claim_map_t *h = &APR_ARRAY_IDX(conf->claim_headers, i, mab_claim_map_t);
        const json_t *c = mab_claims_lookup(v->claims, h->claim);
        const char *text;

        if (!c || json_is_null(c)) {
            continue;
        }
        text = mab_claims_env_value(r->pool, c);
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
                       mab_b64url_encode(r->pool, (const unsigned char *)v->exports->claims_json,
                                         v->exports->claims_json_len));
    }
}

void mab_handoff_forward(request_rec *r)
{
    const mab_dir_conf_t *conf = mab_dir_conf(r);
    const mab_req_t *st;

    strip_client_copies(r, conf, 0);
    if (!conf->claim_headers && !conf->payload_header) {
        return;
    }
    st = mab_request_state(r);
    /* Only a request this module authenticated: not an anonymous one, nor one that
     * another Require line (ip, all granted) let through without authentication. */
    if (!st || st->status != OK || !r->user || !st->v.user || strcmp(r->user, st->v.user) != 0) {
        return;
    }
    set_claim_headers(r, conf, &st->v);
}

/* Last of all fixups, so that modules that make subrequests in fixups (mod_dir's index
 * lookup) still authenticate them with the token. */
void mab_handoff_withhold_token(request_rec *r)
{
    if (!mab_conf_pass_token(mab_dir_conf(r))) {
        apr_table_unset(r->headers_in, "Authorization");
    }
}
