/* Authentication: the bearer token becomes r->user, or the request gets its 400/401/500
 * with an RFC 6750 challenge. */
#include <mod_auth.h>

#include "mod_auth_bearer_authn.h"
#include "mod_auth_bearer_request.h"

int mab_authn_check(request_rec *r)
{
    mab_req_t *st;

    if (!mab_request_is_bearer(r)) {
        return DECLINED;
    }
    st = mab_request_verify(r);
    if (mab_request_anonymous(r, st)) {
        return OK;
    }
    return mab_request_authn_result(r, st);
}

int mab_authn_note_failure(request_rec *r, const char *auth_type)
{
    if (strcasecmp(auth_type, MAB_AUTH_TYPE) != 0) {
        return DECLINED;
    }
    if (!apr_table_get(r->err_headers_out, "WWW-Authenticate")) {
        mab_request_challenge(r, NULL, NULL, NULL);
    }
    return OK;
}
