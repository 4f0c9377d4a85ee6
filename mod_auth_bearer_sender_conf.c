/* The directives of sender-constrained tokens: parsing, merging, the section's policy (see
 * mod_auth_bearer_sender_conf.h). */
#include <apr_lib.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_log.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "mab_alg.h"
#include "mab_verifier.h"
#include "mod_auth_bearer_secret.h"
#include "mod_auth_bearer_sender_conf.h"

/* Long enough for any HMAC-SHA256 key worth having; the file is refused beyond it. */
#define NONCE_SECRET_MAX 1024
/* Shorter secrets make guessable nonces. */
#define NONCE_SECRET_MIN 16
#define NONCE_SECRET_RANDOM 32

/* AuthBearerDPoPNonceSecret, server-wide: what the directive read (the configuration's
 * pool keeps it for the generation), or the bytes post_config made. */
static unsigned char *nonce_secret;
static apr_size_t nonce_secret_len;
static int nonce_secret_set;
static int dpop_used;
static apr_array_header_t *cert_headers;

static apr_status_t wipe(void *data)
{
    if (nonce_secret && nonce_secret_len) {
        OPENSSL_cleanse(nonce_secret, nonce_secret_len);
    }
    (void)data;
    nonce_secret = NULL;
    nonce_secret_len = 0;
    nonce_secret_set = 0;
    return APR_SUCCESS;
}

void mab_sender_conf_pre_config(apr_pool_t *pconf)
{
    nonce_secret = NULL;
    nonce_secret_len = 0;
    nonce_secret_set = 0;
    dpop_used = 0;
    cert_headers = apr_array_make(pconf, 2, sizeof(const mab_cert_header_t *));
    apr_pool_cleanup_register(pconf, NULL, wipe, apr_pool_cleanup_null);
}

int mab_sender_conf_post_config(apr_pool_t *pconf, server_rec *s)
{
    if (nonce_secret_set) {
        return OK;
    }
    /* Every child inherits these bytes, so the processes of one httpd agree on nonces; a
     * fleet needs the same AuthBearerDPoPNonceSecret on every host. */
    nonce_secret = apr_palloc(pconf, NONCE_SECRET_RANDOM);
    if (RAND_bytes(nonce_secret, NONCE_SECRET_RANDOM) != 1) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "MAB00960: cannot make a random DPoP nonce secret: set "
                     "AuthBearerDPoPNonceSecret");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    nonce_secret_len = NONCE_SECRET_RANDOM;
    nonce_secret_set = 1;
    return OK;
}

int mab_sender_conf_dpop_used(void)
{
    return dpop_used;
}

const apr_array_header_t *mab_sender_conf_cert_headers(void)
{
    return cert_headers;
}

#define PICK_INT(f) (add->f != -1 ? add->f : base->f)

mab_sender_conf_t *mab_sender_conf_merge(apr_pool_t *p, mab_sender_conf_t *base,
                                         mab_sender_conf_t *add)
{
    mab_sender_conf_t *sc;

    if (!base || !add) {
        return add ? add : base;
    }
    sc = apr_pcalloc(p, sizeof(*sc));
    sc->dpop = PICK_INT(dpop);
    sc->dpop_alg_mask = add->dpop_alg_mask ? add->dpop_alg_mask : base->dpop_alg_mask;
    sc->dpop_proof_age = add->dpop_proof_age != -1 ? add->dpop_proof_age : base->dpop_proof_age;
    sc->dpop_nonce = PICK_INT(dpop_nonce);
    sc->cert_bound = PICK_INT(cert_bound);
    sc->cert_header = add->cert_header ? add->cert_header : base->cert_header;
    return sc;
}

int mab_sender_conf_dpop(const mab_sender_conf_t *sc)
{
    return sc && sc->dpop != -1 ? sc->dpop : MAB_BIND_OFF;
}

int mab_sender_conf_cert_bound(const mab_sender_conf_t *sc)
{
    return sc && sc->cert_bound != -1 ? sc->cert_bound : MAB_BIND_ON;
}

const mab_cert_header_t *mab_sender_conf_cert_header(const mab_sender_conf_t *sc)
{
    return sc ? sc->cert_header : NULL;
}

/* The asymmetric algorithms: a proof is signed with the client's private key (RFC 9449
 * §4.2 forbids MACs and none). */
static unsigned asymmetric_mask(void)
{
    return mab_alg_default_mask();
}

void mab_sender_conf_policy(const mab_sender_conf_t *sc, mab_sender_policy_t *out)
{
    memset(out, 0, sizeof(*out));
    out->dpop = mab_sender_conf_dpop(sc);
    out->dpop_alg_mask = sc && sc->dpop_alg_mask ? sc->dpop_alg_mask : asymmetric_mask();
    out->dpop_max_age =
        sc && sc->dpop_proof_age != -1 ? sc->dpop_proof_age : MAB_DPOP_DEFAULT_PROOF_AGE;
    out->dpop_nonce = sc && sc->dpop_nonce == 1;
    out->nonce_secret = nonce_secret;
    out->nonce_secret_len = nonce_secret_len;
    out->cert_bound = mab_sender_conf_cert_bound(sc);
}

/* Directives read at startup, not from .htaccess during a request: only those may leave
 * anything in the generation's lists (a request must not grow the configuration pool). */
static int at_startup(void)
{
    return ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_RUN_MPM;
}

/* This section's own settings, created on first use. */
static mab_sender_conf_t *own(cmd_parms *cmd, void *dconf)
{
    mab_sender_conf_t **slot = (mab_sender_conf_t **)((char *)dconf + (size_t)cmd->info);

    if (!*slot) {
        *slot = apr_pcalloc(cmd->pool, sizeof(**slot));
        (*slot)->dpop = -1;
        (*slot)->dpop_proof_age = -1;
        (*slot)->dpop_nonce = -1;
        (*slot)->cert_bound = -1;
    }
    return *slot;
}

static int bind_mode(const char *arg)
{
    if (strcasecmp(arg, "Off") == 0) {
        return MAB_BIND_OFF;
    }
    if (strcasecmp(arg, "On") == 0) {
        return MAB_BIND_ON;
    }
    if (strcasecmp(arg, "Required") == 0) {
        return MAB_BIND_REQUIRED;
    }
    return -1;
}

const char *mab_sender_set_dpop(cmd_parms *cmd, void *dconf, const char *arg)
{
    int mode = bind_mode(arg);

    if (mode < 0) {
        return apr_psprintf(cmd->pool, "AuthBearerDPoP: '%s' is not Off, On or Required", arg);
    }
    own(cmd, dconf)->dpop = mode;
    if (mode != MAB_BIND_OFF && at_startup()) {
        dpop_used = 1;
    }
    return NULL;
}

const char *mab_sender_add_dpop_alg(cmd_parms *cmd, void *dconf, const char *arg)
{
    const mab_alg_t *alg = mab_alg_find(arg);
    char names[160];

    if (!alg || !(alg->bit & asymmetric_mask())) {
        return apr_psprintf(cmd->pool,
                            "AuthBearerDPoPAlgorithms: '%s' is not an asymmetric JWS algorithm "
                            "(names are case-sensitive; a proof is never signed with none or an "
                            "HMAC; supported: %s)",
                            arg, mab_alg_mask_names(names, sizeof(names), asymmetric_mask()));
    }
    own(cmd, dconf)->dpop_alg_mask |= alg->bit;
    return NULL;
}

const char *mab_sender_set_proof_age(cmd_parms *cmd, void *dconf, const char *arg)
{
    char *end = NULL;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    if (!apr_isdigit(*arg) || !end || *end || v < 1 || v > 86400) {
        return apr_psprintf(cmd->pool,
                            "AuthBearerDPoPProofAge: '%s' is not a number of seconds from 1 to "
                            "86400",
                            arg);
    }
    own(cmd, dconf)->dpop_proof_age = (long)v;
    return NULL;
}

const char *mab_sender_set_nonce(cmd_parms *cmd, void *dconf, int on)
{
    own(cmd, dconf)->dpop_nonce = on;
    return NULL;
}

const char *mab_sender_set_nonce_secret(cmd_parms *cmd, void *dconf, const char *arg)
{
    char buf[NONCE_SECRET_MAX + 2];
    const char *value = NULL, *err;
    apr_size_t len = 0;

    (void)dconf;
    if (cmd->server->is_virtual) {
        return "AuthBearerDPoPNonceSecret is server-wide: set it outside <VirtualHost>";
    }
    err = mab_secret_read(cmd, "AuthBearerDPoPNonceSecret", arg, buf, sizeof(buf), &value, &len);
    if (!err && len < NONCE_SECRET_MIN) {
        err = apr_psprintf(cmd->pool,
                           "AuthBearerDPoPNonceSecret: the secret is %lu bytes; at least %d are "
                           "needed",
                           (unsigned long)len, NONCE_SECRET_MIN);
    }
    if (!err) {
        nonce_secret = apr_pmemdup(cmd->pool, value, len);
        nonce_secret_len = len;
        nonce_secret_set = 1;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return err;
}

const char *mab_sender_set_cert_bound(cmd_parms *cmd, void *dconf, const char *arg)
{
    int mode = bind_mode(arg);

    if (mode < 0) {
        return apr_psprintf(cmd->pool, "AuthBearerCertBound: '%s' is not Off, On or Required",
                            arg);
    }
    own(cmd, dconf)->cert_bound = mode;
    return NULL;
}

/* An HTTP field name (RFC 9110 token): what apr_table lookups can match. */
static int field_name(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!apr_isalnum(*s) && !strchr("!#$%&'*+-.^_`|~", *s)) {
            return 0;
        }
    }
    return 1;
}

const char *mab_sender_set_cert_header(cmd_parms *cmd, void *dconf, int argc,
                                       char *const argv[])
{
    mab_cert_header_t *h;
    int i;

    if (argc < 2) {
        return "AuthBearerClientCertHeader needs a header name and at least one address or "
               "CIDR of the front proxy that sets it";
    }
    if (!field_name(argv[0])) {
        return apr_psprintf(cmd->pool, "AuthBearerClientCertHeader: '%s' is not a header name",
                            argv[0]);
    }
    h = apr_pcalloc(cmd->pool, sizeof(*h));
    h->name = argv[0];
    h->proxies = apr_array_make(cmd->pool, argc - 1, sizeof(apr_ipsubnet_t *));
    h->where = cmd->directive ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                                             cmd->directive->line_num)
                              : "?";
    for (i = 1; i < argc; i++) {
        char *ip = apr_pstrdup(cmd->temp_pool, argv[i]), *mask = strchr(ip, '/');
        apr_ipsubnet_t *sub = NULL;

        if (mask) {
            *mask++ = '\0';
        }
        if (strcmp(ip, "*") == 0 || apr_ipsubnet_create(&sub, ip, mask, cmd->pool) != APR_SUCCESS) {
            return apr_psprintf(cmd->pool,
                                "AuthBearerClientCertHeader: '%s' is not an IP address or CIDR "
                                "(a host name or * would let any client choose its certificate)",
                                argv[i]);
        }
        APR_ARRAY_PUSH(h->proxies, apr_ipsubnet_t *) = sub;
    }
    own(cmd, dconf)->cert_header = h;
    if (cert_headers && at_startup()) {
        APR_ARRAY_PUSH(cert_headers, const mab_cert_header_t *) = h;
    }
    return NULL;
}
