/* The shared-memory JWKS cache: one fetch serves every process, the warm path neither
 * reads the source nor parses, an unknown kid refetches at most once per interval, and
 * a failed refresh keeps the last good keys. Sources are files here; the Apache::Test
 * suite covers HTTP. */
#include <sys/wait.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_thread_proc.h>

#include "mab_counters.h"
#include "mab_jwks.h"
#include "mab_keycache.h"
#include "signer.h"
#include "tap.h"
#include "testutil.h"

static int has_kid(const mab_keyset_t *ks, const char *kid)
{
    int i;

    for (i = 0; ks && i < ks->nkeys; i++) {
        if (ks->keys[i]->kid && strcmp(ks->keys[i]->kid, kid) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Readers and a writer in threads of one process: new generations are installed while
 * requests hold the old ones (run under ASan by make unit-asan). */
typedef struct {
    mab_keycache_t *kc;
    mab_source_t *src;
    const char *path, *set1, *set2;
    int bad;
} stress_t;

static void *APR_THREAD_FUNC stress_reader(apr_thread_t *t, void *data)
{
    stress_t *st = data;
    apr_pool_t *tp = NULL;
    int i;

    apr_pool_create_unmanaged_ex(&tp, NULL, NULL);
    for (i = 0; i < 3000; i++) {
        apr_pool_t *rp = NULL;
        const char *err = NULL;
        const mab_keyset_t *ks;
        apr_pool_create(&rp, tp);
        ks = mab_keycache_get(st->kc, st->src, rp, 0, &err);
        if (!ks || ks->nkeys != 1 || !ks->keys[0]->kid) {
            st->bad++;
        }
        apr_pool_destroy(rp);
    }
    apr_pool_destroy(tp);
    /* returning (not apr_thread_exit, i.e. pthread_exit) keeps ASan's stack checks sane */
    return NULL;
}

static void *APR_THREAD_FUNC stress_writer(apr_thread_t *t, void *data)
{
    stress_t *st = data;
    apr_pool_t *tp = NULL;
    int i;

    apr_pool_create_unmanaged_ex(&tp, NULL, NULL);
    for (i = 0; i < 200; i++) {
        apr_pool_t *rp = NULL;
        const char *err = NULL;
        apr_pool_create(&rp, tp);
        replace_file(rp, st->path, i % 2 ? st->set1 : st->set2);
        if (!mab_keycache_get(st->kc, st->src, rp, 1, &err)) {
            st->bad++;
        }
        apr_pool_destroy(rp);
    }
    apr_pool_destroy(tp);
    /* returning (not apr_thread_exit, i.e. pthread_exit) keeps ASan's stack checks sane */
    return NULL;
}

static const mab_keyset_t *get(mab_keycache_t *kc, mab_source_t *src, apr_pool_t *p, int refresh)
{
    const char *err = NULL;
    const mab_keyset_t *ks = mab_keycache_get(kc, src, p, refresh, &err);

    if (!ks) {
        printf("# get: %s\n", err ? err : "?");
    }
    return ks;
}

/* Forked children _exit with these still allocated: reachable from here, valgrind does
 * not count them as lost in the children (whatever registers the compiler used). */
EVP_PKEY *kept_keys[2]; /* not static: the stores must stay */

int main(void)
{
    apr_pool_t *p = test_setup(), *req;
    EVP_PKEY *k1 = EVP_RSA_gen(2048), *k2 = EVP_RSA_gen(2048);
    char dir[] = "/tmp/mab-keycache-XXXXXX";
    const char *path, *missing, *err = NULL;
    mab_keycache_t *kc;
    mab_source_t *src, *src_again, *src_missing;
    mab_keycache_opts_t opts = {64 * 1024, 2000, 3600, 3600, 30, 5, NULL, 0, 86400, NULL, NULL};
    const mab_keyset_t *ks;
    char *set1, *set2;
    pid_t pid;
    int c, status = -1;
    mab_counters_t *counters;
    void *counter_mem;

    kept_keys[0] = k1;
    kept_keys[1] = k2;
    if (!mkdtemp(dir)) {
        ok(0, "temporary directory");
        return tap_done();
    }
    path = apr_pstrcat(p, dir, "/jwks.json", NULL);
    missing = apr_pstrcat(p, dir, "/absent.json", NULL);
    set1 = apr_psprintf(p, "{\"keys\":[%s]}", rsa_jwk(p, k1, "one"));
    set2 = apr_psprintf(p, "{\"keys\":[%s]}", rsa_jwk(p, k2, "two"));
    write_file(p, path, set1);

    kc = mab_keycache_create(p);
    src = mab_keycache_source(kc, path);
    src_again = mab_keycache_source(kc, path);
    src_missing = mab_keycache_source(kc, missing);
    ok(src == src_again, "the same URI is one source");
    is_int(mab_keycache_init(kc, p, &opts, &err), 0, "shared memory and mutex set up");
    is_int(mab_keycache_child_init(kc, p), 0, "per-process locks set up");

    apr_pool_create(&req, p);
    ks = get(kc, src, req, 0);
    ok(has_kid(ks, "one"), "cold cache: fetched and parsed the key set");
    apr_pool_destroy(req);

    /* The source changes, but the cache is fresh: nothing is read again. */
    write_file(p, path, set2);
    apr_pool_create(&req, p);
    ks = get(kc, src, req, 0);
    ok(has_kid(ks, "one") && !has_kid(ks, "two"), "warm cache: the source is not read again");
    ks = get(kc, src, req, 1);
    ok(has_kid(ks, "one"), "unknown kid right after a fetch: no refetch inside the interval");
    apr_pool_destroy(req);

    /* Another process shares the cache: it must not need the source at all, nor wait for
     * the source's fetch claim (held here meanwhile, as by a fetch waiting on a hanging
     * issuer; there is no global mutex any more). */
    write_file(p, path, "this is not JSON");
    ok(mab_keycache_hold_claim(kc, src, 1), "the source's fetch claim is held here");
    fflush(stdout); /* a child must not repeat buffered TAP lines */
    pid = fork();
    if (pid == 0) {
        apr_pool_t *cp;
        alarm(5); /* waiting for the mutex would end here */
        apr_pool_create(&cp, NULL);
        ks = mab_keycache_get(kc, src, cp, 0, &err);
        _exit(has_kid(ks, "one") ? 0 : 3);
    }
    waitpid(pid, &status, 0);
    mab_keycache_hold_claim(kc, src, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a forked process gets the keys from shared memory without reading the source or "
       "taking the global mutex");

    /* Refetch allowed (interval 0): a broken source keeps the last good keys. The fetches
     * are counted in a metrics block, by source index. */
    counters = mab_counters_create(p);
    for (c = 0; c < mab_keycache_count(kc); c++) {
        const char *labels[2] = {mab_source_uri(mab_keycache_at(kc, c)), "jwks"};
        mab_counters_add_value(counters, MAB_DIM_SOURCE, labels, 0);
    }
    counter_mem = aligned_alloc(8, mab_counters_size(counters));
    mab_counters_attach(counters, counter_mem, 1);
    {
        mab_keycache_opts_t eager = opts;
        eager.refetch_interval_s = 0;
        eager.counters = counters;
        mab_keycache_init(kc, p, &eager, &err);
        mab_keycache_child_init(kc, p);
        apr_pool_create(&req, p);
        write_file(p, path, set1);
        ok(has_kid(get(kc, src, req, 0), "one"), "re-initialised cache fetches again");
        write_file(p, path, "{\"keys\":[]}");
        ks = get(kc, src, req, 1);
        /* Changed with issue 12: a well-formed empty set is the issuer withdrawing its keys
         * (it used to count as a failed fetch and keep the old keys forever). */
        ok(ks == NULL, "refresh to an empty key set withdraws the keys");
        write_file(p, path, set1);
        ks = get(kc, src, req, 1);
        ok(has_kid(ks, "one"), "keys published again after the empty set are used again");
        {
            /* issue 6: the generation a cache hit's note is checked against. */
            apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now()), g1, g2;
            g1 = mab_keycache_current_gen(kc, src, now);
            ok(g1 != 0, "current_gen: fresh keys parsed here have a generation");
            is_int(mab_keycache_current_gen(kc, src, now + 3600 + 1), 0,
                   "current_gen: 0 once the keys are due (get has work to do)");
            is_int(mab_keycache_current_gen(kc, src_missing, now), 0,
                   "current_gen: 0 for a source never fetched");
            write_file(p, path, set2);
            ks = get(kc, src, req, 1);
            ok(has_kid(ks, "two") && !has_kid(ks, "one"), "rotation: refetch picks up the new key");
            g2 = mab_keycache_current_gen(kc, src, now);
            ok(g2 != 0 && g2 != g1, "current_gen: a new key set is a new generation (%u, %u)", g1,
               g2);
        }
        apr_pool_destroy(req);
    }

    /* A source that cannot be read: refused with a reason, never a crash. */
    apr_pool_create(&req, p);
    ks = mab_keycache_get(kc, src_missing, req, 0, &err);
    ok(ks == NULL && err && strstr(err, "cannot open"), "missing source: no keys, reason");
    ks = mab_keycache_get(kc, src_missing, req, 0, &err);
    ok(ks == NULL, "missing source again: still refused (retry interval)");
    apr_pool_destroy(req);
    is_int(mab_counters_get(counters, MAB_C_JWKS_FETCHES, 0), 4, "counted: 4 fetches of the file");
    is_int(mab_counters_get(counters, MAB_C_JWKS_REFETCHES, 0), 3, "counted: 3 of them refetches");
    is_int(mab_counters_get(counters, MAB_C_JWKS_FAILURES, 0), 0,
           "counted: the empty set is no failure");
    is_int(mab_counters_get(counters, MAB_C_JWKS_FETCH_SECONDS, 0), 4,
           "counted: each fetch's duration");
    is_int(mab_counters_get(counters, MAB_C_JWKS_FETCHES, 1), 1, "counted: the missing file once");
    is_int(mab_counters_get(counters, MAB_C_JWKS_FAILURES, 1), 1, "counted: as a failure");

    /* issue 4: cache size, the watchdog's maintenance, lock-free adoption, status info. */
    {
        mab_keycache_opts_t small = opts;
        mab_keycache_t *kc2 = mab_keycache_create(p);
        mab_source_t *big = mab_keycache_source(kc2, path);
        mab_source_t *disc = mab_keycache_discovery(kc2, "https://issuer.invalid/");
        mab_source_info_t info;
        char *bigset = apr_pstrdup(p, "{\"keys\":[");
        int i, n;

        /* Entra-sized: 30 RSA keys (two key pairs under 30 kids keeps the test fast). */
        for (i = 0; i < 30; i++) {
            bigset =
                apr_pstrcat(p, bigset, i ? "," : "",
                            rsa_jwk(p, i % 2 ? k2 : k1, apr_psprintf(p, "entra-%02d", i)), NULL);
        }
        bigset = apr_pstrcat(p, bigset, "]}", NULL);
        ok(strlen(bigset) > 10 * 1024, "30 RSA keys are more than 10 KiB (%lu bytes)",
           (unsigned long)strlen(bigset));
        write_file(p, path, bigset);

        small.slot_size = 4096;
        mab_keycache_init(kc2, p, &small, &err);
        mab_keycache_child_init(kc2, p);
        apr_pool_create(&req, p);
        ks = mab_keycache_get(kc2, big, req, 0, &err);
        ok(!ks && err && strstr(err, "AuthBearerCacheSize")
               && strstr(err, "set AuthBearerCacheSize"),
           "key set larger than the cache: refused naming the directive and the size needed");
        if (err) {
            printf("# %s\n", err);
        }
        apr_pool_destroy(req);

        /* Big enough: maintenance warms the source once; it is then fresh and left alone. */
        mab_keycache_init(kc2, p, &opts, &err);
        mab_keycache_child_init(kc2, p);
        is_int(mab_keycache_maintain(kc2), 1,
               "maintenance warms the JWKS source, not the unused "
               "discovery source");
        is_int(mab_keycache_maintain(kc2), 0, "a fresh key set is not fetched again");
        apr_pool_create(&req, p);
        ks = get(kc2, big, req, 0);
        ok(ks && ks->nkeys == 30 && has_kid(ks, "entra-29"), "large key set (30 RSA keys) works");
        apr_pool_destroy(req);

        mab_keycache_info(kc2, big, p, &info);
        n = info.kids->nelts;
        is_int(n, 30, "status info lists every kid");
        is_str(n ? APR_ARRAY_IDX(info.kids, 0, const char *) : "", "entra-00", "first kid");
        is_int((int)info.fetches, 1, "status info: one fetch");
        is_int((int)info.failures, 0, "status info: no failure");
        ok(info.bytes == strlen(bigset), "status info: bytes cached");
        ok(info.expires_at - info.fetched_at == apr_time_from_sec(3600), "status info: expiry");
        mab_keycache_info(kc2, disc, p, &info);
        ok(info.discovery && !info.in_use && info.fetches == 0,
           "the discovery source of an issuer with its own JWKS is never fetched");

        /* A process that has an older generation adopts the new one while another
         * process holds the global mutex (a fetch hanging until its timeout): the copy
         * out of shared memory takes no global lock. */
        write_file(p, path, set1);
        {
            mab_keycache_opts_t eager = opts;
            eager.refetch_interval_s = 0;
            mab_keycache_init(kc2, p, &eager, &err);
            mab_keycache_child_init(kc2, p);
        }
        apr_pool_create(&req, p);
        ok(has_kid(get(kc2, big, req, 0), "one"), "generation 1 in this process");
        apr_pool_destroy(req);
        fflush(stdout); /* a child must not repeat buffered TAP lines */
        pid = fork();
        if (pid == 0) {
            apr_pool_t *cp;
            const mab_keyset_t *cks;
            sleep(1); /* the parent stores generation 2 and takes the mutex */
            alarm(5); /* blocking on the mutex would be killed here */
            apr_pool_create(&cp, NULL);
            cks = mab_keycache_get(kc2, big, cp, 0, &err);
            _exit(has_kid(cks, "two") ? 0 : 3);
        }
        write_file(p, path, set2);
        apr_pool_create(&req, p);
        ok(has_kid(get(kc2, big, req, 1), "two"), "generation 2 stored by this process");
        apr_pool_destroy(req);
        mab_keycache_hold_claim(kc2, big, 1);
        waitpid(pid, &status, 0);
        mab_keycache_hold_claim(kc2, big, 0);
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "another process adopts the new generation while the global mutex is held");
    }

    /* Threads: four readers and a writer installing 200 new generations. */
    {
        mab_keycache_opts_t eager = opts;
        mab_keycache_t *kc3 = mab_keycache_create(p);
        stress_t st = {0};
        apr_thread_t *th[5];
        apr_status_t trv;
        int i, total = 0;

        eager.refetch_interval_s = 0;
        st.kc = kc3;
        st.src = mab_keycache_source(kc3, path);
        st.path = path;
        st.set1 = set1;
        st.set2 = set2;
        write_file(p, path, set1);
        mab_keycache_init(kc3, p, &eager, &err);
        mab_keycache_child_init(kc3, p);
        apr_pool_create(&req, p);
        ok(get(kc3, st.src, req, 0) != NULL, "stress: warm");
        apr_pool_destroy(req);
        for (i = 0; i < 5; i++) {
            apr_thread_create(&th[i], NULL, i ? stress_reader : stress_writer, &st, p);
        }
        for (i = 0; i < 5; i++) {
            apr_thread_join(&trv, th[i]);
        }
        total = st.bad;
        is_int(total, 0, "stress: 12000 reads in 4 threads while 200 generations were installed");
        {
            mab_source_info_t si;
            mab_keycache_info(kc3, st.src, p, &si);
            ok(si.fetches == 201, "stress: the writer fetched 200 times (%u fetches)", si.fetches);
        }
    }

    unlink(path);
    rmdir(dir);
    /* The fetcher threads end with the pool, before OpenSSL's atexit cleanup. */
    apr_pool_destroy(p);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    free(counter_mem);
    return tap_done();
}
