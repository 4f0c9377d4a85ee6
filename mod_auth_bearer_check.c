/* Startup check: a <Location>/<Directory> that says AuthType Bearer but lacks the
 * issuer, audience or key source refuses all its requests with 500. Say so at startup.
 *
 * httpd merges sections only per request, so this approximates it: a section inherits
 * from the server and from the earlier sections of the same kind whose path is a prefix
 * of its own. Regex sections, <If> and .htaccess are not followed, so this can only
 * warn; the per-request check stays the authority. */
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>

#include "mod_auth_bearer.h"

APLOG_USE_MODULE(auth_bearer);

static int section_is_bearer(ap_conf_vector_t *sec, module *authn_core)
{
    request_rec fake;
    const char *type;

    /* ap_auth_type() reads only mod_authn_core's slot of r->per_dir_config, which exists
     * only when the section holds one of its directives. */
    if (!authn_core || !ap_get_module_config(sec, authn_core)) {
        return 0;
    }
    memset(&fake, 0, sizeof(fake));
    fake.per_dir_config = sec;
    type = ap_auth_type(&fake);
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

static void check_list(server_rec *s, apr_array_header_t *secs, const apr_array_header_t *main_secs,
                       const char *kind, apr_pool_t *p, module *authn_core)
{
    ap_conf_vector_t **sec = (ap_conf_vector_t **)secs->elts;
    int i, j;

    for (i = 0; i < secs->nelts; i++) {
        const char *path = path_of(sec[i]), *missing = NULL;
        mab_dir_conf_t *conf;

        if (inherited(main_secs, sec[i]) || !section_is_bearer(sec[i], authn_core)) {
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
        missing = mab_conf_missing(conf);
        if (missing) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "MAB00007: <%s %s> uses AuthType Bearer but %s is not set there or in "
                         "an enclosing section: its requests will be refused with 500",
                         kind, path, missing);
        }
    }
}

void mab_check_sections(server_rec *main_server, apr_pool_t *ptemp)
{
    module *authn_core = ap_find_linked_module("mod_authn_core.c");
    core_server_config *mconf = ap_get_core_module_config(main_server->module_config);
    server_rec *s;

    for (s = main_server; s; s = s->next) {
        core_server_config *sconf = ap_get_core_module_config(s->module_config);
        int is_main = s == main_server;
        check_list(s, sconf->sec_url, is_main ? NULL : mconf->sec_url, "Location", ptemp,
                   authn_core);
        check_list(s, sconf->sec_dir, is_main ? NULL : mconf->sec_dir, "Directory", ptemp,
                   authn_core);
    }
}
