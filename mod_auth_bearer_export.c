/* Hands the verified identity to what the location serves: CGI/SSI environment. */
#include <apr_lib.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include <jansson.h>

#include "mab_claims.h"
#include "mab_exports.h"
#include "mod_auth_bearer.h"

#ifdef APLOG_USE_MODULE
APLOG_USE_MODULE(auth_bearer);
#endif

/* A portable environment variable name that does not shadow what httpd or this module
 * already sets: REMOTE_USER, AUTH_TYPE, the HTTP_* request headers, BEARER_CLAIM*. */
static const char *env_name_error(apr_pool_t *p, const char *name)
{
    const char *c;

    if (!*name || apr_isdigit(*name)) {
        return apr_psprintf(p, "'%s' is not a variable name", name);
    }
    for (c = name; *c; c++) {
        if (!apr_isalnum(*c) && *c != '_') {
            return apr_psprintf(p, "'%s' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", name);
        }
    }
    if (strcmp(name, "REMOTE_USER") == 0 || strcmp(name, "AUTH_TYPE") == 0
        || strncmp(name, "HTTP_", 5) == 0 || strncmp(name, "BEARER_CLAIM", 12) == 0) {
        return apr_psprintf(p, "%s is set by httpd or by the module itself", name);
    }
    return NULL;
}

const char *mab_set_claim_env(cmd_parms *cmd, void *dconf, const char *claim, const char *name)
{
    mab_dir_conf_t *conf = dconf;

    return mab_conf_claim_map(cmd, &conf->claim_envs, claim, name,
                              env_name_error(cmd->temp_pool, name));
}

/* Whether the environment already has a BEARER_CLAIM* variable (a subrequest inherits its
 * parent's). Without one, the names (unique within the exports) can be added without
 * apr_table_setn's search: its checksum covers the first four bytes, the same "BEAR" for
 * every one of ours, so each set compared names with all the others. */
static int has_ours(const apr_table_t *t)
{
    const apr_array_header_t *a = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)(const void *)a->elts;
    int i;

    for (i = 0; i < a->nelts; i++) {
        if (e[i].key && strncasecmp(e[i].key, "BEARER_CLAIM", 12) == 0) {
            return 1;
        }
    }
    return 0;
}

void mab_export_env(request_rec *r, const mab_req_t *st)
{
    const mab_dir_conf_t *conf = ap_get_module_config(r->per_dir_config, &auth_bearer_module);
    const mab_exports_t *x = st->exports;
    void (*put)(apr_table_t *, const char *, const char *) =
        has_ours(r->subprocess_env) ? apr_table_setn : apr_table_addn;
    size_t k;
    int i;

    /* Written once per token (a cached one's texts outlive this request's pool: the
     * request holds the entry until its pool goes), so nothing is copied here. */
    for (k = 0; k < x->n; k++) {
        put(r->subprocess_env, x->vars[k].name, x->vars[k].value);
    }
    put(r->subprocess_env, "BEARER_CLAIMS", x->claims_json);
    /* AuthBearerClaimEnv: one value each, nested ones included; absent or null: unset. */
    for (i = 0; conf->claim_envs && i < conf->claim_envs->nelts; i++) {
        const mab_claim_map_t *m = &APR_ARRAY_IDX(conf->claim_envs, i, mab_claim_map_t);
        const json_t *v = mab_claims_lookup(st->claims, m->claim);

        if (v && !json_is_null(v)) {
            apr_table_setn(r->subprocess_env, m->name, mab_claims_env_value(r->pool, v));
        }
        else {
            apr_table_unset(r->subprocess_env, m->name);
        }
    }
}
