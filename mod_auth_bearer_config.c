/* Directives and per-directory configuration merging. */
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "mab_alg.h"
#include "mab_keycache.h"
#include "mod_auth_bearer.h"

void *mab_create_dir_conf(apr_pool_t *p, char *dir)
{
    mab_dir_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    conf->audience_any = -1;
    conf->skew = -1;
    return conf;
}

void *mab_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const mab_dir_conf_t *base = basev, *add = addv;
    mab_dir_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    conf->issuer = add->issuer ? add->issuer : base->issuer;
    /* Audience and its "*" opt-out are one setting: whichever the inner scope set wins. */
    if (add->audiences || add->audience_any != -1) {
        conf->audiences = add->audiences;
        conf->audience_any = add->audience_any;
    }
    else {
        conf->audiences = base->audiences;
        conf->audience_any = base->audience_any;
    }
    if (add->jwks) {
        conf->jwks_uri = add->jwks_uri;
        conf->jwks = add->jwks;
    }
    else {
        conf->jwks_uri = base->jwks_uri;
        conf->jwks = base->jwks;
    }
    conf->alg_mask = add->alg_mask ? add->alg_mask : base->alg_mask;
    conf->skew = add->skew != -1 ? add->skew : base->skew;
    conf->user_claim = add->user_claim ? add->user_claim : base->user_claim;
    return conf;
}

unsigned mab_conf_alg_mask(const mab_dir_conf_t *conf)
{
    return conf->alg_mask ? conf->alg_mask : mab_alg_default_mask();
}

static const char *set_issuer(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;

    if (!*arg) {
        return "AuthBearerIssuer needs the issuer's exact iss value";
    }
    conf->issuer = arg;
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

static const char *set_jwks(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;
    const char *uri = arg;

    if (!*arg) {
        return "AuthBearerJWKS needs a URL or a file path";
    }
    if (strncasecmp(arg, "https://", 8) != 0 && strncasecmp(arg, "http://", 7) != 0) {
        if (ap_strchr_c(arg, ':') && !ap_strchr_c(arg, '/')) {
            return apr_psprintf(cmd->pool, "AuthBearerJWKS: unsupported source '%s'", arg);
        }
        uri = ap_server_root_relative(cmd->pool, arg);
        if (!uri) {
            return apr_psprintf(cmd->pool, "AuthBearerJWKS: invalid file path '%s'", arg);
        }
    }
    if (!mab_glue_keycache) {
        return "AuthBearerJWKS: module not initialised (is it loaded with LoadModule?)";
    }
    conf->jwks_uri = uri;
    conf->jwks = mab_keycache_source(mab_glue_keycache, uri, MAB_DEFAULT_JWKS_TTL);
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
    if (alg->family == MAB_FAMILY_HMAC) {
        return apr_psprintf(cmd->pool,
                            "AuthBearerAlgorithms: %s needs a shared secret, which this version "
                            "does not support; only asymmetric algorithms can be allowed",
                            arg);
    }
    conf->alg_mask |= alg->bit;
    return NULL;
}

static const char *set_skew(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;
    char *end;
    long v = strtol(arg, &end, 10);

    if (!*arg || *end || v < 0 || v > 86400) {
        return "AuthBearerClockSkew needs a number of seconds between 0 and 86400";
    }
    conf->skew = (int)v;
    return NULL;
}

static const char *set_user_claim(cmd_parms *cmd, void *dconf, const char *arg)
{
    mab_dir_conf_t *conf = dconf;

    if (!*arg) {
        return "AuthBearerRemoteUserClaim needs a claim name";
    }
    conf->user_claim = arg;
    return NULL;
}

const command_rec mab_cmds[] = {
    AP_INIT_TAKE1("AuthBearerIssuer", set_issuer, NULL, OR_AUTHCFG,
                  "the exact iss value tokens must carry"),
    AP_INIT_ITERATE("AuthBearerAudience", add_audience, NULL, OR_AUTHCFG,
                    "audiences of which the token's aud must contain one, or * for any"),
    /* Not in .htaccess: key sources are sized into shared memory at startup. */
    AP_INIT_TAKE1("AuthBearerJWKS", set_jwks, NULL, RSRC_CONF | ACCESS_CONF,
                  "the issuer's JWKS: an https:// or http:// URL or a file path"),
    AP_INIT_ITERATE("AuthBearerAlgorithms", add_algorithm, NULL, OR_AUTHCFG,
                    "allowed signature algorithms (default: all asymmetric ones)"),
    AP_INIT_TAKE1("AuthBearerClockSkew", set_skew, NULL, OR_AUTHCFG,
                  "seconds of leeway for exp, nbf and iat (default 30)"),
    AP_INIT_TAKE1("AuthBearerRemoteUserClaim", set_user_claim, NULL, OR_AUTHCFG,
                  "the claim that becomes REMOTE_USER (default sub)"),
    {NULL},
};
