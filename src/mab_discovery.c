#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <jansson.h>

#include "mab_discovery.h"
#include "mab_fetch.h"
#include "mab_json.h"

/* Metadata documents are small; Entra's is about 2 KiB. */
#define MAB_DISCOVERY_MAX_BYTES (64 * 1024)

const char *mab_discovery_url(apr_pool_t *p, const char *issuer, mab_discovery_kind_e kind,
                              const char **why)
{
    const char *auth, *path;
    apr_size_t n;

    if (!mab_fetch_is_url(issuer) || strpbrk(issuer, "?#")) {
        *why = "the issuer is not an http(s) URL without query or fragment";
        return NULL;
    }
    auth = strstr(issuer, "://") + 3;
    path = auth + strcspn(auth, "/");
    if (path == auth) {
        *why = "the issuer URL has no host";
        return NULL;
    }
    /* Both specifications drop one terminating '/' before appending. */
    n = strlen(path);
    if (n && path[n - 1] == '/') {
        n--;
    }
    if (kind == MAB_DISCOVERY_OIDC) {
        return apr_pstrcat(p, apr_pstrmemdup(p, issuer, (apr_size_t)(path - issuer) + n),
                           "/.well-known/openid-configuration", NULL);
    }
    /* RFC 8414 §3.1: the well-known part goes between the host and the issuer's path. */
    return apr_pstrcat(p, apr_pstrmemdup(p, issuer, (apr_size_t)(path - issuer)),
                       "/.well-known/oauth-authorization-server", apr_pstrmemdup(p, path, n), NULL);
}

/* A URL is printable ASCII without spaces (RFC 3986); it is logged and shown. */
static int plain_url(const char *u)
{
    const char *c;

    if (!mab_fetch_is_url(u)) {
        return 0;
    }
    for (c = u; *c; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* The metadata document, once its issuer is the configured one exactly. */
static json_t *parse_doc(apr_pool_t *p, const char *buf, apr_size_t len, const char *issuer,
                         const char **why)
{
    const char *detail = NULL;
    json_t *doc = mab_json_parse_object(p, buf, len, &detail);
    json_t *iss;

    if (!doc) {
        *why = apr_psprintf(p, "metadata is not a JSON object: %s", detail);
        return NULL;
    }
    iss = json_object_get(doc, "issuer");
    if (!json_is_string(iss)) {
        *why = "metadata has no \"issuer\"";
        return NULL;
    }
    if (strcmp(json_string_value(iss), issuer) != 0) {
        /* OIDC Discovery §4.3 / RFC 8414 §3.3: exact match, or the metadata is not used. */
        *why = apr_psprintf(p, "metadata names issuer \"%.200s\", not the configured \"%.200s\"",
                            json_string_value(iss), issuer);
        return NULL;
    }
    return doc;
}

/* The http(s) URL of member `name`, or NULL with *why. */
static const char *url_member(apr_pool_t *p, json_t *doc, const char *name, const char **why)
{
    json_t *v = json_object_get(doc, name);

    if (!json_is_string(v) || !mab_fetch_is_url(json_string_value(v))) {
        *why = apr_psprintf(p, "metadata has no http(s) \"%s\"", name);
        return NULL;
    }
    if (!plain_url(json_string_value(v))) {
        *why = apr_psprintf(p, "metadata's \"%s\" is not a plain ASCII URL", name);
        return NULL;
    }
    return apr_pstrdup(p, json_string_value(v));
}

const char *mab_discovery_parse(apr_pool_t *p, const char *buf, apr_size_t len, const char *issuer,
                                const char **why)
{
    json_t *doc = parse_doc(p, buf, len, issuer, why);

    return doc ? url_member(p, doc, "jwks_uri", why) : NULL;
}

const char *mab_discovery_parse_member(apr_pool_t *p, const char *buf, apr_size_t len,
                                       const char *issuer, const char *member, const char **why)
{
    json_t *doc = parse_doc(p, buf, len, issuer, why);

    return doc ? url_member(p, doc, member, why) : NULL;
}

const char *mab_discovery_fetch_member(apr_pool_t *p, const char *issuer, const char *member,
                                       long timeout_ms, const char *ca_file, const char **meta_url,
                                       long *max_age, const char **why)
{
    static const mab_discovery_kind_e kinds[] = {MAB_DISCOVERY_OIDC, MAB_DISCOVERY_RFC8414};
    const char *first_err = NULL;
    size_t i;

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        const char *url = mab_discovery_url(p, issuer, kinds[i], why), *err = NULL;
        char *body = NULL;
        apr_size_t len = 0;

        if (!url) {
            return NULL;
        }
        if (mab_fetch_ex(p, url, timeout_ms, MAB_DISCOVERY_MAX_BYTES, ca_file, &body, &len, max_age,
                         &err)
            != 0) {
            err = apr_psprintf(p, "%s: %s", url, err);
            first_err = first_err ? apr_pstrcat(p, first_err, "; ", err, NULL) : err;
            continue;
        }
        *meta_url = url;
        url = mab_discovery_parse_member(p, body, len, issuer, member, &err);
        if (!url) {
            *why = apr_psprintf(p, "%s: %s", *meta_url, err);
        }
        return url;
    }
    *why = first_err;
    return NULL;
}

const char *mab_discovery_fetch(apr_pool_t *p, const char *issuer, long timeout_ms,
                                const char *ca_file, const char **meta_url, long *max_age,
                                const char **why)
{
    return mab_discovery_fetch_member(p, issuer, "jwks_uri", timeout_ms, ca_file, meta_url, max_age,
                                      why);
}
