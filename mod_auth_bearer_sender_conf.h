#ifndef MOD_AUTH_BEARER_SENDER_CONF_H
#define MOD_AUTH_BEARER_SENDER_CONF_H

/* The directives of sender-constrained tokens (RFC 9449 DPoP, RFC 8705 certificate-bound):
 * AuthBearerDPoP, AuthBearerDPoPAlgorithms, AuthBearerDPoPProofAge, AuthBearerDPoPNonce,
 * AuthBearerDPoPNonceSecret (server-wide), AuthBearerCertBound, AuthBearerClientCertHeader.
 * Kept out of mod_auth_bearer_config.c, which holds a pointer to this per section and one
 * line of its command table (MAB_SENDER_CMDS). Every field unset until a directive sets
 * it; the accessors give the effective value. */
#include <apr_network_io.h>

#include "mod_auth_bearer_private.h"

struct mab_sender_policy_t;

#define MAB_DPOP_DEFAULT_PROOF_AGE 60

/* AuthBearerClientCertHeader <Header-Name> <address/CIDR> …: a front proxy that ends TLS
 * passes the client certificate in this header; only connections from these addresses
 * are believed. */
typedef struct mab_cert_header_t {
    const char *name;
    apr_array_header_t *proxies; /* apr_ipsubnet_t * */
    const char *where;           /* file:line, for messages */
} mab_cert_header_t;

typedef struct mab_sender_conf_t {
    int dpop;               /* mab_bind_mode_e, -1 unset */
    unsigned dpop_alg_mask; /* 0 unset */
    long dpop_proof_age;    /* -1 unset */
    int dpop_nonce;         /* -1 unset */
    int cert_bound;         /* mab_bind_mode_e, -1 unset */
    const mab_cert_header_t *cert_header; /* NULL unset */
} mab_sender_conf_t;

mab_sender_conf_t *mab_sender_conf_merge(apr_pool_t *p, mab_sender_conf_t *base,
                                         mab_sender_conf_t *add);

/* Effective values (a NULL conf: every default). */
int mab_sender_conf_dpop(const mab_sender_conf_t *sc);       /* default MAB_BIND_OFF */
int mab_sender_conf_cert_bound(const mab_sender_conf_t *sc); /* default MAB_BIND_ON */
const mab_cert_header_t *mab_sender_conf_cert_header(const mab_sender_conf_t *sc);

/* The section's part of the verifier's policy, nonce secret included. */
void mab_sender_conf_policy(const mab_sender_conf_t *sc, struct mab_sender_policy_t *out);

/* Whether any section of the configuration turns DPoP on (the replay store is needed). */
int mab_sender_conf_dpop_used(void);

/* pre_config: a new generation forgets the last's secret and usage. post_config: reads
 * AuthBearerDPoPNonceSecret or makes a random one; non-OK (logged) when it cannot. */
void mab_sender_conf_pre_config(apr_pool_t *pconf);
int mab_sender_conf_post_config(apr_pool_t *pconf, server_rec *s);

/* Every AuthBearerClientCertHeader of the configuration, for the early removal of the
 * header from requests that do not come from one of its proxies. */
const apr_array_header_t *mab_sender_conf_cert_headers(void); /* mab_cert_header_t * */

/* Setters; cmd->info is the offset of the mab_sender_conf_t pointer in the dir conf. */
const char *mab_sender_set_dpop(cmd_parms *cmd, void *dconf, const char *arg);
const char *mab_sender_add_dpop_alg(cmd_parms *cmd, void *dconf, const char *arg);
const char *mab_sender_set_proof_age(cmd_parms *cmd, void *dconf, const char *arg);
const char *mab_sender_set_nonce(cmd_parms *cmd, void *dconf, int on);
const char *mab_sender_set_nonce_secret(cmd_parms *cmd, void *dconf, const char *arg);
const char *mab_sender_set_cert_bound(cmd_parms *cmd, void *dconf, const char *arg);
const char *mab_sender_set_cert_header(cmd_parms *cmd, void *dconf, int argc,
                                       char *const argv[]);

/* The command table's lines; `off` is APR_OFFSETOF(mab_dir_conf_t, sender). */
#define MAB_SENDER_CMDS(off)                                                                       \
    AP_INIT_TAKE1("AuthBearerDPoP", mab_sender_set_dpop, (void *)(off), RSRC_CONF | OR_AUTHCFG,     \
                  "Off (default), On: also DPoP-bound tokens with a proof (RFC 9449), "            \
                  "Required: only those"),                                                         \
        AP_INIT_ITERATE("AuthBearerDPoPAlgorithms", mab_sender_add_dpop_alg, (void *)(off),        \
                        RSRC_CONF | OR_AUTHCFG,                                                    \
                        "the algorithms a DPoP proof may be signed with (default: every "          \
                        "asymmetric one)"),                                                        \
        AP_INIT_TAKE1("AuthBearerDPoPProofAge", mab_sender_set_proof_age, (void *)(off),           \
                      RSRC_CONF | OR_AUTHCFG,                                                      \
                      "seconds a DPoP proof's iat may lie in the past (default 60)"),              \
        AP_INIT_FLAG("AuthBearerDPoPNonce", mab_sender_set_nonce, (void *)(off),                  \
                     RSRC_CONF | OR_AUTHCFG,                                                       \
                     "On: DPoP proofs must carry a nonce this server gave (RFC 9449 §9)"),         \
        AP_INIT_TAKE1("AuthBearerDPoPNonceSecret", mab_sender_set_nonce_secret, NULL, RSRC_CONF,   \
                      "file:/path or env:NAME: the secret DPoP nonces are derived from, the "      \
                      "same on every host (default: random per start)"),                           \
        AP_INIT_TAKE1("AuthBearerCertBound", mab_sender_set_cert_bound, (void *)(off),             \
                      RSRC_CONF | OR_AUTHCFG,                                                      \
                      "On (default): certificate-bound tokens need their client certificate "      \
                      "(RFC 8705); Required: only those; Off: refused"),                           \
        AP_INIT_TAKE_ARGV("AuthBearerClientCertHeader", mab_sender_set_cert_header, (void *)(off), \
                          RSRC_CONF | OR_AUTHCFG,                                                  \
                          "Header-Name proxy-address/CIDR …: the client certificate as a front "   \
                          "proxy passes it, believed only from those addresses")

#endif
