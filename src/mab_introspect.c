#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "mab_claims.h"
#include "mab_introspect.h"
#include "mab_json.h"

#define ENTRY_FLAG_ACTIVE 0x01u

/* A bound token's cnf (RFC 9449 §6.2, RFC 8705 §3.2) and token_type DPoP are the
 * verifier's to judge with the request (mab_binding.c); here only their types. */
static mab_err_e sender_constrained(const json_t *answer, const char **detail)
{
    const json_t *tt = json_object_get(answer, "token_type");

    if (tt && !json_is_string(tt)) {
        *detail = "token_type is not a string";
        return MAB_ERR_CLAIM_TYPE;
    }
    return MAB_OK;
}

mab_err_e mab_introspect_check(const json_t *answer, const mab_claim_policy_t *cp, apr_pool_t *p,
                               const char **detail)
{
    const json_t *active = json_object_get(answer, "active");
    mab_claim_policy_t pol = *cp;
    mab_err_e err;

    *detail = NULL;
    /* Only the JSON value true: "true", 1 or a missing member are what a broken or hostile
     * server sends, and RFC 7662 §2.2 makes active a boolean. */
    if (!json_is_true(active)) {
        *detail = !active                 ? "introspection answer has no active member"
                  : json_is_false(active) ? "introspection answer is active: false"
                                          : "introspection answer's active is not a boolean";
        return MAB_ERR_INACTIVE;
    }
    err = sender_constrained(answer, detail);
    if (err != MAB_OK) {
        return err;
    }
    pol.access_token_jwt = 0;
    return mab_claims_validate_ex(answer, &pol, MAB_CLAIMS_EXP_OPTIONAL | MAB_CLAIMS_ISS_OPTIONAL,
                                  p, detail);
}

static const char *string_member(const json_t *answer, const char *name)
{
    const json_t *v = json_object_get(answer, name);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *mab_introspect_user(const json_t *answer, const char *user_claim)
{
    const json_t *v = mab_claims_lookup(answer, user_claim);

    if (v) {
        /* A sub of the wrong type is the server's error, not a reason to pick another
         * member: the request is refused for a missing user claim. */
        return json_is_string(v) ? json_string_value(v) : NULL;
    }
    /* RFC 7662 makes sub optional; servers answering for client-credentials tokens often
     * give only username or client_id. Only for the default, so an admin who named a claim
     * gets exactly that claim. */
    if (strcmp(user_claim, "sub") == 0) {
        const char *u = string_member(answer, "username");
        return u ? u : string_member(answer, "client_id");
    }
    return NULL;
}

int mab_introspect_cache_key(const char *endpoint_url, const char *token, apr_size_t len,
                             unsigned char out[MAB_INTROSPECT_KEY_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned long long ulen = (unsigned long long)strlen(endpoint_url);
    unsigned char prefix[8];
    unsigned int n = 0;
    int i, good;

    /* The URL's length first, so no (url, token) pair can be cut differently into another. */
    for (i = 0; i < 8; i++) {
        prefix[i] = (unsigned char)(ulen >> (56 - 8 * i));
    }
    good = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1
           && EVP_DigestUpdate(md, prefix, sizeof(prefix)) == 1
           && EVP_DigestUpdate(md, endpoint_url, (size_t)ulen) == 1
           && EVP_DigestUpdate(md, token, len) == 1 && EVP_DigestFinal_ex(md, out, &n) == 1
           && n == MAB_INTROSPECT_KEY_LEN;
    EVP_MD_CTX_free(md);
    return good ? 0 : -1;
}

long long mab_introspect_cache_until(int active, const json_t *answer, long long now,
                                     long cache_seconds)
{
    const json_t *exp;
    long long until;
    double e;

    if (cache_seconds <= 0) {
        return 0;
    }
    if (!active) {
        return now
               + (cache_seconds < MAB_INTROSPECT_INACTIVE_TTL ? cache_seconds
                                                              : MAB_INTROSPECT_INACTIVE_TTL);
    }
    until = now + cache_seconds;
    exp = json_object_get(answer, "exp");
    if (!exp) {
        return until;
    }
    if (!json_is_number(exp)) {
        return 0;
    }
    e = json_number_value(exp);
    if (!isfinite(e) || e < 0 || e > MAB_MAX_NUMERIC_DATE) {
        return 0;
    }
    /* RFC 7662 §4: never cached beyond exp. Rounded down: a fraction of a second early. */
    if ((long long)floor(e) <= now) {
        return 0;
    }
    return (long long)floor(e) < until ? (long long)floor(e) : until;
}

static void put_be(unsigned char *b, unsigned long long v, int bytes)
{
    int i;

    for (i = 0; i < bytes; i++) {
        b[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    }
}

static unsigned long long get_be(const unsigned char *b, int bytes)
{
    unsigned long long v = 0;
    int i;

    for (i = 0; i < bytes; i++) {
        v = (v << 8) | b[i];
    }
    return v;
}

apr_size_t mab_introspect_entry_encode(apr_pool_t *p, const json_t *answer, long long expires,
                                       unsigned char **out)
{
    char *text;
    size_t n;
    unsigned char *b;

    *out = NULL;
    if (!json_is_object(answer)) {
        return 0;
    }
    text = json_dumps(answer, JSON_COMPACT);
    if (!text) {
        return 0;
    }
    n = strlen(text);
    if (n > MAB_INTROSPECT_ENTRY_MAX_JSON) {
        free(text);
        return 0;
    }
    b = apr_palloc(p, MAB_INTROSPECT_ENTRY_HEADER + n);
    b[0] = MAB_INTROSPECT_ENTRY_VERSION;
    b[1] = json_is_true(json_object_get(answer, "active")) ? ENTRY_FLAG_ACTIVE : 0;
    put_be(b + 2, (unsigned long long)expires, 8);
    put_be(b + 10, (unsigned long long)n, 4);
    memcpy(b + MAB_INTROSPECT_ENTRY_HEADER, text, n);
    free(text);
    *out = b;
    return MAB_INTROSPECT_ENTRY_HEADER + n;
}

int mab_introspect_entry_decode(const unsigned char *buf, apr_size_t len, apr_pool_t *p,
                                json_t **answer, long long *expires, int *active)
{
    unsigned long long n;
    const char *detail = NULL;
    json_t *v;
    int is_active;

    *answer = NULL;
    if (!buf || len < MAB_INTROSPECT_ENTRY_HEADER || buf[0] != MAB_INTROSPECT_ENTRY_VERSION
        || (buf[1] & ~ENTRY_FLAG_ACTIVE) != 0) {
        return 0;
    }
    n = get_be(buf + 10, 4);
    if (n > MAB_INTROSPECT_ENTRY_MAX_JSON || n != len - MAB_INTROSPECT_ENTRY_HEADER) {
        return 0;
    }
    /* Another host (memcache, redis) may have written it: parsed like a server's answer. */
    v = mab_claims_parse(p, buf + MAB_INTROSPECT_ENTRY_HEADER, (apr_size_t)n, &detail);
    if (!v) {
        return 0;
    }
    is_active = (buf[1] & ENTRY_FLAG_ACTIVE) != 0;
    if (is_active != json_is_true(json_object_get(v, "active"))) {
        return 0;
    }
    *answer = v;
    *expires = (long long)get_be(buf + 2, 8);
    *active = is_active;
    return 1;
}
