#ifndef MAB_RESOURCE_H
#define MAB_RESOURCE_H

/* RFC 9728 protected resource metadata, the pure parts: which identifiers are allowed, where
 * an identifier's metadata lives (§3.1), the document itself (§2, §3.2) and its ETag. */
#include <apr_pools.h>
#include <apr_tables.h>

#define MAB_RESOURCE_WELL_KNOWN "/.well-known/oauth-protected-resource"
/* Bounds on what the configuration may put into one document. */
#define MAB_RESOURCE_MAX_URL 2048

/* A resource identifier: an absolute https URL (http only to a loopback host: 127.0.0.0/8,
 * ::1, localhost), with a host, without userinfo, query or fragment. 0, or -1 and *why. */
int mab_resource_check_identifier(apr_pool_t *p, const char *id, const char **why);

/* An origin for AuthBearerPublicURL: scheme://host[:port] (https, or http to a loopback host),
 * nothing after it but an optional '/'. 0, or -1 and *why. */
int mab_resource_check_origin(apr_pool_t *p, const char *url, const char **why);

/* The path of the identifier's metadata on its host (§3.1): the well-known prefix, then the
 * identifier's path, a path of just "/" removed first ("https://h/" and "https://h" both give
 * "/.well-known/oauth-protected-resource"). The identifier must have passed the check. */
const char *mab_resource_metadata_path(apr_pool_t *p, const char *id);

/* The metadata URL: `origin` (AuthBearerPublicURL; NULL: the identifier's own scheme://host
 * [:port]) followed by mab_resource_metadata_path. */
const char *mab_resource_metadata_url(apr_pool_t *p, const char *id, const char *origin);

/* What a document says; NULL or empty members are omitted (§3.2). */
typedef struct {
    const char *resource;                            /* required: the identifier, exactly */
    const apr_array_header_t *authorization_servers; /* const char * */
    const apr_array_header_t *scopes;                /* const char *, scopes_supported */
    const char *name;                                /* resource_name */
    const char *documentation;                       /* resource_documentation */
    const apr_array_header_t *dpop_algs; /* const char *: dpop_signing_alg_values_supported */
    int dpop_required;                   /* dpop_bound_access_tokens_required true */
    int cert_bound;                      /* tls_client_certificate_bound_access_tokens true */
} mab_resource_meta_t;

/* The document as compact JSON, members in a fixed order (so equal settings give equal
 * bytes and ETags), with bearer_methods_supported ["header"] (the module takes tokens only
 * from the Authorization header). NULL only when memory ran out. */
char *mab_resource_document(apr_pool_t *p, const mab_resource_meta_t *m);

/* A strong ETag for the document bytes: a quoted prefix of their SHA-256 in hex. */
const char *mab_resource_etag(apr_pool_t *p, const char *doc);

/* Whether an If-None-Match header value names `etag` (or is "*"): a 304 then. Weak
 * comparison (RFC 9110 §13.1.2): a W/ prefix is ignored. */
int mab_resource_etag_matches(const char *if_none_match, const char *etag);

#endif
