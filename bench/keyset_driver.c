/* What a process spends making a key set ready: mab_jwks_parse_ex (the per-process parse
 * of a generation, as the key cache runs it: JSON, every key imported and checked, its
 * verification contexts prepared) on a document of N RSA-2048 keys, in CPU time.
 *
 *   bench/keyset_driver [N] [rounds] [file]       (defaults 100 and 20)
 *
 * With a file, the document is read from it when it exists and written to it otherwise
 * (so a run under valgrind need not generate the keys).
 * The keys are generated first (outside the count); each round parses the whole document
 * into a fresh pool and frees it again, as a new generation does. Prints the fastest and
 * the median round and the cost per key parsed. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <apr_strings.h>

#include "mab_jwks.h"
#include "signer.h"

static double cpu_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

__attribute__((noinline)) static mab_keyset_t *parse_once(apr_pool_t *p, const char *doc)
{
    const char *why = NULL;
    mab_keyset_t *ks = mab_jwks_parse_ex(p, doc, strlen(doc), "bench", 0, &why);

    if (!ks) {
        fprintf(stderr, "key set does not parse: %s\n", why);
    }
    return ks;
}

static char *read_file(apr_pool_t *p, const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long len;

    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    buf = apr_palloc(p, (apr_size_t)len + 1);
    if (len <= 0 || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        return NULL;
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100, rounds = argc > 2 ? atoi(argv[2]) : 20, i, used = 0,
        skipped = 0;
    apr_pool_t *p = NULL;
    char *doc;
    double *ms;

    if (n < 1 || rounds < 1) {
        fprintf(stderr, "usage: %s [keys] [rounds]\n", argv[0]);
        return 2;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    ms = apr_pcalloc(p, sizeof(*ms) * (size_t)rounds);
    doc = argc > 3 ? read_file(p, argv[3]) : NULL;
    if (!doc) {
        doc = "";
        for (i = 0; i < n; i++) {
            EVP_PKEY *k = EVP_RSA_gen(2048);
            doc = apr_pstrcat(p, doc, i ? "," : "", rsa_jwk(p, k, apr_psprintf(p, "key-%d", i)),
                              NULL);
            EVP_PKEY_free(k);
        }
        doc = apr_pstrcat(p, "{\"keys\":[", doc, "]}", NULL);
        if (argc > 3) {
            FILE *f = fopen(argv[3], "w");
            if (f) {
                fputs(doc, f);
                fclose(f);
            }
        }
    }
    for (i = 0; i < rounds; i++) {
        apr_pool_t *gen = NULL;
        mab_keyset_t *ks;
        double t0;

        apr_pool_create(&gen, p);
        t0 = cpu_ms();
        ks = parse_once(gen, doc);
        ms[i] = cpu_ms() - t0;
        if (!ks) {
            return 1;
        }
        used = ks->nkeys;
        skipped = ks->nskipped;
        apr_pool_destroy(gen);
    }
    qsort(ms, (size_t)rounds, sizeof(*ms), by_value);
    printf("%d RSA-2048 keys in the document: %d parsed and prepared, %d skipped\n", used + skipped,
           used, skipped);
    printf("CPU per parse over %d rounds: fastest %.2f ms, median %.2f ms; %.1f us per key "
           "parsed (median)\n",
           rounds, ms[0], ms[rounds / 2], ms[rounds / 2] * 1e3 / (used ? used : 1));
    apr_pool_destroy(p);
    apr_terminate();
    return 0;
}
