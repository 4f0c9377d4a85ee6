#ifndef MOD_AUTH_BEARER_CHECK_H
#define MOD_AUTH_BEARER_CHECK_H

#include "mod_auth_bearer_private.h"

/* Startup: warns about Bearer sections missing a required directive. */
void mab_check_sections(server_rec *main_server, apr_pool_t *ptemp);

/* Startup (check_config, also apachectl -t): key sources that break the transport rule;
 * returns 0 or -1 (logged). */
int mab_check_transport(server_rec *main_server, apr_pool_t *ptemp);

/* The AuthType a section sets itself (not what it inherits), or NULL. */
const char *mab_check_own_auth_type(ap_conf_vector_t *sec);

/* Startup (check_config): introspection endpoints that break the transport rule, and
 * sections where two issuers would introspect opaque tokens; 0 or -1 (logged). */
int mab_check_introspection(server_rec *main_server, apr_pool_t *ptemp);

#endif
