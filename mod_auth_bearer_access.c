/* Decisions taken before mod_authz_core looks at the Require lines:
 *
 * AuthBearerOptional On — a token that is present is verified in the access-check phase,
 * whatever the Require lines need: a bad one is answered 401 there and then, a good one
 * sets REMOTE_USER and the claims even under "Require all granted". A request without a
 * token goes on anonymously, and the Require lines decide: all granted / ip / method can
 * pass it, and so does Require valid-user: authentication succeeds with the empty user
 * name, which httpd needs to let valid-user grant and which is withdrawn again in fixups,
 * so neither CGI's REMOTE_USER nor the access log's %u shows an identity. Where a Require
 * scope or claim line was evaluated, the token is needed (401 with a challenge), even
 * inside a <RequireAny> that valid-user could have granted: anonymity never grants a scope.
 *
 * AuthBearerAllowPreflight On — a CORS preflight (OPTIONS with Origin and
 * Access-Control-Request-Method; browsers never attach credentials to it) is authorized
 * without a token, so the application or mod_headers can answer it. Any other OPTIONS
 * request is treated like every other request. */
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_request.h>
#include <mod_auth.h>

#include "mod_auth_bearer.h"

#ifdef APLOG_USE_MODULE
APLOG_USE_MODULE(auth_bearer);
#endif

static const mab_dir_conf_t *dir_conf(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &auth_bearer_module);
}

static int bearer_section(request_rec *r)
{
    const char *type = ap_auth_type(r);

    return type && strcasecmp(type, MAB_AUTH_TYPE) == 0;
}

static int allowed_preflight(request_rec *r)
{
    return dir_conf(r)->allow_preflight == 1 && r->method_number == M_OPTIONS
           && apr_table_get(r->headers_in, "Origin")
           && apr_table_get(r->headers_in, "Access-Control-Request-Method");
}

/* access_checker_ex, ahead of mod_authz_core's: OK means "authorized without
 * authentication", so neither Require nor authentication runs for the preflight. */
static int pass_preflight(request_rec *r)
{
    if (!bearer_section(r) || !allowed_preflight(r)) {
        return DECLINED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "MAB00400: CORS preflight for %s passes without a token "
                  "(AuthBearerAllowPreflight On)",
                  ap_escape_logitem(r->pool, r->uri));
    return OK;
}

static int verify_if_present(request_rec *r)
{
    mab_req_t *st;

    if (dir_conf(r)->optional != 1 || !bearer_section(r) || allowed_preflight(r)) {
        return DECLINED;
    }
    st = mab_request_verify(r);
    if (st->status == HTTP_UNAUTHORIZED && !st->error) {
        /* No bearer token at all: anonymous, for the Require lines to judge. */
        return DECLINED;
    }
    return mab_authn_result(r, st);
}

int mab_optional_anonymous(request_rec *r, mab_req_t *st)
{
    if (dir_conf(r)->optional != 1 || st->status != HTTP_UNAUTHORIZED || st->error
        || st->token_needed) {
        return 0;
    }
    st->anonymous = 1;
    r->user = (char *)"";
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "MAB00401: no bearer token: anonymous (AuthBearerOptional On)");
    return 1;
}

static int withdraw_anonymous(request_rec *r)
{
    const mab_req_t *st = ap_get_module_config(r->request_config, &auth_bearer_module);

    if (st && st->anonymous && r->user && !*r->user) {
        r->user = NULL;
    }
    return DECLINED;
}

void mab_register_access_hooks(apr_pool_t *p)
{
    ap_hook_fixups(withdraw_anonymous, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_check_access(verify_if_present, NULL, NULL, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_access_ex(pass_preflight, NULL, NULL, APR_HOOK_FIRST, AP_AUTH_INTERNAL_PER_CONF);
}
