#ifndef MOD_AUTH_BEARER_REFRESH_H
#define MOD_AUTH_BEARER_REFRESH_H

#include "mod_auth_bearer_private.h"

struct mab_keycache_t;

/* post_config: refresh key sets off the request path when mod_watchdog is loaded; 1 if it
 * is used. */
int mab_refresh_start(server_rec *s, apr_pool_t *pconf, struct mab_keycache_t *kc);

/* child_init, once this child's key-cache locks exist. */
void mab_refresh_child_ready(void);

#endif
