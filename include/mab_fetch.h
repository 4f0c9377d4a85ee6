#ifndef MAB_FETCH_H
#define MAB_FETCH_H

#include <apr_pools.h>

#define MAB_FETCH_MAX_BYTES (1024 * 1024)

/* Fetches a key source: http(s) URLs with libcurl (TLS peer and host verified, no
 * redirect to another scheme), anything else read as a file. A non-200 answer, a body
 * over max_bytes or a timeout is an error. *max_age is the response's Cache-Control
 * max-age, or -1. Returns 0 or -1 with *err set. */
int mab_fetch(apr_pool_t *p, const char *source, long timeout_ms, apr_size_t max_bytes, char **body,
              apr_size_t *len, long *max_age, const char **err);

/* Once per process before any thread runs. */
int mab_fetch_global_init(void);

#endif
