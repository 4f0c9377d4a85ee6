/* Startup check: a <Location>/<Directory> that says AuthType Bearer but lacks the
 * issuer, audience or key source refuses all its requests with 500. Say so at startup.
 *
 * httpd merges sections only per request, so this approximates it: a section inherits
 * from the server and from the earlier sections of the same kind whose path is a prefix
 * of its own. Regex sections, <If> and .htaccess are not followed, so this can only
 * warn; the per-request check stays the authority. */
#include <apr_optional.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>

#include "mab_fetch.h"
#include "mab_keycache.h"
#include "mab_verifier.h"
#include "mod_auth_bearer_check.h"
#include "mod_auth_bearer_config.h"

const char *mab_check_own_auth_type(ap_conf_vector_t *sec)
{
    module *authn_core = ap_find_linked_module("mod_authn_core.c");
    APR_OPTIONAL_FN_TYPE(authn_ap_auth_type) * auth_type;
    request_rec fake;

    /* ap_auth_type() reads only mod_authn_core's slot of r->per_dir_config, which exists
     * only when the section holds one of its directives. */
    if (!authn_core || !sec || !ap_get_module_config(sec, authn_core)) {
        return NULL;
    }
    memset(&fake, 0, sizeof(fake));
    fake.per_dir_config = sec;
    /* ap_auth_type() only works once core's post_config ran; check_config runs before it. */
    auth_type = APR_RETRIEVE_OPTIONAL_FN(authn_ap_auth_type);
    return auth_type ? auth_type(&fake) : NULL;
}

static int section_is_bearer(ap_conf_vector_t *sec, module *authn_core)
{
    const char *type = authn_core ? mab_check_own_auth_type(sec) : NULL;

    return type && strcasecmp(type, MAB_AUTH_TYPE) == 0;
}

static const char *path_of(ap_conf_vector_t *sec)
{
    core_dir_config *cd = ap_get_core_module_config(sec);

    return cd && cd->d ? cd->d : "";
}

/* A virtual host's list starts with the main server's sections (httpd appends its own):
 * those were checked with the main server and are not reported once per vhost. */
static int inherited(const apr_array_header_t *main_secs, const ap_conf_vector_t *sec)
{
    int k;

    for (k = 0; main_secs && k < main_secs->nelts; k++) {
        if (((ap_conf_vector_t **)main_secs->elts)[k] == sec) {
            return 1;
        }
    }
    return 0;
}

/* What each merged Bearer section is checked for; returns -1 to fail startup. */
typedef int section_fn(server_rec *s, const char *kind, const char *path,
                       const mab_dir_conf_t *conf, const mab_dir_conf_t *own, apr_pool_t *p);

/* authn_core NULL: every section, not only those that say AuthType Bearer themselves. */
static void check_list(server_rec *s, apr_array_header_t *secs, const apr_array_header_t *main_secs,
                       const char *kind, apr_pool_t *p, module *authn_core, int all, section_fn *fn,
                       int *rc)
{
    ap_conf_vector_t **sec = (ap_conf_vector_t **)secs->elts;
    int i, j;

    for (i = 0; i < secs->nelts; i++) {
        const char *path = path_of(sec[i]);
        mab_dir_conf_t *conf;

        if (inherited(main_secs, sec[i]) || (!all && !section_is_bearer(sec[i], authn_core))) {
            continue;
        }
        conf = ap_get_module_config(s->lookup_defaults, &auth_bearer_module);
        conf = conf ? conf : mab_create_dir_conf(p, NULL);
        for (j = 0; j <= i; j++) {
            mab_dir_conf_t *add = ap_get_module_config(sec[j], &auth_bearer_module);
            const char *pj = path_of(sec[j]);
            if (add && strncmp(path, pj, strlen(pj)) == 0) {
                conf = mab_merge_dir_conf(p, conf, add);
            }
        }
        if (fn(s, kind, path, conf, ap_get_module_config(sec[i], &auth_bearer_module), p) != 0) {
            *rc = -1;
        }
    }
}

static int warn_missing(server_rec *s, const char *kind, const char *path,
                        const mab_dir_conf_t *conf, const mab_dir_conf_t *own, apr_pool_t *p)
{
    mab_policy_t policy;
    const char *missing = mab_conf_policy(s, conf, p, &policy);

    if (missing) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "MAB00007: <%s %s> uses AuthType Bearer but %s is not set there or in "
                     "an enclosing section: its requests will be refused with 500",
                     kind, path, missing);
    }
    return 0;
}

static int walk_sections(server_rec *main_server, apr_pool_t *ptemp, int all, section_fn *fn)
{
    module *authn_core = ap_find_linked_module("mod_authn_core.c");
    core_server_config *mconf = ap_get_core_module_config(main_server->module_config);
    server_rec *s;
    int rc = 0;

    for (s = main_server; s; s = s->next) {
        core_server_config *sconf = ap_get_core_module_config(s->module_config);
        int is_main = s == main_server;
        check_list(s, sconf->sec_url, is_main ? NULL : mconf->sec_url, "Location", ptemp,
                   authn_core, all, fn, &rc);
        check_list(s, sconf->sec_dir, is_main ? NULL : mconf->sec_dir, "Directory", ptemp,
                   authn_core, all, fn, &rc);
    }
    return rc;
}

/* A container's path as written ("<Location "/a/">" -> /a), for comparing with core's. */
static const char *container_path(apr_pool_t *p, const char *args)
{
    char *a = apr_pstrdup(p, args ? args : "");
    apr_size_t n = strlen(a);

    if (n && a[n - 1] == '>') {
        a[--n] = '\0';
    }
    if (n >= 2 && (a[0] == '"' || a[0] == '\'') && a[n - 1] == a[0]) {
        a[--n] = '\0';
        a++;
        n--;
    }
    while (n > 1 && a[n - 1] == '/') {
        a[--n] = '\0';
    }
    return a;
}

/* Which Require lines sit in this container or its Require* blocks: bit 1 valid-user, bit 2
 * scope or claim (which need the token, so anonymity cannot pass them). */
static int require_kinds(const ap_directive_t *d)
{
    int kinds = 0;

    for (; d; d = d->next) {
        if (strcasecmp(d->directive, "Require") == 0) {
            const char *a = d->args ? d->args : "";
            while (*a == ' ' || *a == '\t') {
                a++;
            }
            if (strncasecmp(a, "valid-user", 10) == 0) {
                kinds |= 1;
            }
            else if (strncasecmp(a, "scope", 5) == 0 || strncasecmp(a, "claim", 5) == 0
                     || strncasecmp(a, "bearer-scope", 12) == 0
                     || strncasecmp(a, "bearer-claim", 12) == 0) {
                kinds |= 2;
            }
        }
        else if (strncasecmp(d->directive, "<Require", 8) == 0) {
            kinds |= require_kinds(d->first_child);
        }
    }
    return kinds;
}

static int section_requires_valid_user(const ap_directive_t *d, const char *kind, const char *path,
                                       apr_pool_t *p, int depth)
{
    const char *want = container_path(p, path);

    for (; d && depth < 16; d = d->next) {
        if (d->directive[0] != '<') {
            continue;
        }
        if (strncasecmp(d->directive + 1, kind, strlen(kind)) == 0
            && !d->directive[1 + strlen(kind)] && strcmp(container_path(p, d->args), want) == 0
            && require_kinds(d->first_child) == 1) {
            return 1;
        }
        if (section_requires_valid_user(d->first_child, kind, path, p, depth + 1)) {
            return 1;
        }
    }
    return 0;
}

/* AuthBearerOptional On from an enclosing section turns an inner "Require valid-user" into
 * "anonymous allowed" (the empty user satisfies it) unless a scope or claim line there needs
 * the token: worth a word at startup. */
static int warn_inherited_optional(server_rec *s, const char *kind, const char *path,
                                   const mab_dir_conf_t *conf, const mab_dir_conf_t *own,
                                   apr_pool_t *p)
{
    if (mab_conf_optional(conf) && (!own || own->optional == -1)
        && section_requires_valid_user(ap_conftree, kind, path, p, 0)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "MAB00009: <%s %s> has Require valid-user but inherits AuthBearerOptional On: "
                     "requests without a token pass there as anonymous; set AuthBearerOptional Off "
                     "in it if a token is needed",
                     kind, path);
    }
    return 0;
}

/* Every issuer some section names, for the containers' check below (startup only). */
static apr_hash_t *named_issuers;

static int collect_issuers(server_rec *s, const char *kind, const char *path,
                           const mab_dir_conf_t *conf, const mab_dir_conf_t *own, apr_pool_t *p)
{
    int i;

    for (i = 0; own && own->issuers && i < own->issuers->nelts; i++) {
        const char *iss = APR_ARRAY_IDX(own->issuers, i, const char *);
        apr_hash_set(named_issuers, iss, APR_HASH_KEY_STRING, iss);
    }
    return 0;
}

/* A container no section uses is most likely a typo in the issuer, here or there: its
 * settings would silently apply nowhere. */
static void warn_unused_boxes(server_rec *main_server, apr_pool_t *ptemp)
{
    server_rec *s;

    named_issuers = apr_hash_make(ptemp);
    walk_sections(main_server, ptemp, 1, collect_issuers);
    for (s = main_server; s; s = s->next) {
        apr_hash_t *boxes = mab_srv_issuer_boxes(s);
        apr_hash_index_t *hi;

        if (!boxes || (s != main_server && boxes == mab_srv_issuer_boxes(main_server))) {
            continue;
        }
        for (hi = apr_hash_first(ptemp, boxes); hi; hi = apr_hash_next(hi)) {
            const char *iss = apr_hash_this_key(hi);
            if (!apr_hash_get(named_issuers, iss, APR_HASH_KEY_STRING)) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                             "MAB00060: <AuthBearerIssuer %s> is used by no section: no "
                             "AuthBearerIssuer line names %s (check the spelling in both)",
                             iss, iss);
            }
        }
    }
    named_issuers = NULL;
}

void mab_check_sections(server_rec *main_server, apr_pool_t *ptemp)
{
    walk_sections(main_server, ptemp, 0, warn_missing);
    walk_sections(main_server, ptemp, 1, warn_inherited_optional);
    warn_unused_boxes(main_server, ptemp);
}

/* --- transport rule for key sources ------------------------------------------------------------
 */
static int allow_insecure;

static int refuse(server_rec *s, apr_pool_t *p, const char *directive, const char *url,
                  const char *where)
{
    const char *why = NULL;

    if (mab_fetch_url_allowed(p, url, allow_insecure, &why)) {
        return 0;
    }
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                 "MAB00040: %s %s%s: %s; use https:// (or, knowing the risk, "
                 "AuthBearerAllowInsecureHTTP On)",
                 directive, url, where, why);
    return -1;
}

/* An issuer whose section has no AuthBearerJWKS and no secret is read over the network. */
static int check_discovery(server_rec *s, const char *kind, const char *path,
                           const mab_dir_conf_t *conf, const mab_dir_conf_t *own, apr_pool_t *p)
{
    mab_policy_t policy;
    int i, rc = 0;

    mab_conf_policy(s, conf, p, &policy);
    for (i = 0; i < policy.nissuers; i++) {
        struct mab_source_t *src = policy.issuers[i].keys;
        if (src && mab_source_is_discovery(src)
            && refuse(s, p, "AuthBearerIssuer", mab_source_uri(src),
                      apr_psprintf(p, " (discovery, in <%s %s>)", kind, path))
                   != 0) {
            rc = -1;
        }
    }
    return rc;
}

int mab_check_transport(server_rec *main_server, apr_pool_t *ptemp)
{
    const mab_srv_conf_t *sconf =
        ap_get_module_config(main_server->module_config, &auth_bearer_module);
    int i, rc = 0;

    allow_insecure = mab_srv_allow_insecure(sconf);
    for (i = 0; mab_conf_keycache() && i < mab_keycache_count(mab_conf_keycache()); i++) {
        struct mab_source_t *src = mab_keycache_at(mab_conf_keycache(), i);
        if (!mab_source_is_discovery(src) && mab_fetch_is_url(mab_source_uri(src))
            && refuse(main_server, ptemp, "AuthBearerJWKS", mab_source_uri(src), "") != 0) {
            rc = -1;
        }
    }
    return walk_sections(main_server, ptemp, 0, check_discovery) != 0 ? -1 : rc;
}

/* --- introspection ----------------------------------------------------------------------------
 */
/* An opaque token names no issuer: it may only ever be sent to one endpoint. */
static int check_opaque_issuers(server_rec *s, const char *kind, const char *path,
                                const mab_dir_conf_t *conf, const mab_dir_conf_t *own,
                                apr_pool_t *p)
{
    mab_policy_t policy;
    const char *first = NULL;
    int i;

    if (mab_conf_policy(s, conf, p, &policy) != NULL) {
        return 0;
    }
    for (i = 0; i < policy.nissuers; i++) {
        const mab_rules_t *rules = policy.issuers[i].rules;
        if (!rules || rules->introspect < MAB_INTROSPECT_OPAQUE || !rules->introspection) {
            continue;
        }
        if (first) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         "MAB00061: <%s %s> accepts opaque tokens of two introspecting issuers "
                         "(%s and %s): an opaque token names no issuer and must never be sent "
                         "to one it was not meant for; set AuthBearerIntrospect Off for all "
                         "but one of them",
                         kind, path, first, policy.issuers[i].iss);
            return -1;
        }
        first = policy.issuers[i].iss;
    }
    return 0;
}

int mab_check_introspection(server_rec *main_server, apr_pool_t *ptemp)
{
    int i, rc = 0;

    allow_insecure = mab_srv_allow_insecure(mab_srv_conf(main_server));
    /* First the sections: their policies register the discovered endpoints too. */
    rc = walk_sections(main_server, ptemp, 0, check_opaque_issuers);
    for (i = 0; i < mab_conf_endpoint_count(); i++) {
        const char *url = mab_conf_endpoint_at(i)->url;
        /* a discovered endpoint is checked when the metadata names it */
        if (url && refuse(main_server, ptemp, "AuthBearerIntrospection", url, "") != 0) {
            rc = -1;
        }
    }
    return rc;
}
