/* Directives and per-directory configuration merging; the defaults of every setting. */
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <http_core.h>

#include "mab_alg.h"
#include "mab_claims.h"
#include "mab_fetch.h"
#include "mab_hdrenc.h"
#include "mab_introspect_auth.h"
#include "mab_jwk.h"
#include "mab_jws.h"
#include "mab_keycache.h"
#include "mab_tokencache.h"
#include "mab_verifier.h"
#include "mod_auth_bearer_config.h"
#include "mod_auth_bearer_resource_conf.h"
#include "mod_auth_bearer_secret.h"
#include "mod_auth_bearer_sender_conf.h"

#define MAB_MIN_SECRET_BYTES 32 /* RFC 7518 §3.2: at least the HS256 hash size */
/* After a failed fetch with no keys at all, the next try waits this long: a cold start
 * with the issuer down answers 401 quickly instead of queueing on timeouts. */
#define MAB_RETRY_INTERVAL 5

/* Every default, in one place: what an unset (-1 / NULL) field means. */
static const struct {
    int skew, max_token_size, at_jwt, optional, allow_preflight, pass_token;
    int claim_header_encoding;
    const char *user_claim;
    long refresh_min, refresh_max, refetch_interval, fetch_timeout, max_stale, cache_size,
        token_cache;
    int allow_insecure;
    long introspection_cache;
} defaults = {
    .skew = 30,
    .max_token_size = MAB_MAX_TOKEN_SIZE,
    .at_jwt = 0,
    .optional = 0,
    .allow_preflight = 0,
    .pass_token = 1,
    /* Lossless and what every release before the directive sent; the others are a contract
     * the application must know about (README, "Claim header encoding"). */
    .claim_header_encoding = MAB_HDRENC_RAW,
    .user_claim = "sub",
    .refresh_min = 300,
    .refresh_max = 86400,
    .refetch_interval = 30,
    .fetch_timeout = 5,
    /* A day past expiry without one successful refresh: long enough to ride out an
     * issuer's outage over a night or a weekend's first day, short enough that keys an
     * unreachable issuer has long rotated away stop being trusted. */
    .max_stale = 86400,
    .cache_size = 256 * 1024,
    .token_cache = MAB_TOKENCACHE_DEFAULT_ENTRIES,
    .allow_insecure = 0,
    .introspection_cache = 60,
};

#define SET_OR(v, d) ((v) != -1 ? (v) : (d))

/* This configuration generation's key sources (created in pre_config). */
static mab_keycache_t *keycache;
/* The main server's <AuthBearerIssuer> containers, which virtual hosts inherit. */
static apr_hash_t *main_boxes;
/* This generation's introspection endpoints (mab_endpoint_t *), one per URL. */
static apr_array_header_t *endpoints;
static apr_pool_t *endpoints_pool;

void mab_conf_pre_config(apr_pool_t *pconf)
{
    keycache = mab_keycache_create(pconf);
    main_boxes = NULL;
    endpoints = apr_array_make(pconf, 4, sizeof(mab_endpoint_t *));
    endpoints_pool = pconf;
    mab_sender_conf_pre_config(pconf);
}

int mab_conf_endpoint_count(void)
{
    return endpoints ? endpoints->nelts : 0;
}

const mab_endpoint_t *mab_conf_endpoint_at(int i)
{
    return APR_ARRAY_IDX(endpoints, i, const mab_endpoint_t *);
}

static int is_endpoint(const mab_endpoint_t *ep, const char *url, const char *issuer)
{
    if (url) {
        return ep->url && strcmp(ep->url, url) == 0;
    }
    return !ep->url && issuer && strcmp(ep->issuer, issuer) == 0;
}

/* The endpoint of `url`, or (url NULL) the one `issuer`'s metadata names; registered while
 * the configuration is read or checked, only looked up once requests are served. */
static const mab_endpoint_t *endpoint_for(apr_pool_t *p, const char *url, const char *issuer)
{
    mab_endpoint_t *ep;
    int i;

    for (i = 0; endpoints && i < endpoints->nelts; i++) {
        ep = APR_ARRAY_IDX(endpoints, i, mab_endpoint_t *);
        if (is_endpoint(ep, url, issuer)) {
            return ep;
        }
    }
    if (!endpoints || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_RUN_MPM) {
        return NULL;
    }
    ep = apr_palloc(endpoints_pool, sizeof(*ep));
    ep->url = url;
    ep->issuer = issuer;
    ep->name = url ? url : apr_pstrcat(endpoints_pool, "introspection_endpoint of ", issuer, NULL);
    ep->index = endpoints->nelts;
    APR_ARRAY_PUSH(endpoints, mab_endpoint_t *) = ep;
    return ep;
}

mab_keycache_t *mab_conf_keycache(void)
{
    return keycache;
}

const mab_dir_conf_t *mab_dir_conf(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &auth_bearer_module);
}

const mab_srv_conf_t *mab_srv_conf(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &auth_bearer_module);
}

void *mab_create_dir_conf(apr_pool_t *p, char *dir)
{
    mab_dir_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    conf->audience_any = -1;
    conf->skew = -1;
    conf->max_token_size = -1;
    conf->at_jwt = -1;
    conf->pass_token = -1;
    conf->claim_header_encoding = -1;
    conf->optional = -1;
    conf->allow_preflight = -1;
    conf->token_cache = -1;
    conf->introspect = -1;
    conf->introspection_cache = -1;
    return conf;
}

static apr_array_header_t *append(apr_pool_t *p, apr_array_header_t *base, apr_array_header_t *add)
{
    if (base && add) {
        return apr_array_append(p, base, add);
    }
    return add ? add : base;
}

static int same_issuers(const apr_array_header_t *a, const apr_array_header_t *b)
{
    int i;

    if (a->nelts != b->nelts) {
        return 0;
    }
    for (i = 0; i < a->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(a, i, const char *), APR_ARRAY_IDX(b, i, const char *)) != 0) {
            return 0;
        }
    }
    return 1;
}

void *mab_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const mab_dir_conf_t *base = basev, *add = addv;
    mab_dir_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    /* Issuer and key source are one unit: a section that names another issuer never
     * inherits the outer issuer's key set or secret (its tokens would be verified with
     * another issuer's keys); without a key source of its own it uses its issuer's
     * discovery, or has none (a startup error). */
    int new_issuer = add->issuers && (!base->issuers || !same_issuers(add->issuers, base->issuers));
    const mab_dir_conf_t *keys = new_issuer ? add : base;

    conf->issuers = add->issuers ? add->issuers : base->issuers;
    /* the discovery sources belong to the issuers they were made for */
    conf->discoveries = add->issuers ? add->discoveries : base->discoveries;
    if (add->jwks) {
        conf->jwks_uri = add->jwks_uri;
        conf->jwks = add->jwks;
    }
    else {
        conf->jwks_uri = keys->jwks_uri;
        conf->jwks = keys->jwks;
    }
    conf->secret = add->secret ? add->secret : keys->secret;
    conf->introspection = add->introspection ? add->introspection : keys->introspection;
    conf->introspect_auth = add->introspect_auth ? add->introspect_auth : keys->introspect_auth;
    conf->introspect = SET_OR(add->introspect, keys->introspect);
    conf->introspection_cache = SET_OR(add->introspection_cache, keys->introspection_cache);
    /* Audience and its "*" opt-out are one setting: whichever the inner scope set wins. */
    if (add->audiences || add->audience_any != -1) {
        conf->audiences = add->audiences;
        conf->audience_any = add->audience_any;
    }
    else if (!mab_resource_conf_identifier(add->resource)) {
        conf->audiences = base->audiences;
        conf->audience_any = base->audience_any;
    }
    else {
        /* A section that declares its resource and no audience: the identifier is its
         * audience (RFC 8707), not an audience inherited from an outer section. */
        conf->audiences = NULL;
        conf->audience_any = -1;
    }
    conf->alg_mask = add->alg_mask ? add->alg_mask : base->alg_mask;
    conf->max_token_size = SET_OR(add->max_token_size, base->max_token_size);
    conf->at_jwt = SET_OR(add->at_jwt, base->at_jwt);
    conf->skew = SET_OR(add->skew, base->skew);
    conf->user_claim = add->user_claim ? add->user_claim : base->user_claim;
    conf->scope_claim = add->scope_claim ? add->scope_claim : base->scope_claim;
    conf->token_cache = SET_OR(add->token_cache, base->token_cache);
    conf->optional = SET_OR(add->optional, base->optional);
    conf->allow_preflight = SET_OR(add->allow_preflight, base->allow_preflight);
    /* Inner sections add headers: a name configured outside is still removed inside. */
    conf->claim_headers = append(p, base->claim_headers, add->claim_headers);
    conf->claim_envs = append(p, base->claim_envs, add->claim_envs);
    conf->payload_header = add->payload_header ? add->payload_header : base->payload_header;
    conf->pass_token = SET_OR(add->pass_token, base->pass_token);
    conf->claim_header_encoding = SET_OR(add->claim_header_encoding, base->claim_header_encoding);
    conf->resource = mab_resource_conf_merge(p, base->resource, add->resource);
    conf->sender = mab_sender_conf_merge(p, base->sender, add->sender);
    return conf;
}

void *mab_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    mab_srv_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    conf->refresh_min = -1;
    conf->refresh_max = -1;
    conf->refetch_interval = -1;
    conf->fetch_timeout = -1;
    conf->max_stale = -1;
    conf->cache_size = -1;
    conf->allow_insecure = -1;
    conf->token_cache = -1;
    return conf;
}

/* --- effective values ------------------------------------------------------------------------ */

/* Without AuthBearerAlgorithms: every asymmetric algorithm, plus the HMAC ones a
 * configured secret is long enough for. HMAC never comes from a key set. */
static unsigned default_alg_mask(const mab_key_t *secret)
{
    static const char *const hmac[] = {"HS256", "HS384", "HS512"};
    unsigned mask = mab_alg_default_mask();
    size_t i;

    for (i = 0; secret && i < sizeof(hmac) / sizeof(hmac[0]); i++) {
        const mab_alg_t *alg = mab_alg_find(hmac[i]);
        if (mab_jwk_fits_alg(secret, alg)) {
            mask |= alg->bit;
        }
    }
    return mask;
}

apr_size_t mab_conf_max_token_size(const mab_dir_conf_t *conf)
{
    return (apr_size_t)(conf->max_token_size > 0 ? conf->max_token_size : defaults.max_token_size);
}

int mab_conf_optional(const mab_dir_conf_t *conf)
{
    return SET_OR(conf->optional, defaults.optional) == 1;
}

int mab_conf_allow_preflight(const mab_dir_conf_t *conf)
{
    return SET_OR(conf->allow_preflight, defaults.allow_preflight) == 1;
}

int mab_conf_pass_token(const mab_dir_conf_t *conf)
{
    return SET_OR(conf->pass_token, defaults.pass_token) != 0;
}

int mab_conf_claim_header_encoding(const mab_dir_conf_t *conf)
{
    return SET_OR(conf->claim_header_encoding, defaults.claim_header_encoding);
}

int mab_conf_uses_token_cache(const mab_dir_conf_t *conf)
{
    return conf->token_cache != 0;
}

apr_hash_t *mab_srv_issuer_boxes(const server_rec *s)
{
    return s->is_virtual ? mab_srv_conf(s)->issuer_boxes : main_boxes;
}

/* The issuer's container: the virtual host's own, else the main server's. */
static const mab_dir_conf_t *box_of(const server_rec *s, const char *iss)
{
    const mab_srv_conf_t *sconf = mab_srv_conf(s);
    const mab_dir_conf_t *box = NULL;

    if (s->is_virtual && sconf->issuer_boxes) {
        box = apr_hash_get(sconf->issuer_boxes, iss, APR_HASH_KEY_STRING);
    }
    if (!box && main_boxes) {
        box = apr_hash_get(main_boxes, iss, APR_HASH_KEY_STRING);
    }
    return box;
}

static int has_audience(const mab_dir_conf_t *c)
{
    return c && (c->audiences || c->audience_any != -1);
}

/* The most specific explicit setting wins: the section's (merged down its URL space), then
 * the issuer's container, then the default. So a section that narrows the audience is never
 * widened by a container. */
#define PICK(field, unset) (sec->field != (unset) ? sec->field : box ? box->field : (unset))

/* The issuer's introspection: its endpoint where a section or its container names one
 * (the section's only where it accepts this issuer alone), and with it how it is asked. */
static const mab_introspection_t *resolve_introspection(const mab_dir_conf_t *sec,
                                                        const mab_dir_conf_t *box, int several,
                                                        const char *iss, int has_discovery,
                                                        apr_pool_t *p, int *mode)
{
    const mab_endpoint_t *ep = !several && sec->introspection ? sec->introspection
                               : box                          ? box->introspection
                                                              : NULL;
    mab_introspection_t *in;
    int v = PICK(introspect, -1), c;

    *mode = v == -1 ? (ep ? MAB_INTROSPECT_OPAQUE : MAB_INTROSPECT_OFF) : v;
    /* Asked for explicitly without an endpoint: the one the issuer's metadata names. */
    if (!ep && *mode != MAB_INTROSPECT_OFF && has_discovery) {
        ep = endpoint_for(p, NULL, iss);
    }
    if (*mode == MAB_INTROSPECT_OFF || !ep) {
        return NULL;
    }
    in = apr_palloc(p, sizeof(*in));
    in->ep = ep;
    in->auth = PICK(introspect_auth, NULL);
    c = PICK(introspection_cache, -1);
    in->cache_s = SET_OR(c, defaults.introspection_cache);
    return in;
}

static void resolve_issuer(const mab_dir_conf_t *sec, const mab_dir_conf_t *box, int several, int i,
                           apr_pool_t *p, mab_issuer_t *out, mab_rules_t *rules)
{
    /* Where a section names several issuers its own key sources could not say whose keys
     * they are (refused at startup): each issuer's come from its container or discovery. */
    const mab_dir_conf_t *keys = !several && (sec->jwks || sec->secret) ? sec
                                 : box && (box->jwks || box->secret)    ? box
                                                                        : NULL;
    /* A declared resource (AuthBearerResource) is the default audience, before a
     * container's: the section says which resource it is. */
    const mab_resource_conf_t *res =
        mab_resource_conf_identifier(sec->resource) ? sec->resource : NULL;
    const mab_dir_conf_t *aud = has_audience(sec) ? sec : !res && has_audience(box) ? box : NULL;
    int v;

    out->iss = APR_ARRAY_IDX(sec->issuers, i, const char *);
    out->secret = keys ? keys->secret : NULL;
    out->keys = keys ? keys->jwks : APR_ARRAY_IDX(sec->discoveries, i, mab_source_t *);
    out->rules = rules;
    /* RFC 8707: a declared resource is the audience its tokens must name, unless set. */
    rules->audiences = aud ? aud->audiences : mab_resource_conf_audiences(res);
    rules->audience_any = aud ? aud->audience_any == 1 : 0;
    rules->alg_mask = PICK(alg_mask, 0u);
    rules->alg_mask = rules->alg_mask ? rules->alg_mask : default_alg_mask(out->secret);
    v = PICK(at_jwt, -1);
    rules->access_token_jwt = SET_OR(v, defaults.at_jwt) == 1;
    v = PICK(skew, -1);
    rules->skew = SET_OR(v, defaults.skew);
    rules->user_claim = PICK(user_claim, NULL);
    rules->user_claim = rules->user_claim ? rules->user_claim : defaults.user_claim;
    rules->scope_claim = PICK(scope_claim, NULL);
    rules->introspection = resolve_introspection(
        sec, box, several, out->iss, APR_ARRAY_IDX(sec->discoveries, i, mab_source_t *) != NULL, p,
        &rules->introspect);
}

const char *mab_conf_policy(const server_rec *s, const mab_dir_conf_t *conf, apr_pool_t *p,
                            mab_policy_t *out)
{
    mab_issuer_t *issuers;
    mab_rules_t *rules;
    const char *missing = NULL;
    int i, n;

    memset(out, 0, sizeof(*out));
    if (!conf->issuers) {
        return "AuthBearerIssuer";
    }
    n = conf->issuers->nelts;
    issuers = apr_palloc(p, (apr_size_t)n * sizeof(*issuers));
    rules = apr_palloc(p, (apr_size_t)n * sizeof(*rules));
    for (i = 0; i < n; i++) {
        const mab_introspection_t *in;

        resolve_issuer(conf, box_of(s, APR_ARRAY_IDX(conf->issuers, i, const char *)), n > 1, i, p,
                       &issuers[i], &rules[i]);
        in = rules[i].introspection;
        if (!rules[i].audiences && !rules[i].audience_any) {
            missing = "AuthBearerAudience";
        }
        else if (!issuers[i].keys && !issuers[i].secret && !in) {
            missing = rules[i].introspect ? "AuthBearerIntrospection" : "AuthBearerJWKS";
        }
        else if (rules[i].introspect && !in) {
            missing = "AuthBearerIntrospection";
        }
        else if (in && !in->auth) {
            missing = "AuthBearerIntrospectionAuth";
        }
        if (missing && n > 1) {
            missing = apr_psprintf(p, "%s (for issuer %s, in its <AuthBearerIssuer>)", missing,
                                   issuers[i].iss);
        }
        if (missing) {
            return missing;
        }
    }
    /* Every issuer carries its rules: the policy's own rule fields stay unused. */
    out->issuers = issuers;
    out->nissuers = n;
    out->max_token_size = mab_conf_max_token_size(conf);
    out->use_cache = mab_conf_uses_token_cache(conf);
    mab_sender_conf_policy(conf->sender, &out->sender);
    return NULL;
}

void mab_srv_keycache_opts(const mab_srv_conf_t *sconf, mab_keycache_opts_t *out)
{
    out->slot_size = (apr_size_t)(sconf->cache_size > 0 ? sconf->cache_size : defaults.cache_size);
    out->ca_file = sconf->ca_file;
    out->allow_insecure = mab_srv_allow_insecure(sconf);
    out->fetch_timeout_ms = 1000 * SET_OR(sconf->fetch_timeout, defaults.fetch_timeout);
    out->refresh_min_s = SET_OR(sconf->refresh_min, defaults.refresh_min);
    out->refresh_max_s = SET_OR(sconf->refresh_max, defaults.refresh_max);
    out->refetch_interval_s = SET_OR(sconf->refetch_interval, defaults.refetch_interval);
    out->retry_interval_s = MAB_RETRY_INTERVAL;
    out->max_stale_s = SET_OR(sconf->max_stale, defaults.max_stale);
    out->store_dir = NULL; /* set by post_config once the directory exists */
    out->counters = NULL;  /* and the metrics block once it is laid out */
}

int mab_srv_allow_insecure(const mab_srv_conf_t *sconf)
{
    return SET_OR(sconf->allow_insecure, defaults.allow_insecure) == 1;
}

long mab_srv_token_cache_entries(const mab_srv_conf_t *sconf)
{
    return SET_OR(sconf->token_cache, defaults.token_cache);
}

int mab_conf_same_header(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a == '_' ? '-' : (char)apr_tolower(*a);
        char y = *b == '_' ? '-' : (char)apr_tolower(*b);
        if (x != y) {
            return 0;
        }
    }
    return *a == *b;
}

/* --- directives --------------------------------------------------------------------------------
 */
/* A whole number in [min, max], or an error naming the directive and the unit. */
static const char *number(cmd_parms *cmd, const char *arg, long min, long max, const char *unit,
                          long *out)
{
    char *end;
    long v = strtol(arg, &end, 10);

    if (!*arg || *end || v < min || v > max) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of %s between %ld and %ld",
                            cmd->cmd->name, arg, unit, min, max);
    }
    *out = v;
    return NULL;
}

static const char *seconds(cmd_parms *cmd, const char *arg, long min, long max, long *out)
{
    return number(cmd, arg, min, max, "seconds", out);
}

/* A section that accepts several issuers cannot hold a key source: it could not say whose
 * keys they are, and a token of one issuer must never be verified with another's keys. */
static const char *several_issuers_error(cmd_parms *cmd, const char *directive)
{
    return apr_psprintf(cmd->pool,
                        "%s cannot be used in a section that accepts several issuers (whose "
                        "keys would they be?): put it inside <AuthBearerIssuer iss> for its "
                        "issuer, or leave it out to use the issuer's discovery",
                        directive);
}

static int several_issuers(const mab_dir_conf_t *conf)
{
    return conf->issuers && conf->issuers->nelts > 1;
}

/* The issuer's discovery source: for every issuer URL named in the main configuration
 * (shared memory is sized now); only those used without a key set are fetched. */
static mab_source_t *discovery_for(const char *iss)
{
    if (keycache && ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_RUN_MPM && mab_fetch_is_url(iss)
        && !ap_strchr_c(iss, '?') && !ap_strchr_c(iss, '#')) {
        return mab_keycache_discovery(keycache, iss);
    }
    return NULL;
}

static void set_issuer_list(apr_pool_t *p, mab_dir_conf_t *conf, int argc, char *const argv[])
{
    int i;

    conf->issuers = apr_array_make(p, argc, sizeof(const char *));
    conf->discoveries = apr_array_make(p, argc, sizeof(mab_source_t *));
    for (i = 0; i < argc; i++) {
        APR_ARRAY_PUSH(conf->issuers, const char *) = argv[i];
        APR_ARRAY_PUSH(conf->discoveries, mab_source_t *) = discovery_for(argv[i]);
    }
}

static const char *set_issuers(cmd_parms *cmd, void *dconf, int argc, char *const argv[])
{
    mab_dir_conf_t *conf = dconf;
    int i, j;

    if (argc < 1) {
        return "AuthBearerIssuer needs the exact iss value of at least one issuer";
    }
    for (i = 0; i < argc; i++) {
        if (!*argv[i]) {
            return "AuthBearerIssuer: empty issuer (it needs the issuer's exact iss value)";
        }
        for (j = 0; j < i; j++) {
            if (strcmp(argv[i], argv[j]) == 0) {
                return apr_psprintf(cmd->pool, "AuthBearerIssuer: %s is named twice", argv[i]);
            }
        }
    }
    if (argc > 1 && (conf->jwks || conf->secret)) {
        return several_issuers_error(cmd, conf->jwks ? "AuthBearerJWKS" : "AuthBearerSharedSecret");
    }
    set_issuer_list(cmd->pool, conf, argc, argv);
    return NULL;
}

/* What an <AuthBearerIssuer> container may hold: how that issuer's tokens are checked. */
static const char *const box_directives[] = {"AuthBearerJWKS",
                                             "AuthBearerSharedSecret",
                                             "AuthBearerAudience",
                                             "AuthBearerAlgorithms",
                                             "AuthBearerTokenType",
                                             "AuthBearerClockSkew",
                                             "AuthBearerRemoteUserClaim",
                                             "AuthBearerScopeClaim",
                                             "AuthBearerIntrospection",
                                             "AuthBearerIntrospectionAuth",
                                             "AuthBearerIntrospect",
                                             "AuthBearerIntrospectionCache"};

static int box_allows(const char *directive)
{
    size_t i;

    for (i = 0; i < sizeof(box_directives) / sizeof(box_directives[0]); i++) {
        if (strcasecmp(directive, box_directives[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* <AuthBearerIssuer iss>: like mod_md's <MDomain>, a server or virtual host container whose
 * settings apply to that issuer's tokens wherever a section accepts the issuer. Its
 * directives are read into a per-directory configuration of its own. */
static const char *issuer_box(cmd_parms *cmd, void *dconf, const char *args)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    const char *end = ap_strrchr_c(args, '>');
    mab_srv_conf_t *sconf = ap_get_module_config(cmd->server->module_config, &auth_bearer_module);
    apr_hash_t **boxes = cmd->server->is_virtual ? &sconf->issuer_boxes : &main_boxes;
    const ap_directive_t *d;
    ap_conf_vector_t *vector;
    mab_dir_conf_t *box;
    const char *line;
    char *iss;
    int override = cmd->override;

    if (err) {
        return err;
    }
    if (!end || end[1]) {
        return "<AuthBearerIssuer> is missing its closing '>'";
    }
    line = apr_pstrmemdup(cmd->temp_pool, args, (apr_size_t)(end - args));
    iss = ap_getword_conf(cmd->pool, &line);
    if (!*iss || *ap_getword_conf(cmd->temp_pool, &line)) {
        return "<AuthBearerIssuer> needs exactly one issuer: <AuthBearerIssuer https://issuer/>";
    }
    if (*boxes && apr_hash_get(*boxes, iss, APR_HASH_KEY_STRING)) {
        return apr_psprintf(cmd->pool,
                            "<AuthBearerIssuer %s> appears twice in this %s: merge the two", iss,
                            cmd->server->is_virtual ? "virtual host" : "server");
    }
    for (d = cmd->directive->first_child; d; d = d->next) {
        if (!box_allows(d->directive)) {
            return apr_psprintf(cmd->pool,
                                "%s is not allowed inside <AuthBearerIssuer %s> (%s:%d): only "
                                "the settings of the issuer's tokens are",
                                d->directive, iss, d->filename, d->line_num);
        }
    }
    box = mab_create_dir_conf(cmd->pool, NULL);
    set_issuer_list(cmd->pool, box, 1, &iss);
    vector = ap_create_per_dir_config(cmd->pool);
    ap_set_module_config(vector, &auth_bearer_module, box);
    /* The section-only directives (OR_AUTHCFG) are what a container is for. */
    cmd->override |= OR_AUTHCFG | ACCESS_CONF;
    err = ap_walk_config(cmd->directive->first_child, cmd, vector);
    cmd->override = override;
    if (err) {
        return err;
    }
    if (!*boxes) {
        *boxes = apr_hash_make(cmd->pool);
    }
    apr_hash_set(*boxes, iss, APR_HASH_KEY_STRING, box);
    return NULL;
}

static const char *add_audience(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;

    if (strcmp(arg, "*") == 0) {
        if (conf->audiences) {
            return "AuthBearerAudience: '*' cannot be combined with audiences";
        }
        conf->audience_any = 1;
        return NULL;
    }
    if (conf->audience_any == 1) {
        return "AuthBearerAudience: '*' cannot be combined with audiences";
    }
    if (!*arg) {
        return "AuthBearerAudience: empty audience";
    }
    if (!conf->audiences) {
        conf->audiences = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    conf->audience_any = 0;
    APR_ARRAY_PUSH(conf->audiences, const char *) = arg;
    return NULL;
}

/* RFC 3986 scheme ":" at the start: "htps://x", "file:///x", "ftp:x". A file path never
 * has one here (httpd runs on POSIX systems; no drive letters). */
static int has_scheme(const char *s)
{
    const char *c = s;

    if (!apr_isalpha(*c)) {
        return 0;
    }
    while (apr_isalnum(*c) || *c == '+' || *c == '-' || *c == '.') {
        c++;
    }
    return *c == ':';
}

static const char *set_jwks(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;
    const char *uri = arg;

    if (!*arg) {
        return "AuthBearerJWKS needs a URL or a file path";
    }
    if (strncasecmp(arg, "https://", 8) != 0 && strncasecmp(arg, "http://", 7) != 0) {
        if (has_scheme(arg)) {
            return apr_psprintf(cmd->pool,
                                "AuthBearerJWKS: unsupported source '%s': use an https:// or "
                                "http:// URL, or a file path without a scheme (file: URLs are "
                                "not read)",
                                arg);
        }
        uri = ap_server_root_relative(cmd->pool, arg);
        if (!uri) {
            return apr_psprintf(cmd->pool, "AuthBearerJWKS: invalid file path '%s'", arg);
        }
    }
    if (!keycache) {
        return "AuthBearerJWKS: module not initialised (is it loaded with LoadModule?)";
    }
    if (several_issuers(conf)) {
        return several_issuers_error(cmd, "AuthBearerJWKS");
    }
    conf->jwks_uri = uri;
    conf->jwks = mab_keycache_source(keycache, uri);
    return NULL;
}

static const char *add_algorithm(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;
    const mab_alg_t *alg = mab_alg_find(arg);

    if (!alg) {
        char names[160];
        return apr_psprintf(cmd->pool,
                            "AuthBearerAlgorithms: unknown algorithm '%s' (names are "
                            "case-sensitive; supported: %s)",
                            arg, mab_alg_mask_names(names, sizeof(names), mab_alg_default_mask()));
    }
    /* HMAC names are allowed here; a token using one also needs AuthBearerSharedSecret. */
    conf->alg_mask |= alg->bit;
    return NULL;
}

/* file:/path (ServerRoot-relative) or env:NAME, read once at startup; the secret never
 * appears in a log line, and the stack copy is wiped on every path out. */
static const char *set_secret(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;
    const char *value = NULL, *err;
    apr_size_t len = 0;
    char buf[1025];

    if (several_issuers(conf)) {
        return several_issuers_error(cmd, "AuthBearerSharedSecret");
    }
    err = mab_secret_read(cmd, "AuthBearerSharedSecret", arg, buf, sizeof(buf), &value, &len);
    if (!err && len < MAB_MIN_SECRET_BYTES) {
        err = apr_psprintf(cmd->pool,
                           "AuthBearerSharedSecret: the secret is %lu bytes; HS256 "
                           "needs at least %d (RFC 7518 section 3.2)",
                           (unsigned long)len, MAB_MIN_SECRET_BYTES);
    }
    if (!err) {
        conf->secret = mab_jwk_secret(cmd->pool, (const unsigned char *)value, len);
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return err;
}

static const char *set_max_token_size(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;
    long v = 0;
    const char *err = number(cmd, arg, 256, 65536, "bytes", &v);

    conf->max_token_size = err ? conf->max_token_size : (int)v;
    return err;
}

static const char *set_token_type(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;

    if (strcasecmp(arg, "at+jwt") == 0) {
        conf->at_jwt = 1;
    }
    else if (strcasecmp(arg, "any") == 0) {
        conf->at_jwt = 0;
    }
    else {
        return "AuthBearerTokenType needs at+jwt (RFC 9068 access tokens only) or any";
    }
    return NULL;
}

static const char *set_skew(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;
    long v = 0;
    const char *err = seconds(cmd, arg, 0, 86400, &v);

    conf->skew = err ? conf->skew : (int)v;
    return err;
}

/* A claim name (or JSON Pointer) stored at the directive's offset in the dir conf. */
static const char *set_claim_name(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *why = NULL;

    if (!mab_claims_name_valid(arg, &why)) {
        return apr_psprintf(cmd->pool, "%s: '%s': %s", cmd->cmd->name, arg, why);
    }
    *(const char **)((char *)dconf + (apr_size_t)cmd->info) = arg;
    return NULL;
}

/* AuthBearerClaimHeader / AuthBearerClaimEnv: a validated claim and the header or variable
 * that carries it (name_error: what is wrong with that name, or NULL). */
static const char *claim_map(cmd_parms *cmd, apr_array_header_t **list, const char *claim,
                             const char *name, const char *name_error)
{
    const char *why = NULL;
    mab_claim_map_t *m;

    if (!mab_claims_name_valid(claim, &why)) {
        return apr_psprintf(cmd->pool, "%s: claim '%s': %s", cmd->cmd->name, claim, why);
    }
    if (name_error) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", name_error, NULL);
    }
    if (!*list) {
        *list = apr_array_make(cmd->pool, 4, sizeof(mab_claim_map_t));
    }
    m = apr_array_push(*list);
    m->claim = claim;
    m->name = name;
    return NULL;
}

/* The key cache is shared by the whole server: these belong to the main server only. */
static mab_srv_conf_t *global_conf(cmd_parms *cmd, const char **err)
{
    *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    return ap_get_module_config(cmd->server->module_config, &auth_bearer_module);
}

static const char *set_refresh(cmd_parms *cmd, void *dconf, const char *min, const char *max)
{
    const char *err;
    mab_srv_conf_t *conf = global_conf(cmd, &err);

    if (err) {
        return err;
    }
    if ((err = seconds(cmd, min, 1, 7 * 86400, &conf->refresh_min)) != NULL
        || (err = seconds(cmd, max, 1, 7 * 86400, &conf->refresh_max)) != NULL) {
        return err;
    }
    if (conf->refresh_min > conf->refresh_max) {
        return "AuthBearerJWKSRefresh: the minimum is larger than the maximum";
    }
    return NULL;
}

static const char *set_refetch(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    mab_srv_conf_t *conf = global_conf(cmd, &err);

    return err ? err : seconds(cmd, arg, 0, 86400, &conf->refetch_interval);
}

static const char *set_fetch_timeout(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    mab_srv_conf_t *conf = global_conf(cmd, &err);

    return err ? err : seconds(cmd, arg, 1, 300, &conf->fetch_timeout);
}

static const char *set_max_stale(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    mab_srv_conf_t *conf = global_conf(cmd, &err);

    /* From 10 s: below that a single retry interval (5 s) after expiry would already cut
     * the keys off. */
    return err ? err : seconds(cmd, arg, 10, 365L * 86400, &conf->max_stale);
}

/* --- hand-off: claim headers and variables ---------------------------------------------------- */
/* Headers a claim must never overwrite: message framing, routing and credentials. */
static const char *const reserved_headers[] = {"Authorization",
                                               "Proxy-Authorization",
                                               "Host",
                                               "Content-Length",
                                               "Content-Type",
                                               "Transfer-Encoding",
                                               "Connection",
                                               "Keep-Alive",
                                               "TE",
                                               "Trailer",
                                               "Upgrade",
                                               "Expect",
                                               "Cookie",
                                               "Forwarded",
                                               "X-Forwarded-For",
                                               "X-Forwarded-Host",
                                               "X-Forwarded-Server",
                                               "X-Forwarded-Proto",
                                               "X-Forwarded-Port",
                                               "X-Real-IP",
                                               "Via",
                                               "Max-Forwards",
                                               "Origin",
                                               "Range"};

/* Whole families: representation metadata (Content-Encoding, Content-Range, ...) changes how
 * the application reads the body; Proxy-* are hop credentials. */
static const char *const reserved_header_prefixes[] = {"Content-", "Proxy-"};

/* An RFC 9110 field name (a token) without '_': many proxies and CGI-style gateways drop
 * or rewrite underscores, and "X_User" would become the same HTTP_X_USER as "X-User". */
static const char *header_name_error(apr_pool_t *p, const char *name)
{
    const char *c;
    size_t i;

    if (!*name) {
        return "empty header name";
    }
    for (c = name; *c; c++) {
        if (*c == '_') {
            return apr_psprintf(p, "header name '%s' contains '_' (use '-')", name);
        }
        if (!apr_isalnum(*c) && !ap_strchr_c("!#$%&'*+-.^`|~", *c)) {
            return apr_psprintf(p, "'%s' is not a valid header name", name);
        }
    }
    for (i = 0; i < sizeof(reserved_headers) / sizeof(reserved_headers[0]); i++) {
        if (strcasecmp(name, reserved_headers[i]) == 0) {
            return apr_psprintf(p,
                                "header %s is reserved (framing, routing or credentials) and "
                                "cannot carry a claim",
                                name);
        }
    }
    for (i = 0; i < sizeof(reserved_header_prefixes) / sizeof(reserved_header_prefixes[0]); i++) {
        const char *pre = reserved_header_prefixes[i];
        if (strncasecmp(name, pre, strlen(pre)) == 0) {
            return apr_psprintf(p, "header %s is reserved (%s*) and cannot carry a claim", name,
                                pre);
        }
    }
    return NULL;
}

static const char *set_claim_header(cmd_parms *cmd, void *dconf, const char *claim,
                                    const char *header)
{
    mab_dir_conf_t *conf = dconf;

    const char *why = header_name_error(cmd->temp_pool, header);

    if (!why && conf->payload_header && mab_conf_same_header(conf->payload_header, header)) {
        why = apr_psprintf(cmd->temp_pool, "%s is already this section's AuthBearerPayloadHeader",
                           header);
    }
    return claim_map(cmd, &conf->claim_headers, claim, header, why);
}

/* One setting per section, not per header: the encoding is what the application behind the
 * section decodes (its framework reads every header one way), so all its claim headers
 * follow one rule, and inner sections that add headers keep it. */
static const char *set_claim_header_encoding(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;
    mab_hdrenc_e enc;

    if (mab_hdrenc_parse(arg, &enc) != 0) {
        return apr_psprintf(
            cmd->pool, "AuthBearerClaimHeaderEncoding: '%s' is not raw, base64url or latin1", arg);
    }
    conf->claim_header_encoding = (int)enc;
    return NULL;
}

static const char *set_payload_header(cmd_parms *cmd, void *dconf, const char *header)
{
    mab_dir_conf_t *conf = dconf;
    const char *why = header_name_error(cmd->temp_pool, header);

    int i;

    for (i = 0; !why && conf->claim_headers && i < conf->claim_headers->nelts; i++) {
        const mab_claim_map_t *m = &APR_ARRAY_IDX(conf->claim_headers, i, mab_claim_map_t);
        if (mab_conf_same_header(m->name, header)) {
            why = apr_psprintf(cmd->temp_pool,
                               "%s already carries claim %s here (AuthBearerClaimHeader)", header,
                               m->claim);
        }
    }
    if (why) {
        return apr_pstrcat(cmd->pool, "AuthBearerPayloadHeader: ", why, NULL);
    }
    conf->payload_header = header;
    return NULL;
}

/* Variables a claim must never set: what httpd and CGI define (a claim would shadow
 * REMOTE_USER or the request's own data), and what makes a shell, the dynamic loader or an
 * interpreter run other code (a token would then choose the program the CGI runs). */
static const char *const reserved_envs[] = {"PATH",
                                            "IFS",
                                            "ENV",
                                            "BASH_ENV",
                                            "SHELL",
                                            "SHELLOPTS",
                                            "HOME",
                                            "TMPDIR",
                                            "NODE_OPTIONS",
                                            "NODE_PATH",
                                            "RUBYOPT",
                                            "RUBYLIB",
                                            "GCONV_PATH",
                                            "LOCPATH",
                                            "GLIBC_TUNABLES",
                                            "PHPRC",
                                            "PHP_INI_SCAN_DIR",
                                            "PERLLIB",
                                            "AUTH_TYPE",
                                            "REMOTE_USER",
                                            "GATEWAY_INTERFACE",
                                            "QUERY_STRING",
                                            "REQUEST_METHOD",
                                            "REQUEST_URI",
                                            "REQUEST_SCHEME",
                                            "DOCUMENT_ROOT",
                                            "HTTPS",
                                            "UNIQUE_ID",
                                            "CLASSPATH"};
static const char *const reserved_env_prefixes[] = {
    "LD_",       "DYLD_", "PERL5",     "PERLIO",  "PYTHON",   "MALLOC_",
    "JAVA_TOOL", "_JAVA", "HTTP_",     "REMOTE_", "SERVER_",  "SCRIPT_",
    "CONTENT_",  "PATH_", "REDIRECT_", "SSL_",    "CONTEXT_", "BEARER_CLAIM"};

/* A portable environment variable name that shadows nothing httpd, CGI, the loader or an
 * interpreter reads. Compared without case: a CGI on a case-insensitive system sees "Path". */
static const char *env_name_error(apr_pool_t *p, const char *name)
{
    const char *c;
    size_t i;

    if (!*name || apr_isdigit(*name)) {
        return apr_psprintf(p, "'%s' is not a variable name", name);
    }
    for (c = name; *c; c++) {
        if (!apr_isalnum(*c) && *c != '_') {
            return apr_psprintf(p, "'%s' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", name);
        }
    }
    for (i = 0; i < sizeof(reserved_envs) / sizeof(reserved_envs[0]); i++) {
        if (strcasecmp(name, reserved_envs[i]) == 0) {
            return apr_psprintf(p,
                                "%s is set by httpd or CGI, or changes what a program runs; "
                                "choose another name",
                                name);
        }
    }
    for (i = 0; i < sizeof(reserved_env_prefixes) / sizeof(reserved_env_prefixes[0]); i++) {
        const char *pre = reserved_env_prefixes[i];
        if (strncasecmp(name, pre, strlen(pre)) == 0) {
            return apr_psprintf(p,
                                "%s is set by httpd, CGI or the module, or read by the dynamic "
                                "loader or an interpreter (%s*); choose another name",
                                name, pre);
        }
    }
    return NULL;
}

static const char *set_claim_env(cmd_parms *cmd, void *dconf, const char *claim, const char *name)
{
    mab_dir_conf_t *conf = dconf;

    return claim_map(cmd, &conf->claim_envs, claim, name, env_name_error(cmd->temp_pool, name));
}

/* --- server-wide: key sets and the token cache --------------------------------------------------
 */
/* Bytes with an optional K or M suffix, 4K to 64M. */
static const char *set_cache_size(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    mab_srv_conf_t *conf = global_conf(cmd, &err);
    char *end;
    long v, mult = 1;

    if (err) {
        return err;
    }
    v = strtol(arg, &end, 10);
    if (*end == 'K' || *end == 'k') {
        mult = 1024;
        end++;
    }
    else if (*end == 'M' || *end == 'm') {
        mult = 1024 * 1024;
        end++;
    }
    if (!*arg || *end || v <= 0 || v > 64L * 1024 * 1024 / mult || v * mult < 4096) {
        return apr_psprintf(cmd->pool,
                            "AuthBearerCacheSize: '%s' is not a size between 4K and 64M (bytes, "
                            "or a number with K or M)",
                            arg);
    }
    conf->cache_size = v * mult;
    return NULL;
}

static const char *set_ca_file(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    mab_srv_conf_t *conf = global_conf(cmd, &err);
    apr_finfo_t fi;

    if (err) {
        return err;
    }
    conf->ca_file = ap_server_root_relative(cmd->pool, arg);
    if (!conf->ca_file
        || apr_stat(&fi, conf->ca_file, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS
        || fi.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "AuthBearerCAFile: '%s' is not a readable file", arg);
    }
    return NULL;
}

static const char *set_allow_insecure(cmd_parms *cmd, void *dconf, int on)
{
    const char *err;
    mab_srv_conf_t *conf = global_conf(cmd, &err);

    if (err) {
        return err;
    }
    conf->allow_insecure = on;
    return NULL;
}

/* Outside any section, the size of each process's verified-token cache (0 turns
 * it off everywhere); inside one, only 0, which keeps that location out of the cache. */
static const char *set_token_cache(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *dir = dconf;
    mab_srv_conf_t *conf;
    const char *err;
    long v = 0;

    if (cmd->path) {
        if ((err = number(cmd, arg, 0, 0, "entries", &v)) != NULL) {
            return "AuthBearerTokenCache in a section accepts only 0 (do not use the cache "
                   "here); set its size outside any section";
        }
        dir->token_cache = 0;
        return NULL;
    }
    conf = global_conf(cmd, &err);
    if (err) {
        return err;
    }
    return number(cmd, arg, 0, MAB_TOKENCACHE_MAX_ENTRIES, "entries", &conf->token_cache);
}

/* --- introspection (RFC 7662) --------------------------------------------------------------- */
static const char *set_introspection(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;

    if (strncasecmp(arg, "https://", 8) != 0 && strncasecmp(arg, "http://", 7) != 0) {
        return apr_psprintf(cmd->pool,
                            "AuthBearerIntrospection: '%s' is not an https:// (or loopback "
                            "http://) URL of the issuer's RFC 7662 endpoint",
                            arg);
    }
    if (ap_strchr_c(arg, '#')) {
        return "AuthBearerIntrospection: the URL cannot have a fragment";
    }
    if (several_issuers(conf)) {
        return several_issuers_error(cmd, "AuthBearerIntrospection");
    }
    if (!endpoints) {
        return "AuthBearerIntrospection: module not initialised (is it loaded with LoadModule?)";
    }
    conf->introspection = endpoint_for(cmd->pool, arg, NULL);
    return NULL;
}

static const char *resolve_path(void *ctx, const char *path)
{
    return ap_server_root_relative(ctx, path);
}

static const char *set_introspection_auth(cmd_parms *cmd, void *dconf, int argc, char *const argv[])
{
    mab_dir_conf_t *conf = dconf;
    mab_introspect_auth_t *auth = NULL;
    const char *err =
        mab_introspect_auth_parse(cmd->pool, argc, argv, resolve_path, cmd->pool, &auth);

    if (err) {
        return err;
    }
    conf->introspect_auth = auth;
    return NULL;
}

static const char *set_introspect(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;

    if (strcasecmp(arg, "Opaque") == 0) {
        conf->introspect = MAB_INTROSPECT_OPAQUE;
    }
    else if (strcasecmp(arg, "All") == 0) {
        conf->introspect = MAB_INTROSPECT_ALL;
    }
    else if (strcasecmp(arg, "Off") == 0) {
        conf->introspect = MAB_INTROSPECT_OFF;
    }
    else {
        return "AuthBearerIntrospect needs Opaque (tokens that are not JWTs), All (JWTs too, "
               "after local verification) or Off";
    }
    return NULL;
}

static const char *set_introspection_cache(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;
    long v = 0;
    const char *err = seconds(cmd, arg, 0, 86400, &v);

    conf->introspection_cache = err ? conf->introspection_cache : (int)v;
    return err;
}

/* provider[:args], as httpd's own SSLSessionCache and CacheSocache take it. */
static const char *set_socache(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    mab_srv_conf_t *conf = global_conf(cmd, &err);

    if (err) {
        return err;
    }
    if (!*arg || *arg == ':') {
        return "AuthBearerSOCache needs a provider: shmcb, memcache:host:port[,host:port] or "
               "redis:host:port";
    }
    conf->socache = arg;
    return NULL;
}

const command_rec mab_cmds[] = {
    /* key sets (server-wide) */
    AP_INIT_TAKE1("AuthBearerCacheSize", set_cache_size, NULL, RSRC_CONF,
                  "shared memory per key source for its JWKS: bytes, or a number with K or M "
                  "(default 256K)"),
    AP_INIT_TAKE1("AuthBearerCAFile", set_ca_file, NULL, RSRC_CONF,
                  "PEM file of the CAs https key sources are verified against (default: the "
                  "system store)"),
    AP_INIT_FLAG("AuthBearerAllowInsecureHTTP", set_allow_insecure, NULL, RSRC_CONF,
                 "On: allow plain http:// key sources to hosts that are not loopback (default "
                 "Off)"),
    AP_INIT_TAKE2("AuthBearerJWKSRefresh", set_refresh, NULL, RSRC_CONF,
                  "bounds in seconds on how long a key set is used (default 300 86400; "
                  "Cache-Control max-age within them, 3600 without one)"),
    AP_INIT_TAKE1("AuthBearerJWKSRefetchInterval", set_refetch, NULL, RSRC_CONF,
                  "an unknown kid refetches a key set at most once per this many seconds "
                  "(default 30)"),
    AP_INIT_TAKE1("AuthBearerFetchTimeout", set_fetch_timeout, NULL, RSRC_CONF,
                  "seconds a key set fetch may take (default 5)"),
    AP_INIT_TAKE1("AuthBearerJWKSMaxStale", set_max_stale, NULL, RSRC_CONF,
                  "seconds past their expiry that keys are still used while their issuer "
                  "cannot be reached; then tokens are refused (default 86400)"),
    AP_INIT_TAKE_ARGV("AuthBearerIssuer", set_issuers, NULL, OR_AUTHCFG,
                      "the exact iss value tokens must carry; several: each token's iss picks "
                      "one, verified with that issuer's own keys"),
    AP_INIT_RAW_ARGS("<AuthBearerIssuer", issuer_box, NULL, RSRC_CONF,
                     "container for how one issuer's tokens are checked wherever that issuer "
                     "is accepted: key source, audience, algorithms, claims, introspection"),
    AP_INIT_ITERATE("AuthBearerAudience", add_audience, NULL, OR_AUTHCFG,
                    "audiences of which the token's aud must contain one, or * for any"),
    /* Not in .htaccess: key sources are sized into shared memory at startup. */
    AP_INIT_TAKE1("AuthBearerJWKS", set_jwks, NULL, RSRC_CONF | ACCESS_CONF,
                  "the issuer's JWKS: an https:// or http:// URL or a file path"),
    AP_INIT_ITERATE("AuthBearerAlgorithms", add_algorithm, NULL, OR_AUTHCFG,
                    "allowed signature algorithms (default: all asymmetric ones)"),
    AP_INIT_TAKE1("AuthBearerSharedSecret", set_secret, NULL, RSRC_CONF | ACCESS_CONF,
                  "HMAC secret for HS256/384/512 tokens: file:/path or env:NAME"),
    AP_INIT_TAKE1("AuthBearerMaxTokenSize", set_max_token_size, NULL, OR_AUTHCFG,
                  "largest accepted token in bytes, checked before decoding (default 8192)"),
    AP_INIT_TAKE1("AuthBearerTokenType", set_token_type, NULL, OR_AUTHCFG,
                  "at+jwt: accept only RFC 9068 access tokens (typ and claims); any (default)"),
    AP_INIT_TAKE1("AuthBearerClockSkew", set_skew, NULL, OR_AUTHCFG,
                  "seconds of leeway for exp, nbf and iat (default 30)"),
    AP_INIT_TAKE1("AuthBearerRemoteUserClaim", set_claim_name,
                  (void *)APR_OFFSETOF(mab_dir_conf_t, user_claim), OR_AUTHCFG,
                  "the claim that becomes REMOTE_USER (default sub)"),
    /* hand-off to CGI and proxied applications */
    AP_INIT_TAKE2("AuthBearerClaimHeader", set_claim_header, NULL, OR_AUTHCFG,
                  "a claim (name, or /JSON/Pointer) and the request header that carries it to "
                  "the application; client-sent copies are always removed (repeatable)"),
    AP_INIT_TAKE2("AuthBearerClaimEnv", set_claim_env, NULL, OR_AUTHCFG,
                  "a claim (name, or /JSON/Pointer) and the environment variable that carries "
                  "it to CGI/SSI (repeatable)"),
    AP_INIT_TAKE1("AuthBearerClaimHeaderEncoding", set_claim_header_encoding, NULL, OR_AUTHCFG,
                  "how AuthBearerClaimHeader values are sent: raw UTF-8 (default), base64url, "
                  "or latin1 (a value with characters beyond U+00FF is not sent)"),
    AP_INIT_TAKE1("AuthBearerPayloadHeader", set_payload_header, NULL, OR_AUTHCFG,
                  "request header that carries the whole verified payload, base64url JSON"),
    AP_INIT_FLAG("AuthBearerPassToken", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(mab_dir_conf_t, pass_token), OR_AUTHCFG,
                 "On (default): the Authorization header reaches the application; Off: removed"),
    AP_INIT_FLAG("AuthBearerOptional", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(mab_dir_conf_t, optional), OR_AUTHCFG,
                 "On: a request without a token passes as anonymous where Require allows it; a "
                 "present token is always verified (default Off)"),
    AP_INIT_FLAG("AuthBearerAllowPreflight", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(mab_dir_conf_t, allow_preflight), OR_AUTHCFG,
                 "On: CORS preflight OPTIONS requests pass without a token (default Off)"),
    AP_INIT_TAKE1("AuthBearerScopeClaim", set_claim_name,
                  (void *)APR_OFFSETOF(mab_dir_conf_t, scope_claim), OR_AUTHCFG,
                  "the one claim Require scope reads (default: scope, scp and permissions)"),
    /* introspection */
    AP_INIT_TAKE1("AuthBearerIntrospection", set_introspection, NULL, RSRC_CONF | ACCESS_CONF,
                  "the issuer's RFC 7662 introspection endpoint (https://, or http:// on "
                  "loopback)"),
    AP_INIT_TAKE_ARGV("AuthBearerIntrospectionAuth", set_introspection_auth, NULL,
                      RSRC_CONF | ACCESS_CONF,
                      "how the module authenticates to the introspection endpoint: "
                      "client_secret_basic|client_secret_post <id> file:|env:, private_key_jwt "
                      "<id> <key.pem> [alg], tls_client_auth <id> <cert.pem> <key.pem>, bearer "
                      "file:|env:"),
    AP_INIT_TAKE1("AuthBearerIntrospect", set_introspect, NULL, OR_AUTHCFG,
                  "Opaque: introspect tokens that are not JWTs (default where "
                  "AuthBearerIntrospection is set); All: JWTs too; Off"),
    AP_INIT_TAKE1("AuthBearerIntrospectionCache", set_introspection_cache, NULL, OR_AUTHCFG,
                  "seconds an active answer is reused, never past its exp (default 60; 0 asks "
                  "every time)"),
    AP_INIT_TAKE1("AuthBearerSOCache", set_socache, NULL, RSRC_CONF,
                  "where introspection answers are shared: shmcb (default, one httpd), "
                  "memcache:host:port or redis:host:port (a fleet)"),
    /* verified-token cache */
    AP_INIT_TAKE1("AuthBearerTokenCache", set_token_cache, NULL, RSRC_CONF | ACCESS_CONF,
                  "verified tokens each process remembers (default 4096; 0 off); in a "
                  "section, 0 keeps that location out of the cache"),
    /* RFC 9728 protected resource metadata (mod_auth_bearer_resource_conf.c) */
    MAB_RESOURCE_CMDS(APR_OFFSETOF(mab_dir_conf_t, resource)),
    /* RFC 9449 DPoP, RFC 8705 certificate-bound tokens (mod_auth_bearer_sender_conf.c) */
    MAB_SENDER_CMDS(APR_OFFSETOF(mab_dir_conf_t, sender)),
    {NULL},
};
