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
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>

#include "mod_auth_bearer_access.h"
#include "mod_auth_bearer_config.h"
#include "mod_auth_bearer_request.h"

static int allowed_preflight(request_rec *r)
{
    return mab_conf_allow_preflight(mab_dir_conf(r)) && r->method_number == M_OPTIONS
           && apr_table_get(r->headers_in, "Origin")
           && apr_table_get(r->headers_in, "Access-Control-Request-Method");
}

int mab_access_preflight(request_rec *r)
{
    if (!mab_request_is_bearer(r) || !allowed_preflight(r)) {
        return DECLINED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "MAB00400: CORS preflight for %s passes without a token "
                  "(AuthBearerAllowPreflight On)",
                  ap_escape_logitem(r->pool, r->uri));
    return OK;
}

int mab_access_verify_if_present(request_rec *r)
{
    mab_req_t *st;

    if (!mab_conf_optional(mab_dir_conf(r)) || !mab_request_is_bearer(r) || allowed_preflight(r)) {
        return DECLINED;
    }
    st = mab_request_verify(r);
    if (mab_request_no_token(st)) {
        /* No bearer token at all: anonymous, for the Require lines to judge. */
        return DECLINED;
    }
    return mab_request_authn_result(r, st);
}

void mab_access_withdraw_anonymous(request_rec *r)
{
    const mab_req_t *st = ap_get_module_config(r->request_config, &auth_bearer_module);

    if (st && st->anonymous && r->user && !*r->user) {
        r->user = NULL;
    }
}
