#ifndef MAB_INTROSPECT_CLIENT_H
#define MAB_INTROSPECT_CLIENT_H

/* One RFC 7662 introspection call over libcurl: POST token=…&token_type_hint=access_token
 * with the configured client authentication, the answer parsed strictly. Transport as for
 * key sets (mab_fetch.c): http and https only, TLS peer and host verified (AuthBearerCAFile
 * or the system store), time-bounded, size-capped while receiving; unlike key sets, no
 * redirect is followed at all (a token and a credential must reach the configured URL and
 * no other: a redirected introspection is a failure).
 *
 * Each thread keeps one libcurl handle across calls (thread-local, created on first use),
 * so a call to an endpoint it has talked to costs one round trip on a kept-alive
 * connection, not a TCP and TLS handshake; no lock is shared between threads. A thread's
 * handle is freed when the thread exits (a pthread key destructor: httpd's worker threads)
 * or by mab_introspect_client_thread_done (a process's main thread before it exits). A
 * handle inherited through fork() is never used nor closed by the child: its connections
 * belong to the parent. mab_fetch_global_init must have run before the first call. */
#include <apr_pools.h>

#include "mab_introspect_auth.h"

struct json_t;

/* An answer larger than this is refused when the endpoint sets no max_body. */
#define MAB_INTROSPECT_MAX_BODY (64 * 1024)

/* A call never takes longer than this when the endpoint sets no timeout_ms. */
#define MAB_INTROSPECT_DEFAULT_TIMEOUT_MS 5000

typedef struct mab_introspect_endpoint_t {
    const char *url;
    const mab_introspect_auth_t *auth; /* NULL: no client authentication */
    long timeout_ms;                   /* the whole call, connection included */
    const char *ca_file;               /* AuthBearerCAFile, or NULL for the system store */
    apr_size_t max_body;               /* answers larger than this are refused */
} mab_introspect_endpoint_t;

typedef enum {
    MAB_IC_OK,
    MAB_IC_TIMEOUT,
    MAB_IC_CONNECT,      /* no answer: DNS, TCP, TLS (certificate), connection dropped */
    MAB_IC_REFUSED_AUTH, /* 401/403: our own credentials were refused */
    MAB_IC_HTTP_STATUS,  /* any other status than 200, redirects included */
    MAB_IC_BAD_ANSWER,   /* not a strict JSON object, or no boolean active */
    MAB_IC_TOO_BIG,      /* larger than max_body */
    MAB_IC_INTERNAL,     /* out of memory, signing failed, a URL libcurl cannot use */
    MAB_IC__COUNT
} mab_introspect_status_e;

/* Asks ep about the len bytes of token. On MAB_IC_OK *answer is the parsed answer
 * (decref'd by a cleanup on pool) with a boolean active; it is NOT checked (that is
 * mab_introspect_check's). Otherwise *answer is NULL and *detail says why, for the log:
 * the HTTP status, the server's OAuth error code (RFC 6749 §5.2, when it sends one in
 * plain characters), libcurl's message; never the token, a secret, or the answer's body.
 * *http_code is the response status (0 without one), *seconds how long the call took.
 * Safe from many threads at once. */
mab_introspect_status_e mab_introspect_call(const mab_introspect_endpoint_t *ep, const char *token,
                                            apr_size_t len, apr_pool_t *pool,
                                            struct json_t **answer, long *http_code,
                                            double *seconds, const char **detail);

/* "ok", "timeout", "connect", "refused_auth", "http_status", "bad_answer", "too_big",
 * "internal": for logs, the status page and metrics. */
const char *mab_introspect_status_name(mab_introspect_status_e st);

/* Frees the calling thread's handle now (its connections are closed). The next call on
 * the thread makes a new one. */
void mab_introspect_client_thread_done(void);

#endif
