#include <math.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "mab_alg.h"
#include "mab_binding.h"
#include "mab_claims.h"
#include "mab_credential.h"
#include "mab_exports.h"
#include "mab_introspect.h"
#include "mab_json.h"
#include "mab_jwk.h"
#include "mab_jwks.h"
#include "mab_jws.h"
#include "mab_keycache.h"
#include "mab_tokencache.h"
#include "mab_verifier.h"

static void refuse(mab_verdict_t *out, mab_err_e err, const char *detail)
{
    out->err = err;
    out->detail = detail;
}

void mab_policy_rules(const mab_policy_t *policy, const mab_issuer_t *issuer, mab_rules_t *out)
{
    if (issuer && issuer->rules) {
        *out = *issuer->rules;
        return;
    }
    out->audiences = policy->audiences;
    out->audience_any = policy->audience_any;
    out->alg_mask = policy->alg_mask;
    out->access_token_jwt = policy->access_token_jwt;
    out->skew = policy->skew;
    out->user_claim = policy->user_claim;
    out->scope_claim = NULL;
}

const mab_issuer_t *mab_policy_issuer(const mab_policy_t *policy, const char *iss)
{
    int i;

    if (policy->nissuers == 1) {
        return &policy->issuers[0];
    }
    for (i = 0; iss && i < policy->nissuers; i++) {
        if (strcmp(policy->issuers[i].iss, iss) == 0) {
            return &policy->issuers[i];
        }
    }
    return NULL;
}

static const char *string_claim(const json_t *claims, const char *name)
{
    const json_t *v = json_object_get(claims, name);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The log fingerprint: enough to correlate log lines, never enough to replay anything. */
static const char *hex8(apr_pool_t *p, const unsigned char *d)
{
    static const char hex[] = "0123456789abcdef";
    char *out = apr_palloc(p, 9);
    int i;

    for (i = 0; i < 4; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[8] = '\0';
    return out;
}

mab_hit_rule_e mab_verifier_hit_rule(const mab_policy_t *policy, const mab_issuer_t *issuer,
                                     const mab_tokencache_hit_t *hit, unsigned gen,
                                     const mab_keyset_t *ks)
{
    mab_rules_t rules;

    if (!issuer) {
        return MAB_HIT_REFUSED;
    }
    mab_policy_rules(policy, issuer, &rules);
    if (!(hit->alg->bit & rules.alg_mask) || (rules.access_token_jwt && !hit->typ_at_jwt)) {
        return MAB_HIT_REFUSED;
    }
    if (hit->alg->family == MAB_FAMILY_HMAC) {
        return issuer->secret && mab_tokencache_verified_by(hit, issuer->secret) ? MAB_HIT_ADMITTED
                                                                                 : MAB_HIT_REFUSED;
    }
    if (!issuer->keys) {
        return MAB_HIT_REFUSED;
    }
    /* Only a front hit keeps a note of which generation last held its key. */
    if (hit->mark && gen && hit->mark->scope == issuer->keys && hit->mark->gen == gen) {
        return MAB_HIT_ADMITTED;
    }
    if (!ks) {
        return MAB_HIT_NEEDS_KEYS;
    }
    return mab_tokencache_key_in(hit, ks) ? MAB_HIT_ADMITTED : MAB_HIT_REFUSED;
}

/* Asks the key cache only what the rule needs, and records what it vouched for. */
static int admit_hit(const mab_verifier_t *v, const mab_policy_t *policy,
                     const mab_tokencache_hit_t *hit, long long now, apr_pool_t *pool)
{
    /* With one issuer the claims check compares iss; only several need it to choose. */
    const mab_issuer_t *issuer =
        mab_policy_issuer(policy, policy->nissuers > 1 ? string_claim(hit->claims, "iss") : NULL);
    const char *kerr = NULL;
    unsigned gen = 0;
    mab_hit_rule_e rule;

    if (hit->mark && issuer && issuer->keys) {
        gen = mab_keycache_current_gen(v->keys, issuer->keys, (apr_uint32_t)now);
    }
    rule = mab_verifier_hit_rule(policy, issuer, hit, gen, NULL);
    if (rule == MAB_HIT_NEEDS_KEYS) {
        rule = mab_verifier_hit_rule(policy, issuer, hit, gen,
                                     mab_keycache_get(v->keys, issuer->keys, pool, 0, &kerr));
        if (rule == MAB_HIT_ADMITTED && hit->mark) {
            /* gen was read before the key set: the note can only be too old, never too new */
            hit->mark->scope = issuer->keys;
            hit->mark->gen = gen;
        }
    }
    return rule == MAB_HIT_ADMITTED;
}

static void take_hit(mab_verdict_t *out, const mab_tokencache_hit_t *hit)
{
    out->claims = hit->claims;
    out->exports = hit->exports;
    out->kid = hit->kid;
    out->alg = hit->alg->name;
    out->cached = 1;
}

/* A token this thread saw verified a moment ago, compared byte for byte. */
static int front_hit(const mab_verifier_t *v, const mab_policy_t *policy, const char *tok,
                     apr_size_t len, long long now, apr_pool_t *pool, mab_verdict_t *out)
{
    mab_tokencache_hit_t hit;

    if (!mab_tokencache_front_lookup(v->tokens, tok, len, now, pool, &hit)) {
        return 0;
    }
    out->fingerprint = hex8(pool, hit.digest);
    if (!admit_hit(v, policy, &hit, now, pool)) {
        return 0;
    }
    take_hit(out, &hit);
    return 1;
}

/* A token this process verified before, still bound to a key this policy trusts now.
 * Anything that does not line up takes the full path, which words the refusal. */
static int shared_hit(const mab_verifier_t *v, const mab_policy_t *policy,
                      const unsigned char *digest, const char *tok, apr_size_t len, long long now,
                      apr_pool_t *pool, mab_verdict_t *out)
{
    mab_tokencache_hit_t hit;

    if (!mab_tokencache_lookup(v->tokens, digest, now, pool, &hit)
        || !admit_hit(v, policy, &hit, now, pool)) {
        return 0;
    }
    mab_tokencache_front_put(v->tokens, tok, len, &hit);
    take_hit(out, &hit);
    return 1;
}

/* Kept until its exp, for whichever location sees it next. The request goes on with the
 * entry's copy, whose environment text is already written. */
static void remember(const mab_verifier_t *v, const unsigned char *digest, const mab_jws_t *jws,
                     const mab_key_t *key, const char *tok, apr_size_t len, long long now,
                     apr_pool_t *pool, mab_verdict_t *out)
{
    json_t *e = json_object_get(out->claims, "exp");
    mab_tokencache_hit_t held;
    double exp;

    if (!json_is_number(e)) {
        return;
    }
    exp = json_number_value(e);
    if (!isfinite(exp) || exp < 0 || exp > MAB_MAX_NUMERIC_DATE) {
        return;
    }
    /* The parse's reference goes to the entry: no copy, and this request then holds the
     * entry like any hit, so it never touches the claims' own count again. */
    mab_json_disown(pool, out->claims);
    if (mab_tokencache_store(v->tokens, digest, (long long)exp, now, out->claims, jws->alg,
                             jws->kid, mab_jws_typ_is(jws, "at+jwt"), key, pool, &held)) {
        out->claims = held.claims;
        out->exports = held.exports;
        mab_tokencache_front_put(v->tokens, tok, len, &held);
    }
    else {
        mab_json_own(pool, out->claims);
    }
}

/* HMAC tokens are checked with the issuer's configured secret only; everything else with
 * its key set. The allow-list is applied first either way. */
static mab_err_e verify_signature(const mab_verifier_t *v, unsigned alg_mask,
                                  const mab_issuer_t *issuer, const mab_jws_t *jws,
                                  apr_pool_t *pool, const mab_key_t **used, const char **detail)
{
    const mab_keyset_t *ks;
    const char *kerr = NULL;
    mab_err_e err;

    if (!(jws->alg->bit & alg_mask)) {
        *detail = "alg is not in the allow-list";
        return MAB_ERR_ALG;
    }
    if (jws->alg->family == MAB_FAMILY_HMAC) {
        if (!issuer->secret) {
            *detail = "HMAC token but no AuthBearerSharedSecret here";
            return MAB_ERR_ALG;
        }
        err = mab_jws_verify_key(jws, issuer->secret, detail);
        *used = issuer->secret;
        return err == MAB_ERR_NO_KEY ? MAB_ERR_ALG : err;
    }
    if (!issuer->keys) {
        *detail = "asymmetric token but no AuthBearerJWKS here";
        return MAB_ERR_NO_KEY;
    }
    ks = mab_keycache_get(v->keys, issuer->keys, pool, 0, &kerr);
    if (!ks) {
        /* The failed fetch itself was logged at error level, once per attempt. */
        *detail = apr_pstrcat(pool, mab_source_uri(issuer->keys), ": ", kerr, NULL);
        return MAB_ERR_NO_KEYS;
    }
    err = mab_jws_verify_keyset_ex(jws, ks, alg_mask, used, detail);
    if (err == MAB_ERR_NO_KEY && jws->kid) {
        /* Maybe the issuer rotated keys: refetch, at most once per interval for everyone. */
        ks = mab_keycache_get(v->keys, issuer->keys, pool, 1, &kerr);
        if (ks) {
            err = mab_jws_verify_keyset_ex(jws, ks, alg_mask, used, detail);
        }
    }
    return err;
}

/* The full path: parse, check the header, pick the issuer, verify the signature with its
 * keys, parse the claims. 0 when all of it worked (out->claims is set). */
static int verify_jws(const mab_verifier_t *v, const mab_policy_t *policy, const char *tok,
                      apr_size_t len, const unsigned char *digest, long long now, apr_pool_t *pool,
                      mab_verdict_t *out)
{
    const mab_issuer_t *issuer = &policy->issuers[0];
    const char *detail = NULL;
    const mab_key_t *key = NULL;
    json_t *claims = NULL;
    mab_jws_t *jws = NULL;
    mab_rules_t rules;
    mab_err_e err;

    err = mab_jws_parse(pool, tok, len, policy->max_token_size, &jws, &detail);
    if (jws) {
        out->kid = jws->kid;
        out->alg = jws->alg_name;
    }
    if (err != MAB_OK) {
        refuse(out, err, detail);
        return -1;
    }
    if (policy->nissuers > 1) {
        /* The unverified iss only chooses whose keys to try; the verified one must then be
         * that issuer's (the claims check). */
        claims = mab_claims_parse(pool, jws->payload, jws->payload_len, &detail);
        if (!claims) {
            refuse(out, MAB_ERR_MALFORMED, apr_pstrcat(pool, "payload: ", detail, NULL));
            return -1;
        }
        out->iss = string_claim(claims, "iss");
        issuer = mab_policy_issuer(policy, out->iss);
        if (!issuer) {
            refuse(out, MAB_ERR_ISSUER, "iss is none of the accepted issuers");
            return -1;
        }
    }
    mab_policy_rules(policy, issuer, &rules);
    if (rules.access_token_jwt && !mab_jws_typ_is(jws, "at+jwt")) {
        refuse(out, MAB_ERR_TOKEN_TYPE,
               apr_psprintf(pool, "typ is %s, not at+jwt", jws->typ ? jws->typ : "absent"));
        return -1;
    }
    err = verify_signature(v, rules.alg_mask, issuer, jws, pool, &key, &detail);
    if (err != MAB_OK) {
        refuse(out, err, detail);
        return -1;
    }
    if (!claims) {
        claims = mab_claims_parse(pool, jws->payload, jws->payload_len, &detail);
    }
    if (!claims) {
        refuse(out, MAB_ERR_MALFORMED, apr_pstrcat(pool, "payload: ", detail, NULL));
        return -1;
    }
    out->claims = claims;
    if (digest && key) {
        remember(v, digest, jws, key, tok, len, now, pool, out);
    }
    return 0;
}

/* A compact JWS has exactly two dots and a header that is a JSON object: "eyJ" is the
 * base64url of '{"'. Anything else is an opaque token, only its issuer can read. */
static int looks_like_jws(const char *tok, apr_size_t len)
{
    apr_size_t i, dots = 0;

    for (i = 0; i < len; i++) {
        dots += tok[i] == '.';
    }
    return dots == 2 && len > 3 && tok[0] == 'e' && tok[1] == 'y' && tok[2] == 'J';
}

static int introspects(const mab_issuer_t *issuer, int mode)
{
    return issuer->rules && issuer->rules->introspect >= mode && issuer->rules->introspection;
}

/* The one issuer whose opaque tokens are introspected (an opaque token names no issuer, so
 * it is only ever sent to one: several are refused at startup), or NULL. */
static const mab_issuer_t *opaque_issuer(const mab_policy_t *policy, int *count)
{
    const mab_issuer_t *found = NULL;
    int i;

    *count = 0;
    for (i = 0; i < policy->nissuers; i++) {
        if (introspects(&policy->issuers[i], MAB_INTROSPECT_OPAQUE)) {
            found = &policy->issuers[i];
            (*count)++;
        }
    }
    return found;
}

static apr_status_t free_exports(void *data)
{
    mab_exports_free(data);
    return APR_SUCCESS;
}

/* The policy's own requirements, on a fresh or a cached token alike. */
static void check_claims(const mab_policy_t *policy, long long now, apr_pool_t *pool,
                         mab_verdict_t *out)
{
    const mab_issuer_t *issuer;
    mab_claim_policy_t cp;
    mab_rules_t rules;
    const char *detail = NULL;
    const json_t *u;
    mab_err_e err;

    out->iss = string_claim(out->claims, "iss");
    issuer = mab_policy_issuer(policy, out->iss);
    if (!issuer) {
        refuse(out, MAB_ERR_ISSUER, "iss is none of the accepted issuers");
        return;
    }
    mab_policy_rules(policy, issuer, &rules);
    cp.issuer = issuer->iss;
    cp.audiences = rules.audiences;
    cp.audience_any = rules.audience_any;
    cp.skew = rules.skew;
    cp.now = now;
    cp.access_token_jwt = rules.access_token_jwt;
    err = mab_claims_validate(out->claims, &cp, pool, &detail);
    if (err != MAB_OK) {
        refuse(out, err, detail);
        return;
    }
    u = mab_claims_lookup(out->claims, rules.user_claim);
    if (!json_is_string(u) || json_string_length(u) == 0) {
        refuse(
            out, MAB_ERR_USER_CLAIM,
            apr_psprintf(pool, "claim %s is absent or not a non-empty string", rules.user_claim));
        return;
    }
    out->user = apr_pstrmemdup(pool, json_string_value(u), json_string_length(u));
    if (!out->exports) {
        /* Not cached: written for this request only. */
        mab_exports_t *x = mab_exports_build(out->claims);
        if (!x) {
            refuse(out, MAB_ERR_INTERNAL, "out of memory writing the claims as text");
            return;
        }
        apr_pool_cleanup_register(pool, x, free_exports, apr_pool_cleanup_null);
        out->exports = x;
    }
    out->issuer = issuer;
    out->cnf = json_object_get(out->claims, "cnf");
    out->err = MAB_OK;
}

static int ask(const mab_verifier_t *v, const mab_issuer_t *issuer, const char *tok, apr_size_t len,
               const unsigned char *digest, long long now, apr_pool_t *pool, mab_verdict_t *out,
               json_t **answer)
{
    const char *detail = NULL;
    int cached = 0;
    mab_err_e err;

    if (!v->introspector) {
        refuse(out, MAB_ERR_CONFIG, "introspection is configured but not set up");
        return -1;
    }
    err = v->introspector->introspect(v->introspector->ctx, issuer, tok, len, digest, now, pool,
                                      answer, &cached, &detail);
    if (err != MAB_OK) {
        refuse(out, err, detail);
        return -1;
    }
    out->introspected = 1;
    out->cached = cached;
    return 0;
}

/* An opaque token: the issuer's answer stands for the claims, checked like a JWT's. */
static void verify_opaque(const mab_verifier_t *v, const mab_policy_t *policy,
                          const mab_issuer_t *issuer, const char *tok, apr_size_t len,
                          const unsigned char *digest, long long now, apr_pool_t *pool,
                          mab_verdict_t *out)
{
    json_t *answer = NULL;
    mab_claim_policy_t cp;
    mab_exports_t *x;
    const char *detail = NULL, *user;
    mab_rules_t rules;
    mab_err_e err;

    if (ask(v, issuer, tok, len, digest, now, pool, out, &answer) != 0) {
        return;
    }
    out->claims = answer;
    out->iss = string_claim(answer, "iss");
    mab_policy_rules(policy, issuer, &rules);
    memset(&cp, 0, sizeof(cp));
    cp.issuer = issuer->iss;
    cp.audiences = rules.audiences;
    cp.audience_any = rules.audience_any;
    cp.skew = rules.skew;
    cp.now = now;
    err = mab_introspect_check(answer, &cp, pool, &detail);
    if (err != MAB_OK) {
        refuse(out, err, detail);
        return;
    }
    user = mab_introspect_user(answer, rules.user_claim);
    if (!user || !*user) {
        refuse(out, MAB_ERR_USER_CLAIM,
               apr_psprintf(pool, "the introspection answer has no %s%s", rules.user_claim,
                            strcmp(rules.user_claim, "sub") == 0 ? ", username or client_id" : ""));
        return;
    }
    out->user = apr_pstrdup(pool, user);
    x = mab_exports_build(answer);
    if (!x) {
        refuse(out, MAB_ERR_INTERNAL, "out of memory writing the claims as text");
        return;
    }
    apr_pool_cleanup_register(pool, x, free_exports, apr_pool_cleanup_null);
    out->exports = x;
    out->issuer = issuer;
    /* RFC 9449 §6.2, RFC 8705 §3.2: the answer's cnf binds the token as a JWT's would. */
    out->cnf = json_object_get(answer, "cnf");
    out->err = MAB_OK;
}

/* AuthBearerIntrospect All: a verified JWT is also asked about (revocation). Its own claims
 * stay the request's; the answer must say active, and its exp, when given, also holds. */
static void check_revocation(const mab_verifier_t *v, const mab_policy_t *policy, const char *tok,
                             apr_size_t len, long long now, apr_pool_t *pool, mab_verdict_t *out)
{
    unsigned char digest[MAB_TOKENCACHE_DIGEST_LEN];
    json_t *answer = NULL;
    const json_t *exp;
    mab_rules_t rules;
    int cached = out->cached;

    if (out->err != MAB_OK || !introspects(out->issuer, MAB_INTROSPECT_ALL)) {
        return;
    }
    if (mab_tokencache_digest(tok, len, digest) != 0) {
        refuse(out, MAB_ERR_INTERNAL, "cannot hash the token");
        return;
    }
    out->err = MAB_ERR_INTROSPECTION; /* until the answer says otherwise */
    if (ask(v, out->issuer, tok, len, digest, now, pool, out, &answer) != 0) {
        return;
    }
    out->cached = cached; /* about the signature */
    mab_policy_rules(policy, out->issuer, &rules);
    if (!json_is_true(json_object_get(answer, "active"))) {
        refuse(out, MAB_ERR_INACTIVE, "the introspection answer says it is not active");
        return;
    }
    exp = json_object_get(answer, "exp");
    if (exp && (!json_is_number(exp) || now > json_number_value(exp) + (double)rules.skew)) {
        refuse(out, MAB_ERR_EXPIRED, "expired by the introspection answer's exp");
        return;
    }
    out->err = MAB_OK;
}

/* What every accepted token goes through, fresh, cached or introspected alike. */
static void finish(const mab_verifier_t *v, const mab_policy_t *policy,
                   const mab_credential_t *cred, long long now, apr_pool_t *pool,
                   mab_verdict_t *out)
{
    check_claims(policy, now, pool, out);
    check_revocation(v, policy, cred->token, cred->len, now, pool, out);
    mab_binding_check(v, policy, cred, now, pool, out);
}

void mab_verify(const mab_verifier_t *v, const mab_policy_t *policy, const mab_credential_t *cred,
                long long now, apr_pool_t *pool, mab_verdict_t *out)
{
    unsigned char digest[MAB_TOKENCACHE_DIGEST_LEN];
    const char *tok = cred->token, *detail = NULL;
    apr_size_t len = cred->len;
    mab_err_e err;
    int use_cache;

    memset(out, 0, sizeof(*out));
    if (policy->nissuers < 1) {
        refuse(out, MAB_ERR_CONFIG, "the policy names no issuer");
        return;
    }
    if ((err = mab_binding_precheck(cred, &detail)) != MAB_OK) {
        refuse(out, err, detail);
        return;
    }
    use_cache = v->tokens && policy->use_cache && len <= policy->max_token_size;
    /* A hit is the very bytes of a token that passed every check below when it was stored. */
    if (use_cache && front_hit(v, policy, tok, len, now, pool, out)) {
        finish(v, policy, cred, now, pool, out);
        return;
    }
    /* One SHA-256 of the whole token: the log fingerprint and the cache key. */
    if (mab_tokencache_digest(tok, len, digest) == 0) {
        out->fingerprint = hex8(pool, digest);
    }
    else {
        out->fingerprint = NULL;
        use_cache = 0;
    }
    if (!use_cache || !shared_hit(v, policy, digest, tok, len, now, pool, out)) {
        if (!mab_credential_is_b64token(tok, len)) {
            refuse(out, MAB_ERR_MALFORMED, "not a b64token");
            return;
        }
        if (!looks_like_jws(tok, len)) {
            int n;
            const mab_issuer_t *oi = opaque_issuer(policy, &n);
            if (n > 1) {
                refuse(out, MAB_ERR_CONFIG, "several issuers introspect opaque tokens here");
                return;
            }
            if (oi && out->fingerprint) {
                verify_opaque(v, policy, oi, tok, len, digest, now, pool, out);
                mab_binding_check(v, policy, cred, now, pool, out);
                return;
            }
        }
        if (verify_jws(v, policy, tok, len, use_cache ? digest : NULL, now, pool, out) != 0) {
            return;
        }
    }
    finish(v, policy, cred, now, pool, out);
}
