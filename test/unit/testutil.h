#ifndef MAB_TESTUTIL_H
#define MAB_TESTUTIL_H

/* Shared by the unit tests: a pool per test program and the RFC vectors file. */
#include <stdlib.h>

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

static inline apr_pool_t *test_setup(void)
{
    apr_pool_t *p = NULL;

    apr_initialize();
    atexit(apr_terminate);
    apr_pool_create(&p, NULL);
    return p;
}

/* RFC 7515/7520/8037 vectors copied into test/vectors (see its README). */
static inline json_t *load_vectors(void)
{
    const char *path = getenv("MAB_RFC_VECTORS");
    json_error_t err;
    json_t *v = json_load_file(path ? path : "test/vectors/rfc_vectors.json", 0, &err);

    if (!v) {
        printf("# cannot load vectors: %s\n", err.text);
    }
    return v;
}

static inline json_t *vector(json_t *all, const char *name, const char *member)
{
    return json_object_get(json_object_get(all, name), member);
}

/* A file with `text`, for the key-cache tests' JWKS file sources. */
static inline void write_file(apr_pool_t *p, const char *path, const char *text)
{
    apr_file_t *f;
    apr_size_t n = strlen(text);

    apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                  APR_FPROT_OS_DEFAULT, p);
    apr_file_write_full(f, text, n, NULL);
    apr_file_close(f);
}

/* Written aside and renamed: a fetch never reads half a file. */
static inline void replace_file(apr_pool_t *p, const char *path, const char *text)
{
    const char *tmp = apr_pstrcat(p, path, ".tmp", NULL);

    write_file(p, tmp, text);
    apr_file_rename(tmp, path, p);
}

#endif
