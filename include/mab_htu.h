#ifndef MAB_HTU_H
#define MAB_HTU_H

/* The URL a DPoP proof's htu names, and the one the request was made to, put in one form
 * so that they compare as strings (RFC 9449 §4.3 point 9, RFC 3986 §6.2.2 and §6.2.3). */
#include <apr_pools.h>

/* Normalises an absolute http(s) URL: scheme and host lower case, the default port (80,
 * 443) dropped, %XX upper case, %XX of an unreserved character decoded, dot segments
 * removed, an empty path made "/", query and fragment dropped. Userinfo, a non-http(s)
 * scheme, a missing host, control characters or a bad %-escape: NULL. %2F stays encoded;
 * path bytes a URI cannot hold raw (non-ASCII, "|" ...) are %-encoded as a URL library
 * sends them; a host is a name of unreserved characters or an [IPv6] literal; URLs longer
 * than 8192 bytes: NULL. The result normalises to itself. */
const char *mab_htu_normalize(apr_pool_t *p, const char *url, apr_size_t len);

/* The request's own URL: origin ("scheme://host[:port]", AuthBearerPublicURL or the
 * virtual host's) joined with the request-target of the raw request line (origin-form
 * "/path?query"; an absolute-form target keeps only its path), normalised as above. NULL
 * when either cannot be: an origin with a path (other than "/"), query or fragment, a
 * target "*", empty, or in authority-form. */
const char *mab_htu_request(apr_pool_t *p, const char *origin, const char *target);

#endif
