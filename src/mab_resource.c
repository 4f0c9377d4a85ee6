/* RFC 9728 protected resource metadata: identifiers, the well-known URL, the document. */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "mab_fetch.h"
#include "mab_resource.h"

/* The characters of an authority we accept: host names, IPv4, [IPv6], and a port. */
static int authority_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
           || c == '.' || c == ':' || c == '[' || c == ']' || c == '_' || c == '~';
}

/* scheme://authority: the length of that prefix, or 0 and *why. */
static size_t origin_len(apr_pool_t *p, const char *url, const char **why)
{
    size_t skip, n, i;
    int secure;
    char *host, *port;

    if (strncmp(url, "https://", 8) == 0) {
        skip = 8;
        secure = 1;
    }
    else if (strncmp(url, "http://", 7) == 0) {
        skip = 7;
        secure = 0;
    }
    else {
        *why = "not an https:// URL (the scheme in lower case)";
        return 0;
    }
    if (strlen(url) > MAB_RESOURCE_MAX_URL) {
        *why = "longer than 2048 characters";
        return 0;
    }
    n = strcspn(url + skip, "/?#");
    if (n == 0) {
        *why = "no host";
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (url[skip + i] == '@') {
            *why = "userinfo (user@) is not allowed";
            return 0;
        }
        if (!authority_char(url[skip + i])) {
            *why = "the host contains a character that is not allowed";
            return 0;
        }
    }
    host = apr_pstrmemdup(p, url + skip, n);
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        if (!close || (close[1] && close[1] != ':')) {
            *why = "a malformed [IPv6] host";
            return 0;
        }
        port = close[1] ? close + 2 : NULL;
        *close = '\0';
        host++;
    }
    else {
        port = strchr(host, ':');
        if (port) {
            *port++ = '\0';
        }
    }
    if (!*host) {
        *why = "no host";
        return 0;
    }
    if (port) {
        char *end;
        long v = strtol(port, &end, 10);
        if (!*port || *end || v < 1 || v > 65535) {
            *why = "the port is not a number between 1 and 65535";
            return 0;
        }
    }
    if (!secure && !mab_fetch_is_loopback(host)) {
        *why = "plain http:// is allowed only for a loopback host (127.0.0.1, ::1, localhost); "
               "use https://";
        return 0;
    }
    return skip + n;
}

int mab_resource_check_identifier(apr_pool_t *p, const char *id, const char **why)
{
    size_t n = origin_len(p, id, why);

    if (n == 0) {
        return -1;
    }
    if (strchr(id, '#')) {
        *why = "a fragment (#) is not allowed (RFC 9728 §1.2)";
        return -1;
    }
    if (strchr(id, '?')) {
        *why = "a query (?) is not supported (RFC 9728 §1.2: SHOULD NOT)";
        return -1;
    }
    if (id[n] && id[n] != '/') {
        *why = "not an absolute URL";
        return -1;
    }
    return 0;
}

int mab_resource_check_origin(apr_pool_t *p, const char *url, const char **why)
{
    size_t n = origin_len(p, url, why);

    if (n == 0) {
        return -1;
    }
    if (url[n] && strcmp(url + n, "/") != 0) {
        *why = "only scheme://host[:port] is allowed, without a path, query or fragment";
        return -1;
    }
    return 0;
}

/* Where the identifier's path begins (after scheme://authority). */
static const char *path_of(const char *id)
{
    const char *a = strstr(id, "://");

    a = a ? a + 3 : id;
    return a + strcspn(a, "/?#");
}

const char *mab_resource_metadata_path(apr_pool_t *p, const char *id)
{
    const char *path = path_of(id);

    if (strcmp(path, "/") == 0) {
        path = "";
    }
    return apr_pstrcat(p, MAB_RESOURCE_WELL_KNOWN, path, NULL);
}

const char *mab_resource_metadata_url(apr_pool_t *p, const char *id, const char *origin)
{
    const char *o;
    size_t n;

    if (origin) {
        n = strlen(origin);
        if (n && origin[n - 1] == '/') {
            n--;
        }
        o = apr_pstrmemdup(p, origin, n);
    }
    else {
        o = apr_pstrmemdup(p, id, (size_t)(path_of(id) - id));
    }
    return apr_pstrcat(p, o, mab_resource_metadata_path(p, id), NULL);
}

static int add_strings(json_t *doc, const char *key, const apr_array_header_t *a)
{
    json_t *arr;
    int i;

    if (!a || a->nelts == 0) {
        return 0;
    }
    arr = json_array();
    if (!arr) {
        return -1;
    }
    for (i = 0; i < a->nelts; i++) {
        if (json_array_append_new(arr, json_string(APR_ARRAY_IDX(a, i, const char *))) != 0) {
            json_decref(arr);
            return -1;
        }
    }
    return json_object_set_new(doc, key, arr);
}

static int add_string(json_t *doc, const char *key, const char *v)
{
    return v && *v ? json_object_set_new(doc, key, json_string(v)) : 0;
}

char *mab_resource_document(apr_pool_t *p, const mab_resource_meta_t *m)
{
    json_t *doc = json_object(), *methods = json_array();
    char *text = NULL, *out = NULL;

    if (!doc || !methods || !m->resource
        || json_object_set_new(doc, "resource", json_string(m->resource)) != 0
        || add_strings(doc, "authorization_servers", m->authorization_servers) != 0
        || add_strings(doc, "scopes_supported", m->scopes) != 0
        || json_array_append_new(methods, json_string("header")) != 0
        || json_object_set(doc, "bearer_methods_supported", methods) != 0
        || add_string(doc, "resource_name", m->name) != 0
        || add_string(doc, "resource_documentation", m->documentation) != 0
        || (m->cert_bound
            && json_object_set_new(doc, "tls_client_certificate_bound_access_tokens", json_true())
                   != 0)
        || add_strings(doc, "dpop_signing_alg_values_supported", m->dpop_algs) != 0
        || (m->dpop_required
            && json_object_set_new(doc, "dpop_bound_access_tokens_required", json_true()) != 0)) {
        goto cleanup;
    }
    text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text) {
        out = apr_pstrdup(p, text);
    }
cleanup:
    free(text);
    json_decref(methods);
    json_decref(doc);
    return out;
}

const char *mab_resource_etag(apr_pool_t *p, const char *doc)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char hex[2 * 16 + 1];
    unsigned i;

    if (EVP_Digest(doc, strlen(doc), md, &len, EVP_sha256(), NULL) != 1 || len < 16) {
        return NULL;
    }
    for (i = 0; i < 16; i++) {
        static const char digits[] = "0123456789abcdef";
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[32] = '\0';
    return apr_pstrcat(p, "\"", hex, "\"", NULL);
}

int mab_resource_etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);

    while (inm && *inm) {
        inm += strspn(inm, " \t,");
        if (*inm == '*') {
            return 1;
        }
        if (strncmp(inm, "W/", 2) == 0) {
            inm += 2;
        }
        if (strncmp(inm, etag, n) == 0
            && (inm[n] == '\0' || inm[n] == ',' || inm[n] == ' ' || inm[n] == '\t')) {
            return 1;
        }
        inm += strcspn(inm, ",");
    }
    return 0;
}
