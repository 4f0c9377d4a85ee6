#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <curl/curl.h>

#include "mab_fetch.h"

typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap, max;
    int too_big;
    long max_age;
} fetch_ctx;

static size_t on_body(char *data, size_t size, size_t nmemb, void *baton)
{
    fetch_ctx *ctx = baton;
    size_t n = size * nmemb;

    if (ctx->len + n > ctx->max) {
        ctx->too_big = 1;
        return 0; /* makes curl fail the transfer */
    }
    if (ctx->len + n + 1 > ctx->cap) {
        apr_size_t cap = ctx->cap ? ctx->cap : 16384;
        char *nb;
        while (cap < ctx->len + n + 1) {
            cap *= 2;
        }
        nb = apr_palloc(ctx->p, cap);
        if (ctx->len) {
            memcpy(nb, ctx->buf, ctx->len);
        }
        ctx->buf = nb;
        ctx->cap = cap;
    }
    memcpy(ctx->buf + ctx->len, data, n);
    ctx->len += n;
    ctx->buf[ctx->len] = '\0';
    return n;
}

/* Cache-Control: max-age=N is kept for the refresh policy. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *baton)
{
    fetch_ctx *ctx = baton;
    size_t n = size * nmemb;
    static const char name[] = "cache-control:";

    if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        char *line = apr_pstrmemdup(ctx->p, data + sizeof(name) - 1, n - (sizeof(name) - 1));
        char *at = strstr(line, "max-age=");
        if (at) {
            long v = strtol(at + 8, NULL, 10);
            ctx->max_age = v >= 0 ? v : -1;
        }
    }
    return n;
}

int mab_fetch_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

/* http and https only, redirects to https only. The _STR options came with libcurl 7.85;
 * older ones (Ubuntu 22.04, RHEL 9) only have the bitmasks, deprecated since. A refusal
 * fails the fetch: without the restriction curl would speak file://, gopher://, ... */
static int restrict_protocols(CURL *curl)
{
#if LIBCURL_VERSION_NUM >= 0x075500 && !defined(MAB_FORCE_CURLOPT_PROTOCOLS)
    return curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK
           && curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https") == CURLE_OK;
#else
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
    return curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS))
               == CURLE_OK
           && curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS) == CURLE_OK;
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#endif
}

int mab_fetch_restrict_protocols(void *curl)
{
    return restrict_protocols(curl);
}

static int fetch_url(apr_pool_t *p, const char *url, long timeout_ms, const char *ca_file,
                     fetch_ctx *ctx, const char **err)
{
    CURL *curl = curl_easy_init();
    char errbuf[CURL_ERROR_SIZE] = "";
    int https = strncasecmp(url, "https:", 6) == 0;
    long status = 0;
    CURLcode rc;

    if (!curl) {
        *err = "cannot initialise libcurl";
        return -1;
    }
    if (!restrict_protocols(curl)) {
        curl_easy_cleanup(curl);
        *err = "libcurl cannot be restricted to http and https";
        return -1;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    /* https may redirect to https only (never falls back to http). Plain http, allowed for
     * loopback hosts, is not redirected at all: a redirect could leave the loopback. */
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, https ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_file) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    /* Signals and threads do not mix in a multi-threaded httpd child. */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mod_auth_bearer");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, ctx);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, ctx);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    if (ctx->too_big) {
        *err = apr_psprintf(p, "response is larger than %lu bytes", (unsigned long)ctx->max);
        return -1;
    }
    if (rc != CURLE_OK) {
        *err = apr_psprintf(p, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return -1;
    }
    if (status != 200) {
        *err = apr_psprintf(p, "HTTP status %ld", status);
        return -1;
    }
    return 0;
}

static int read_file(apr_pool_t *p, const char *path, fetch_ctx *ctx, const char **err)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;
    apr_status_t rv;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv != APR_SUCCESS) {
        char msg[120];
        *err = apr_psprintf(p, "cannot open: %s", apr_strerror(rv, msg, sizeof(msg)));
        return -1;
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv != APR_SUCCESS || fi.size < 0 || (apr_size_t)fi.size > ctx->max) {
        apr_file_close(f);
        *err =
            apr_psprintf(p, "file is larger than %lu bytes or unreadable", (unsigned long)ctx->max);
        return -1;
    }
    n = (apr_size_t)fi.size;
    ctx->buf = apr_palloc(p, n + 1);
    rv = apr_file_read_full(f, ctx->buf, n, &ctx->len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && !(rv == APR_EOF && ctx->len == 0 && n == 0)) {
        *err = "cannot read file";
        return -1;
    }
    ctx->buf[ctx->len] = '\0';
    return 0;
}

int mab_fetch(apr_pool_t *p, const char *source, long timeout_ms, apr_size_t max_bytes, char **body,
              apr_size_t *len, long *max_age, const char **err)
{
    return mab_fetch_ex(p, source, timeout_ms, max_bytes, NULL, body, len, max_age, err);
}

int mab_fetch_is_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

int mab_fetch_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (strcasecmp(host, "localhost") == 0) {
        return 1;
    }
    if (inet_pton(AF_INET, host, &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    if (inet_pton(AF_INET6, host, &v6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&v6);
    }
    return 0;
}

int mab_fetch_url_allowed(apr_pool_t *p, const char *url, int allow_insecure, const char **why)
{
    const char *start, *end, *at;
    char *host, *colon;

    if (strncasecmp(url, "https://", 8) == 0) {
        return 1;
    }
    if (strncasecmp(url, "http://", 7) != 0) {
        *why = "not an http:// or https:// URL";
        return 0;
    }
    if (allow_insecure) {
        return 1;
    }
    start = url + 7;
    end = start + strcspn(start, "/?#");
    /* userinfo@host: the host is what follows the last '@' of the authority */
    for (at = start; at < end; at++) {
        if (*at == '@') {
            start = at + 1;
        }
    }
    host = apr_pstrmemdup(p, start, (apr_size_t)(end - start));
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        if (close) {
            *close = '\0';
        }
        host++;
    }
    else if ((colon = strrchr(host, ':')) != NULL) {
        *colon = '\0';
    }
    if (mab_fetch_is_loopback(host)) {
        return 1;
    }
    *why = "plain http:// to a host that is not loopback (keys could be replaced in transit)";
    return 0;
}

int mab_fetch_ex(apr_pool_t *p, const char *source, long timeout_ms, apr_size_t max_bytes,
                 const char *ca_file, char **body, apr_size_t *len, long *max_age, const char **err)
{
    fetch_ctx ctx;
    int rv;

    memset(&ctx, 0, sizeof(ctx));
    ctx.p = p;
    ctx.max = max_bytes;
    ctx.max_age = -1;
    if (mab_fetch_is_url(source)) {
        rv = fetch_url(p, source, timeout_ms, ca_file, &ctx, err);
    }
    else {
        rv = read_file(p, source, &ctx, err);
    }
    if (rv != 0) {
        return -1;
    }
    *body = ctx.buf ? ctx.buf : apr_pstrdup(p, "");
    *len = ctx.len;
    *max_age = ctx.max_age;
    return 0;
}
