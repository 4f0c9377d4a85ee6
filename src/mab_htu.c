/* The URL of a DPoP proof's htu and of the request, in one form (RFC 3986 §6.2.2, §6.2.3)
 * so that equal URLs compare equal as strings. The result is a fixed point: normalising it
 * again gives it back, which mab_dpop_check relies on to skip the work when a proof's htu
 * is byte for byte the request's. */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "mab_form.h"
#include "mab_htu.h"

/* Longer URLs are refused: a request line of httpd's default LimitRequestLine is shorter. */
#define MAB_HTU_MAX 8192

static int is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_unreserved(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* What may stand in a path as it is (RFC 3986 §3.3 pchar and '/'); '%' is judged apart. */
static int is_path_char(unsigned char c)
{
    return is_unreserved(c) || strchr("!$&'()*+,;=:@/", c) != NULL;
}

static char lower(unsigned char c)
{
    return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

static const char hex_upper[] = "0123456789ABCDEF";

/* The scheme and the default port it implies; 0 when not http(s). */
static apr_size_t scheme_of(const char *url, apr_size_t len, const char **scheme, unsigned *port)
{
    if (len >= 7 && strncasecmp(url, "http://", 7) == 0) {
        *scheme = "http";
        *port = 80;
        return 7;
    }
    if (len >= 8 && strncasecmp(url, "https://", 8) == 0) {
        *scheme = "https";
        *port = 443;
        return 8;
    }
    return 0;
}

/* host [":" port] into out (lower case, default or empty port dropped). Userinfo, a
 * percent-encoded or otherwise unusual host, or a port that is not a number in 1..65535:
 * -1. Hosts are names or IP literals in practice; refusing the rest of reg-name (sub-delims,
 * %XX) keeps the comparison simple and costs no real client anything. */
static int authority(const char *a, apr_size_t len, unsigned default_port, char *out,
                     apr_size_t *out_len)
{
    apr_size_t i = 0, o = 0, host_end;
    unsigned long port = 0;
    int digits = 0;

    if (len == 0 || memchr(a, '@', len)) {
        return -1;
    }
    if (a[0] == '[') {
        /* IP-literal: IPv6 address text only (no IPvFuture, no zone id). */
        for (i = 1; i < len && a[i] != ']'; i++) {
            if (mab_hex_value((unsigned char)a[i]) < 0 && a[i] != ':' && a[i] != '.') {
                return -1;
            }
        }
        if (i == len || i == 1) {
            return -1;
        }
        host_end = i + 1;
    }
    else {
        for (i = 0; i < len && a[i] != ':'; i++) {
            if (!is_unreserved((unsigned char)a[i])) {
                return -1;
            }
        }
        if (i == 0) {
            return -1;
        }
        host_end = i;
    }
    for (i = 0; i < host_end; i++) {
        out[o++] = lower((unsigned char)a[i]);
    }
    if (host_end < len) {
        if (a[host_end] != ':') {
            return -1;
        }
        for (i = host_end + 1; i < len; i++) {
            if (!is_digit((unsigned char)a[i])) {
                return -1;
            }
            port = port * 10 + (unsigned long)(a[i] - '0');
            if (port > 65535) {
                return -1;
            }
            digits++;
        }
        /* "host:" is the host with its default port (§6.2.3). */
        if (digits && port == 0) {
            return -1;
        }
        if (digits && port != default_port) {
            o += (apr_size_t)apr_snprintf(out + o, 7, ":%lu", port);
        }
    }
    *out_len = o;
    return 0;
}

/* The path with %XX in upper case, %XX of unreserved characters decoded (never %2F: an
 * encoded slash is not a segment boundary) and bytes a URI cannot hold raw encoded, as a
 * URL library would have sent them; a '%' without two hex digits after it: -1. */
static int percent_normalise(const char *in, apr_size_t len, char *out, apr_size_t *out_len)
{
    apr_size_t i, o = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];

        if (c == '%') {
            int hi, lo;

            if (len - i < 3) {
                return -1;
            }
            hi = mab_hex_value((unsigned char)in[i + 1]);
            lo = mab_hex_value((unsigned char)in[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            c = (unsigned char)(hi << 4 | lo);
            if (is_unreserved(c)) {
                out[o++] = (char)c;
            }
            else {
                out[o++] = '%';
                out[o++] = hex_upper[hi];
                out[o++] = hex_upper[lo];
            }
            i += 2;
        }
        else if (is_path_char(c)) {
            out[o++] = (char)c;
        }
        else {
            out[o++] = '%';
            out[o++] = hex_upper[c >> 4];
            out[o++] = hex_upper[c & 0x0f];
        }
    }
    *out_len = o;
    return 0;
}

/* RFC 3986 §5.2.4 for a path that is empty or starts with '/', appended to out at *o: each
 * segment is written after a '/', so ".." only has to cut back to the last '/'. A path
 * ending in "." or ".." ends in '/', as the RFC's algorithm leaves it. */
static void remove_dot_segments(const char *in, apr_size_t len, char *out, apr_size_t *o)
{
    apr_size_t start = *o, i = 0;
    int trailing = 0;

    while (i < len) {
        apr_size_t seg = i + 1, end = seg;

        while (end < len && in[end] != '/') {
            end++;
        }
        trailing = 0;
        if (end - seg == 1 && in[seg] == '.') {
            trailing = 1;
        }
        else if (end - seg == 2 && in[seg] == '.' && in[seg + 1] == '.') {
            while (*o > start && out[*o - 1] != '/') {
                (*o)--;
            }
            if (*o > start) {
                (*o)--;
            }
            trailing = 1;
        }
        else {
            out[(*o)++] = '/';
            memcpy(out + *o, in + seg, end - seg);
            *o += end - seg;
        }
        i = end;
    }
    if (trailing || *o == start) {
        out[(*o)++] = '/';
    }
}

const char *mab_htu_normalize(apr_pool_t *p, const char *url, apr_size_t len)
{
    const char *scheme = NULL;
    unsigned default_port = 0;
    apr_size_t i, a, path, path_end, o, n;
    char *out, *tmp;

    if (!url || len == 0 || len > MAB_HTU_MAX) {
        return NULL;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c == 0x7f) {
            return NULL;
        }
    }
    a = scheme_of(url, len, &scheme, &default_port);
    if (!a) {
        return NULL;
    }
    for (path = a; path < len && url[path] != '/' && url[path] != '?' && url[path] != '#'; path++) {
    }
    for (path_end = path; path_end < len && url[path_end] != '?' && url[path_end] != '#';
         path_end++) {
    }
    /* scheme "://" authority ":" port, then the path at most three times as long encoded,
     * and the '/' an empty path or a final dot segment adds. */
    out = apr_palloc(p, strlen(scheme) + 3 + (path - a) + 7 + 3 * (path_end - path) + 2);
    tmp = apr_palloc(p, 3 * (path_end - path) + 1);
    o = (apr_size_t)apr_snprintf(out, 9, "%s://", scheme);
    if (authority(url + a, path - a, default_port, out + o, &n) != 0) {
        return NULL;
    }
    o += n;
    /* Decoding comes first: "%2E%2E" is a dot segment too. */
    if (percent_normalise(url + path, path_end - path, tmp, &n) != 0) {
        return NULL;
    }
    remove_dot_segments(tmp, n, out, &o);
    out[o] = '\0';
    return out;
}

/* The length of "scheme://authority" at the start of url (0 when it is not http(s)). */
static apr_size_t origin_length(const char *url)
{
    const char *scheme;
    unsigned port;
    apr_size_t len = strlen(url), i = scheme_of(url, len, &scheme, &port);

    if (!i) {
        return 0;
    }
    while (i < len && url[i] != '/' && url[i] != '?' && url[i] != '#') {
        i++;
    }
    return i;
}

const char *mab_htu_request(apr_pool_t *p, const char *origin, const char *target)
{
    apr_size_t olen, tlen;
    const char *path;

    if (!origin || !target || !*target || strcmp(target, "*") == 0) {
        return NULL;
    }
    olen = origin_length(origin);
    /* The origin names a server, not a place on it: a path would be a prefix this cannot
     * know how the request's own target relates to. A lone '/' is tolerated. */
    if (!olen || (origin[olen] && strcmp(origin + olen, "/") != 0)) {
        return NULL;
    }
    if (target[0] == '/') {
        path = target;
    }
    else {
        /* absolute-form (RFC 9112 §3.2.2): only its path; the authority is the origin's. */
        apr_size_t skip = origin_length(target);
        if (!skip) {
            return NULL;
        }
        path = target + skip;
    }
    tlen = strlen(path);
    if (olen + tlen > MAB_HTU_MAX) {
        return NULL;
    }
    return mab_htu_normalize(p, apr_pstrcat(p, apr_pstrmemdup(p, origin, olen), path, NULL),
                             olen + tlen);
}
