/* Hands an accepted token's claims to what the location serves: the CGI/SSI environment. */
#include <apr_strings.h>

#include <jansson.h>

#include "mab_claims.h"
#include "mab_exports.h"
#include "mod_auth_bearer_config.h"
#include "mod_auth_bearer_export.h"

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

void mab_export_env(request_rec *r, const mab_verdict_t *v)
{
    const mab_dir_conf_t *conf = mab_dir_conf(r);
    const mab_exports_t *x = v->exports;
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
        const json_t *c = mab_claims_lookup(v->claims, m->claim);

        if (c && !json_is_null(c)) {
            apr_table_setn(r->subprocess_env, m->name, mab_claims_env_value(r->pool, c));
        }
        else {
            apr_table_unset(r->subprocess_env, m->name);
        }
    }
}
