#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <apr_strings.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "mab_claims.h"
#include "mab_fetch.h"
#include "mab_form.h"
#include "mab_introspect_client.h"

/* --- the thread's handle ------------------------------------------------------------------- */

typedef struct thread_handle_t {
    CURL *curl;
    pid_t pid;                    /* the process that made it */
    struct thread_handle_t *next; /* on the forsaken list */
} thread_handle_t;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t handle_key;
static int key_made;

/* Handles a forked child inherited. Closing one would shut down the parent's TLS sessions
 * on sockets the parent still uses, so the child never touches them again; they stay on
 * this list (reachable, not leaked: the memory is the child's copy of the parent's). Only
 * the thread that forked lives on in a child, so at most one per fork. */
static thread_handle_t *forsaken;

static void handle_free(void *data)
{
    thread_handle_t *h = data;

    if (h->pid != getpid()) {
        h->next = forsaken;
        forsaken = h;
        return;
    }
    curl_easy_cleanup(h->curl);
    free(h);
}

static void make_key(void)
{
    key_made = pthread_key_create(&handle_key, handle_free) == 0;
}

static CURL *thread_curl(void)
{
    thread_handle_t *h;

    if (pthread_once(&key_once, make_key) != 0 || !key_made) {
        return NULL;
    }
    h = pthread_getspecific(handle_key);
    if (h && h->pid != getpid()) {
        handle_free(h);
        h = NULL;
        pthread_setspecific(handle_key, NULL);
    }
    if (!h) {
        h = malloc(sizeof(*h));
        if (!h) {
            return NULL;
        }
        h->curl = curl_easy_init();
        h->pid = getpid();
        if (!h->curl || pthread_setspecific(handle_key, h) != 0) {
            if (h->curl) {
                curl_easy_cleanup(h->curl);
            }
            free(h);
            return NULL;
        }
    }
    /* Options go, the connection cache stays: that is what makes the next call cheap. */
    curl_easy_reset(h->curl);
    return h->curl;
}

void mab_introspect_client_thread_done(void)
{
    thread_handle_t *h;

    if (pthread_once(&key_once, make_key) != 0 || !key_made) {
        return;
    }
    h = pthread_getspecific(handle_key);
    if (h) {
        pthread_setspecific(handle_key, NULL);
        handle_free(h);
    }
}

/* --- one call -------------------------------------------------------------------------------- */

typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap, max;
    int too_big;
} body_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *baton)
{
    body_t *b = baton;
    size_t n = size * nmemb;

    if (n > b->max - b->len) {
        b->too_big = 1;
        return 0; /* fails the transfer */
    }
    if (b->len + n + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 4096;
        char *nb;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        nb = apr_palloc(b->p, cap);
        if (b->len) {
            memcpy(nb, b->buf, b->len);
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return n;
}

static double elapsed(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The RFC 6749 §5.2 error code of a refusal, when it is a plain word: it says which of
 * our credentials failed (invalid_client) without quoting anything else of the body. */
static const char *oauth_error(apr_pool_t *p, const body_t *b)
{
    const char *why = NULL;
    json_t *v = b->len ? mab_claims_parse(p, (const unsigned char *)b->buf, b->len, &why) : NULL;
    const json_t *e = v ? json_object_get(v, "error") : NULL;
    const char *s;

    if (!json_is_string(e) || json_string_length(e) == 0 || json_string_length(e) > 64) {
        return NULL;
    }
    s = json_string_value(e);
    if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
        != strlen(s)) {
        return NULL;
    }
    return apr_pstrdup(p, s);
}

static mab_introspect_status_e transport_status(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return MAB_IC_TIMEOUT;
    case CURLE_FILESIZE_EXCEEDED:
        return MAB_IC_TOO_BIG;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_NOT_BUILT_IN:
        return MAB_IC_INTERNAL;
    default:
        return MAB_IC_CONNECT;
    }
}

/* The client certificate: from memory where libcurl can (7.71+), so a key only root may
 * read, loaded at startup, still works in a child serving as another user. */
static int set_client_cert(CURL *curl, const mab_introspect_tls_t *t)
{
#if LIBCURL_VERSION_NUM >= 0x074700
    struct curl_blob cert, key;

    cert.data = (void *)t->cert_pem;
    cert.len = t->cert_len;
    cert.flags = CURL_BLOB_COPY;
    key.data = (void *)t->key_pem;
    key.len = t->key_len;
    key.flags = CURL_BLOB_COPY;
    return curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert) == CURLE_OK
           && curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK
           && curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key) == CURLE_OK
           && curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM") == CURLE_OK;
#else
    return curl_easy_setopt(curl, CURLOPT_SSLCERT, t->cert_path) == CURLE_OK
           && curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK
           && curl_easy_setopt(curl, CURLOPT_SSLKEY, t->key_path) == CURLE_OK
           && curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM") == CURLE_OK;
#endif
}

/* The request's headers; NULL when out of memory. */
static struct curl_slist *request_headers(apr_pool_t *p, const char *authz)
{
    struct curl_slist *h = NULL, *n;
    const char *lines[4];
    size_t i;

    lines[0] = "Accept: application/json";
    lines[1] = "Content-Type: application/x-www-form-urlencoded";
    /* No 100-continue round trip before a large body (a signed assertion and a long token
     * pass curl's threshold): the endpoint reads the whole request anyway. */
    lines[2] = "Expect:";
    lines[3] = authz ? apr_pstrcat(p, "Authorization: ", authz, NULL) : NULL;
    for (i = 0; i < sizeof(lines) / sizeof(lines[0]) && lines[i]; i++) {
        n = curl_slist_append(h, lines[i]);
        if (!n) {
            curl_slist_free_all(h);
            h = NULL;
            break;
        }
        h = n;
    }
    if (lines[3]) {
        OPENSSL_cleanse((char *)lines[3], strlen(lines[3]));
    }
    return h;
}

/* libcurl's copies of the Authorization line are wiped before they are freed. */
static void free_headers(struct curl_slist *h)
{
    struct curl_slist *i;

    for (i = h; i; i = i->next) {
        OPENSSL_cleanse(i->data, strlen(i->data));
    }
    curl_slist_free_all(h);
}

static mab_introspect_status_e perform(const mab_introspect_endpoint_t *ep, CURL *curl,
                                       const char *form, struct curl_slist *headers, body_t *body,
                                       long *http_code, const char **detail)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    long timeout = ep->timeout_ms > 0 ? ep->timeout_ms : MAB_INTROSPECT_DEFAULT_TIMEOUT_MS;
    const mab_introspect_tls_t *tls = ep->auth ? mab_introspect_auth_tls(ep->auth) : NULL;
    CURLcode rc;

    if (!mab_fetch_restrict_protocols(curl)) {
        *detail = "libcurl cannot be restricted to http and https";
        return MAB_IC_INTERNAL;
    }
    if (tls && !set_client_cert(curl, tls)) {
        *detail = "libcurl does not take the tls_client_auth certificate";
        return MAB_IC_INTERNAL;
    }
    curl_easy_setopt(curl, CURLOPT_URL, ep->url);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ep->ca_file) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, ep->ca_file);
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    /* Signals and threads do not mix in a multi-threaded httpd child. */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mod_auth_bearer");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    /* Not copied by libcurl: the caller wipes the one buffer holding token and secret. */
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
    /* A Content-Length over the cap is refused before the body comes; on_body caps the rest. */
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)body->max);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, http_code);
    /* errbuf and the options point into this frame: gone before the handle is used again. */
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
    if (body->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        *detail =
            apr_psprintf(body->p, "answer is larger than %lu bytes", (unsigned long)body->max);
        return MAB_IC_TOO_BIG;
    }
    if (rc != CURLE_OK) {
        *detail = apr_psprintf(body->p, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return transport_status(rc);
    }
    return MAB_IC_OK;
}

static mab_introspect_status_e read_answer(apr_pool_t *pool, const body_t *body, long code,
                                           json_t **answer, const char **detail)
{
    const json_t *active;
    const char *why = NULL;
    json_t *v;

    if (code == 401 || code == 403) {
        const char *e = oauth_error(pool, body);
        *detail = apr_psprintf(pool,
                               "HTTP status %ld%s%s: the endpoint refused our client "
                               "credentials",
                               code, e ? ", error " : "", e ? e : "");
        return MAB_IC_REFUSED_AUTH;
    }
    if (code != 200) {
        *detail = apr_psprintf(pool, "HTTP status %ld%s", code,
                               code >= 300 && code < 400 ? " (redirects are not followed)" : "");
        return MAB_IC_HTTP_STATUS;
    }
    v = mab_claims_parse(pool, (const unsigned char *)(body->buf ? body->buf : ""), body->len,
                         &why);
    if (!v) {
        *detail = apr_psprintf(pool, "answer is not a JSON object: %s", why);
        return MAB_IC_BAD_ANSWER;
    }
    active = json_object_get(v, "active");
    if (!json_is_boolean(active)) {
        *detail = active ? "answer's active is not a boolean" : "answer has no active member";
        return MAB_IC_BAD_ANSWER;
    }
    *answer = v;
    return MAB_IC_OK;
}

mab_introspect_status_e mab_introspect_call(const mab_introspect_endpoint_t *ep, const char *token,
                                            apr_size_t len, apr_pool_t *pool, json_t **answer,
                                            long *http_code, double *seconds, const char **detail)
{
    struct timespec t0;
    const char *extra = NULL, *authz = NULL, *err;
    struct curl_slist *headers = NULL;
    mab_introspect_status_e st;
    char *form, *etoken;
    body_t body;
    CURL *curl;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    *answer = NULL;
    *http_code = 0;
    *seconds = 0;
    *detail = NULL;
    if (ep->auth && mab_introspect_auth_method(ep->auth) == MAB_IA_TLS_CLIENT_AUTH
        && strncasecmp(ep->url, "https://", 8) != 0) {
        *detail = "tls_client_auth needs an https:// endpoint";
        return MAB_IC_INTERNAL;
    }
    err = mab_introspect_auth_apply(ep->auth, ep->url, (long long)time(NULL), pool, &extra, &authz);
    if (err) {
        *detail = err;
        return MAB_IC_INTERNAL;
    }
    curl = thread_curl();
    headers = request_headers(pool, authz);
    if (!curl || !headers) {
        free_headers(headers);
        *detail = "cannot initialise libcurl";
        return MAB_IC_INTERNAL;
    }
    etoken = mab_form_encode(pool, token, len);
    form = apr_pstrcat(pool, "token=", etoken, "&token_type_hint=access_token", extra ? "&" : "",
                       extra ? extra : "", NULL);
    OPENSSL_cleanse(etoken, strlen(etoken));
    memset(&body, 0, sizeof(body));
    body.p = pool;
    body.max = ep->max_body ? ep->max_body : MAB_INTROSPECT_MAX_BODY;
    st = perform(ep, curl, form, headers, &body, http_code, detail);
    OPENSSL_cleanse(form, strlen(form));
    free_headers(headers);
    if (st == MAB_IC_OK) {
        st = read_answer(pool, &body, *http_code, answer, detail);
    }
    *seconds = elapsed(&t0);
    return st;
}

const char *mab_introspect_status_name(mab_introspect_status_e st)
{
    static const char *const names[MAB_IC__COUNT] = {
        [MAB_IC_OK] = "ok",
        [MAB_IC_TIMEOUT] = "timeout",
        [MAB_IC_CONNECT] = "connect",
        [MAB_IC_REFUSED_AUTH] = "refused_auth",
        [MAB_IC_HTTP_STATUS] = "http_status",
        [MAB_IC_BAD_ANSWER] = "bad_answer",
        [MAB_IC_TOO_BIG] = "too_big",
        [MAB_IC_INTERNAL] = "internal",
    };

    return (unsigned)st < MAB_IC__COUNT ? names[st] : "internal";
}
