#ifndef MAB_CREDENTIAL_H
#define MAB_CREDENTIAL_H

/* The credential of a request: the token out of an Authorization (or Proxy-Authorization)
 * header, RFC 6750 §2.1, and optionally RFC 9449 §7.1's DPoP scheme. doc/credential.md says
 * what is accepted and refused. */
#include <apr.h>

#include "mab_error.h"

typedef enum { MAB_SCHEME_BEARER = 1, MAB_SCHEME_DPOP } mab_scheme_e;

/* Flags for mab_credential_parse. */
#define MAB_CREDENTIAL_ACCEPT_DPOP 0x1u /* recognise "DPoP <token>" (RFC 9449 §7.1) as well */

struct mab_sender_t;

typedef struct mab_credential_t {
    mab_scheme_e scheme;
    /* Points into the header value; the token is `len` bytes, not NUL-terminated there. */
    const char *token;
    apr_size_t len;
    /* The DPoP proof and client certificate of the request (the glue's, after parsing);
     * NULL: neither. */
    const struct mab_sender_t *sender;
} mab_credential_t;

/* authz: the Authorization (or Proxy-Authorization) header value, NULL when absent.
 * out->scheme is set on a refusal too once the scheme was recognised (an empty token, two
 * tokens, a token also in the query), and 0 otherwise.
 * args: the request's query string without '?', NULL when none.
 * Returns MAB_OK and fills *out, or the reason (and *detail, static text for the log, may be
 * NULL; detail itself may be NULL too). The token's b64token syntax is not checked here (see
 * mab_credential_is_b64token) and no size limit is applied. */
mab_err_e mab_credential_parse(const char *authz, const char *args, unsigned flags,
                               mab_credential_t *out, const char **detail);

/* RFC 6750 §2.1 b64token / token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
int mab_credential_is_b64token(const char *t, apr_size_t len);

#endif
