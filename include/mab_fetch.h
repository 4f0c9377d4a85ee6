#ifndef MAB_FETCH_H
#define MAB_FETCH_H

#include <apr_pools.h>

#define MAB_FETCH_MAX_BYTES (1024 * 1024)

/* Fetches a key source: http(s) URLs with libcurl (TLS peer and host verified, https
 * redirects followed to https only, plain http never redirected), anything else read as a
 * file. A non-200 answer, a body over max_bytes or a timeout is an error. *max_age is the
 * response's Cache-Control max-age, or -1. Returns 0 or -1 with *err set. */
int mab_fetch(apr_pool_t *p, const char *source, long timeout_ms, apr_size_t max_bytes, char **body,
              apr_size_t *len, long *max_age, const char **err);

/* The same, verifying https peers against ca_file (PEM bundle) instead of the system
 * store when ca_file is not NULL. */
int mab_fetch_ex(apr_pool_t *p, const char *source, long timeout_ms, apr_size_t max_bytes,
                 const char *ca_file, char **body, apr_size_t *len, long *max_age,
                 const char **err);

/* 1 when host (no brackets, no port) is localhost, 127.0.0.0/8 or ::1. */
int mab_fetch_is_loopback(const char *host);

/* Whether url may be used as a key source: https always; http only to a loopback host
 * (127.0.0.0/8, ::1, localhost) unless allow_insecure. Returns 1, or 0 with *why. */
int mab_fetch_url_allowed(apr_pool_t *p, const char *url, int allow_insecure, const char **why);

/* 1 when s starts with http:// or https:// (case-insensitive). */
int mab_fetch_is_url(const char *s);

/* Restricts a libcurl easy handle (a CURL *) to http and https, with redirects to https
 * only when the caller turns redirects on: the check-old-curl path for other users of
 * libcurl in the core. Returns 1, or 0 when libcurl refuses (then do not use the handle). */
int mab_fetch_restrict_protocols(void *curl);

/* Once per process before any thread runs. */
int mab_fetch_global_init(void);

#endif
