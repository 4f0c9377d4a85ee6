/* RFC 9728 protected resource metadata in httpd.
 *
 * At startup (check_config, so apachectl -t sees the errors too) every section that says
 * AuthBearerResource gets its document: its settings merged as httpd would merge them for
 * the section's own URL (the server's, then each matching <Location>/<Directory> in order),
 * authorization_servers from its AuthBearerIssuer, scopes_supported from
 * AuthBearerResourceScopes or else from the Require scope lines of the section and of the
 * <Location>s beneath it that belong to the same resource. Each server (virtual host) keeps
 * its documents by path.
 *
 * The document is public and must be reachable without a token even where "/" is
 * protected: it is answered in the quick_handler phase, which runs before httpd's
 * translate, map, access, authentication and authorization phases (mod_cache's phase), so
 * no Require line and no AuthType of any section can refuse it. */
#include <apr_hash.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>

#include "mab_resource.h"
#include "mod_auth_bearer_config.h"
#include "mod_auth_bearer_resource.h"
#include "mod_auth_bearer_sender_conf.h"
#include "mab_verifier.h"
#include "mab_alg.h"
#include "mod_auth_bearer_resource_conf.h"

/* How long clients may reuse a document (Cache-Control max-age, seconds). */
#define MAB_RESOURCE_MAX_AGE 3600

typedef struct {
    const char *identifier;
    const char *doc;
    const char *etag;
    const char *where;
    const ap_conf_vector_t *section;
} doc_t;

/* server_rec * -> (path -> doc_t *) */
static apr_hash_t *by_server;

void mab_resource_pre_config(apr_pool_t *pconf)
{
    by_server = NULL;
    mab_resource_conf_pre_config(pconf);
}

/* httpd 2.4's <Location> match for a plain (not regex, not wildcard) section path. */
static int location_matches(const char *sec, const char *uri)
{
    size_t n = strlen(sec);

    return strncmp(sec, uri, n) == 0
           && (n == 0 || sec[n - 1] == '/' || uri[n] == '/' || uri[n] == '\0');
}

static int plain_section(const ap_conf_vector_t *v)
{
    core_dir_config *cd = ap_get_core_module_config((ap_conf_vector_t *)v);

    return cd && cd->d && !cd->r && !cd->d_is_fnmatch;
}

static const char *section_path(const ap_conf_vector_t *v)
{
    core_dir_config *cd = ap_get_core_module_config((ap_conf_vector_t *)v);

    return cd && cd->d ? cd->d : "";
}

/* The module's configuration for `path` in server s, merged like httpd does over `secs`
 * (sec_url or sec_dir); NULL secs: the server's own. */
static const mab_dir_conf_t *merged_at(server_rec *s, const apr_array_header_t *secs,
                                       const char *path, apr_pool_t *p)
{
    const mab_dir_conf_t *conf = ap_get_module_config(s->lookup_defaults, &auth_bearer_module);
    int i;

    conf = conf ? conf : mab_create_dir_conf(p, NULL);
    for (i = 0; secs && i < secs->nelts; i++) {
        ap_conf_vector_t *v = APR_ARRAY_IDX(secs, i, ap_conf_vector_t *);
        mab_dir_conf_t *add = ap_get_module_config(v, &auth_bearer_module);
        if (add && plain_section(v) && location_matches(section_path(v), path)) {
            conf = mab_merge_dir_conf(p, (void *)conf, add);
        }
    }
    return conf;
}

/* The <VirtualHost> node a section node is in, or NULL. */
static const ap_directive_t *vhost_of(const ap_directive_t *d)
{
    for (; d; d = d->parent) {
        if (strcasecmp(d->directive, "<VirtualHost") == 0) {
            return d;
        }
    }
    return NULL;
}

/* Whether a line in vhost node `vh` (NULL: the main server) applies to server s: the main
 * server's sections apply to every virtual host too. */
static int applies_to(const ap_directive_t *vh, const server_rec *s)
{
    if (!vh) {
        return 1;
    }
    return s->is_virtual && s->defn_name && strcmp(vh->filename, s->defn_name) == 0
           && vh->line_num == (int)s->defn_line_number;
}

/* The path of a <Location path> node. */
static const char *node_path(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d->args, *end = strrchr(args, '>');
    const char *a = end ? apr_pstrmemdup(p, args, (apr_size_t)(end - args)) : args;

    return ap_getword_conf(p, &a);
}

static void add_unique(apr_array_header_t *list, const char *s)
{
    int i;

    for (i = 0; i < list->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(list, i, const char *), s) == 0) {
            return;
        }
    }
    APR_ARRAY_PUSH(list, const char *) = s;
}

/* scopes_supported by default: the Require scope lines of the resource's own section (its
 * <If>, <RequireAny> … included) and of the <Location>s beneath its URL path that are the
 * same resource. */
static apr_array_header_t *collected_scopes(server_rec *s, const mab_resource_conf_t *rc,
                                            const char *url_path, apr_pool_t *p)
{
    const apr_array_header_t *lines = mab_resource_scope_lines();
    core_server_config *core = ap_get_core_module_config(s->module_config);
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    int i, j;

    for (i = 0; lines && i < lines->nelts; i++) {
        const mab_scope_line_t *l = &APR_ARRAY_IDX(lines, i, mab_scope_line_t);
        const ap_directive_t *sec = mab_resource_section_of(l->directive);
        int mine = sec == rc->section && sec != NULL;

        if (!mine && sec && url_path && strcasecmp(sec->directive, "<Location") == 0
            && applies_to(vhost_of(sec), s)) {
            const char *q = node_path(p, sec);
            const mab_dir_conf_t *at =
                location_matches(url_path, q) ? merged_at(s, core->sec_url, q, p) : NULL;
            const char *id = at ? mab_resource_conf_identifier(at->resource) : NULL;
            mine = id && strcmp(id, rc->identifier) == 0;
        }
        for (j = 0; mine && j < l->scopes->nelts; j++) {
            add_unique(out, APR_ARRAY_IDX(l->scopes, j, const char *));
        }
    }
    return out;
}

/* RFC 9728 §2: what the section says about sender-constrained tokens. */
static void sender_meta(const mab_dir_conf_t *conf, apr_pool_t *p, mab_resource_meta_t *m)
{
    mab_sender_policy_t sp;
    apr_array_header_t *algs;
    size_t i;

    mab_sender_conf_policy(conf->sender, &sp);
    m->cert_bound = sp.cert_bound == MAB_BIND_REQUIRED;
    m->dpop_required = sp.dpop == MAB_BIND_REQUIRED;
    if (sp.dpop == MAB_BIND_OFF) {
        return;
    }
    algs = apr_array_make(p, MAB_ALG_COUNT, sizeof(const char *));
    for (i = 0; i < MAB_ALG_COUNT; i++) {
        const mab_alg_t *a = mab_alg_at(i);
        if (a->bit & sp.dpop_alg_mask) {
            APR_ARRAY_PUSH(algs, const char *) = a->name;
        }
    }
    m->dpop_algs = algs;
}

static apr_hash_t *docs_of(const server_rec *s)
{
    return by_server ? apr_hash_get(by_server, &s, sizeof(s)) : NULL;
}

/* Files the document of one resource section (conf: its merged settings) of server s;
 * -1 on a conflict. url_path: the section's URL path (a <Location>'s, "/" for the server's),
 * NULL for a <Directory> or a regex section. */
static int add_section(server_rec *s, const ap_conf_vector_t *section, const mab_dir_conf_t *conf,
                       const char *url_path, apr_hash_t *docs, apr_hash_t *ids, apr_pool_t *pconf,
                       apr_pool_t *ptemp)
{
    const mab_resource_conf_t *rc = conf->resource;
    mab_resource_meta_t m;
    doc_t *d, *other;
    const char *path;

    if (!mab_resource_conf_metadata(rc)) {
        return 0;
    }
    memset(&m, 0, sizeof(m));
    m.resource = rc->identifier;
    m.authorization_servers = conf->issuers;
    m.scopes = rc->scopes ? rc->scopes : collected_scopes(s, rc, url_path, ptemp);
    m.name = rc->name;
    m.documentation = rc->documentation;
    sender_meta(conf, pconf, &m);
    d = apr_pcalloc(pconf, sizeof(*d));
    d->identifier = apr_pstrdup(pconf, rc->identifier);
    d->doc = mab_resource_document(pconf, &m);
    d->etag = d->doc ? mab_resource_etag(pconf, d->doc) : NULL;
    d->where = rc->where;
    d->section = section;
    if (!d->doc || !d->etag) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "MAB00700: AuthBearerResource %s (%s): cannot build its metadata document",
                     rc->identifier, rc->where);
        return -1;
    }
    other = apr_hash_get(ids, d->identifier, APR_HASH_KEY_STRING);
    if (!other && !conf->issuers) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "MAB00703: AuthBearerResource %s (%s) has no AuthBearerIssuer: its metadata "
                     "names no authorization server, which clients (MCP) require",
                     rc->identifier, rc->where);
    }
    if (other && other->section != section && strcmp(other->doc, d->doc) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "MAB00701: AuthBearerResource %s is declared at %s and at %s with different "
                     "metadata (%s against %s): one identifier has one document; give the "
                     "sections the same settings, or different identifiers",
                     d->identifier, other->where, d->where, other->doc, d->doc);
        return -1;
    }
    apr_hash_set(ids, d->identifier, APR_HASH_KEY_STRING, d);
    path = mab_resource_metadata_path(pconf, d->identifier);
    other = apr_hash_get(docs, path, APR_HASH_KEY_STRING);
    if (other && strcmp(other->identifier, d->identifier) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "MAB00702: AuthBearerResource %s (%s) and %s (%s) have their metadata at "
                     "the same URL path %s of this server: choose identifiers whose paths "
                     "differ",
                     other->identifier, other->where, d->identifier, d->where, path);
        return -1;
    }
    apr_hash_set(docs, path, APR_HASH_KEY_STRING, d);
    return 0;
}

/* The resource sections of one list (sec_url: urls 1, sec_dir: urls 0). */
static int add_list(server_rec *s, const apr_array_header_t *secs, int urls, apr_hash_t *docs,
                    apr_hash_t *ids, apr_pool_t *pconf, apr_pool_t *ptemp)
{
    const mab_dir_conf_t *top = ap_get_module_config(s->lookup_defaults, &auth_bearer_module);
    int i, rc = 0;

    for (i = 0; secs && i < secs->nelts; i++) {
        ap_conf_vector_t *v = APR_ARRAY_IDX(secs, i, ap_conf_vector_t *);
        mab_dir_conf_t *own = ap_get_module_config(v, &auth_bearer_module);
        const mab_dir_conf_t *conf;
        const char *url_path = NULL;

        if (!own || !mab_resource_conf_identifier(own->resource)) {
            continue;
        }
        if (plain_section(v)) {
            conf = merged_at(s, secs, section_path(v), ptemp);
            url_path = urls ? section_path(v) : NULL;
        }
        else {
            /* a regex or wildcard section: its own settings over the server's */
            conf = top ? mab_merge_dir_conf(ptemp, (void *)top, own) : own;
        }
        if (add_section(s, v, conf, url_path, docs, ids, pconf, ptemp) != 0) {
            rc = -1;
        }
    }
    return rc;
}

int mab_resource_check_config(server_rec *main_server, apr_pool_t *pconf, apr_pool_t *ptemp)
{
    apr_hash_t *ids = apr_hash_make(ptemp);
    server_rec *s;
    int rc = 0;

    by_server = apr_hash_make(pconf);
    for (s = main_server; s; s = s->next) {
        core_server_config *core = ap_get_core_module_config(s->module_config);
        const mab_dir_conf_t *top = ap_get_module_config(s->lookup_defaults, &auth_bearer_module);
        apr_hash_t *docs = apr_hash_make(pconf);
        server_rec **key = apr_palloc(pconf, sizeof(*key));

        if (top && mab_resource_conf_identifier(top->resource)
            && add_section(s, NULL, top, "/", docs, ids, pconf, ptemp) != 0) {
            rc = -1;
        }
        if (add_list(s, core->sec_url, 1, docs, ids, pconf, ptemp) != 0
            || add_list(s, core->sec_dir, 0, docs, ids, pconf, ptemp) != 0) {
            rc = -1;
        }
        if (apr_hash_count(docs)) {
            *key = s;
            apr_hash_set(by_server, key, sizeof(*key), docs);
        }
    }
    return rc;
}

int mab_resource_declared(const request_rec *r)
{
    const mab_dir_conf_t *conf = mab_dir_conf(r);

    return conf && mab_resource_conf_identifier(conf->resource) != NULL;
}

const char *mab_resource_challenge_url(const request_rec *r)
{
    const mab_dir_conf_t *conf = mab_dir_conf(r);

    if (!conf || !mab_resource_conf_metadata(conf->resource)) {
        return NULL;
    }
    return mab_resource_metadata_url(r->pool, conf->resource->identifier,
                                     conf->resource->public_url);
}

int mab_resource_quick_handler(request_rec *r, int lookup_uri)
{
    apr_hash_t *docs;
    const doc_t *d;
    const char *inm;

    if (lookup_uri || r->main || !r->parsed_uri.path || !(docs = docs_of(r->server))) {
        return DECLINED;
    }
    d = apr_hash_get(docs, r->parsed_uri.path, APR_HASH_KEY_STRING);
    if (!d) {
        return DECLINED;
    }
    /* A public document: any origin may read it (browser-based clients). */
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin", "*");
    if (r->method_number == M_OPTIONS) {
        apr_table_setn(r->err_headers_out, "Allow", "GET, HEAD, OPTIONS");
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Headers", "*");
        apr_table_setn(r->err_headers_out, "Access-Control-Max-Age", "86400");
        r->status = HTTP_NO_CONTENT;
        return OK;
    }
    if (r->method_number != M_GET) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_OPTIONS);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    apr_table_setn(r->err_headers_out, "Cache-Control",
                   apr_psprintf(r->pool, "max-age=%d", MAB_RESOURCE_MAX_AGE));
    apr_table_setn(r->err_headers_out, "ETag", d->etag);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "MAB00704: metadata of %s answered",
                  d->identifier);
    inm = apr_table_get(r->headers_in, "If-None-Match");
    if (inm && mab_resource_etag_matches(inm, d->etag)) {
        r->status = HTTP_NOT_MODIFIED;
        return OK;
    }
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, (apr_off_t)strlen(d->doc));
    if (!r->header_only) {
        ap_rputs(d->doc, r);
    }
    return OK;
}
