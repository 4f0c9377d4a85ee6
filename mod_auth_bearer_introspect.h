#ifndef MOD_AUTH_BEARER_INTROSPECT_H
#define MOD_AUTH_BEARER_INTROSPECT_H

/* RFC 7662 introspection in httpd: the shared cache on httpd's socache (AuthBearerSOCache),
 * the verifier's introspector (cache, one call per token, the in-flight bound, the HTTP
 * client), each endpoint's statistics for the status page. */
#include "mab_verifier.h"
#include "mod_auth_bearer_private.h"

/* At most this many introspection calls are in flight per process; a new token beyond that
 * is refused at once with 503 (tokens already answered keep working). */
#define MAB_INTROSPECT_MAX_INFLIGHT 8

/* pre_config: the socache mutex type. */
void mab_introspect_pre_config(apr_pool_t *pconf);

/* check_config: the AuthBearerSOCache provider must be loaded where anything introspects;
 * -1 (logged, naming the LoadModule line) when it is not. */
int mab_introspect_check_config(server_rec *s, apr_pool_t *ptemp);

/* post_config (the real pass): creates the shared cache and the statistics. */
int mab_introspect_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);

/* child_init: the socache mutex and this process's cache. NULL when nothing introspects. */
const mab_introspector_t *mab_introspect_child_init(apr_pool_t *pchild, server_rec *s);

/* The shared store (AuthBearerSOCache) in this process, for DPoP replay records too (keys
 * end in their own letter); NULL when neither introspection nor DPoP is configured. */
struct mab_kvstore_t;
const struct mab_kvstore_t *mab_introspect_store(void);

/* The status page's part: each endpoint's counters, as HTML or as a JSON array. */
void mab_introspect_status_html(request_rec *r);
struct json_t *mab_introspect_status_json(apr_pool_t *p);

#endif
