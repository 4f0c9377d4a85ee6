/* The binding rules (see include/mab_binding.h); the proof's own checks are mab_dpop.c's,
 * the certificate's digest comparison mab_certbind.c's. */
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "mab_binding.h"
#include "mab_certbind.h"
#include "mab_credential.h"
#include "mab_dpop.h"

static void refuse(mab_verdict_t *out, mab_err_e err, const char *detail)
{
    out->err = err;
    out->detail = detail;
}

mab_err_e mab_binding_precheck(const mab_credential_t *cred, const char **detail)
{
    const mab_sender_t *s = cred->sender;

    *detail = NULL;
    if (cred->scheme != MAB_SCHEME_DPOP) {
        return MAB_OK;
    }
    if (!s || s->proofs == 0 || !s->proof) {
        *detail = "the DPoP scheme without a DPoP header";
        return MAB_ERR_DPOP_NO_PROOF;
    }
    return MAB_OK;
}

/* The confirmation members this module checks (RFC 7800 cnf): NULL when absent. A cnf
 * that is there but not an object, or a member of the wrong type, is a refusal: -1. */
static int confirmation(const json_t *cnf, const char **jkt, const char **x5t, mab_verdict_t *out)
{
    const json_t *j, *x;

    *jkt = *x5t = NULL;
    if (!cnf) {
        return 0;
    }
    if (!json_is_object(cnf)) {
        refuse(out, MAB_ERR_SENDER_CONSTRAINED, "cnf is not an object");
        return -1;
    }
    j = json_object_get(cnf, "jkt");
    x = json_object_get(cnf, "x5t#S256");
    if ((j && !json_is_string(j)) || (x && !json_is_string(x))) {
        refuse(out, MAB_ERR_CLAIM_TYPE, "cnf jkt or x5t#S256 is not a string");
        return -1;
    }
    *jkt = j ? json_string_value(j) : NULL;
    *x5t = x ? json_string_value(x) : NULL;
    /* Other members (Keycloak adds some) are no reason to refuse, as long as one method
     * this module checks is there: a confirmation that cannot be checked is no binding. */
    if (!*jkt && !*x5t) {
        refuse(out, MAB_ERR_SENDER_CONSTRAINED,
               "cnf holds no confirmation method this server checks (jkt, x5t#S256)");
        return -1;
    }
    return 0;
}

static int dpop_token_type(const mab_verdict_t *out)
{
    const json_t *tt = out->introspected ? json_object_get(out->claims, "token_type") : NULL;

    return json_is_string(tt) && strcasecmp(json_string_value(tt), "DPoP") == 0;
}

static const unsigned char *client_cert(const mab_sender_t *s)
{
    if (!s) {
        return NULL;
    }
    return s->cert_digest ? s->cert_digest : s->cert_lookup ? s->cert_lookup(s->cert_ctx) : NULL;
}

static int cert_binding(const mab_sender_policy_t *sp, const mab_sender_t *s, const char *x5t,
                        mab_verdict_t *out)
{
    const unsigned char *digest;

    if (!x5t) {
        if (sp->cert_bound == MAB_BIND_REQUIRED) {
            refuse(out, MAB_ERR_NOT_BOUND,
                   "AuthBearerCertBound Required: only certificate-bound tokens (cnf x5t#S256)");
            return -1;
        }
        return 0;
    }
    if (sp->cert_bound == MAB_BIND_OFF) {
        refuse(out, MAB_ERR_SENDER_CONSTRAINED,
               "a certificate-bound token (cnf x5t#S256) where AuthBearerCertBound is Off");
        return -1;
    }
    digest = client_cert(s);
    if (!digest) {
        refuse(out, MAB_ERR_CERT_BINDING,
               "a certificate-bound token without a client certificate on the connection");
        return -1;
    }
    if (!mab_cert_matches(x5t, digest)) {
        refuse(out, MAB_ERR_CERT_BINDING,
               "the client certificate is not the one the token is bound to (x5t#S256)");
        return -1;
    }
    out->cert_bound = 1;
    return 0;
}

/* The proof of a DPoP-scheme request for a token bound to jkt. */
static void dpop_proof(const mab_verifier_t *v, const mab_policy_t *policy,
                       const mab_credential_t *cred, const char *jkt, long long now,
                       apr_pool_t *pool, mab_verdict_t *out)
{
    const mab_sender_policy_t *sp = &policy->sender;
    const mab_sender_t *s = cred->sender;
    char nonce[MAB_DPOP_NONCE_LEN + 1];
    mab_dpop_expect_t expect;
    mab_dpop_proof_t proof;
    const char *detail = NULL;
    mab_rules_t rules;
    mab_err_e err;
    int r;

    if (s->proofs > 1) {
        refuse(out, MAB_ERR_DPOP_PROOF, "more than one DPoP header");
        return;
    }
    if (!s->htu || !s->method) {
        refuse(out, MAB_ERR_DPOP_PROOF, "the request's own URL cannot be compared with htu");
        return;
    }
    mab_policy_rules(policy, out->issuer, &rules);
    memset(&expect, 0, sizeof(expect));
    expect.alg_mask = sp->dpop_alg_mask;
    expect.max_age = sp->dpop_max_age;
    expect.skew = rules.skew;
    expect.now = now;
    expect.htm = s->method;
    expect.htu = s->htu;
    expect.token = cred->token;
    expect.token_len = cred->len;
    err = mab_dpop_check(v->proof_keys, s->proof, &expect, pool, &proof, &detail);
    if (err != MAB_OK) {
        /* Behind a proxy or on a port ServerName does not name, the URL this server thinks
         * it has is what an admin needs to see (never the client's; ours is no secret). */
        if (detail && strstr(detail, "htu does not match")) {
            detail = apr_psprintf(pool,
                                  "%s (here the URL is %s: AuthBearerPublicURL, or ServerName "
                                  "with its port, must name the origin clients use)",
                                  detail, s->htu);
        }
        refuse(out, err, detail);
        return;
    }
    /* RFC 9449 §7.1 "Invalid DPoP key binding": the token names another key. */
    if (strlen(jkt) != MAB_JKT_LEN || CRYPTO_memcmp(jkt, proof.jkt, MAB_JKT_LEN) != 0) {
        refuse(out, MAB_ERR_DPOP_BINDING,
               "the proof's key is not the one the token's cnf.jkt names");
        return;
    }
    if (sp->dpop_nonce) {
        r = proof.nonce
                ? mab_dpop_nonce_check(sp->nonce_secret, sp->nonce_secret_len, now, proof.nonce)
                : -1;
        if (r != 0 && mab_dpop_nonce(sp->nonce_secret, sp->nonce_secret_len, now, nonce) == 0) {
            out->dpop_nonce = apr_pstrdup(pool, nonce);
        }
        if (r < 0) {
            refuse(out, MAB_ERR_DPOP_NONCE,
                   proof.nonce ? "the proof's nonce is not one this server gave recently"
                               : "the proof carries no nonce (AuthBearerDPoPNonce On)");
            return;
        }
    }
    /* Last, so a proof refused for anything else is not burnt. Kept for as long as the
     * proof would be accepted: iat + max_age. */
    if (!v->replay) {
        refuse(out, MAB_ERR_REPLAY_STORE, "no replay store is set up for DPoP proofs");
        return;
    }
    r = mab_dpop_replay_record(v->replay, &proof, s->method, s->htu,
                               proof.iat + sp->dpop_max_age + 1, pool);
    if (r < 0) {
        refuse(out, MAB_ERR_REPLAY_STORE,
               "the DPoP replay store (AuthBearerSOCache) failed: DPoP requests are refused "
               "until it answers");
        return;
    }
    if (r > 0) {
        refuse(out, MAB_ERR_DPOP_REPLAY, "the proof's jti was used before (a replay)");
        return;
    }
    out->dpop = 1;
}

void mab_binding_check(const mab_verifier_t *v, const mab_policy_t *policy,
                       const mab_credential_t *cred, long long now, apr_pool_t *pool,
                       mab_verdict_t *out)
{
    const mab_sender_policy_t *sp = &policy->sender;
    const char *jkt, *x5t;

    if (out->err != MAB_OK) {
        return;
    }
    if (confirmation(out->cnf, &jkt, &x5t, out) != 0) {
        return;
    }
    if (!jkt && dpop_token_type(out)) {
        refuse(out, MAB_ERR_SENDER_CONSTRAINED,
               "the introspection answer says token_type DPoP but gives no cnf.jkt");
        return;
    }
    if (cred->scheme == MAB_SCHEME_DPOP) {
        if (!jkt) {
            refuse(out, MAB_ERR_NOT_BOUND,
                   "the DPoP scheme with a token that is not bound to a key (no cnf.jkt)");
            return;
        }
    }
    else if (jkt) {
        /* RFC 9449 §7.2: a resource server that knows DPoP refuses a bound token as Bearer;
         * one that does not must refuse it all the same. */
        refuse(out, MAB_ERR_DPOP_BOUND,
               sp->dpop == MAB_BIND_OFF
                   ? "a DPoP-bound token (cnf.jkt) sent as Bearer; to accept DPoP-bound tokens "
                     "here, set AuthBearerDPoP On"
                   : "a DPoP-bound token (cnf.jkt) sent as Bearer instead of with the DPoP "
                     "scheme and a proof");
        return;
    }
    else if (sp->dpop == MAB_BIND_REQUIRED) {
        refuse(out, MAB_ERR_NOT_BOUND,
               "AuthBearerDPoP Required: only DPoP-bound tokens, sent with the DPoP scheme");
        return;
    }
    /* The certificate first: it costs a comparison, the proof a signature check. */
    if (cert_binding(sp, cred->sender, x5t, out) != 0) {
        return;
    }
    if (jkt) {
        dpop_proof(v, policy, cred, jkt, now, pool, out);
    }
}
