#ifndef MAB_COUNTERS_H
#define MAB_COUNTERS_H

#include <stdint.h>

#include <apr_pools.h>

#include "mab_error.h"

struct json_t;

/* The module's metrics: one block of 64-bit counters that every httpd process shares (the
 * glue puts it in shared memory), laid out from a table of metric definitions and a table
 * of label dimensions, and rendered as Prometheus text, as mod_status's ?auto lines and as
 * JSON. Events are counted with one relaxed atomic add each: no lock, no system call, so
 * the request path may count freely.
 *
 * A label's values are always bounded: a fixed list (the refusal reasons), or values the
 * configuration gave before the block was laid out (key sources, issuers). Nothing a token
 * carries ever becomes a label value; an index out of range is not counted.
 *
 * Adding a metric: an id below, its row in the table in src/mab_counters.c, the calls that
 * count it (doc/metrics.md says more). */

typedef enum {
    MAB_C_TOKENS_ACCEPTED, /* by MAB_DIM_ISSUER */
    MAB_C_REFUSED,         /* by MAB_DIM_REFUSAL: mab_counters_refusal / _forbidden */
    MAB_C_TOKEN_CACHE_HITS,
    MAB_C_TOKEN_CACHE_MISSES,
    MAB_C_JWKS_FETCHES, /* by MAB_DIM_SOURCE, the key cache's source index */
    MAB_C_JWKS_FAILURES,
    MAB_C_JWKS_REFETCHES,
    MAB_C_JWKS_FETCH_SECONDS,       /* histogram */
    MAB_C_START_TIME,               /* gauge: when the block was laid out */
    MAB_C_INTROSPECTION_CALLS,      /* by MAB_DIM_ENDPOINT, the endpoint registry's index */
    MAB_C_INTROSPECTION_CACHE_HITS, /* by MAB_DIM_ENDPOINT */
    MAB_C_INTROSPECTION_FAILURES,   /* by MAB_DIM_ENDPOINT_FAILURE: endpoint x kind */
    MAB_C_INTROSPECTION_SECONDS,    /* histogram, by MAB_DIM_ENDPOINT */
    MAB_C__COUNT
} mab_counter_e;

/* What a metric's series are told apart by. */
typedef enum {
    MAB_DIM_NONE,     /* one series, no label */
    MAB_DIM_REFUSAL,  /* status and reason: every mab_err_e but MAB_OK, then the 403 kinds */
    MAB_DIM_ISSUER,   /* issuer: the configured issuers given, then "other" */
    MAB_DIM_SOURCE,   /* source and kind: the key sources given, in the key cache's order */
    MAB_DIM_ENDPOINT, /* endpoint: the introspection endpoints given, in the registry's order */
    MAB_DIM_ENDPOINT_FAILURE, /* endpoint and kind: each endpoint x MAB_INTROSPECT_FAILURE_KINDS */
    MAB_DIM__COUNT
} mab_counters_dim_e;

/* The 403s the module's Require providers decide. */
typedef enum {
    MAB_FORBIDDEN_SCOPE,   /* Require scope: the token lacks one */
    MAB_FORBIDDEN_CLAIM,   /* Require claim: the claim has none of the values */
    MAB_FORBIDDEN_NEGATED, /* the token meets a negated rule (Require not, <RequireNone>) */
    MAB_FORBIDDEN__COUNT
} mab_forbidden_e;

typedef enum { MAB_COUNTER, MAB_GAUGE, MAB_HISTOGRAM } mab_counter_type_e;

/* One row of the metric table. */
typedef struct {
    const char *name; /* after "mod_auth_bearer_"; counters end in _total */
    mab_counter_type_e type;
    mab_counters_dim_e dim;
    const char *auto_name; /* after "AuthBearer" in server-status?auto */
    const char *help;
    /* Histograms: upper bounds of the buckets in millionths of the unit (microseconds for
     * _seconds), rising, at most 32; +Inf is implicit. */
    const uint64_t *bounds;
    unsigned nbounds;
} mab_counter_def_t;

const mab_counter_def_t *mab_counters_def(mab_counter_e id);

typedef struct mab_counters_t mab_counters_t;

/* Config time: a block with the fixed dimensions' values; add the configured ones next. */
mab_counters_t *mab_counters_create(apr_pool_t *p);

/* Config time, before mab_counters_size: the next value of a configured dimension, one text
 * per label of the dimension (MAB_DIM_ISSUER: issuer; MAB_DIM_SOURCE: source, kind). Texts
 * outside printable ASCII are shown with '?'. A lazy value is left out of every view while
 * all its counters are 0 (a discovery source nobody uses). Returns its index. */
unsigned mab_counters_add_value(mab_counters_t *m, mab_counters_dim_e dim,
                                const char *const *labels, int lazy);

/* The number of values of a dimension (for MAB_DIM_ISSUER, "other" is the last). */
unsigned mab_counters_values(const mab_counters_t *m, mab_counters_dim_e dim);

/* Freezes the layout; the bytes of memory the block needs. */
apr_size_t mab_counters_size(mab_counters_t *m);

/* Points the block at mem (mab_counters_size bytes, 8-byte aligned, shared by every process
 * that counts), zeroes it and stores the start time (seconds since the epoch). Before any
 * process or thread counts. */
void mab_counters_attach(mab_counters_t *m, void *mem, long long now);

/* Counting: one relaxed atomic add. A NULL or unattached block, or an index out of range,
 * counts nothing. */
void mab_counters_add(const mab_counters_t *m, mab_counter_e id, unsigned idx, uint64_t n);

static inline void mab_counters_inc(const mab_counters_t *m, mab_counter_e id, unsigned idx)
{
    mab_counters_add(m, id, idx, 1);
}

/* A histogram's observation, in millionths of its unit: two relaxed atomic adds. */
void mab_counters_observe(const mab_counters_t *m, mab_counter_e id, unsigned idx, uint64_t micros);

/* The MAB_DIM_REFUSAL index of a refusal for err (not MAB_OK) and of a 403 of this kind. */
unsigned mab_counters_refusal(mab_err_e err);
unsigned mab_counters_forbidden(mab_forbidden_e kind);

/* Reading, for the views and the tests: a counter's (or a histogram's observation count). */
uint64_t mab_counters_get(const mab_counters_t *m, mab_counter_e id, unsigned idx);

/* The Prometheus text exposition format 0.0.4: # HELP, # TYPE, then the series; names with
 * "mod_auth_bearer_". */
char *mab_counters_prometheus(const mab_counters_t *m, apr_pool_t *p);

/* mod_status's machine-readable lines, "AuthBearer<name>: <value>": each metric's total,
 * then one line per label value (fixed values by name, configured ones by index, each
 * index's label texts in "AuthBearer<Dim>[i]: <text>" lines). */
char *mab_counters_auto(const mab_counters_t *m, apr_pool_t *p);

/* Every series as a JSON array of {"name", "type", "labels", "value"} (histograms: "count",
 * "sum" and "buckets" [{"le", "count"}], cumulative). A new reference; p is scratch. */
struct json_t *mab_counters_json(const mab_counters_t *m, apr_pool_t *p);

/* One series, for views rendered elsewhere (mod_status's HTML table). */
typedef struct {
    const char *name; /* the full metric name */
    const mab_counter_def_t *def;
    const char *labels; /* the label texts, "a=x b=y", unescaped; "" when none */
    uint64_t value;     /* counters, gauges; histograms: the observation count */
    double sum;         /* histograms: the sum of observations in the unit */
} mab_counters_series_t;

typedef void mab_counters_each_fn(void *baton, const mab_counters_series_t *s);

void mab_counters_each(const mab_counters_t *m, apr_pool_t *p, mab_counters_each_fn *fn,
                       void *baton);

#endif
