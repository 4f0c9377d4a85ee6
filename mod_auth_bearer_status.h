#ifndef MOD_AUTH_BEARER_STATUS_H
#define MOD_AUTH_BEARER_STATUS_H

#include "mod_auth_bearer_private.h"

/* handler: SetHandler auth-bearer-status shows every key source (HTML or JSON). */
int mab_status_handler(request_rec *r);

#endif
