/* Hands the verified identity to what the location serves: CGI/SSI environment. */
#include <apr_lib.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include <jansson.h>

#include "mab_claims.h"
#include "mab_json.h"
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

void mab_export_env(request_rec *r, const mab_req_t *st)
{
    const mab_dir_conf_t *conf = ap_get_module_config(r->per_dir_config, &auth_bearer_module);
    const char *name;
    json_t *value;
    int i;

    /* jansson's iteration macro takes a non-const object; nothing is modified. */
    json_object_foreach (st->claims, name, value) {
        apr_table_setn(r->subprocess_env, mab_claims_env_name(r->pool, name),
                       mab_claims_env_value(r->pool, value));
    }
    apr_table_setn(r->subprocess_env, "BEARER_CLAIMS", mab_json_compact(r->pool, st->claims));
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
