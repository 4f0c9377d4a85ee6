/* SetHandler auth-bearer-status: the state of every key source and the metrics counters,
 * as HTML or (with ?json or Accept: application/json) as JSON. Protect it with Require like
 * server-status: it shows issuer URLs and key ids, nothing secret. Everything shown is
 * escaped. */
#include <apr_strings.h>
#include <apr_time.h>
#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_request.h>
#include <jansson.h>

#include "mab_counters.h"
#include "mab_keycache.h"
#include "mod_auth_bearer_config.h"
#include "mod_auth_bearer_introspect.h"
#include "mod_auth_bearer_metrics.h"
#include "mod_auth_bearer_status.h"

#define MAB_STATUS_HANDLER "auth-bearer-status"

static const char *iso(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;
    char buf[32];
    apr_size_t n = 0;

    if (!t || apr_time_exp_gmt(&tm, t) != APR_SUCCESS
        || apr_strftime(buf, &n, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) != APR_SUCCESS) {
        return "";
    }
    return apr_pstrdup(p, buf);
}

static int wants_json(const request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");

    if (r->args && (strcmp(r->args, "json") == 0 || strncmp(r->args, "json&", 5) == 0)) {
        return 1;
    }
    return accept && ap_strstr_c(accept, "application/json") != NULL;
}

static json_t *time_json(apr_time_t t)
{
    return t ? json_integer((json_int_t)apr_time_sec(t)) : json_null();
}

static void send_json(request_rec *r, mab_keycache_t *kc)
{
    json_t *doc = json_object(), *list = json_array();
    char *text;
    int i;

    for (i = 0; kc && i < mab_keycache_count(kc); i++) {
        mab_source_info_t in;
        json_t *o = json_object(), *kids = json_array();
        int k;

        mab_keycache_info(kc, mab_keycache_at(kc, i), r->pool, &in);
        if (in.discovery && !in.in_use) {
            json_decref(o);
            json_decref(kids);
            continue;
        }
        for (k = 0; k < in.kids->nelts; k++) {
            json_array_append_new(kids, json_string(APR_ARRAY_IDX(in.kids, k, const char *)));
        }
        json_object_set_new(o, "source", json_string(in.uri));
        json_object_set_new(o, "discovery", json_boolean(in.discovery));
        json_object_set_new(o, "metadata_url", json_string(in.meta_url));
        json_object_set_new(o, "jwks_uri", json_string(in.jwks_uri));
        json_object_set_new(o, "kids", kids);
        json_object_set_new(o, "bytes", json_integer((json_int_t)in.bytes));
        json_object_set_new(o, "cache_size", json_integer((json_int_t)in.slot_size));
        json_object_set_new(o, "fetched_at", time_json(in.fetched_at));
        json_object_set_new(o, "expires_at", time_json(in.expires_at));
        json_object_set_new(o, "last_attempt", time_json(in.last_attempt));
        json_object_set_new(o, "last_error", json_string(in.last_error));
        json_object_set_new(o, "fetches", json_integer(in.fetches));
        json_object_set_new(o, "failures", json_integer(in.failures));
        json_object_set_new(o, "refetches", json_integer(in.refetches));
        json_array_append_new(list, o);
    }
    json_object_set_new(doc, "version", json_string(MAB_VERSION));
    json_object_set_new(doc, "now", json_integer((json_int_t)apr_time_sec(apr_time_now())));
    json_object_set_new(doc, "sources", list);
    /* The same series as auth-bearer-metrics, whole server (every process). */
    if (mab_metrics()) {
        json_object_set_new(doc, "metrics", mab_counters_json(mab_metrics(), r->pool));
    }
    json_object_set_new(doc, "introspection", mab_introspect_status_json(r->pool));
    /* json_string rejects invalid UTF-8 (returns NULL, then set_new drops it): key ids
     * come from the issuer and were valid JSON strings, so this does not happen. */
    text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(doc);
    ap_set_content_type(r, "application/json");
    if (text) {
        ap_rputs(text, r);
        ap_rputs("\n", r);
        free(text);
    }
}

static void row(request_rec *r, const char *name, const char *value)
{
    ap_rprintf(r, "<tr><th>%s</th><td>%s</td></tr>\n", name, ap_escape_html2(r->pool, value, 1));
}

static void send_html(request_rec *r, mab_keycache_t *kc)
{
    int i;

    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rputs("<!DOCTYPE html>\n<html><head><title>mod_auth_bearer key sets</title></head><body>\n"
             "<h1>mod_auth_bearer key sets</h1>\n",
             r);
    ap_rputs("<p>mod_auth_bearer " MAB_VERSION "</p>\n", r);
    ap_rprintf(r, "<p>Now: %s</p>\n", iso(r->pool, apr_time_now()));
    for (i = 0; kc && i < mab_keycache_count(kc); i++) {
        mab_source_info_t in;
        const char *kids;

        mab_keycache_info(kc, mab_keycache_at(kc, i), r->pool, &in);
        if (in.discovery && !in.in_use) {
            continue;
        }
        kids = apr_array_pstrcat(r->pool, in.kids, ' ');
        ap_rprintf(r, "<h2>%s</h2>\n<table>\n", ap_escape_html2(r->pool, in.uri, 1));
        if (in.discovery) {
            row(r, "Metadata URL", in.meta_url);
        }
        row(r, "JWKS URL", in.jwks_uri);
        row(r, "Key ids", kids);
        row(r, "Bytes",
            apr_psprintf(r->pool, "%lu of %lu", (unsigned long)in.bytes,
                         (unsigned long)in.slot_size));
        row(r, "Fetched at", iso(r->pool, in.fetched_at));
        row(r, "Expires at", iso(r->pool, in.expires_at));
        row(r, "Last attempt", iso(r->pool, in.last_attempt));
        row(r, "Last error", in.last_error);
        row(r, "Fetches", apr_psprintf(r->pool, "%u", in.fetches));
        row(r, "Failures", apr_psprintf(r->pool, "%u", in.failures));
        row(r, "Refetches (unknown kid)", apr_psprintf(r->pool, "%u", in.refetches));
        ap_rputs("</table>\n", r);
    }
    ap_rputs("<h2>Metrics</h2>\n", r);
    mab_metrics_html(r);
    mab_introspect_status_html(r);
    ap_rputs("</body></html>\n", r);
}

int mab_status_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, MAB_STATUS_HANDLER) != 0) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (wants_json(r)) {
        send_json(r, mab_conf_keycache());
    }
    else {
        send_html(r, mab_conf_keycache());
    }
    return OK;
}
