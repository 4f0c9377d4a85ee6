/* The metrics block: the table's rules (names Prometheus and promtool accept, one label per
 * refusal reason), counting from threads and from processes sharing the block (run under
 * ThreadSanitizer by make unit-tsan), and the three renderings, line by line. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_shm.h>
#include <apr_thread_proc.h>

#include "mab_counters.h"
#include "tap.h"
#include "testutil.h"

#define SRC_JWKS 0
#define SRC_DISC 1

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    const char *at = text;

    while ((at = strstr(at, line)) != NULL) {
        if ((at == text || at[-1] == '\n') && (at[n] == '\n' || at[n] == '\0')) {
            return 1;
        }
        at += n;
    }
    return 0;
}

#define has(text, line)                                                                            \
    do {                                                                                           \
        if (!ok(has_line(text, line), "line: %s", line)) {                                         \
            printf("# in:\n%s", text);                                                             \
        }                                                                                          \
    } while (0)

static int valid_name(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) {
            return 0;
        }
    }
    return 1;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);

    return n >= t && strcmp(s + n - t, tail) == 0;
}

static void test_table(void)
{
    int id, j, e, good = 1, labelled = 1, unique = 1;

    for (id = 0; id < MAB_C__COUNT; id++) {
        const mab_counter_def_t *d = mab_counters_def((mab_counter_e)id);
        unsigned b;
        if (!d || !d->name || !d->help || !*d->help || !d->auto_name || !valid_name(d->name)
            || (d->type == MAB_COUNTER) != ends_with(d->name, "_total")
            || (d->type == MAB_HISTOGRAM
                && (!ends_with(d->name, "_seconds") || !d->bounds || d->nbounds == 0
                    || d->nbounds > 32))) {
            printf("# metric %d breaks a rule of the table\n", id);
            good = 0;
            continue;
        }
        for (b = 1; d->type == MAB_HISTOGRAM && b < d->nbounds; b++) {
            good &= d->bounds[b] > d->bounds[b - 1];
        }
        for (j = 0; j < id; j++) {
            good &= strcmp(mab_counters_def((mab_counter_e)j)->name, d->name) != 0
                    && strcmp(mab_counters_def((mab_counter_e)j)->auto_name, d->auto_name) != 0;
        }
    }
    ok(good, "table: every metric named, helped, typed by its suffix, buckets rising, unique");
    ok(mab_counters_def(MAB_C__COUNT) == NULL, "table: no metric past the end");

    for (e = MAB_OK + 1; e < MAB_ERR__COUNT; e++) {
        const char *l = mab_err_label((mab_err_e)e);
        if (!l || !valid_name(l)) {
            printf("# reason %d has no label\n", e);
            labelled = 0;
            continue;
        }
        for (j = MAB_OK + 1; j < e; j++) {
            unique &= strcmp(mab_err_label((mab_err_e)j), l) != 0;
        }
    }
    ok(labelled, "every refusal reason has a label of [a-z0-9_]");
    ok(unique, "refusal labels are unique");
    ok(mab_err_label(MAB_OK) == NULL, "MAB_OK is no refusal");
    is_int(mab_err_http_status(MAB_ERR_EXPIRED), 401, "invalid_token: 401");
    is_int(mab_err_http_status(MAB_ERR_NO_CREDENTIAL), 401, "no credential: 401");
    is_int(mab_err_http_status(MAB_ERR_TOKEN_COUNT), 400, "invalid_request: 400");
    is_int(mab_err_http_status(MAB_ERR_CONFIG), 500, "configuration: 500");
    is_int(mab_err_http_status(MAB_OK), 0, "MAB_OK: no status");
    ok(mab_counters_refusal(MAB_OK) == (unsigned)-1, "MAB_OK has no refusal index");
    ok(mab_counters_forbidden(MAB_FORBIDDEN__COUNT) == (unsigned)-1, "no 403 kind past the end");
}

static mab_counters_t *block(apr_pool_t *p, void **mem)
{
    mab_counters_t *m = mab_counters_create(p);
    const char *jwks[2] = {"http://127.0.0.1:1/jwks.json", "jwks"};
    const char *disc[2] = {"https://issuer.test/", "discovery"};
    const char *iss[1] = {"https://issuer.test/"};
    apr_size_t n;

    is_int(mab_counters_add_value(m, MAB_DIM_SOURCE, jwks, 0), SRC_JWKS, "source 0");
    is_int(mab_counters_add_value(m, MAB_DIM_SOURCE, disc, 1), SRC_DISC, "source 1, lazy");
    is_int(mab_counters_add_value(m, MAB_DIM_ISSUER, iss, 0), 0, "issuer 0");
    ok(mab_counters_add_value(m, MAB_DIM_REFUSAL, iss, 0) == (unsigned)-1,
       "a fixed dimension takes no configured value");
    n = mab_counters_size(m);
    ok(n > 0 && n % 8 == 0, "size: whole cells");
    ok(mab_counters_add_value(m, MAB_DIM_ISSUER, iss, 0) == (unsigned)-1, "no value once laid out");
    is_int(mab_counters_values(m, MAB_DIM_ISSUER), 2, "issuers: the configured one and other");
    *mem = aligned_alloc(8, n);
    mab_counters_attach(m, *mem, 1700000000);
    return m;
}

static void test_counting_and_views(apr_pool_t *p)
{
    void *mem;
    mab_counters_t *m = block(p, &mem);
    unsigned other = mab_counters_values(m, MAB_DIM_ISSUER) - 1;
    const char *text;
    json_t *js, *s;
    size_t i;
    int found = 0;

    mab_counters_inc(m, MAB_C_TOKENS_ACCEPTED, 0);
    mab_counters_inc(m, MAB_C_TOKENS_ACCEPTED, 0);
    mab_counters_add(m, MAB_C_TOKENS_ACCEPTED, 0, 2);
    mab_counters_inc(m, MAB_C_TOKENS_ACCEPTED, other);
    mab_counters_inc(m, MAB_C_TOKENS_ACCEPTED, other + 1); /* out of range: not counted */
    mab_counters_inc(m, MAB_C_REFUSED, mab_counters_refusal(MAB_ERR_EXPIRED));
    mab_counters_inc(m, MAB_C_REFUSED, mab_counters_refusal(MAB_ERR_EXPIRED));
    mab_counters_inc(m, MAB_C_REFUSED, mab_counters_refusal(MAB_ERR_TOKEN_COUNT));
    mab_counters_inc(m, MAB_C_REFUSED, mab_counters_forbidden(MAB_FORBIDDEN_SCOPE));
    mab_counters_inc(m, MAB_C_REFUSED, mab_counters_forbidden(MAB_FORBIDDEN_NEGATED));
    mab_counters_inc(m, MAB_C_REFUSED, mab_counters_refusal(MAB_OK)); /* not a refusal */
    mab_counters_inc(m, MAB_C_TOKEN_CACHE_HITS, 0);
    mab_counters_inc(m, MAB_C_TOKEN_CACHE_MISSES, 0);
    mab_counters_inc(m, MAB_C_TOKEN_CACHE_MISSES, 0);
    mab_counters_inc(m, MAB_C_JWKS_FETCHES, SRC_JWKS);
    mab_counters_inc(m, MAB_C_JWKS_FETCHES, SRC_JWKS);
    mab_counters_inc(m, MAB_C_JWKS_FETCHES, SRC_JWKS);
    mab_counters_inc(m, MAB_C_JWKS_FAILURES, SRC_JWKS);
    mab_counters_observe(m, MAB_C_JWKS_FETCH_SECONDS, SRC_JWKS, 3000);     /* le 0.005 */
    mab_counters_observe(m, MAB_C_JWKS_FETCH_SECONDS, SRC_JWKS, 2500000);  /* le 2.5, exactly */
    mab_counters_observe(m, MAB_C_JWKS_FETCH_SECONDS, SRC_JWKS, 20000003); /* +Inf */
    mab_counters_inc(m, MAB_C_JWKS_FETCH_SECONDS, SRC_JWKS);  /* a histogram is not a counter */
    mab_counters_observe(m, MAB_C_JWKS_FETCHES, SRC_JWKS, 5); /* nor the reverse */
    mab_counters_inc(NULL, MAB_C_TOKEN_CACHE_HITS, 0);        /* no block: nothing */

    is_int(mab_counters_get(m, MAB_C_TOKENS_ACCEPTED, 0), 4, "accepted, issuer 0");
    is_int(mab_counters_get(m, MAB_C_TOKENS_ACCEPTED, other), 1, "accepted, other");
    is_int(mab_counters_get(m, MAB_C_REFUSED, mab_counters_refusal(MAB_ERR_EXPIRED)), 2,
           "refused: expired");
    is_int(mab_counters_get(m, MAB_C_JWKS_FETCHES, SRC_JWKS), 3, "fetches");
    is_int(mab_counters_get(m, MAB_C_JWKS_FETCH_SECONDS, SRC_JWKS), 3, "histogram count");
    is_int(mab_counters_get(m, MAB_C_START_TIME, 0), 1700000000, "start time");

    text = mab_counters_prometheus(m, p);
    has(text, "# TYPE mod_auth_bearer_tokens_accepted_total counter");
    ok(strstr(text, "# HELP mod_auth_bearer_tokens_accepted_total Tokens verified") != NULL,
       "HELP line");
    has(text, "mod_auth_bearer_tokens_accepted_total{issuer=\"https://issuer.test/\"} 4");
    has(text, "mod_auth_bearer_tokens_accepted_total{issuer=\"other\"} 1");
    has(text, "mod_auth_bearer_requests_refused_total{status=\"401\",reason=\"expired\"} 2");
    has(text, "mod_auth_bearer_requests_refused_total{status=\"401\",reason=\"signature\"} 0");
    has(text, "mod_auth_bearer_requests_refused_total{status=\"400\",reason=\"several_tokens\"} 1");
    has(text, "mod_auth_bearer_requests_refused_total{status=\"401\",reason=\"no_credential\"} 0");
    has(text, "mod_auth_bearer_requests_refused_total{status=\"500\",reason=\"config\"} 0");
    has(text,
        "mod_auth_bearer_requests_refused_total{status=\"403\",reason=\"insufficient_scope\"} 1");
    has(text, "mod_auth_bearer_requests_refused_total{status=\"403\",reason=\"claim_not_met\"} 0");
    has(text, "mod_auth_bearer_requests_refused_total{status=\"403\",reason=\"negated_rule\"} 1");
    has(text, "mod_auth_bearer_token_cache_hits_total 1");
    has(text, "mod_auth_bearer_token_cache_misses_total 2");
    has(text, "mod_auth_bearer_jwks_fetches_total{source=\"http://127.0.0.1:1/jwks.json\","
              "kind=\"jwks\"} 3");
    has(text, "mod_auth_bearer_jwks_fetch_failures_total{source=\"http://127.0.0.1:1/jwks.json\","
              "kind=\"jwks\"} 1");
    has(text, "# TYPE mod_auth_bearer_jwks_fetch_duration_seconds histogram");
    has(text, "mod_auth_bearer_jwks_fetch_duration_seconds_bucket{source=\"http://127.0.0.1:1/"
              "jwks.json\",kind=\"jwks\",le=\"0.001\"} 0");
    has(text, "mod_auth_bearer_jwks_fetch_duration_seconds_bucket{source=\"http://127.0.0.1:1/"
              "jwks.json\",kind=\"jwks\",le=\"0.005\"} 1");
    has(text, "mod_auth_bearer_jwks_fetch_duration_seconds_bucket{source=\"http://127.0.0.1:1/"
              "jwks.json\",kind=\"jwks\",le=\"1\"} 1");
    has(text, "mod_auth_bearer_jwks_fetch_duration_seconds_bucket{source=\"http://127.0.0.1:1/"
              "jwks.json\",kind=\"jwks\",le=\"2.5\"} 2");
    has(text, "mod_auth_bearer_jwks_fetch_duration_seconds_bucket{source=\"http://127.0.0.1:1/"
              "jwks.json\",kind=\"jwks\",le=\"10\"} 2");
    has(text, "mod_auth_bearer_jwks_fetch_duration_seconds_bucket{source=\"http://127.0.0.1:1/"
              "jwks.json\",kind=\"jwks\",le=\"+Inf\"} 3");
    has(text, "mod_auth_bearer_jwks_fetch_duration_seconds_sum{source=\"http://127.0.0.1:1/"
              "jwks.json\",kind=\"jwks\"} 22.503003");
    has(text, "mod_auth_bearer_jwks_fetch_duration_seconds_count{source=\"http://127.0.0.1:1/"
              "jwks.json\",kind=\"jwks\"} 3");
    has(text, "mod_auth_bearer_start_time_seconds 1700000000");
    ok(strstr(text, "kind=\"discovery\"") == NULL, "an unused lazy source is not shown");
    ok(text[strlen(text) - 1] == '\n', "the exposition ends with a newline");

    text = mab_counters_auto(m, p);
    has(text, "AuthBearerIssuer[0]: https://issuer.test/");
    has(text, "AuthBearerIssuer[1]: other");
    has(text, "AuthBearerSource[0]: http://127.0.0.1:1/jwks.json");
    has(text, "AuthBearerSource[0]Kind: jwks");
    has(text, "AuthBearerTokensAccepted: 5");
    has(text, "AuthBearerTokensAccepted[0]: 4");
    has(text, "AuthBearerTokensAccepted[1]: 1");
    has(text, "AuthBearerRefused: 5");
    has(text, "AuthBearerRefused401Expired: 2");
    has(text, "AuthBearerRefused401NoMatchingKey: 0");
    has(text, "AuthBearerRefused400SeveralTokens: 1");
    has(text, "AuthBearerRefused403InsufficientScope: 1");
    has(text, "AuthBearerRefused403NegatedRule: 1");
    has(text, "AuthBearerTokenCacheHits: 1");
    has(text, "AuthBearerTokenCacheMisses: 2");
    has(text, "AuthBearerJWKSFetches: 3");
    has(text, "AuthBearerJWKSFetches[0]: 3");
    has(text, "AuthBearerJWKSFetchDurationCount: 3");
    has(text, "AuthBearerJWKSFetchDurationSum[0]: 22.503003");
    has(text, "AuthBearerStartTime: 1700000000");
    ok(strstr(text, "Source[1]") == NULL, "?auto: an unused lazy source is not shown");

    js = mab_counters_json(m, p);
    json_array_foreach (js, i, s) {
        const char *name = json_string_value(json_object_get(s, "name"));
        json_t *labels = json_object_get(s, "labels");
        if (name && strcmp(name, "mod_auth_bearer_requests_refused_total") == 0
            && strcmp(json_string_value(json_object_get(labels, "reason")), "expired") == 0) {
            found = json_integer_value(json_object_get(s, "value")) == 2
                    && strcmp(json_string_value(json_object_get(labels, "status")), "401") == 0;
        }
        if (name && strcmp(name, "mod_auth_bearer_jwks_fetch_duration_seconds") == 0) {
            json_t *b = json_object_get(s, "buckets");
            ok(json_integer_value(json_object_get(s, "count")) == 3 && json_array_size(b) == 13
                   && strcmp(json_string_value(json_object_get(json_array_get(b, 12), "le")),
                             "+Inf")
                          == 0
                   && json_integer_value(json_object_get(json_array_get(b, 1), "count")) == 1,
               "json: the histogram's count and cumulative buckets");
        }
    }
    ok(found, "json: refused{401, expired} is 2");
    json_decref(js);

    /* Used once, a lazy source shows in every view. */
    mab_counters_inc(m, MAB_C_JWKS_FETCHES, SRC_DISC);
    has(mab_counters_prometheus(m, p), "mod_auth_bearer_jwks_fetches_total{source=\"https://"
                                       "issuer.test/\",kind=\"discovery\"} 1");
    has(mab_counters_auto(m, p), "AuthBearerSource[1]Kind: discovery");
    free(mem);
}

static void each_count(void *baton, const mab_counters_series_t *s)
{
    int *n = baton;

    if (strcmp(s->name, "mod_auth_bearer_requests_refused_total") == 0
        && strcmp(s->labels, "status=403 reason=insufficient_scope") == 0 && s->value == 7) {
        (*n)++;
    }
}

static void test_each_and_escaping(apr_pool_t *p)
{
    mab_counters_t *m = mab_counters_create(p);
    const char *odd[2] = {"/etc/a \"quoted\" \\ path \xc3\xa9\n", "jwks"};
    void *mem;
    int n = 0;

    mab_counters_add_value(m, MAB_DIM_SOURCE, odd, 0);
    mem = aligned_alloc(8, mab_counters_size(m));
    mab_counters_attach(m, mem, 1);
    mab_counters_add(m, MAB_C_REFUSED, mab_counters_forbidden(MAB_FORBIDDEN_SCOPE), 7);
    mab_counters_each(m, p, each_count, &n);
    is_int(n, 1, "each: the series, its plain labels and value");
    has(mab_counters_prometheus(m, p),
        "mod_auth_bearer_jwks_fetches_total{source=\"/etc/a \\\"quoted\\\" \\\\ path ???\","
        "kind=\"jwks\"} 0");
    has(mab_counters_auto(m, p), "AuthBearerSource[0]: /etc/a \"quoted\" \\ path ???");
    free(mem);

    /* Not attached (shared memory could not be had): counts nothing, renders zeros. */
    m = mab_counters_create(p);
    mab_counters_size(m);
    mab_counters_inc(m, MAB_C_TOKEN_CACHE_HITS, 0);
    is_int(mab_counters_get(m, MAB_C_TOKEN_CACHE_HITS, 0), 0, "unattached: nothing counted");
    has(mab_counters_prometheus(m, p), "mod_auth_bearer_token_cache_hits_total 0");
}

#define THREADS 4
#define PER_THREAD 100000

typedef struct {
    const mab_counters_t *m;
    unsigned idx;
} worker_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    const worker_t *w = data;
    int i;

    for (i = 0; i < PER_THREAD; i++) {
        mab_counters_inc(w->m, MAB_C_TOKENS_ACCEPTED, w->idx);
        mab_counters_inc(w->m, MAB_C_TOKEN_CACHE_HITS, 0);
        mab_counters_observe(w->m, MAB_C_JWKS_FETCH_SECONDS, 0, (uint64_t)(i % 7) * 400000);
    }
    return NULL;
}

static void test_threads(apr_pool_t *p)
{
    void *mem;
    mab_counters_t *m = block(p, &mem);
    apr_thread_t *th[THREADS];
    worker_t w[THREADS];
    apr_status_t rv;
    int i;

    for (i = 0; i < THREADS; i++) {
        w[i].m = m;
        w[i].idx = (unsigned)i % 2;
        apr_thread_create(&th[i], NULL, worker, &w[i], p);
    }
    /* A reader at work meanwhile, as a scrape would be. */
    for (i = 0; i < 20; i++) {
        (void)mab_counters_prometheus(m, p);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&rv, th[i]);
    }
    is_int(mab_counters_get(m, MAB_C_TOKEN_CACHE_HITS, 0), THREADS * PER_THREAD,
           "threads: every increment counted");
    is_int(mab_counters_get(m, MAB_C_TOKENS_ACCEPTED, 0)
               + mab_counters_get(m, MAB_C_TOKENS_ACCEPTED, 1),
           THREADS * PER_THREAD, "threads: across two series");
    is_int(mab_counters_get(m, MAB_C_JWKS_FETCH_SECONDS, 0), THREADS * PER_THREAD,
           "threads: every observation counted");
    free(mem);
}

/* What the glue does: the parent lays the block out in anonymous shared memory, the
 * children it forks count into it, and every count adds up. */
static void test_processes(apr_pool_t *p)
{
    mab_counters_t *m = mab_counters_create(p);
    apr_shm_t *shm = NULL;
    pid_t kids[4];
    int i, status, clean = 1;

    ok(apr_shm_create(&shm, mab_counters_size(m), NULL, p) == APR_SUCCESS, "anonymous shm");
    mab_counters_attach(m, apr_shm_baseaddr_get(shm), 1);
    for (i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            int n;
            for (n = 0; n < 10000; n++) {
                mab_counters_inc(m, MAB_C_REFUSED, mab_counters_refusal(MAB_ERR_SIGNATURE));
            }
            _exit(0);
        }
    }
    for (i = 0; i < 4; i++) {
        clean &= waitpid(kids[i], &status, 0) == kids[i] && WIFEXITED(status)
                 && WEXITSTATUS(status) == 0;
    }
    ok(clean, "processes: the children counted and exited");
    is_int(mab_counters_get(m, MAB_C_REFUSED, mab_counters_refusal(MAB_ERR_SIGNATURE)), 40000,
           "processes: 4 children x 10000, all in the parent's view");
    apr_shm_destroy(shm);
}

int main(void)
{
    apr_pool_t *p = test_setup();

    test_table();
    test_counting_and_views(p);
    test_each_and_escaping(p);
    test_threads(p);
    test_processes(p);
    apr_pool_destroy(p);
    return tap_done();
}
