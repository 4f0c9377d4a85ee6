/* The metrics block in shared memory and its three views.
 *
 * The parent lays out one block per configuration generation in post_config (anonymous
 * shared memory, inherited by every child across fork, gone with pconf): every process
 * counts into the same cells with relaxed atomic adds, so any child's view is the whole
 * server's. A restart, graceful or not, starts a new block at 0 (start_time_seconds says
 * when); children of the old generation still finishing requests count into the old one,
 * which goes with them. Protect the handlers like server-status: they show issuer and key
 * source URLs, nothing secret. */
#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_status.h>

#include "mab_counters.h"
#include "mab_keycache.h"
#include "mod_auth_bearer_config.h"
#include "mod_auth_bearer_metrics.h"

#define MAB_METRICS_HANDLER "auth-bearer-metrics"

static mab_counters_t *counters;
/* iss -> MAB_DIM_ISSUER index (+1, so a miss is 0): built before fork, only read after. */
static apr_hash_t *issuer_index;
static unsigned issuer_other;

static apr_status_t forget(void *data)
{
    counters = NULL;
    issuer_index = NULL;
    return APR_SUCCESS;
}

mab_counters_t *mab_metrics_post_config(server_rec *s, apr_pool_t *pconf)
{
    mab_keycache_t *kc = mab_conf_keycache();
    mab_counters_t *m = mab_counters_create(pconf);
    apr_hash_t *index = apr_hash_make(pconf);
    apr_shm_t *shm = NULL;
    apr_status_t rv;
    apr_size_t size;
    int i;

    /* The key cache's sources in its own order, so its index is the label's. An issuer's
     * discovery source is registered for every issuer named, used or not: shown once it
     * is used. Those issuers (main configuration, URL-shaped) are the issuer label's. */
    for (i = 0; kc && i < mab_keycache_count(kc); i++) {
        mab_source_t *src = mab_keycache_at(kc, i);
        int disc = mab_source_is_discovery(src);
        const char *labels[2] = {mab_source_uri(src), disc ? "discovery" : "jwks"};

        mab_counters_add_value(m, MAB_DIM_SOURCE, labels, disc);
        if (disc && !apr_hash_get(index, labels[0], APR_HASH_KEY_STRING)) {
            unsigned at = mab_counters_add_value(m, MAB_DIM_ISSUER, labels, 0);
            apr_hash_set(index, labels[0], APR_HASH_KEY_STRING, (void *)(apr_uintptr_t)(at + 1));
        }
    }
    /* Introspection endpoints in the registry's order; failure kinds shown once counted. */
    for (i = 0; i < mab_conf_endpoint_count(); i++) {
        const char *ep[2] = {mab_conf_endpoint_at(i)->name, NULL};
        int k;

        mab_counters_add_value(m, MAB_DIM_ENDPOINT, ep, 0);
        for (k = 0; k < MAB_METRICS_IFAIL_KINDS; k++) {
            ep[1] = k == MAB_METRICS_IFAIL_BUSY    ? "busy"
                    : k == MAB_METRICS_IFAIL_CACHE ? "cache_down"
                                                   : mab_introspect_status_name(k + 1);
            mab_counters_add_value(m, MAB_DIM_ENDPOINT_FAILURE, ep, 1);
        }
    }
    size = mab_counters_size(m);
    rv = apr_shm_create(&shm, size, NULL, pconf);
    if (rv == APR_SUCCESS) {
        mab_counters_attach(m, apr_shm_baseaddr_get(shm), (long long)apr_time_sec(apr_time_now()));
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "MAB00500: cannot create %lu bytes of shared memory for the metrics: "
                     "nothing is counted",
                     (unsigned long)size);
    }
    counters = m;
    issuer_index = index;
    issuer_other = mab_counters_values(m, MAB_DIM_ISSUER) - 1;
    apr_pool_cleanup_register(pconf, NULL, forget, apr_pool_cleanup_null);
    return m;
}

mab_counters_t *mab_metrics(void)
{
    return counters;
}

unsigned mab_metrics_issuer(const char *iss)
{
    apr_uintptr_t at = iss && issuer_index
                           ? (apr_uintptr_t)apr_hash_get(issuer_index, iss, APR_HASH_KEY_STRING)
                           : 0;

    return at ? (unsigned)(at - 1) : issuer_other;
}

unsigned mab_metrics_introspect_failure(int ep, int kind)
{
    return (unsigned)(ep * MAB_METRICS_IFAIL_KINDS + kind);
}

int mab_metrics_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, MAB_METRICS_HANDLER) != 0) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!counters) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    ap_rputs(mab_counters_prometheus(counters, r->pool), r);
    return OK;
}

static void html_row(void *baton, const mab_counters_series_t *s)
{
    request_rec *r = baton;
    const char *value =
        s->def->type == MAB_HISTOGRAM
            ? apr_psprintf(r->pool, "%" APR_UINT64_T_FMT " (sum %.6f s)", s->value, s->sum)
            : apr_psprintf(r->pool, "%" APR_UINT64_T_FMT, s->value);

    ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%s</td></tr>\n",
               ap_escape_html2(r->pool, s->name, 1), ap_escape_html2(r->pool, s->labels, 1), value);
}

void mab_metrics_html(request_rec *r)
{
    if (!counters) {
        return;
    }
    ap_rputs("<table border=\"0\">\n<tr><th>metric</th><th>labels</th><th>value</th></tr>\n", r);
    mab_counters_each(counters, r->pool, html_row, r);
    ap_rputs("</table>\n", r);
}

int mab_metrics_status_hook(request_rec *r, int flags)
{
    if (!counters) {
        return OK;
    }
    if (flags & AP_STATUS_SHORT) {
        ap_rputs(mab_counters_auto(counters, r->pool), r);
        return OK;
    }
    ap_rputs("<hr />\n<h2>auth_bearer</h2>\n", r);
    if (flags & AP_STATUS_NOTABLE) {
        ap_rprintf(r, "<pre>%s</pre>\n",
                   ap_escape_html2(r->pool, mab_counters_auto(counters, r->pool), 1));
    }
    else {
        mab_metrics_html(r);
    }
    return OK;
}
