#ifndef MOD_AUTH_BEARER_HANDOFF_H
#define MOD_AUTH_BEARER_HANDOFF_H

#include "mod_auth_bearer_private.h"

/* post_config: every claim and payload header name configured in each virtual host's
 * sections (mod_auth_bearer_srv_conf's scrub_names). */
void mab_handoff_collect_names(server_rec *main_server, apr_pool_t *pconf);

/* post_read_request: client-sent copies of those names go before any other module looks. */
void mab_handoff_scrub_vhost(request_rec *r);

/* header_parser: client-sent copies of the section's claim and payload headers go. */
void mab_handoff_scrub(request_rec *r);

/* fixups: removed again (subrequests too), then the verified values set. */
void mab_handoff_forward(request_rec *r);

/* Last fixups: AuthBearerPassToken Off removes the Authorization header. */
void mab_handoff_withhold_token(request_rec *r);

#endif
