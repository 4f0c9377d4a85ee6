/* Hands the verified identity to what the location serves: CGI/SSI environment. */
#include <apr_strings.h>
#include <httpd.h>

#include <jansson.h>

#include "mab_claims.h"
#include "mab_json.h"
#include "mod_auth_bearer.h"

void mab_export_env(request_rec *r, const mab_req_t *st)
{
    const char *name;
    json_t *value;

    /* jansson's iteration macro takes a non-const object; nothing is modified. */
    json_object_foreach (st->claims, name, value) {
        apr_table_setn(r->subprocess_env, mab_claims_env_name(r->pool, name),
                       mab_claims_env_value(r->pool, value));
    }
    apr_table_setn(r->subprocess_env, "BEARER_CLAIMS", mab_json_compact(r->pool, st->claims));
}
