/* The binding rules (src/mab_binding.c): which tokens need a DPoP proof or a client
 * certificate, and what the proof must prove, on accepted verdicts made by hand. Proofs
 * are signed here with OpenSSL; the proof check itself has its own tests (test_dpop.c). */
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "mab_b64.h"
#include "mab_binding.h"
#include "mab_certbind.h"
#include "mab_credential.h"
#include "mab_dpop.h"
#include "mab_introspect_cache.h"
#include "mab_alg.h"
#include "signer.h"
#include "tap.h"
#include "testutil.h"

#define URL "https://api.test/r"
#define TOKEN "tok.en.x"

static apr_pool_t *gp;
static long long now;

/* A store in memory: a few keys, or failing. */
static struct {
    unsigned char keys[64][40];
    unsigned lens[64];
    int n, fail, locks;
} mem;

static int mem_get(void *ctx, const unsigned char *key, unsigned keylen, unsigned char *buf,
                   unsigned *len, apr_pool_t *p)
{
    int i;

    if (mem.fail) {
        return -1;
    }
    for (i = 0; i < mem.n; i++) {
        if (mem.lens[i] == keylen && memcmp(mem.keys[i], key, keylen) == 0) {
            *len = 0;
            return 0;
        }
    }
    return 1;
}

static int mem_put(void *ctx, const unsigned char *key, unsigned keylen, long long expires,
                   const unsigned char *val, unsigned len, apr_pool_t *p)
{
    if (mem.fail || mem.n == 64 || keylen > 40) {
        return -1;
    }
    memcpy(mem.keys[mem.n], key, keylen);
    mem.lens[mem.n++] = keylen;
    return 0;
}

static int mem_del(void *ctx, const unsigned char *key, unsigned keylen, apr_pool_t *p)
{
    return 0;
}

static void mem_lock(void *ctx)
{
    mem.locks++;
}

static void mem_unlock(void *ctx)
{
}

static const mab_kvstore_t store = {mem_get, mem_put, mem_del, mem_lock, mem_unlock, NULL};

static EVP_PKEY *kP, *kQ;
static const char *jwkP, *jwkQ;

static const char *jkt_of(const char *jwk)
{
    static char out[MAB_JKT_LEN + 1];
    json_t *j = json_loads(jwk, 0, NULL);

    mab_jwk_thumbprint(j, out);
    json_decref(j);
    return apr_pstrdup(gp, out);
}

static const char *ath(const char *tok)
{
    unsigned char d[32];

    SHA256((const unsigned char *)tok, strlen(tok), d);
    return mab_b64url_encode(gp, d, 32);
}

static int serial;

static const char *proof_ex(EVP_PKEY *k, const char *jwk, const char *htm, const char *htu,
                            long long iat, const char *nonce)
{
    const char *hdr = apr_psprintf(gp, "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":%s}", jwk);
    const char *pl =
        apr_psprintf(gp,
                     "{\"jti\":\"j-%d\",\"htm\":\"%s\",\"htu\":\"%s\",\"iat\":%ld,"
                     "\"ath\":\"%s\"%s%s%s}",
                     ++serial, htm, htu, (long)iat, ath(TOKEN), nonce ? ",\"nonce\":\"" : "",
                     nonce ? nonce : "", nonce ? "\"" : "");
    return sign_token(gp, k, hdr, pl, 0, 0);
}

static const char *proof(void)
{
    return proof_ex(kP, jwkP, "GET", URL, now, NULL);
}

static mab_issuer_t issuer = {"https://as.test", NULL, NULL, NULL};

static apr_status_t decref(void *j)
{
    json_decref(j);
    return APR_SUCCESS;
}

/* An accepted verdict for a token with this cnf (JSON text, or NULL for none). */
static mab_verdict_t accepted(const char *cnf, int introspected, const char *token_type)
{
    mab_verdict_t v;

    memset(&v, 0, sizeof(v));
    v.claims = json_object();
    apr_pool_cleanup_register(gp, v.claims, decref, apr_pool_cleanup_null);
    if (cnf) {
        json_object_set_new(v.claims, "cnf", json_loads(cnf, JSON_DECODE_ANY, NULL));
    }
    if (token_type) {
        json_object_set_new(v.claims, "token_type", json_string(token_type));
    }
    v.cnf = json_object_get(v.claims, "cnf");
    v.introspected = introspected;
    v.issuer = &issuer;
    v.err = MAB_OK;
    return v;
}

static mab_verdict_t run(const mab_policy_t *pol, int scheme, const mab_sender_t *s,
                         mab_verdict_t v)
{
    mab_verifier_t ver = {NULL, NULL, NULL, &store, NULL};
    mab_credential_t cred = {scheme, TOKEN, strlen(TOKEN), s};

    mab_binding_check(&ver, pol, &cred, now, gp, &v);
    return v;
}

static int lookups;

static const unsigned char *lookup_cert(void *ctx)
{
    lookups++;
    return ctx;
}

static mab_sender_t with_proof(const char *p)
{
    mab_sender_t s = {p, p ? 1 : 0, "GET", URL, NULL, NULL, NULL};
    return s;
}

int main(void)
{
    unsigned char cert[MAB_CERT_DIGEST_LEN], other[MAB_CERT_DIGEST_LEN];
    const char *jkt, *x5t, *cnf_jkt, *cnf_x5t, *cnf_both, *p;
    mab_policy_t off, on, req, cert_off, cert_req, nonce;
    mab_sender_t s;
    mab_verdict_t v;
    static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
    char n[MAB_DPOP_NONCE_LEN + 1];
    const char *detail;

    gp = test_setup();
    now = (long long)apr_time_sec(apr_time_now());
    kP = EVP_EC_gen("P-256");
    kQ = EVP_EC_gen("P-256");
    jwkP = ec_jwk(gp, kP, "p");
    jwkQ = ec_jwk(gp, kQ, "q");
    jkt = jkt_of(jwkP);
    memset(cert, 0x11, sizeof(cert));
    memset(other, 0x22, sizeof(other));
    x5t = mab_b64url_encode(gp, cert, sizeof(cert));
    cnf_jkt = apr_psprintf(gp, "{\"jkt\":\"%s\"}", jkt);
    cnf_x5t = apr_psprintf(gp, "{\"x5t#S256\":\"%s\"}", x5t);
    cnf_both = apr_psprintf(gp, "{\"jkt\":\"%s\",\"x5t#S256\":\"%s\"}", jkt, x5t);

    memset(&off, 0, sizeof(off));
    off.sender.dpop = MAB_BIND_OFF;
    off.sender.dpop_alg_mask = mab_alg_default_mask();
    off.sender.dpop_max_age = 60;
    off.sender.cert_bound = MAB_BIND_ON;
    on = off;
    on.sender.dpop = MAB_BIND_ON;
    req = on;
    req.sender.dpop = MAB_BIND_REQUIRED;
    cert_off = on;
    cert_off.sender.cert_bound = MAB_BIND_OFF;
    cert_req = on;
    cert_req.sender.cert_bound = MAB_BIND_REQUIRED;
    nonce = on;
    nonce.sender.dpop_nonce = 1;
    nonce.sender.nonce_secret = secret;
    nonce.sender.nonce_secret_len = 32;

    /* unbound tokens */
    s = with_proof(NULL);
    is_int(run(&off, MAB_SCHEME_BEARER, &s, accepted(NULL, 0, NULL)).err, MAB_OK,
           "unbound Bearer token, DPoP Off: accepted");
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted(NULL, 0, NULL)).err, MAB_OK,
           "unbound Bearer token, DPoP On: accepted");
    is_int(run(&req, MAB_SCHEME_BEARER, &s, accepted(NULL, 0, NULL)).err, MAB_ERR_NOT_BOUND,
           "unbound Bearer token, DPoP Required: refused");
    is_int(run(&cert_req, MAB_SCHEME_BEARER, &s, accepted(NULL, 0, NULL)).err, MAB_ERR_NOT_BOUND,
           "unbound token, CertBound Required: refused");
    is_int(run(&on, MAB_SCHEME_BEARER, NULL, accepted(NULL, 0, NULL)).err, MAB_OK,
           "no sender information at all: an unbound token is accepted");

    /* cnf shapes */
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted("{}", 0, NULL)).err, MAB_ERR_SENDER_CONSTRAINED,
           "cnf {}: no method checked here: refused");
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted("null", 0, NULL)).err,
           MAB_ERR_SENDER_CONSTRAINED, "cnf null: refused");
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted("{\"x5t\":\"abc\"}", 0, NULL)).err,
           MAB_ERR_SENDER_CONSTRAINED, "cnf with only an unchecked method (x5t, SHA-1): refused");
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted("{\"jkt\":7}", 0, NULL)).err,
           MAB_ERR_CLAIM_TYPE, "cnf.jkt not a string: refused");
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted(NULL, 1, "DPoP")).err,
           MAB_ERR_SENDER_CONSTRAINED, "introspected token_type DPoP without cnf.jkt: refused");

    /* DPoP-bound tokens as Bearer */
    v = run(&off, MAB_SCHEME_BEARER, &s, accepted(cnf_jkt, 0, NULL));
    is_int(v.err, MAB_ERR_DPOP_BOUND, "cnf.jkt as Bearer, DPoP Off: refused");
    ok(v.detail && strstr(v.detail, "AuthBearerDPoP On"),
       "... the detail tells the admin what to set");
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted(cnf_jkt, 0, NULL)).err, MAB_ERR_DPOP_BOUND,
           "cnf.jkt as Bearer, DPoP On: refused (RFC 9449 7.2)");
    is_str(mab_err_rfc6750(MAB_ERR_DPOP_BOUND), "invalid_token", "... as invalid_token");
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted(cnf_jkt, 1, "DPoP")).err, MAB_ERR_DPOP_BOUND,
           "an introspected DPoP token as Bearer: refused");

    /* the DPoP scheme */
    {
        mab_credential_t cred = {MAB_SCHEME_DPOP, TOKEN, strlen(TOKEN), NULL};
        is_int(mab_binding_precheck(&cred, &detail), MAB_ERR_DPOP_NO_PROOF,
               "DPoP scheme without a proof: refused before any token work");
        is_str(mab_err_rfc6750(MAB_ERR_DPOP_NO_PROOF), "invalid_request", "... invalid_request");
        cred.scheme = MAB_SCHEME_BEARER;
        is_int(mab_binding_precheck(&cred, &detail), MAB_OK, "Bearer: nothing to precheck");
    }
    s = with_proof(proof());
    v = run(&on, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 0, NULL));
    is_int(v.err, MAB_OK, "DPoP scheme, bound token, valid proof: accepted");
    ok(v.dpop == 1, "... marked as DPoP-bound");
    is_int(mem.locks, 1, "... the replay record was taken under the store's lock");
    is_int(run(&on, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 0, NULL)).err, MAB_ERR_DPOP_REPLAY,
           "the same proof again: a replay");
    is_str(mab_err_rfc6750(MAB_ERR_DPOP_REPLAY), "invalid_dpop_proof", "... invalid_dpop_proof");
    s = with_proof(proof());
    is_int(run(&req, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 0, NULL)).err, MAB_OK,
           "DPoP Required: a bound token with its proof is accepted");
    s = with_proof(proof());
    is_int(run(&on, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 1, "DPoP")).err, MAB_OK,
           "an introspected DPoP-bound token with its proof: accepted");
    s = with_proof(proof());
    is_int(run(&on, MAB_SCHEME_DPOP, &s, accepted(NULL, 0, NULL)).err, MAB_ERR_NOT_BOUND,
           "DPoP scheme with an unbound token: refused");
    s = with_proof(proof_ex(kQ, jwkQ, "GET", URL, now, NULL));
    v = run(&on, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 0, NULL));
    is_int(v.err, MAB_ERR_DPOP_BINDING, "a valid proof by another key: invalid key binding");
    is_str(mab_err_desc(MAB_ERR_DPOP_BINDING), "Invalid DPoP key binding", "... RFC 9449's words");
    is_str(mab_err_rfc6750(MAB_ERR_DPOP_BINDING), "invalid_token", "... invalid_token");
    s = with_proof(proof_ex(kP, jwkP, "GET", "https://other.test/r", now, NULL));
    v = run(&on, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 0, NULL));
    is_int(v.err, MAB_ERR_DPOP_PROOF, "a proof for another URL: invalid proof");
    ok(v.detail && strstr(v.detail, "here the URL is " URL ": AuthBearerPublicURL"),
       "... the log detail names the URL this server expects and what sets it");
    s = with_proof(proof_ex(kP, jwkP, "POST", URL, now, NULL));
    is_int(run(&on, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 0, NULL)).err, MAB_ERR_DPOP_PROOF,
           "a proof for another method: invalid proof");
    s = with_proof(proof());
    s.proofs = 2;
    is_int(run(&on, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 0, NULL)).err, MAB_ERR_DPOP_PROOF,
           "two DPoP header fields: invalid proof");
    s = with_proof(proof());
    s.htu = NULL;
    is_int(run(&on, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 0, NULL)).err, MAB_ERR_DPOP_PROOF,
           "the request's own URL unknown: refused, never skipped");
    s = with_proof(proof());
    mem.fail = 1;
    is_int(run(&on, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 0, NULL)).err, MAB_ERR_REPLAY_STORE,
           "the replay store down: refused (fail closed)");
    is_int(mab_err_http_status(MAB_ERR_REPLAY_STORE), 503, "... with 503");
    mem.fail = 0;
    {
        mab_verifier_t ver = {NULL, NULL, NULL, NULL, NULL};
        mab_credential_t cred = {MAB_SCHEME_DPOP, TOKEN, strlen(TOKEN), NULL};
        s = with_proof(proof());
        cred.sender = &s;
        v = accepted(cnf_jkt, 0, NULL);
        mab_binding_check(&ver, &on, &cred, now, gp, &v);
        is_int(v.err, MAB_ERR_REPLAY_STORE, "no replay store at all: refused");
    }

    /* nonces */
    s = with_proof(proof());
    v = run(&nonce, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 0, NULL));
    is_int(v.err, MAB_ERR_DPOP_NONCE,
           "AuthBearerDPoPNonce On, a proof without nonce: use_dpop_nonce");
    is_str(mab_err_rfc6750(MAB_ERR_DPOP_NONCE), "use_dpop_nonce", "... the RFC 9449 code");
    ok(v.dpop_nonce != NULL, "... and a nonce to send");
    mab_dpop_nonce(secret, 32, now, n);
    is_str(v.dpop_nonce, n, "... the current window's");
    s = with_proof(proof_ex(kP, jwkP, "GET", URL, now, n));
    v = run(&nonce, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 0, NULL));
    is_int(v.err, MAB_OK, "retried with that nonce: accepted");
    ok(v.dpop_nonce == NULL, "... no new nonce needed");
    s = with_proof(proof_ex(kP, jwkP, "GET", URL, now, "made-up"));
    is_int(run(&nonce, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 0, NULL)).err, MAB_ERR_DPOP_NONCE,
           "a made-up nonce: use_dpop_nonce");
    mab_dpop_nonce(secret, 32, now - MAB_DPOP_NONCE_WINDOW, n);
    s = with_proof(proof_ex(kP, jwkP, "GET", URL, now, n));
    v = run(&nonce, MAB_SCHEME_DPOP, &s, accepted(cnf_jkt, 0, NULL));
    is_int(v.err, MAB_OK, "the previous window's nonce: accepted");
    ok(v.dpop_nonce != NULL, "... and the current one is sent along");

    /* certificate-bound tokens */
    s = with_proof(NULL);
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted(cnf_x5t, 0, NULL)).err, MAB_ERR_CERT_BINDING,
           "x5t#S256 without a client certificate: refused");
    s.cert_digest = other;
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted(cnf_x5t, 0, NULL)).err, MAB_ERR_CERT_BINDING,
           "x5t#S256 with another certificate: refused");
    s.cert_digest = cert;
    v = run(&on, MAB_SCHEME_BEARER, &s, accepted(cnf_x5t, 0, NULL));
    is_int(v.err, MAB_OK, "x5t#S256 with its certificate: accepted");
    ok(v.cert_bound == 1, "... marked as certificate-bound");
    is_int(run(&cert_req, MAB_SCHEME_BEARER, &s, accepted(cnf_x5t, 0, NULL)).err, MAB_OK,
           "CertBound Required: a bound token with its certificate passes");
    is_int(run(&cert_off, MAB_SCHEME_BEARER, &s, accepted(cnf_x5t, 0, NULL)).err,
           MAB_ERR_SENDER_CONSTRAINED, "CertBound Off: a certificate-bound token is refused");
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted("{\"x5t#S256\":\"short\"}", 0, NULL)).err,
           MAB_ERR_CERT_BINDING, "a malformed x5t#S256: refused");

    /* the certificate looked up only when a token asks */
    s.cert_digest = NULL;
    s.cert_lookup = lookup_cert;
    s.cert_ctx = cert;
    lookups = 0;
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted(NULL, 0, NULL)).err, MAB_OK,
           "an unbound token: accepted");
    is_int(lookups, 0, "... without looking up the certificate");
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted(cnf_x5t, 0, NULL)).err, MAB_OK,
           "a bound token: its certificate looked up and matched");
    is_int(lookups, 1, "... once");
    s.cert_ctx = NULL;
    is_int(run(&on, MAB_SCHEME_BEARER, &s, accepted(cnf_x5t, 0, NULL)).err, MAB_ERR_CERT_BINDING,
           "a lookup that finds no certificate: refused");
    s.cert_lookup = NULL;
    s.cert_digest = cert;

    /* both bindings: both are checked */
    p = proof();
    s = with_proof(p);
    s.cert_digest = other;
    is_int(run(&on, MAB_SCHEME_DPOP, &s, accepted(cnf_both, 0, NULL)).err, MAB_ERR_CERT_BINDING,
           "jkt and x5t#S256: the wrong certificate refuses even with a good proof");
    s.cert_digest = cert;
    is_int(run(&on, MAB_SCHEME_DPOP, &s, accepted(cnf_both, 0, NULL)).err, MAB_OK,
           "jkt and x5t#S256: proof and certificate: accepted");

    /* a refused verdict is left as it was */
    v = accepted(cnf_jkt, 0, NULL);
    v.err = MAB_ERR_EXPIRED;
    s = with_proof(NULL);
    is_int(run(&on, MAB_SCHEME_BEARER, &s, v).err, MAB_ERR_EXPIRED,
           "an already refused token keeps its reason");

    EVP_PKEY_free(kP);
    EVP_PKEY_free(kQ);
    return tap_done();
}
