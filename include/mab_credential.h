#ifndef MAB_CREDENTIAL_H
#define MAB_CREDENTIAL_H

#include <apr.h>
#include "mab_error.h"

typedef enum { MAB_SCHEME_BEARER = 1, MAB_SCHEME_DPOP } mab_scheme_e;

#define MAB_CREDENTIAL_ACCEPT_DPOP 0x1u

typedef struct mab_credential_t {
    mab_scheme_e scheme;
    const char *token;
    apr_size_t len;
} mab_credential_t;

mab_err_e mab_credential_parse(const char *authz, const char *args, unsigned flags,
                               mab_credential_t *out, const char **detail);

int mab_credential_is_b64token(const char *t, apr_size_t len);

#endif
