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
    /* issue 6: verified-token cache */
    int token_cache; /* AuthBearerTokenCache 0 in a section: not used here; -1 unset */
} mab_dir_conf_t;

/* What this request's token turned out to be; computed once, used by authn and authz. */
typedef struct {
    int status;        /* OK, HTTP_BAD_REQUEST, HTTP_UNAUTHORIZED, HTTP_INTERNAL_SERVER_ERROR */
    const char *error; /* RFC 6750 error code, NULL when no token was sent */
    const char *description; /* error_description */
    const char *detail;      /* more for the log */
    struct json_t *claims;
    const char *user;
    const char *kid, *alg, *iss, *fingerprint;
    apr_array_header_t *denied_scopes; /* scopes a failed Require scope asked for */
    const char *denied_claim;          /* the claim a failed Require claim named */
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

/* Verifies the request's bearer token once; NULL when AuthType is not Bearer. */
mab_req_t *mab_request_verify(request_rec *r);

/* Exposes the verified claims to CGI and SSI through the subprocess environment. */
void mab_export_env(request_rec *r, const mab_req_t *st);

void mab_register_authz_providers(apr_pool_t *p);

/* Warns at startup about Bearer sections missing a required directive. */
void mab_check_sections(server_rec *main_server, apr_pool_t *ptemp);

#endif
