#ifndef MAB_DISCOVERY_H
#define MAB_DISCOVERY_H

#include <apr_pools.h>

/* Issuer metadata discovery: OpenID Connect Discovery 1.0 §4 and RFC 8414 §3. Only the
 * metadata's issuer (which must equal the configured one exactly), jwks_uri and
 * introspection_endpoint are used;
 * id_token_signing_alg_values_supported is about ID tokens, not access tokens. */

typedef enum {
    MAB_DISCOVERY_OIDC,   /* <issuer without trailing '/'>/.well-known/openid-configuration */
    MAB_DISCOVERY_RFC8414 /* https://host/.well-known/oauth-authorization-server/<path> */
} mab_discovery_kind_e;

/* The metadata URL for issuer, or NULL (with *why) when issuer is not an http(s) URL
 * without query or fragment (RFC 8414 §2). */
const char *mab_discovery_url(apr_pool_t *p, const char *issuer, mab_discovery_kind_e kind,
                              const char **why);

/* Checks a metadata document: a JSON object whose "issuer" equals issuer exactly and
 * whose "jwks_uri" is an http(s) URL. Returns the jwks_uri, or NULL with *why. */
const char *mab_discovery_parse(apr_pool_t *p, const char *buf, apr_size_t len, const char *issuer,
                                const char **why);

/* The same for another URL member of the metadata (introspection_endpoint, …). */
const char *mab_discovery_parse_member(apr_pool_t *p, const char *buf, apr_size_t len,
                                       const char *issuer, const char *member, const char **why);
const char *mab_discovery_fetch_member(apr_pool_t *p, const char *issuer, const char *member,
                                       long timeout_ms, const char *ca_file, const char **meta_url,
                                       long *max_age, const char **why);

/* Fetches and checks the metadata: the OIDC location first, the RFC 8414 one when the
 * first cannot be fetched. On success returns the jwks_uri and sets *meta_url to the
 * document's URL and *max_age to its Cache-Control max-age (or -1). A document that
 * names another issuer is refused, not passed over. NULL with *why otherwise. */
const char *mab_discovery_fetch(apr_pool_t *p, const char *issuer, long timeout_ms,
                                const char *ca_file, const char **meta_url, long *max_age,
                                const char **why);

#endif
