#ifndef MAB_TESTUTIL_H
#define MAB_TESTUTIL_H

/* Shared by the unit tests: a pool per test program and the RFC vectors file. */
#include <stdlib.h>

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

#endif
