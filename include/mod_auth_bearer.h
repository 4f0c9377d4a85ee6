#ifndef MOD_AUTH_BEARER_H
#define MOD_AUTH_BEARER_H

/* Shared by the glue files only; the core (src/, include/mab_*.h) never sees httpd. */
#include <httpd.h>
#include <http_config.h>

struct json_t;
struct mab_source_t;
struct mab_keycache_t;
struct mab_key_t;

extern module AP_MODULE_DECLARE_DATA auth_bearer_module;

#define MAB_AUTH_TYPE "Bearer"
#define MAB_DEFAULT_SKEW 30
#define MAB_DEFAULT_USER_CLAIM "sub"
#define MAB_MIN_SECRET_BYTES 32 /* RFC 7518 §3.2: at least the HS256 hash size */
#define MAB_DEFAULT_REFRESH_MIN 300
#define MAB_DEFAULT_REFRESH_MAX 86400
#define MAB_DEFAULT_REFETCH_INTERVAL 30
#define MAB_DEFAULT_FETCH_TIMEOUT 5

/* Server-wide settings; only the main server's are used (the key cache is global). */
typedef struct {
    long refresh_min, refresh_max; /* -1 unset */
    long refetch_interval;
    long fetch_timeout;
    /* issue 4: JWKS lifecycle */
    long cache_size;     /* AuthBearerCacheSize, bytes per key source; -1 unset */
    const char *ca_file; /* AuthBearerCAFile; NULL = system store */
    int allow_insecure;  /* AuthBearerAllowInsecureHTTP; -1 unset */
    /* issue 6: verified-token cache */
    long token_cache; /* AuthBearerTokenCache entries per process; -1 unset, 0 off */
} mab_srv_conf_t;

typedef struct {
    const char *issuer;
    apr_array_header_t *audiences; /* const char *; NULL = unset */
    int audience_any;              /* -1 unset */
    const char *jwks_uri;
    struct mab_source_t *jwks;
    unsigned alg_mask;        /* 0 = unset: the default asymmetric set */
    struct mab_key_t *secret; /* AuthBearerSharedSecret, for HS256/384/512 */
    int max_token_size;       /* -1 unset */
    int at_jwt;               /* AuthBearerTokenType at+jwt; -1 unset */
    int skew;                 /* -1 unset */
    const char *user_claim;
    /* hand-off to CGI and proxied apps (mod_auth_bearer_handoff.c, mod_auth_bearer_access.c) */
    apr_array_header_t *claim_headers; /* mab_claim_map_t; inner sections add to outer */
    const char *payload_header;        /* AuthBearerPayloadHeader; NULL = none */
    int pass_token;                    /* AuthBearerPassToken; -1 unset (On) */
    int optional;                      /* AuthBearerOptional; -1 unset (Off) */
    int allow_preflight;               /* AuthBearerAllowPreflight; -1 unset (Off) */
    const char *scope_claim;           /* AuthBearerScopeClaim; NULL = scope, scp, permissions */
    apr_array_header_t *claim_envs;    /* mab_claim_map_t, AuthBearerClaimEnv; additive */
    /* issue 4: the issuer's metadata names the key set when no AuthBearerJWKS is set */
    struct mab_source_t *discovery;
    /* issue 6: verified-token cache */
    int token_cache; /* AuthBearerTokenCache 0 in a section: not used here; -1 unset */
} mab_dir_conf_t;

/* One AuthBearerClaimHeader or AuthBearerClaimEnv: the claim (a name or a JSON Pointer) and
 * the request header or environment variable that carries it. */
typedef struct {
    const char *claim;
    const char *name;
} mab_claim_map_t;

/* What this request's token turned out to be; computed once, used by authn and authz. */
typedef struct {
    int status;        /* OK, HTTP_BAD_REQUEST, HTTP_UNAUTHORIZED, HTTP_INTERNAL_SERVER_ERROR */
    const char *error; /* RFC 6750 error code, NULL when no token was sent */
    const char *description; /* error_description */
    const char *detail;      /* more for the log */
    struct json_t *claims;
    const struct mab_exports_t *exports; /* the claims as text, set with claims on success */
    const char *user;
    const char *kid, *alg, *iss, *fingerprint;
    apr_array_header_t *denied_scopes; /* scopes a failed Require scope asked for */
    const char *denied_claim;          /* the claim a failed Require claim named */
    const char *refused_rule;          /* a negated Require scope/claim the token met */
    int anonymous;    /* AuthBearerOptional without a token: authenticated as "" for valid-user */
    int token_needed; /* a Require scope/claim line asked for the token */
} mab_req_t;

extern struct mab_keycache_t *mab_glue_keycache;
extern const command_rec mab_cmds[];

void *mab_create_dir_conf(apr_pool_t *p, char *dir);
void *mab_create_srv_conf(apr_pool_t *p, server_rec *s);
void *mab_merge_dir_conf(apr_pool_t *p, void *base, void *add);
unsigned mab_conf_alg_mask(const mab_dir_conf_t *conf);
apr_size_t mab_conf_max_token_size(const mab_dir_conf_t *conf);

/* The directive a Bearer section still needs (issuer, audience, a key source), or NULL. */
const char *mab_conf_missing(const mab_dir_conf_t *conf);

/* Adds one AuthBearerClaimHeader / AuthBearerClaimEnv entry after validating the claim. */
const char *mab_conf_claim_map(cmd_parms *cmd, apr_array_header_t **list, const char *claim,
                               const char *name, const char *name_error);

/* Verifies the request's bearer token once; NULL when AuthType is not Bearer. */
mab_req_t *mab_request_verify(request_rec *r);

/* Exposes the verified claims to CGI and SSI through the subprocess environment. */
void mab_export_env(request_rec *r, const mab_req_t *st);
const char *mab_set_claim_env(cmd_parms *cmd, void *dconf, const char *claim, const char *name);

void mab_register_authz_providers(apr_pool_t *p);

/* The outcome of authentication for a verified request: OK with r->user and the CGI
 * environment set, or the error status with its challenge set and the denial logged. */
int mab_authn_result(request_rec *r, const mab_req_t *st);

/* Hand-off (mod_auth_bearer_handoff.c): claim headers, payload header, the token itself. */
const char *mab_set_claim_header(cmd_parms *cmd, void *dconf, const char *claim,
                                 const char *header);
const char *mab_set_payload_header(cmd_parms *cmd, void *dconf, const char *header);
void mab_merge_handoff(apr_pool_t *p, mab_dir_conf_t *conf, const mab_dir_conf_t *base,
                       const mab_dir_conf_t *add);
void mab_register_handoff_hooks(apr_pool_t *p);

/* Optional tokens and CORS preflight (mod_auth_bearer_access.c). */
void mab_register_access_hooks(apr_pool_t *p);

/* AuthBearerOptional and no bearer token: authentication succeeds anonymously. */
int mab_optional_anonymous(request_rec *r, mab_req_t *st);

/* Warns at startup about Bearer sections missing a required directive. */
void mab_check_sections(server_rec *main_server, apr_pool_t *ptemp);

/* issue 4: JWKS lifecycle */
#define MAB_DEFAULT_CACHE_SIZE (256 * 1024)
/* The key source a section's asymmetric tokens are checked with: AuthBearerJWKS, or the
 * issuer's discovered one when neither AuthBearerJWKS nor a shared secret is set. */
struct mab_source_t *mab_conf_key_source(const mab_dir_conf_t *conf);
/* Startup: key sources that break the transport rule; returns 0 or -1 (logged). */
int mab_check_transport(server_rec *s, apr_pool_t *ptemp);
/* Refresh key sets off the request path when mod_watchdog is loaded; 1 if it is used. */
int mab_refresh_start(server_rec *s, apr_pool_t *pconf, struct mab_keycache_t *kc);
void mab_refresh_child_ready(void);
void mab_register_status_handler(void);

#endif
