/* Hands the verified identity to a proxied application (or CGI program) as request
 * headers, and makes sure a client can never supply those headers itself.
 *
 * Where the removal happens: every name configured anywhere in the virtual host's
 * configuration files is removed in post_read_request (REALLY_FIRST), before server-context
 * SetEnvIf, RewriteCond or any other module's hook can read a spoofed value. Names only an
 * .htaccess file configures are known per directory: they go in header_parser (REALLY_FIRST),
 * the first hook that knows the per-directory configuration, which runs for every main
 * request, internal redirects included. Both are removed again in fixups, which also runs for
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
#include "mab_hdrenc.h"
#include "mod_auth_bearer_config.h"
#include "mod_auth_bearer_handoff.h"
#include "mod_auth_bearer_request.h"

static int is_configured(const mab_dir_conf_t *conf, const char *name)
{
    int i;

    if (!conf) {
        return 0;
    }
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

/* One name of the virtual host's list, and the <Location> prefix it was configured under
 * (NULL: a <Directory>, <Files>, <If>, regex or server-wide section, which may apply to any
 * URL). */
typedef struct {
    const char *name;
    const char *prefix;
} scrub_name_t;

/* Whether a <Location prefix> may apply to this request line's path. The path is not yet
 * decoded or normalised here (httpd does that after post_read_request): anything that might
 * normalise into the prefix counts as a match. */
static int may_apply(const char *prefix, const char *uri)
{
    if (!prefix || !uri) {
        return 1;
    }
    if (ap_strchr_c(uri, '%') || ap_strstr_c(uri, "//") || ap_strstr_c(uri, "/.")
        || ap_strchr_c(uri, '\\')) {
        return 1;
    }
    return strncmp(uri, prefix, strlen(prefix)) == 0;
}

/* Whether the virtual host lists `name` under a section that may apply to `uri`. */
static int is_listed(const apr_array_header_t *names, const char *uri, const char *name)
{
    int i;

    for (i = 0; names && i < names->nelts; i++) {
        const scrub_name_t *n = &APR_ARRAY_IDX(names, i, scrub_name_t);
        if (mab_conf_same_header(n->name, name) && may_apply(n->prefix, uri)) {
            return 1;
        }
    }
    return 0;
}

typedef struct {
    const mab_dir_conf_t *conf;      /* a section's names, or NULL */
    const apr_array_header_t *names; /* the virtual host's (scrub_name_t), or NULL */
    const char *uri;                 /* the request line's path, for those */
    apr_array_header_t *found;
} strip_ctx_t;

static int find_configured(void *data, const char *key, const char *value)
{
    strip_ctx_t *ctx = data;

    if (is_configured(ctx->conf, key) || is_listed(ctx->names, ctx->uri, key)) {
        APR_ARRAY_PUSH(ctx->found, const char *) = key;
    }
    return 1;
}

/* `log`: only the first pass over what the client sent says so; later passes (internal
 * redirects, subrequests, fixups) also remove the module's own values from earlier. */
static void strip_client_copies(request_rec *r, const mab_dir_conf_t *conf,
                                const apr_array_header_t *names, int log)
{
    strip_ctx_t ctx;
    int i;

    if ((!conf || (!conf->claim_headers && !conf->payload_header)) && (!names || !names->nelts)) {
        return;
    }
    ctx.conf = conf;
    ctx.names = names;
    ctx.uri = r->uri;
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

void mab_handoff_scrub_vhost(request_rec *r)
{
    strip_client_copies(r, NULL, mab_srv_conf(r->server)->scrub_names, r->prev == NULL);
}

void mab_handoff_scrub(request_rec *r)
{
    strip_client_copies(r, mab_dir_conf(r), NULL, r->prev == NULL);
}

/* Each (name, prefix) once: many sections name the same header. */
static void add_name(apr_array_header_t *names, const char *name, const char *prefix)
{
    scrub_name_t *n;
    int i;

    for (i = 0; i < names->nelts; i++) {
        n = &APR_ARRAY_IDX(names, i, scrub_name_t);
        if (mab_conf_same_header(n->name, name)
            && (n->prefix == prefix || (n->prefix && prefix && strcmp(n->prefix, prefix) == 0))) {
            return;
        }
    }
    n = apr_array_push(names);

    n->name = name;
    n->prefix = prefix;
}

static void add_names(apr_array_header_t *names, const mab_dir_conf_t *conf, const char *prefix)
{
    int i;

    if (!conf) {
        return;
    }
    if (conf->payload_header) {
        add_name(names, conf->payload_header, prefix);
    }
    for (i = 0; conf->claim_headers && i < conf->claim_headers->nelts; i++) {
        add_name(names, APR_ARRAY_IDX(conf->claim_headers, i, mab_claim_map_t).name, prefix);
    }
}

/* Every section of the list, and the <Files> and <If> sections inside each (under the
 * enclosing <Location>'s prefix, if any). */
static void add_sections(apr_array_header_t *names, const apr_array_header_t *secs, int locations,
                         const char *outer, int depth)
{
    int i;

    for (i = 0; secs && depth < 8 && i < secs->nelts; i++) {
        ap_conf_vector_t *sec = APR_ARRAY_IDX(secs, i, ap_conf_vector_t *);
        core_dir_config *cd = ap_get_core_module_config(sec);
        const char *prefix = outer;

        if (locations && cd && !cd->r && cd->d) {
            prefix = cd->d;
        }
        add_names(names, ap_get_module_config(sec, &auth_bearer_module), prefix);
        if (cd) {
            add_sections(names, cd->sec_file, 0, prefix, depth + 1);
            add_sections(names, cd->sec_if, 0, prefix, depth + 1);
        }
    }
}

void mab_handoff_collect_names(server_rec *main_server, apr_pool_t *pconf)
{
    server_rec *s;

    for (s = main_server; s; s = s->next) {
        core_server_config *cs = ap_get_core_module_config(s->module_config);
        core_dir_config *cd = ap_get_core_module_config(s->lookup_defaults);
        mab_srv_conf_t *sconf = ap_get_module_config(s->module_config, &auth_bearer_module);
        apr_array_header_t *names = apr_array_make(pconf, 4, sizeof(scrub_name_t));

        add_names(names, ap_get_module_config(s->lookup_defaults, &auth_bearer_module), NULL);
        if (cd) {
            add_sections(names, cd->sec_file, 0, NULL, 0);
            add_sections(names, cd->sec_if, 0, NULL, 0);
        }
        add_sections(names, cs->sec_url, 1, NULL, 0);
        add_sections(names, cs->sec_dir, 0, NULL, 0);
        sconf->scrub_names = names;
    }
}

/* Each claim in the section's encoding (mab_hdrenc_value): a value that cannot travel as a
 * header, or that the encoding cannot carry, is withheld rather than mangled. */
static void set_claim_headers(request_rec *r, const mab_dir_conf_t *conf, const mab_verdict_t *v)
{
    mab_hdrenc_e enc = (mab_hdrenc_e)mab_conf_claim_header_encoding(conf);
    int i;

    for (i = 0; conf->claim_headers && i < conf->claim_headers->nelts; i++) {
        const mab_claim_map_t *h = &APR_ARRAY_IDX(conf->claim_headers, i, mab_claim_map_t);
        const json_t *c = mab_claims_lookup(v->claims, h->claim);
        const char *value = NULL, *why = NULL;
        mab_hdrval_e st;

        if (!c || json_is_null(c)) {
            continue;
        }
        /* No NUL can hide in a string: payloads with \u0000 are refused when parsed. */
        st = mab_hdrenc_value(r->pool, enc, mab_claims_env_value(r->pool, c), &value, &why);
        if (st == MAB_HDRVAL_UNSAFE) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "MAB00301: claim %s %s: request header %s is not sent for %s",
                          ap_escape_logitem(r->pool, h->claim), why, h->name,
                          ap_escape_logitem(r->pool, r->uri));
            continue;
        }
        if (st != MAB_HDRVAL_OK) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "MAB00604: claim %s %s: request header %s is not sent for %s "
                          "(AuthBearerClaimHeaderEncoding %s; base64url carries any value)",
                          ap_escape_logitem(r->pool, h->claim), why, h->name,
                          ap_escape_logitem(r->pool, r->uri), mab_hdrenc_name(enc));
            continue;
        }
        apr_table_set(r->headers_in, h->name, value);
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

    strip_client_copies(r, conf, NULL, 0);
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
        /* A forward proxy's client sends its token as Proxy-Authorization (which mod_proxy
         * passes on with Proxy-Chain-Auth). */
        if (r->proxyreq == PROXYREQ_PROXY) {
            apr_table_unset(r->headers_in, "Proxy-Authorization");
        }
    }
}
