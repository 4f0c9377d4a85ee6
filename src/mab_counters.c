#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <jansson.h>

#include "mab_counters.h"
#include "mab_log.h"

/* The block is shared between processes: an atomic that took a lock would take one of this
 * process only. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "cells are 8 bytes");

#define PREFIX "mod_auth_bearer_"
#define AUTO_PREFIX "AuthBearer"

/* Key set fetches: a file is read in well under a millisecond, a nearby issuer answers in
 * tens of ms, a distant or struggling one in seconds, and AuthBearerFetchTimeout (5 s by
 * default, up to what an admin sets) ends the rest. */
static const uint64_t fetch_bounds[] = {1000,   5000,   10000,   25000,   50000,   100000,
                                        250000, 500000, 1000000, 2500000, 5000000, 10000000};

/* The metric table: what each id is called, what it counts, how it is labelled. Names and
 * label values are a public interface (dashboards, alerts): add, never rename. */
static const mab_counter_def_t defs[MAB_C__COUNT] = {
    [MAB_C_TOKENS_ACCEPTED] = {"tokens_accepted_total", MAB_COUNTER, MAB_DIM_ISSUER,
                               "TokensAccepted",
                               "Tokens verified and accepted, by the configured issuer that "
                               "vouched for them (a Require line may still refuse the request: "
                               "those are also in requests_refused_total with status 403)"},
    [MAB_C_REFUSED] = {"requests_refused_total", MAB_COUNTER, MAB_DIM_REFUSAL, "Refused",
                       "Requests refused, by response status and reason: the RFC 6750 "
                       "error_description's for 400/401/500, the Require rule for 403"},
    [MAB_C_TOKEN_CACHE_HITS] = {"token_cache_hits_total", MAB_COUNTER, MAB_DIM_NONE,
                                "TokenCacheHits",
                                "Tokens whose signature this process had verified before "
                                "(AuthBearerTokenCache)"},
    [MAB_C_TOKEN_CACHE_MISSES] = {"token_cache_misses_total", MAB_COUNTER, MAB_DIM_NONE,
                                  "TokenCacheMisses",
                                  "Tokens looked up in the token cache and not found there"},
    [MAB_C_JWKS_FETCHES] = {"jwks_fetches_total", MAB_COUNTER, MAB_DIM_SOURCE, "JWKSFetches",
                            "Key set fetch attempts (with discovery's metadata), by key source"},
    [MAB_C_JWKS_FAILURES] = {"jwks_fetch_failures_total", MAB_COUNTER, MAB_DIM_SOURCE,
                             "JWKSFetchFailures",
                             "Key set fetch attempts that failed (the last good keys are kept)"},
    [MAB_C_JWKS_REFETCHES] = {"jwks_refetches_total", MAB_COUNTER, MAB_DIM_SOURCE, "JWKSRefetches",
                              "Key set fetches asked for early by a token naming an unknown kid"},
    [MAB_C_JWKS_FETCH_SECONDS] = {"jwks_fetch_duration_seconds", MAB_HISTOGRAM, MAB_DIM_SOURCE,
                                  "JWKSFetchDuration", "How long key set fetch attempts took",
                                  fetch_bounds, sizeof(fetch_bounds) / sizeof(fetch_bounds[0])},
    [MAB_C_START_TIME] = {"start_time_seconds", MAB_GAUGE, MAB_DIM_NONE, "StartTime",
                          "When these counters started at 0 (Unix time): at every start and "
                          "every restart, graceful or not"},
    [MAB_C_INTROSPECTION_CALLS] = {"introspection_calls_total", MAB_COUNTER, MAB_DIM_ENDPOINT,
                                   "IntrospectionCalls",
                                   "RFC 7662 introspection calls made, by endpoint"},
    [MAB_C_INTROSPECTION_CACHE_HITS] = {"introspection_cache_hits_total", MAB_COUNTER,
                                        MAB_DIM_ENDPOINT, "IntrospectionCacheHits",
                                        "Introspection answers taken from a cache (this "
                                        "process's or AuthBearerSOCache) instead of a call"},
    [MAB_C_INTROSPECTION_FAILURES] = {"introspection_failures_total", MAB_COUNTER,
                                      MAB_DIM_ENDPOINT_FAILURE, "IntrospectionFailures",
                                      "Introspected tokens that got no answer (503), by endpoint "
                                      "and kind"},
    [MAB_C_INTROSPECTION_SECONDS] = {"introspection_duration_seconds", MAB_HISTOGRAM,
                                     MAB_DIM_ENDPOINT, "IntrospectionDuration",
                                     "How long introspection calls took", fetch_bounds,
                                     sizeof(fetch_bounds) / sizeof(fetch_bounds[0])},
};

/* The dimension table: label names; configured ones take their values from the glue and
 * show in ?auto by index. */
typedef struct {
    const char *labels[2];
    int configured;
    const char *auto_name; /* configured: "AuthBearer<auto_name>[i]: <label>" */
    const char *other;     /* configured: a last value for everything not configured */
} dim_def_t;

static const dim_def_t dims[MAB_DIM__COUNT] = {
    [MAB_DIM_NONE] = {{NULL, NULL}, 0, NULL, NULL},
    [MAB_DIM_REFUSAL] = {{"status", "reason"}, 0, NULL, NULL},
    [MAB_DIM_ISSUER] = {{"issuer", NULL}, 1, "Issuer", "other"},
    [MAB_DIM_SOURCE] = {{"source", "kind"}, 1, "Source", NULL},
    [MAB_DIM_ENDPOINT] = {{"endpoint", NULL}, 1, "Introspection", NULL},
    [MAB_DIM_ENDPOINT_FAILURE] = {{"endpoint", "kind"}, 1, "IntrospectionFailure", NULL},
};

static const char *const forbidden_labels[MAB_FORBIDDEN__COUNT] = {
    [MAB_FORBIDDEN_SCOPE] = "insufficient_scope",
    [MAB_FORBIDDEN_CLAIM] = "claim_not_met",
    [MAB_FORBIDDEN_NEGATED] = "negated_rule",
};

typedef struct {
    const char *text[2]; /* the label values, printable ASCII */
    const char *prom;    /* `a="x",b="y"`, escaped */
    const char *plain;   /* `a=x b=y` */
    const char *auto_id; /* fixed values: "401Expired"; configured: "[i]" */
    int lazy;
} value_t;

typedef struct {
    unsigned offset, width, nvalues;
} layout_t;

struct mab_counters_t {
    apr_pool_t *pool;
    apr_array_header_t *values[MAB_DIM__COUNT]; /* value_t */
    layout_t lay[MAB_C__COUNT];
    apr_size_t ncells;
    int frozen;
    _Atomic uint64_t *cells;
};

const mab_counter_def_t *mab_counters_def(mab_counter_e id)
{
    return (unsigned)id < MAB_C__COUNT ? &defs[id] : NULL;
}

static unsigned nlabels(mab_counters_dim_e d)
{
    return dims[d].labels[0] ? (dims[d].labels[1] ? 2 : 1) : 0;
}

/* "no_matching_key" -> "NoMatchingKey", for ?auto names. */
static char *camel(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) + 1), *o = out;
    int up = 1;

    for (; *s; s++) {
        if (*s == '_' || *s == '-') {
            up = 1;
            continue;
        }
        *o++ = up ? (char)apr_toupper(*s) : *s;
        up = 0;
    }
    *o = '\0';
    return out;
}

/* A Prometheus label value: backslash and double quote escaped (the texts are printable
 * ASCII, so no newline). */
static char *escape_label(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, 2 * strlen(s) + 1), *o = out;

    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            *o++ = '\\';
        }
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

static unsigned push_value(mab_counters_t *m, mab_counters_dim_e d, const char *const *texts,
                           const char *auto_id, int lazy)
{
    value_t *v = apr_array_push(m->values[d]);
    unsigned i, n = nlabels(d);
    const char *prom = "", *plain = "";

    memset(v, 0, sizeof(*v));
    for (i = 0; i < n; i++) {
        v->text[i] = mab_log_printable(m->pool, texts[i] ? texts[i] : "");
        prom = apr_pstrcat(m->pool, prom, i ? "," : "", dims[d].labels[i], "=\"",
                           escape_label(m->pool, v->text[i]), "\"", NULL);
        plain = apr_pstrcat(m->pool, plain, i ? " " : "", dims[d].labels[i], "=", v->text[i], NULL);
    }
    v->prom = prom;
    v->plain = plain;
    v->lazy = lazy;
    v->auto_id = auto_id ? auto_id : apr_psprintf(m->pool, "[%d]", m->values[d]->nelts - 1);
    return (unsigned)m->values[d]->nelts - 1;
}

unsigned mab_counters_refusal(mab_err_e err)
{
    return err > MAB_OK && err < MAB_ERR__COUNT ? (unsigned)err - 1 : (unsigned)-1;
}

unsigned mab_counters_forbidden(mab_forbidden_e kind)
{
    return (unsigned)kind < MAB_FORBIDDEN__COUNT ? (unsigned)(MAB_ERR__COUNT - 1) + kind
                                                 : (unsigned)-1;
}

mab_counters_t *mab_counters_create(apr_pool_t *p)
{
    mab_counters_t *m = apr_pcalloc(p, sizeof(*m));
    int d, e, k;

    m->pool = p;
    for (d = 0; d < MAB_DIM__COUNT; d++) {
        m->values[d] = apr_array_make(p, 8, sizeof(value_t));
    }
    push_value(m, MAB_DIM_NONE, NULL, "", 0);
    /* In the order of mab_counters_refusal and mab_counters_forbidden. */
    for (e = MAB_OK + 1; e < MAB_ERR__COUNT; e++) {
        const char *label = mab_err_label((mab_err_e)e);
        const char *t[2];
        t[0] = apr_itoa(p, mab_err_http_status((mab_err_e)e));
        /* A reason added without a label still counts, under a name of its own. */
        t[1] = label ? label : apr_psprintf(p, "error_%d", e);
        push_value(m, MAB_DIM_REFUSAL, t, apr_pstrcat(p, t[0], camel(p, t[1]), NULL), 0);
    }
    for (k = 0; k < MAB_FORBIDDEN__COUNT; k++) {
        const char *t[2] = {"403", forbidden_labels[k]};
        push_value(m, MAB_DIM_REFUSAL, t, apr_pstrcat(p, "403", camel(p, t[1]), NULL), 0);
    }
    return m;
}

unsigned mab_counters_add_value(mab_counters_t *m, mab_counters_dim_e d, const char *const *labels,
                                int lazy)
{
    if (m->frozen || (unsigned)d >= MAB_DIM__COUNT || !dims[d].configured) {
        return (unsigned)-1;
    }
    return push_value(m, d, labels, NULL, lazy);
}

unsigned mab_counters_values(const mab_counters_t *m, mab_counters_dim_e d)
{
    return (unsigned)d < MAB_DIM__COUNT ? (unsigned)m->values[d]->nelts : 0;
}

static unsigned width_of(const mab_counter_def_t *def)
{
    /* A histogram: its buckets, +Inf's, then the sum. */
    return def->type == MAB_HISTOGRAM ? def->nbounds + 2 : 1;
}

apr_size_t mab_counters_size(mab_counters_t *m)
{
    int id, d;

    if (!m->frozen) {
        for (d = 0; d < MAB_DIM__COUNT; d++) {
            if (dims[d].other) {
                const char *t[2] = {dims[d].other, NULL};
                push_value(m, (mab_counters_dim_e)d, t, NULL, 0);
            }
        }
        m->ncells = 0;
        for (id = 0; id < MAB_C__COUNT; id++) {
            layout_t *l = &m->lay[id];
            l->offset = (unsigned)m->ncells;
            l->width = width_of(&defs[id]);
            l->nvalues = (unsigned)m->values[defs[id].dim]->nelts;
            m->ncells += (apr_size_t)l->width * l->nvalues;
        }
        m->frozen = 1;
    }
    return m->ncells * sizeof(_Atomic uint64_t);
}

void mab_counters_attach(mab_counters_t *m, void *mem, long long now)
{
    apr_size_t i, n = mab_counters_size(m) / sizeof(_Atomic uint64_t);

    m->cells = mem;
    /* Before any other process or thread sees the block. */
    for (i = 0; i < n; i++) {
        atomic_init(&m->cells[i], 0);
    }
    atomic_init(&m->cells[m->lay[MAB_C_START_TIME].offset], (uint64_t)(now > 0 ? now : 0));
}

/* The first cell of a series, or NULL when it is not counted. */
static _Atomic uint64_t *cell(const mab_counters_t *m, mab_counter_e id, unsigned idx)
{
    const layout_t *l;

    if (!m || !m->cells || (unsigned)id >= MAB_C__COUNT) {
        return NULL;
    }
    l = &m->lay[id];
    return idx < l->nvalues ? &m->cells[l->offset + idx * l->width] : NULL;
}

/* Relaxed: a counter orders nothing else, and every add lands whatever its order. */
void mab_counters_add(const mab_counters_t *m, mab_counter_e id, unsigned idx, uint64_t n)
{
    _Atomic uint64_t *c = cell(m, id, idx);

    if (c && defs[id].type != MAB_HISTOGRAM) {
        atomic_fetch_add_explicit(c, n, memory_order_relaxed);
    }
}

void mab_counters_observe(const mab_counters_t *m, mab_counter_e id, unsigned idx, uint64_t micros)
{
    _Atomic uint64_t *c = cell(m, id, idx);
    unsigned b = 0;

    if (!c || defs[id].type != MAB_HISTOGRAM) {
        return;
    }
    while (b < defs[id].nbounds && micros > defs[id].bounds[b]) {
        b++;
    }
    atomic_fetch_add_explicit(&c[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c[defs[id].nbounds + 1], micros, memory_order_relaxed);
}

static uint64_t load(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

uint64_t mab_counters_get(const mab_counters_t *m, mab_counter_e id, unsigned idx)
{
    _Atomic uint64_t *c = cell(m, id, idx);
    uint64_t n = 0;
    unsigned b;

    if (!c) {
        return 0;
    }
    if (defs[id].type != MAB_HISTOGRAM) {
        return load(c);
    }
    for (b = 0; b <= defs[id].nbounds; b++) {
        n += load(&c[b]);
    }
    return n;
}

/* --- reading for the views ----------------------------------------------------------------- */

/* One consistent-enough reading of a series: each cell is whole, a histogram's cells may
 * come from either side of an observation under way (Prometheus tolerates that). */
#define MAX_BOUNDS 32

typedef struct {
    uint64_t value;                   /* counter, gauge; histogram: count */
    uint64_t sum;                     /* histogram, millionths */
    uint64_t buckets[MAX_BOUNDS + 1]; /* histogram, cumulative; +Inf last */
} reading_t;

_Static_assert(sizeof(fetch_bounds) / sizeof(fetch_bounds[0]) <= MAX_BOUNDS,
               "a histogram has at most MAX_BOUNDS buckets");

static void read_series(const mab_counters_t *m, mab_counter_e id, unsigned idx, reading_t *out)
{
    const _Atomic uint64_t *c = cell(m, id, idx);
    unsigned b;

    memset(out, 0, sizeof(*out));
    if (!c) {
        return;
    }
    if (defs[id].type != MAB_HISTOGRAM) {
        out->value = load(c);
        return;
    }
    for (b = 0; b <= defs[id].nbounds && b <= MAX_BOUNDS; b++) {
        out->value += load(&c[b]);
        out->buckets[b] = out->value;
    }
    out->sum = load(&c[defs[id].nbounds + 1]);
}

/* A lazy value is shown once any metric of its dimension has counted something for it. */
static int shown(const mab_counters_t *m, mab_counters_dim_e d, unsigned idx)
{
    const value_t *v = &APR_ARRAY_IDX(m->values[d], (int)idx, value_t);
    int id;

    if (!v->lazy) {
        return 1;
    }
    for (id = 0; id < MAB_C__COUNT; id++) {
        if (defs[id].dim == d && mab_counters_get(m, (mab_counter_e)id, idx) != 0) {
            return 1;
        }
    }
    return 0;
}

/* Millionths as a decimal without trailing zeros: exact, and no locale's decimal comma. */
static const char *decimal(apr_pool_t *p, uint64_t micros)
{
    char frac[8];
    int n;

    if (micros % 1000000 == 0) {
        return apr_psprintf(p, "%" APR_UINT64_T_FMT, micros / 1000000);
    }
    apr_snprintf(frac, sizeof(frac), "%06" APR_UINT64_T_FMT, micros % 1000000);
    for (n = 6; n > 0 && frac[n - 1] == '0'; n--) {
        frac[n - 1] = '\0';
    }
    return apr_psprintf(p, "%" APR_UINT64_T_FMT ".%s", micros / 1000000, frac);
}

/* A growing text in a pool. */
typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap;
} text_t;

static void put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text_t *t, const char *fmt, ...)
{
    va_list ap;
    const char *s;
    apr_size_t n;

    va_start(ap, fmt);
    s = apr_pvsprintf(t->p, fmt, ap);
    va_end(ap);
    n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        apr_size_t cap = t->cap ? t->cap : 4096;
        char *grown;
        while (cap < t->len + n + 1) {
            cap *= 2;
        }
        grown = apr_palloc(t->p, cap);
        if (t->len) {
            memcpy(grown, t->buf, t->len);
        }
        t->buf = grown;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n + 1);
    t->len += n;
}

static const value_t *value_at(const mab_counters_t *m, mab_counters_dim_e d, unsigned idx)
{
    return &APR_ARRAY_IDX(m->values[d], (int)idx, value_t);
}

static const char *type_name(mab_counter_type_e t)
{
    return t == MAB_COUNTER ? "counter" : t == MAB_GAUGE ? "gauge" : "histogram";
}

/* HELP text: backslash and newline escaped, as the format asks. */
static const char *escape_help(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, 2 * strlen(s) + 1), *o = out;

    for (; *s; s++) {
        if (*s == '\\') {
            *o++ = '\\';
            *o++ = '\\';
        }
        else if (*s == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        }
        else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

char *mab_counters_prometheus(const mab_counters_t *m, apr_pool_t *p)
{
    text_t t = {p, NULL, 0, 0};
    int id;
    unsigned i, b;

    put(&t, "%s", "");
    for (id = 0; m->frozen && id < MAB_C__COUNT; id++) {
        const mab_counter_def_t *def = &defs[id];
        const layout_t *l = &m->lay[id];

        put(&t, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", def->name,
            escape_help(p, def->help), def->name, type_name(def->type));
        for (i = 0; i < l->nvalues; i++) {
            const value_t *v = value_at(m, def->dim, i);
            reading_t r;
            if (!shown(m, def->dim, i)) {
                continue;
            }
            read_series(m, (mab_counter_e)id, i, &r);
            if (def->type != MAB_HISTOGRAM) {
                put(&t, PREFIX "%s%s%s%s %" APR_UINT64_T_FMT "\n", def->name, *v->prom ? "{" : "",
                    v->prom, *v->prom ? "}" : "", r.value);
                continue;
            }
            for (b = 0; b <= def->nbounds; b++) {
                put(&t, PREFIX "%s_bucket{%s%sle=\"%s\"} %" APR_UINT64_T_FMT "\n", def->name,
                    v->prom, *v->prom ? "," : "",
                    b < def->nbounds ? decimal(p, def->bounds[b]) : "+Inf", r.buckets[b]);
            }
            put(&t, PREFIX "%s_sum%s%s%s %s\n", def->name, *v->prom ? "{" : "", v->prom,
                *v->prom ? "}" : "", decimal(p, r.sum));
            put(&t, PREFIX "%s_count%s%s%s %" APR_UINT64_T_FMT "\n", def->name, *v->prom ? "{" : "",
                v->prom, *v->prom ? "}" : "", r.value);
        }
    }
    return t.buf;
}

char *mab_counters_auto(const mab_counters_t *m, apr_pool_t *p)
{
    text_t t = {p, NULL, 0, 0};
    int id, d;
    unsigned i, k;

    put(&t, "%s", "");
    /* What each index of a configured dimension stands for. */
    for (d = 0; m->frozen && d < MAB_DIM__COUNT; d++) {
        if (!dims[d].configured) {
            continue;
        }
        for (i = 0; i < (unsigned)m->values[d]->nelts; i++) {
            const value_t *v = value_at(m, (mab_counters_dim_e)d, i);
            if (!shown(m, (mab_counters_dim_e)d, i)) {
                continue;
            }
            put(&t, AUTO_PREFIX "%s%s: %s\n", dims[d].auto_name, v->auto_id, v->text[0]);
            for (k = 1; k < nlabels((mab_counters_dim_e)d); k++) {
                put(&t, AUTO_PREFIX "%s%s%s: %s\n", dims[d].auto_name, v->auto_id,
                    camel(p, dims[d].labels[k]), v->text[k]);
            }
        }
    }
    for (id = 0; m->frozen && id < MAB_C__COUNT; id++) {
        const mab_counter_def_t *def = &defs[id];
        const layout_t *l = &m->lay[id];
        uint64_t total = 0, sum = 0;
        reading_t r;

        for (i = 0; i < l->nvalues; i++) {
            read_series(m, (mab_counter_e)id, i, &r);
            total += r.value;
            sum += r.sum;
        }
        if (def->type == MAB_HISTOGRAM) {
            put(&t, AUTO_PREFIX "%sCount: %" APR_UINT64_T_FMT "\n", def->auto_name, total);
            put(&t, AUTO_PREFIX "%sSum: %s\n", def->auto_name, decimal(p, sum));
        }
        else {
            put(&t, AUTO_PREFIX "%s: %" APR_UINT64_T_FMT "\n", def->auto_name, total);
        }
        for (i = 0; def->dim != MAB_DIM_NONE && i < l->nvalues; i++) {
            const value_t *v = value_at(m, def->dim, i);
            if (!shown(m, def->dim, i)) {
                continue;
            }
            read_series(m, (mab_counter_e)id, i, &r);
            if (def->type == MAB_HISTOGRAM) {
                put(&t, AUTO_PREFIX "%sCount%s: %" APR_UINT64_T_FMT "\n", def->auto_name,
                    v->auto_id, r.value);
                put(&t, AUTO_PREFIX "%sSum%s: %s\n", def->auto_name, v->auto_id, decimal(p, r.sum));
            }
            else {
                put(&t, AUTO_PREFIX "%s%s: %" APR_UINT64_T_FMT "\n", def->auto_name, v->auto_id,
                    r.value);
            }
        }
    }
    return t.buf;
}

json_t *mab_counters_json(const mab_counters_t *m, apr_pool_t *p)
{
    json_t *all = json_array();
    int id;
    unsigned i, k, b;

    for (id = 0; m->frozen && id < MAB_C__COUNT; id++) {
        const mab_counter_def_t *def = &defs[id];
        const layout_t *l = &m->lay[id];

        for (i = 0; i < l->nvalues; i++) {
            const value_t *v = value_at(m, def->dim, i);
            json_t *o, *labels = json_object();
            reading_t r;
            if (!shown(m, def->dim, i)) {
                json_decref(labels);
                continue;
            }
            read_series(m, (mab_counter_e)id, i, &r);
            for (k = 0; k < nlabels(def->dim); k++) {
                json_object_set_new(labels, dims[def->dim].labels[k], json_string(v->text[k]));
            }
            o = json_pack("{s:s, s:s, s:o}", "name", apr_pstrcat(p, PREFIX, def->name, NULL),
                          "type", type_name(def->type), "labels", labels);
            if (!o) {
                continue;
            }
            if (def->type != MAB_HISTOGRAM) {
                json_object_set_new(o, "value", json_integer((json_int_t)r.value));
            }
            else {
                json_t *buckets = json_array();
                for (b = 0; b <= def->nbounds; b++) {
                    json_array_append_new(
                        buckets, json_pack("{s:s, s:I}", "le",
                                           b < def->nbounds ? decimal(p, def->bounds[b]) : "+Inf",
                                           "count", (json_int_t)r.buckets[b]));
                }
                json_object_set_new(o, "count", json_integer((json_int_t)r.value));
                json_object_set_new(o, "sum", json_real((double)r.sum / 1e6));
                json_object_set_new(o, "buckets", buckets);
            }
            json_array_append_new(all, o);
        }
    }
    return all;
}

void mab_counters_each(const mab_counters_t *m, apr_pool_t *p, mab_counters_each_fn *fn,
                       void *baton)
{
    int id;
    unsigned i;

    for (id = 0; m->frozen && id < MAB_C__COUNT; id++) {
        const mab_counter_def_t *def = &defs[id];

        for (i = 0; i < m->lay[id].nvalues; i++) {
            mab_counters_series_t s;
            reading_t r;
            if (!shown(m, def->dim, i)) {
                continue;
            }
            read_series(m, (mab_counter_e)id, i, &r);
            s.name = apr_pstrcat(p, PREFIX, def->name, NULL);
            s.def = def;
            s.labels = value_at(m, def->dim, i)->plain;
            s.value = r.value;
            s.sum = (double)r.sum / 1e6;
            fn(baton, &s);
        }
    }
}
