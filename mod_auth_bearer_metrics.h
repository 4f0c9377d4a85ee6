#ifndef MOD_AUTH_BEARER_METRICS_H
#define MOD_AUTH_BEARER_METRICS_H

/* The metrics counters in shared memory, and their views: SetHandler auth-bearer-metrics
 * (Prometheus), mod_status's status_hook (server-status and ?auto) and the table the
 * auth-bearer-status page shows. What is counted, and the renderings, are the core's
 * (include/mab_counters.h); the glue files count where a verdict becomes HTTP. */
#include "mab_introspect_client.h"
#include "mod_auth_bearer_private.h"

struct mab_counters_t;

/* post_config, not the dry run: a new block for this configuration generation, its key
 * sources and issuers those of the key cache. Never NULL; when no shared memory could be
 * had (logged) it counts nothing and shows zeros. */
struct mab_counters_t *mab_metrics_post_config(server_rec *s, apr_pool_t *pconf);

/* This generation's block, NULL before post_config: what the request path counts into. */
struct mab_counters_t *mab_metrics(void);

/* The MAB_DIM_ISSUER index of a configured issuer's iss, "other" for any other (or NULL). */
unsigned mab_metrics_issuer(const char *iss);

/* Introspection failures are counted per endpoint and kind: the client's kinds (timeout …
 * internal, mab_introspect_status_e 1 .. MAB_IC__COUNT - 1), then these two. */
#define MAB_METRICS_IFAIL_BUSY (MAB_IC__COUNT - 1)  /* the in-flight bound */
#define MAB_METRICS_IFAIL_CACHE MAB_IC__COUNT       /* AuthBearerSOCache failed */
#define MAB_METRICS_IFAIL_KINDS (MAB_IC__COUNT + 1) /* per endpoint */

/* The MAB_DIM_ENDPOINT_FAILURE index of endpoint `ep` (registry index) and failure `kind`. */
unsigned mab_metrics_introspect_failure(int ep, int kind);

/* handler: SetHandler auth-bearer-metrics, the Prometheus text exposition format. */
int mab_metrics_handler(request_rec *r);

/* mod_status's status_hook: an "auth_bearer" table, or with ?auto the AuthBearer… lines. */
int mab_metrics_status_hook(request_rec *r, int flags);

/* The counters as an HTML table (escaped), for a status page. */
void mab_metrics_html(request_rec *r);

#endif
