/* RFC 7662 introspection in httpd. The shared cache is httpd's own socache (shmcb for the
 * processes of one httpd, memcache or redis for a fleet); the protocol around it (front,
 * pending markers, single flight, in-flight bound) is the core's (mab_introspect_cache.c);
 * the HTTP client is the core's (mab_introspect_client.c). This file binds them to httpd and
 * keeps each endpoint's statistics in shared memory for the status page. */
#include <stdatomic.h>

#include <apr_shm.h>
#include <apr_thread_mutex.h>
#include <apr_strings.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <http_protocol.h>
#include <util_mutex.h>

#include <jansson.h>

#include "mab_claims.h"
#include "mab_discovery.h"
#include "mab_fetch.h"
#include "mab_introspect.h"
#include "mab_keycache.h"
#include "mab_introspect_cache.h"
#include "mab_introspect_client.h"
#include "mod_auth_bearer_config.h"
#include "mab_counters.h"
#include "mod_auth_bearer_introspect.h"
#include "mod_auth_bearer_sender_conf.h"
#include "mod_auth_bearer_metrics.h"

#define MUTEX_TYPE "auth-bearer-cache"
/* shmcb without arguments: this much, under DefaultRuntimeDir. shmcb's own default (512 KB)
 * holds about 2,000 answers; this about 40,000. */
#define SHMCB_DEFAULT_SIZE (8 * 1024 * 1024)
#define SHMCB_DEFAULT_FILE "mod_auth_bearer-socache"
#define MAX_ANSWER (64 * 1024) /* larger introspection answers are refused */
#define FRONT_ENTRIES 1024
/* A discovered introspection_endpoint is used this long, and a failed discovery is retried
 * after the key sets' retry interval. */
#define DISCOVERED_FOR apr_time_from_sec(3600)
#define DISCOVERY_RETRY apr_time_from_sec(5)

/* One endpoint's last error, for all processes (its counters are the metrics'). */
typedef struct {
    atomic_llong last_error_at;
    char last_error[160]; /* written by whichever process failed last: text only */
} ep_stats_t;

static const ap_socache_provider_t *provider;
static ap_socache_instance_t *instance;
static apr_global_mutex_t *mutex;
static int op_lock; /* the provider is not MP-safe (shmcb): every operation takes the mutex */
static server_rec *main_server;
static ep_stats_t *stats; /* one per endpoint, in shared memory */
static int nstats;
static mab_ic_t *ic;
static mab_introspector_t introspector;
static struct {
    long timeout_ms;     /* AuthBearerFetchTimeout */
    const char *ca_file; /* AuthBearerCAFile */
    int allow_insecure;  /* AuthBearerAllowInsecureHTTP */
} client;
static _Thread_local int holding; /* this thread holds the socache mutex */

/* Per process: what each issuer's metadata says its introspection_endpoint is. */
typedef struct {
    apr_thread_mutex_t *lock; /* also makes one thread of the process fetch */
    apr_pool_t *pool;
    const char *url, *why;
    apr_time_t until;
} discovered_t;
static discovered_t *discovered;

void mab_introspect_pre_config(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
    provider = NULL;
    instance = NULL;
    mutex = NULL;
    stats = NULL;
    nstats = 0;
    ic = NULL;
}

/* provider[:args] of AuthBearerSOCache (default shmcb, sized by the provider). */
static const char *socache_spec(server_rec *s, const char **args)
{
    const char *spec = mab_srv_conf(s)->socache ? mab_srv_conf(s)->socache : "shmcb";
    const char *colon = ap_strchr_c(spec, ':');

    *args = colon && colon[1] ? colon + 1 : NULL;
    spec = colon ? apr_pstrmemdup(s->process->pconf, spec, (apr_size_t)(colon - spec)) : spec;
    if (!*args && strcasecmp(spec, "shmcb") == 0) {
        const char *file = ap_runtime_dir_relative(s->process->pconf, SHMCB_DEFAULT_FILE);
        *args = file ? apr_psprintf(s->process->pconf, "%s(%d)", file, SHMCB_DEFAULT_SIZE) : NULL;
    }
    return spec;
}

/* The shared store serves introspection answers and DPoP replay records alike. */
static int store_needed(void)
{
    return mab_conf_endpoint_count() > 0 || mab_sender_conf_dpop_used();
}

int mab_introspect_check_config(server_rec *s, apr_pool_t *ptemp)
{
    const char *args, *name;

    if (!store_needed()) {
        return 0;
    }
    name = socache_spec(s, &args);
    if (!ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "MAB00900: AuthBearerSOCache %s: the socache provider '%s' is not loaded; "
                     "add LoadModule socache_%s_module modules/mod_socache_%s.so (Debian: "
                     "a2enmod socache_%s)",
                     mab_srv_conf(s)->socache ? mab_srv_conf(s)->socache : "shmcb (the default)",
                     name, name, name, name);
        return -1;
    }
    return 0;
}

static apr_status_t destroy_cache(void *data)
{
    if (provider && instance) {
        provider->destroy(instance, data);
    }
    instance = NULL;
    return APR_SUCCESS;
}

int mab_introspect_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    /* An entry is a short JSON answer (about 200 bytes): shmcb sizes its index by this. */
    static const struct ap_socache_hints hints = {33, 256, 60};
    const char *args, *name, *err;
    apr_shm_t *shm;
    apr_status_t rv;
    int i;

    main_server = s;
    nstats = mab_conf_endpoint_count();
    if (!store_needed()) {
        return OK;
    }
    if (mab_introspect_check_config(s, ptemp) != 0) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    name = socache_spec(s, &args);
    provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    err = provider->create(&instance, args, ptemp, pconf);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "MAB00901: AuthBearerSOCache %s: %s",
                     mab_srv_conf(s)->socache ? mab_srv_conf(s)->socache : "shmcb", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* Always: the claim of a new token's call (a get and a put) is atomic among this
     * httpd's processes whatever the provider; shmcb also needs it for every operation. */
    op_lock = (provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) != 0;
    rv = ap_global_mutex_create(&mutex, NULL, MUTEX_TYPE, NULL, s, pconf, 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "MAB00902: cannot create the mutex of AuthBearerSOCache");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = provider->init(instance, "mod_auth_bearer", &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "MAB00903: AuthBearerSOCache %s cannot be initialised",
                     mab_srv_conf(s)->socache ? mab_srv_conf(s)->socache : "shmcb");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, s, destroy_cache, apr_pool_cleanup_null);
    if (nstats == 0) {
        return OK;
    }
    rv = apr_shm_create(&shm, (apr_size_t)nstats * sizeof(ep_stats_t), NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "MAB00904: no shared memory for the introspection endpoints' last errors: "
                     "the status page shows none");
        stats = NULL;
    }
    else {
        stats = apr_shm_baseaddr_get(shm);
        memset(stats, 0, (apr_size_t)nstats * sizeof(ep_stats_t));
    }
    for (i = 0; i < nstats; i++) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "MAB00905: introspection endpoint %s",
                     mab_conf_endpoint_at(i)->name);
    }
    return OK;
}

/* --- the store: httpd's socache -------------------------------------------------------------- */

static void store_lock(void *ctx)
{
    if (mutex && apr_global_mutex_lock(mutex) == APR_SUCCESS) {
        holding = 1;
    }
}

static void store_unlock(void *ctx)
{
    if (mutex && holding) {
        holding = 0;
        apr_global_mutex_unlock(mutex);
    }
}

/* Each operation alone takes the mutex, unless the caller holds it for a get and a put. */
static int enter(void)
{
    if (!mutex || !op_lock || holding) {
        return 0;
    }
    return apr_global_mutex_lock(mutex) == APR_SUCCESS ? 1 : -1;
}

static void leave(int entered)
{
    if (entered == 1) {
        apr_global_mutex_unlock(mutex);
    }
}

static int store_get(void *ctx, const unsigned char *key, unsigned keylen, unsigned char *buf,
                     unsigned *len, apr_pool_t *p)
{
    int entered = enter();
    apr_status_t rv;

    if (entered < 0) {
        return -1;
    }
    rv = provider->retrieve(instance, main_server, key, keylen, buf, len, p);
    leave(entered);
    if (rv == APR_SUCCESS) {
        return 0;
    }
    /* too large for our buffer is not ours either */
    return rv == APR_NOTFOUND || rv == APR_ENOSPC ? 1 : -1;
}

static int store_put(void *ctx, const unsigned char *key, unsigned keylen, long long expires,
                     const unsigned char *val, unsigned len, apr_pool_t *p)
{
    int entered = enter();
    apr_status_t rv;

    if (entered < 0) {
        return -1;
    }
    rv = provider->store(instance, main_server, key, keylen, apr_time_from_sec(expires),
                         (unsigned char *)val, len, p);
    leave(entered);
    return rv == APR_SUCCESS ? 0 : -1;
}

static int store_del(void *ctx, const unsigned char *key, unsigned keylen, apr_pool_t *p)
{
    int entered = enter();
    apr_status_t rv;

    if (entered < 0) {
        return -1;
    }
    rv = provider->remove(instance, main_server, key, keylen, p);
    leave(entered);
    return rv == APR_SUCCESS || rv == APR_NOTFOUND ? 0 : -1;
}

static mab_kvstore_t store = {store_get, store_put, store_del, store_lock, store_unlock, NULL};

const mab_kvstore_t *mab_introspect_store(void)
{
    return instance ? &store : NULL;
}

/* --- the call -------------------------------------------------------------------------------- */

typedef struct {
    const mab_introspection_t *in;
    const char *tok;
    apr_size_t len;
    long long now;
} call_t;

static void count_failure(const mab_endpoint_t *ep, int kind)
{
    if (mab_metrics()) {
        mab_counters_inc(mab_metrics(), MAB_C_INTROSPECTION_FAILURES,
                         mab_metrics_introspect_failure(ep->index, kind));
    }
}

static void note_error(const mab_endpoint_t *ep, const char *text)
{
    ep_stats_t *st = stats ? &stats[ep->index] : NULL;

    if (st) {
        apr_cpystrn(st->last_error, text, sizeof(st->last_error));
        atomic_store_explicit(&st->last_error_at, (long long)apr_time_sec(apr_time_now()),
                              memory_order_relaxed);
    }
}

/* The endpoint's URL: configured, or named by the issuer's metadata (fetched once per
 * process and kept for an hour; the transport rule applies to it as to a configured one). */
static const char *endpoint_url(const mab_endpoint_t *ep, apr_pool_t *p, const char **why)
{
    discovered_t *d;
    const char *url = NULL, *meta = NULL, *bad = NULL;
    apr_time_t now = apr_time_now();
    long max_age = -1;

    if (ep->url) {
        return ep->url;
    }
    d = &discovered[ep->index];
    apr_thread_mutex_lock(d->lock);
    if (now < d->until) {
        url = d->url ? apr_pstrdup(p, d->url) : NULL;
        *why = d->why ? apr_pstrdup(p, d->why) : NULL;
        apr_thread_mutex_unlock(d->lock);
        return url;
    }
    apr_pool_clear(d->pool);
    d->url =
        mab_discovery_fetch_member(d->pool, ep->issuer, "introspection_endpoint", client.timeout_ms,
                                   client.ca_file, &meta, &max_age, &d->why);
    if (d->url && !mab_fetch_url_allowed(d->pool, d->url, client.allow_insecure, &bad)) {
        d->why = apr_psprintf(d->pool, "%s: introspection_endpoint %s is refused: %s", meta, d->url,
                              bad);
        d->url = NULL;
    }
    d->until = now + (d->url ? DISCOVERED_FOR : DISCOVERY_RETRY);
    url = d->url ? apr_pstrdup(p, d->url) : NULL;
    *why = d->why ? apr_pstrdup(p, d->why) : "no introspection_endpoint";
    apr_thread_mutex_unlock(d->lock);
    return url;
}

static int call(void *ctx, apr_pool_t *p, const unsigned char **val, unsigned *len,
                long long *until, const char **detail)
{
    call_t *c = ctx;
    const mab_endpoint_t *ep = c->in->ep;
    mab_introspect_endpoint_t e;
    json_t *answer = NULL;
    double seconds = 0;
    long code = 0;
    mab_introspect_status_e rc;
    unsigned char *entry = NULL;
    apr_size_t n;

    e.url = endpoint_url(ep, p, detail);
    if (!e.url) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, main_server,
                     "MAB00910: issuer %s: no introspection endpoint: %s; set "
                     "AuthBearerIntrospection",
                     ep->issuer, *detail);
        note_error(ep, *detail);
        return -1;
    }
    e.auth = c->in->auth;
    e.timeout_ms = client.timeout_ms;
    e.ca_file = client.ca_file;
    e.max_body = MAX_ANSWER;
    rc = mab_introspect_call(&e, c->tok, c->len, p, &answer, &code, &seconds, detail);
    if (mab_metrics()) {
        mab_counters_inc(mab_metrics(), MAB_C_INTROSPECTION_CALLS, (unsigned)ep->index);
        mab_counters_observe(mab_metrics(), MAB_C_INTROSPECTION_SECONDS, (unsigned)ep->index,
                             (uint64_t)(seconds * 1e6));
        if (rc != MAB_IC_OK && rc < MAB_IC__COUNT) {
            count_failure(ep, (int)rc - 1);
        }
    }
    if (rc == MAB_IC_REFUSED_AUTH) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, main_server,
                     "MAB00906: introspection endpoint %s refused the module's own credentials "
                     "(HTTP %ld): check AuthBearerIntrospectionAuth",
                     ep->name, code);
    }
    else if (rc != MAB_IC_OK) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, main_server,
                     "MAB00907: introspection at %s failed (%s): %s; tokens it would vouch for "
                     "get 503",
                     ep->name, mab_introspect_status_name(rc), *detail ? *detail : "-");
    }
    if (rc != MAB_IC_OK) {
        note_error(
            ep, apr_psprintf(p, "%s: %s", mab_introspect_status_name(rc), *detail ? *detail : "-"));
        return -1;
    }
    *until = mab_introspect_cache_until(json_is_true(json_object_get(answer, "active")), answer,
                                        c->now, c->in->cache_s);
    n = mab_introspect_entry_encode(p, answer, *until, &entry);
    if (n == 0 || n > MAB_ICACHE_MAX_VALUE) {
        *detail = "the answer is too large to keep";
        return -1;
    }
    *val = entry;
    *len = (unsigned)n;
    return 0;
}

static mab_err_e introspect(void *ctx, const mab_issuer_t *issuer, const char *tok, apr_size_t len,
                            const unsigned char *digest, long long now, apr_pool_t *pool,
                            json_t **answer, int *cached, const char **detail)
{
    const mab_introspection_t *in = issuer->rules ? issuer->rules->introspection : NULL;
    const unsigned char *val = NULL;
    mab_ic_from_e from = MAB_ICACHE_FROM_CALL;
    mab_ic_result_e rc;
    unsigned char key[MAB_INTROSPECT_KEY_LEN];
    long long expires = 0;
    int active = 0;
    call_t c;
    unsigned vlen = 0;

    if (!in || !ic || !instance) {
        *detail = "introspection is not set up in this process";
        return MAB_ERR_INTROSPECTION;
    }
    c.in = in;
    c.tok = tok;
    c.len = len;
    c.now = now;
    /* Keyed by endpoint and token: an answer one endpoint gave never stands for another's. */
    if (mab_introspect_cache_key(in->ep->name, tok, len, key) != 0) {
        *detail = "cannot hash the token";
        return MAB_ERR_INTROSPECTION;
    }
    rc = mab_ic_lookup(ic, &store, key, now, in->cache_s != 0, call, &c, pool, &val, &vlen, &from,
                       detail);
    switch (rc) {
    case MAB_ICACHE_ANSWER:
        break;
    case MAB_ICACHE_BUSY:
        count_failure(in->ep, MAB_METRICS_IFAIL_BUSY);
        return MAB_ERR_INTROSPECTION;
    case MAB_ICACHE_STORE_DOWN:
        count_failure(in->ep, MAB_METRICS_IFAIL_CACHE);
        note_error(in->ep, "the shared cache (AuthBearerSOCache) failed");
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, main_server,
                     "MAB00908: AuthBearerSOCache %s failed: introspected tokens get 503 until "
                     "it works again",
                     mab_srv_conf(main_server)->socache ? mab_srv_conf(main_server)->socache
                                                        : "shmcb");
        return MAB_ERR_INTROSPECTION;
    case MAB_ICACHE_FAILED:
    default:
        return MAB_ERR_INTROSPECTION;
    }
    if (from != MAB_ICACHE_FROM_CALL && mab_metrics()) {
        mab_counters_inc(mab_metrics(), MAB_C_INTROSPECTION_CACHE_HITS, (unsigned)in->ep->index);
    }
    *cached = from != MAB_ICACHE_FROM_CALL;
    if (!mab_introspect_entry_decode(val, vlen, pool, answer, &expires, &active)) {
        *detail = "a kept introspection answer does not decode";
        return MAB_ERR_INTROSPECTION;
    }
    return MAB_OK;
}

const mab_introspector_t *mab_introspect_child_init(apr_pool_t *pchild, server_rec *s)
{
    mab_ic_opts_t opts;
    mab_keycache_opts_t kopts;

    if (!instance) {
        return NULL;
    }
    if (mutex) {
        apr_global_mutex_child_init(&mutex, apr_global_mutex_lockfile(mutex), pchild);
    }
    if (nstats == 0) {
        return NULL; /* the store is there for DPoP only */
    }
    mab_srv_keycache_opts(mab_srv_conf(s), &kopts);
    client.timeout_ms = kopts.fetch_timeout_ms;
    client.ca_file = kopts.ca_file;
    client.allow_insecure = kopts.allow_insecure;
    discovered = apr_pcalloc(pchild, (apr_size_t)nstats * sizeof(*discovered));
    for (int i = 0; i < nstats; i++) {
        if (apr_thread_mutex_create(&discovered[i].lock, APR_THREAD_MUTEX_DEFAULT, pchild)
                != APR_SUCCESS
            || apr_pool_create(&discovered[i].pool, pchild) != APR_SUCCESS) {
            return NULL;
        }
    }
    opts.front_entries = FRONT_ENTRIES;
    opts.max_inflight = MAB_INTROSPECT_MAX_INFLIGHT;
    /* Long enough to outlast the call another request makes (its timeout). */
    opts.wait_ms = kopts.fetch_timeout_ms + 1000;
    ic = mab_ic_create(pchild, &opts);
    if (!ic) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "MAB00909: cannot create the introspection cache: introspected tokens get "
                     "503");
        return NULL;
    }
    introspector.introspect = introspect;
    introspector.ctx = NULL;
    return &introspector;
}

/* --- status ---------------------------------------------------------------------------------- */
/* What the status page shows per endpoint: the metrics' counters and the last error. */
typedef struct {
    uint64_t calls, hits, failures, n;
    double avg_ms;
    const char *last_error;
    long long last_error_at;
} ep_view_t;

static void view(int i, apr_pool_t *p, ep_view_t *v)
{
    const mab_counters_t *m = mab_metrics();
    int k;

    memset(v, 0, sizeof(*v));
    if (m) {
        v->calls = mab_counters_get(m, MAB_C_INTROSPECTION_CALLS, (unsigned)i);
        v->hits = mab_counters_get(m, MAB_C_INTROSPECTION_CACHE_HITS, (unsigned)i);
        for (k = 0; k < MAB_METRICS_IFAIL_KINDS; k++) {
            v->failures += mab_counters_get(m, MAB_C_INTROSPECTION_FAILURES,
                                            mab_metrics_introspect_failure(i, k));
        }
    }
    if (stats) {
        v->last_error_at = atomic_load_explicit(&stats[i].last_error_at, memory_order_relaxed);
        v->last_error = v->last_error_at ? apr_pstrdup(p, stats[i].last_error) : NULL;
    }
}

json_t *mab_introspect_status_json(apr_pool_t *p)
{
    json_t *list = json_array();
    int i;

    for (i = 0; i < nstats; i++) {
        json_t *o = json_object();
        ep_view_t v;

        view(i, p, &v);
        json_object_set_new(o, "endpoint", json_string(mab_conf_endpoint_at(i)->name));
        json_object_set_new(o, "calls", json_integer((json_int_t)v.calls));
        json_object_set_new(o, "cache_hits", json_integer((json_int_t)v.hits));
        json_object_set_new(o, "failures", json_integer((json_int_t)v.failures));
        json_object_set_new(o, "last_error",
                            v.last_error ? json_string(v.last_error) : json_null());
        json_object_set_new(o, "last_error_at",
                            v.last_error_at ? json_integer((json_int_t)v.last_error_at)
                                            : json_null());
        json_array_append_new(list, o);
    }
    return list;
}

void mab_introspect_status_html(request_rec *r)
{
    int i;

    for (i = 0; i < nstats; i++) {
        ep_view_t v;

        view(i, r->pool, &v);
        ap_rprintf(r, "<h2>Introspection %s</h2>\n<table>\n",
                   ap_escape_html2(r->pool, mab_conf_endpoint_at(i)->name, 1));
        ap_rprintf(r, "<tr><th>Calls</th><td>%" APR_UINT64_T_FMT "</td></tr>\n", v.calls);
        ap_rprintf(r, "<tr><th>Cache hits</th><td>%" APR_UINT64_T_FMT "</td></tr>\n", v.hits);
        ap_rprintf(r,
                   "<tr><th>Failures</th><td>%" APR_UINT64_T_FMT
                   " (by kind and latency: the metrics below)</td></tr>\n",
                   v.failures);
        ap_rprintf(r, "<tr><th>Last error</th><td>%s</td></tr>\n</table>\n",
                   v.last_error ? ap_escape_html2(r->pool, v.last_error, 1) : "");
    }
}
