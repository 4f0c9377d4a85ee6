#ifndef MOD_AUTH_BEARER_SECRET_H
#define MOD_AUTH_BEARER_SECRET_H

/* Secrets named in the configuration as file:/path or env:NAME, never written there
 * themselves: AuthBearerSharedSecret and AuthBearerDPoPNonceSecret read them the same way. */
#include "mod_auth_bearer_private.h"

/* Reads the secret `arg` names into buf (size bytes; a file must be smaller): file:/path
 * (ServerRoot-relative; one trailing newline, LF or CRLF, dropped) or env:NAME (not empty).
 * NULL with *value and *len set (*value is buf or the environment's string), or the error
 * text, which starts with `directive`. */
const char *mab_secret_read(cmd_parms *cmd, const char *directive, const char *arg, char *buf,
                            apr_size_t size, const char **value, apr_size_t *len);

#endif
