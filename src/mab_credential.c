/* provisional: replaced by the cred branch */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "mab_credential.h"

static int tokc(unsigned char c)
{
    return apr_isalnum(c) || (c && strchr("-._~+/", c));
}

int mab_credential_is_b64token(const char *t, apr_size_t len)
{
    apr_size_t i = 0;

    while (i < len && tokc((unsigned char)t[i])) {
        i++;
    }
    if (i == 0) {
        return 0;
    }
    while (i < len && t[i] == '=') {
        i++;
    }
    return i == len;
}

mab_err_e mab_credential_parse(const char *auth, const char *a, unsigned flags,
                               mab_credential_t *out, const char **detail)
{
    const char *tok, *end;
    apr_size_t len;

    *detail = NULL;
    if (!auth) {
        return MAB_ERR_NO_CREDENTIAL;
    }
    while (apr_isspace(*auth)) {
        auth++;
    }
    if (strncasecmp(auth, "Bearer", 6) != 0 || (auth[6] && !apr_isspace(auth[6]))) {
        return MAB_ERR_OTHER_SCHEME;
    }
    tok = auth + 6;
    while (apr_isspace(*tok)) {
        tok++;
    }
    if (!*tok) {
        return MAB_ERR_EMPTY_TOKEN;
    }
    len = strcspn(tok, " \t\n\v\f\r,");
    end = tok + len;
    while (apr_isspace(*end)) {
        end++;
    }
    if (*end) {
        return MAB_ERR_TOKEN_COUNT;
    }
    while (a && *a) {
        if (strncmp(a, "access_token=", 13) == 0) {
            *detail = "access_token query parameter and Authorization header";
            return MAB_ERR_TOKEN_TWICE;
        }
        a = strchr(a, '&');
        if (a) {
            a++;
        }
    }
    out->scheme = MAB_SCHEME_BEARER;
    out->token = tok;
    out->len = len;
    return MAB_OK;
}
