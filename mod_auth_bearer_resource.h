#ifndef MOD_AUTH_BEARER_RESOURCE_H
#define MOD_AUTH_BEARER_RESOURCE_H

/* RFC 9728 in httpd: the metadata documents built at startup from the configuration tree,
 * answered at their well-known URLs before any access control runs, and the
 * resource_metadata parameter of the section's challenges. */
#include "mod_auth_bearer_private.h"

/* pre_config: a new configuration generation starts without documents. */
void mab_resource_pre_config(apr_pool_t *pconf);

/* check_config: each server's documents built; -1 (logged) when two sections declare one
 * identifier with different metadata, or two identifiers' metadata share a URL. */
int mab_resource_check_config(server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp);

/* quick_handler: GET/HEAD (and a CORS OPTIONS) of a metadata URL of this virtual host,
 * answered before httpd's access control, authentication and authorization. */
int mab_resource_quick_handler(request_rec *r, int lookup_uri);

/* Whether the request's section declares AuthBearerResource. */
int mab_resource_declared(const request_rec *r);

/* The metadata URL for the request's section's challenges, or NULL (no AuthBearerResource,
 * or AuthBearerResourceMetadata Off). */
const char *mab_resource_challenge_url(const request_rec *r);

#endif
