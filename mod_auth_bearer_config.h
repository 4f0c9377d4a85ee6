#ifndef MOD_AUTH_BEARER_CONFIG_H
#define MOD_AUTH_BEARER_CONFIG_H

/* Directives, their merging down the URL space, and the one place defaults are resolved:
 * every field is "unset" (-1 or NULL) until a directive sets it, and the accessors below
 * give the effective value, so no caller repeats a fallback. */
#include <apr_hash.h>

#include "mod_auth_bearer_private.h"

struct mab_introspect_auth_t;
struct mab_key_t;
struct mab_keycache_t;
struct mab_keycache_opts_t;
struct mab_issuer_t;
struct mab_policy_t;
struct mab_source_t;
struct mab_resource_conf_t;
struct mab_sender_conf_t;

/* Server-wide; only the main server's are used (the key cache is global). */
typedef struct {
    /* key sets: refresh, fetch, shared memory, transport */
    long refresh_min, refresh_max;
    long refetch_interval;
    long fetch_timeout;
    long max_stale;      /* AuthBearerJWKSMaxStale */
    long cache_size;     /* AuthBearerCacheSize, bytes per key source */
    const char *ca_file; /* AuthBearerCAFile; NULL = system store */
    int allow_insecure;  /* AuthBearerAllowInsecureHTTP */
    /* verified tokens */
    long token_cache; /* AuthBearerTokenCache entries per process, 0 off */
    /* hand-off: every claim/payload header name this virtual host's sections configure,
     * collected at startup (mod_auth_bearer_handoff.c) */
    apr_array_header_t *scrub_names;
    /* <AuthBearerIssuer iss> of this server or virtual host: iss -> its mab_dir_conf_t */
    apr_hash_t *issuer_boxes;
    const char *socache; /* AuthBearerSOCache provider[:args]; NULL = shmcb */
} mab_srv_conf_t;

/* An introspection endpoint named by AuthBearerIntrospection (one per URL, registered at
 * startup: its statistics are kept by index). */
typedef struct {
    const char *url;    /* AuthBearerIntrospection's, or NULL: the issuer's discovered one */
    const char *issuer; /* discovered: whose metadata names it */
    const char *name;   /* what logs and the status page call it */
    int index;
} mab_endpoint_t;

/* How one issuer's tokens are introspected where a request is: what the verifier hands
 * back to the introspector (mab_rules_t.introspection). */
typedef struct {
    const mab_endpoint_t *ep;
    const struct mab_introspect_auth_t *auth;
    long cache_s; /* AuthBearerIntrospectionCache */
} mab_introspection_t;

typedef struct {
    /* Whose tokens, and the keys that verify them. */
    apr_array_header_t *issuers;     /* const char *, AuthBearerIssuer; NULL = unset */
    apr_array_header_t *discoveries; /* mab_source_t *, one per issuer (NULL: not a URL) */
    const char *jwks_uri;
    struct mab_source_t *jwks;
    struct mab_key_t *secret;            /* AuthBearerSharedSecret, for HS256/384/512 */
    const mab_endpoint_t *introspection; /* AuthBearerIntrospection */
    const struct mab_introspect_auth_t *introspect_auth; /* AuthBearerIntrospectionAuth */
    int introspect;          /* AuthBearerIntrospect: mab_introspect_mode_e, -1 unset */
    int introspection_cache; /* AuthBearerIntrospectionCache seconds, -1 unset */
    /* What a token must be. */
    apr_array_header_t *audiences; /* const char *; NULL = unset */
    int audience_any;              /* AuthBearerAudience * */
    unsigned alg_mask;             /* 0 = unset */
    int max_token_size;
    int at_jwt; /* AuthBearerTokenType at+jwt */
    int skew;
    const char *user_claim;
    const char *scope_claim; /* NULL = scope, scp and permissions */
    int token_cache;         /* AuthBearerTokenCache 0 in a section: not used here */
    /* Which requests pass without one. */
    int optional;        /* AuthBearerOptional */
    int allow_preflight; /* AuthBearerAllowPreflight */
    /* Hand-off to the application: inner sections add to outer ones. */
    apr_array_header_t *claim_headers; /* mab_claim_map_t */
    apr_array_header_t *claim_envs;    /* mab_claim_map_t */
    const char *payload_header;
    int claim_header_encoding; /* AuthBearerClaimHeaderEncoding: mab_hdrenc_e, -1 unset */
    int pass_token;            /* AuthBearerPassToken */
    /* RFC 9728: AuthBearerResource and its settings (mod_auth_bearer_resource_conf.c). */
    struct mab_resource_conf_t *resource;
    /* DPoP and certificate-bound tokens (mod_auth_bearer_sender_conf.c). */
    struct mab_sender_conf_t *sender;
} mab_dir_conf_t;

/* One AuthBearerClaimHeader or AuthBearerClaimEnv: the claim (a name or a JSON Pointer) and
 * the request header or environment variable that carries it. */
typedef struct {
    const char *claim;
    const char *name;
} mab_claim_map_t;

extern const command_rec mab_cmds[];

void *mab_create_dir_conf(apr_pool_t *p, char *dir);
void *mab_merge_dir_conf(apr_pool_t *p, void *base, void *add);
void *mab_create_srv_conf(apr_pool_t *p, server_rec *s);

/* pre_config: a new configuration generation registers its key sources in a new cache. */
void mab_conf_pre_config(apr_pool_t *pconf);
struct mab_keycache_t *mab_conf_keycache(void);

const mab_dir_conf_t *mab_dir_conf(const request_rec *r);
const mab_srv_conf_t *mab_srv_conf(const server_rec *s);

/* Effective values. */
apr_size_t mab_conf_max_token_size(const mab_dir_conf_t *conf);
int mab_conf_optional(const mab_dir_conf_t *conf);
int mab_conf_allow_preflight(const mab_dir_conf_t *conf);
int mab_conf_pass_token(const mab_dir_conf_t *conf);
/* AuthBearerClaimHeaderEncoding, as a mab_hdrenc_e. */
int mab_conf_claim_header_encoding(const mab_dir_conf_t *conf);
int mab_conf_uses_token_cache(const mab_dir_conf_t *conf);
/* The verifier's policy for a section of server `s`: each issuer with its own key source
 * and rules, resolved from the section's explicit settings first, then the issuer's
 * <AuthBearerIssuer> container, then the defaults (allocated from p). Returns what the
 * section still needs (issuer, audience, a key source: the directive, naming the issuer
 * where there are several), or NULL when the policy is complete. */
const char *mab_conf_policy(const server_rec *s, const mab_dir_conf_t *conf, apr_pool_t *p,
                            struct mab_policy_t *out);
/* The <AuthBearerIssuer> containers of a server or virtual host (iss -> mab_dir_conf_t),
 * or NULL. */
apr_hash_t *mab_srv_issuer_boxes(const server_rec *s);

/* The introspection endpoints of this configuration generation. */
int mab_conf_endpoint_count(void);
const mab_endpoint_t *mab_conf_endpoint_at(int i);

void mab_srv_keycache_opts(const mab_srv_conf_t *sconf, struct mab_keycache_opts_t *out);
long mab_srv_token_cache_entries(const mab_srv_conf_t *sconf);
int mab_srv_allow_insecure(const mab_srv_conf_t *sconf);

/* Header names compare case-insensitively, and '_' equals '-' (CGI maps both to '_'). */
int mab_conf_same_header(const char *a, const char *b);

#endif
