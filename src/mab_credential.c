#include <string.h>

#include "mab_credential.h"

/* Character classes, one byte per char: a constant table rather than a table filled at load
 * time or ctype calls per character (those showed in the profile), and independent
 * of the process locale, which a module loaded next to us may change. */
#define C_TOK 0x1u /* b64token character, RFC 6750 §2.1 (the '=' padding is not one) */
#define C_WS 0x2u  /* white space: what apr_isspace accepts in the C locale */

static const unsigned char cls[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 0, 0, /* 0x00 \t \n \v \f \r */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, /* 0x20 space; + - . / */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, /* 0x30 0-9 ('=' is not a C_TOK) */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 A-O */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, /* 0x50 P-Z _ */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 a-o */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, /* 0x70 p-z ~ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 and up: none */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xa0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xb0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xc0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xd0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xe0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xf0 */
};

#define IS(c, k) (cls[(unsigned char)(c)] & (k))

static const char *skip_ws(const char *s)
{
    while (IS(*s, C_WS)) {
        s++;
    }
    return s;
}

/* The length of the auth-scheme `lower` (lower case ASCII letters) at s, compared without
 * regard to case (RFC 9110 §11.1), when white space or the end follows it; else 0. Stops at
 * the first difference, so it never reads past a NUL. */
static apr_size_t scheme_at(const char *s, const char *lower)
{
    apr_size_t i;

    for (i = 0; lower[i]; i++) {
        /* Setting 0x20 folds only A-Z onto a-z as far as letters are concerned: no other
         * byte maps to a lower case letter that way. */
        if ((s[i] | 0x20) != lower[i]) {
            return 0;
        }
    }
    return s[i] == '\0' || IS(s[i], C_WS) ? i : 0;
}

/* Whether a credential after the first one (httpd joins repeated Authorization fields, and
 * HTTP/2's, with ", ") is a Bearer (or, when accepted, DPoP) token: "Basic x, Bearer y" must
 * not pass as "another scheme", which AuthBearerOptional would let through anonymously. A
 * token68 holds no ',' and an auth-param is "name=value", so ", Bearer " starts a credential. */
static int later_token_credential(const char *s, unsigned flags)
{
    while ((s = strchr(s, ',')) != NULL) {
        s = skip_ws(s + 1);
        if (scheme_at(s, "bearer")
            || ((flags & MAB_CREDENTIAL_ACCEPT_DPOP) && scheme_at(s, "dpop"))) {
            return 1;
        }
    }
    return 0;
}

/* RFC 6750 §2.3 access_token parameter: a '&'-separated field named exactly that. */
static int query_has_token(const char *a)
{
    while (a && *a) {
        if (strncmp(a, "access_token=", 13) == 0) {
            return 1;
        }
        a = strchr(a, '&');
        if (a) {
            a++;
        }
    }
    return 0;
}

mab_err_e mab_credential_parse(const char *authz, const char *args, unsigned flags,
                               mab_credential_t *out, const char **detail)
{
    mab_scheme_e scheme = MAB_SCHEME_BEARER;
    const char *s, *end;
    apr_size_t n;

    if (detail) {
        *detail = NULL;
    }
    memset(out, 0, sizeof(*out));
    if (!authz) {
        return MAB_ERR_NO_CREDENTIAL;
    }
    s = skip_ws(authz);
    n = scheme_at(s, "bearer");
    if (!n && (flags & MAB_CREDENTIAL_ACCEPT_DPOP)) {
        n = scheme_at(s, "dpop");
        scheme = MAB_SCHEME_DPOP;
    }
    if (!n) {
        if (later_token_credential(s, flags)) {
            if (detail) {
                *detail = "a Bearer token and another credential in Authorization";
            }
            return MAB_ERR_TOKEN_COUNT;
        }
        return MAB_ERR_OTHER_SCHEME;
    }
    /* Known from here on, refusals too: their error goes on this scheme's challenge. */
    out->scheme = scheme;
    s = skip_ws(s + n);
    if (!*s) {
        return MAB_ERR_EMPTY_TOKEN;
    }
    /* The one pass over the token: it ends at white space, ',' or the end of the header. A
     * ',' (another credential or an auth-param) or a second word means the header is not a
     * single token68 (RFC 6750 §2.1). */
    /* strcspn, not a loop over the table: glibc scans a kilobyte token with vector
     * instructions, a byte loop cost ~4,000 instructions per request (callgrind). The set
     * is white space and ',' (the NUL ends it too). */
    end = s + strcspn(s, " \t\n\v\f\r,");
    if (*skip_ws(end)) {
        return MAB_ERR_TOKEN_COUNT;
    }
    /* RFC 6750 §2: a client must not use more than one method to send the token. */
    if (query_has_token(args)) {
        if (detail) {
            *detail = "access_token query parameter and Authorization header";
        }
        return MAB_ERR_TOKEN_TWICE;
    }
    out->scheme = scheme;
    out->token = s;
    out->len = (apr_size_t)(end - s);
    return MAB_OK;
}

int mab_credential_is_b64token(const char *t, apr_size_t len)
{
    apr_size_t i = 0;

    while (i < len && IS(t[i], C_TOK)) {
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
