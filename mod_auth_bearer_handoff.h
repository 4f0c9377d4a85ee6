#ifndef MOD_AUTH_BEARER_HANDOFF_H
#define MOD_AUTH_BEARER_HANDOFF_H

#include "mod_auth_bearer_private.h"

/* header_parser: client-sent copies of the section's claim and payload headers go. */
void mab_handoff_scrub(request_rec *r);

/* fixups: removed again (subrequests too), then the verified values set. */
void mab_handoff_forward(request_rec *r);

/* Last fixups: AuthBearerPassToken Off removes the Authorization header. */
void mab_handoff_withhold_token(request_rec *r);

#endif
