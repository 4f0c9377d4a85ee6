/* Claims: strict payload parsing (mab_claims_parse), registered-claim validation
 * (mab_claims_validate), scopes, Require bearer-claim matching and the environment
 * export helpers. */
#include "mab_claims.h"
#include "mab_json.h"
#include "tap.h"
#include "testutil.h"

#define NOW 1700000000LL
#define SKEW 60L
#define ISS "https://issuer.example/"

static json_t *parse(apr_pool_t *p, const char *text, const char **detail)
{
    *detail = NULL;
    return mab_claims_parse(p, (const unsigned char *)text, strlen(text), detail);
}

/* Claims from JSON text the test itself wrote; a typo there fails loudly. */
static json_t *claims(apr_pool_t *p, const char *text)
{
    const char *detail = NULL;
    json_t *c = parse(p, text, &detail);

    if (!c) {
        printf("# test claims do not parse (%s): %s\n", detail ? detail : "?", text);
    }
    return c;
}

static apr_array_header_t *list(apr_pool_t *p, const char *a, const char *b, const char *c)
{
    apr_array_header_t *arr = apr_array_make(p, 3, sizeof(const char *));

    if (a) {
        APR_ARRAY_PUSH(arr, const char *) = a;
    }
    if (b) {
        APR_ARRAY_PUSH(arr, const char *) = b;
    }
    if (c) {
        APR_ARRAY_PUSH(arr, const char *) = c;
    }
    return arr;
}

static mab_claim_policy_t policy(apr_pool_t *p)
{
    mab_claim_policy_t pol;

    memset(&pol, 0, sizeof(pol));
    pol.issuer = ISS;
    pol.audiences = list(p, "api", NULL, NULL);
    pol.audience_any = 0;
    pol.skew = SKEW;
    pol.now = NOW;
    return pol;
}

/* Validates claims built from a printf format (NOW-relative times go in as %lld). */
static mab_err_e validate_pol(apr_pool_t *p, const mab_claim_policy_t *pol, const char **detail,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static mab_err_e validate_pol(apr_pool_t *p, const mab_claim_policy_t *pol, const char **detail,
                              const char *fmt, ...)
{
    va_list ap;
    char text[2048];
    json_t *c;

    /* vsnprintf, not apr_pvsprintf: APR's formatter does not take %lld. */
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    *detail = NULL;
    c = claims(p, text);
    if (!c) {
        return MAB_ERR__COUNT; /* never a real result: the assertion fails */
    }
    return mab_claims_validate(c, pol, p, detail);
}

static void test_parse(apr_pool_t *p)
{
    const char *detail = NULL;
    json_t *c;
    char *deep;
    int i;

    c = parse(p, "{\"sub\":\"alice\",\"n\":1,\"a\":[1,{\"b\":null}]}", &detail);
    ok(c != NULL && json_is_object(c), "valid object parses");
    is_str(json_string_value(json_object_get(c, "sub")), "alice", "valid object: sub value");
    ok(detail == NULL, "valid object: no detail");

    c = parse(p, "{}", &detail);
    ok(c != NULL && json_object_size(c) == 0, "empty object parses");

    c = parse(p, "{\"sub\":\"alice\",\"sub\":\"mallory\"}", &detail);
    ok(c == NULL, "duplicate claim names: refused");
    ok(detail && strncmp(detail, "invalid JSON at byte ", 21) == 0,
       "duplicate claim names: detail");

    c = parse(p, "{\"x\":{\"r\":1,\"r\":2}}", &detail);
    ok(c == NULL, "duplicate names in a nested object: refused");

    c = parse(p, "[{\"sub\":\"alice\"}]", &detail);
    ok(c == NULL, "top-level array: refused");
    is_str(detail, "JSON is not an object", "top-level array: detail");

    c = parse(p, "\"sub\"", &detail);
    ok(c == NULL, "top-level string: refused");
    ok(detail != NULL, "top-level string: detail set");

    c = parse(p, "{\"sub\":\"ali\\u0000ce\"}", &detail);
    ok(c == NULL, "\\u0000 in a value: refused");
    ok(detail && strncmp(detail, "invalid JSON at byte ", 21) == 0, "\\u0000 in a value: detail");

    c = parse(p, "{\"s\\u0000b\":\"alice\"}", &detail);
    ok(c == NULL, "\\u0000 in a name: refused");

    {
        static const char raw_nul[] = "{\"sub\":\"ali\0ce\"}";
        detail = NULL;
        c = mab_claims_parse(p, (const unsigned char *)raw_nul, sizeof(raw_nul) - 1, &detail);
        ok(c == NULL, "raw NUL byte inside the payload: refused");
    }

    c = parse(p, "{\"sub\":\"\xff\xfe\"}", &detail);
    ok(c == NULL, "invalid UTF-8 bytes 0xff 0xfe: refused");
    ok(detail && strncmp(detail, "invalid JSON at byte ", 21) == 0, "invalid UTF-8: detail");

    c = parse(p, "{\"sub\":\"\xc0\xaf\"}", &detail);
    ok(c == NULL, "overlong UTF-8 encoding of '/': refused");

    c = parse(p, "{\"sub\":\"\xed\xa0\x80\"}", &detail);
    ok(c == NULL, "UTF-8-encoded surrogate: refused");

    c = parse(p, "{\"sub\":\"\\ud800\"}", &detail);
    ok(c == NULL, "lone surrogate escape: refused");

    c = parse(p, "{\"sub\":\"Zo\xc3\xab\"}", &detail);
    ok(c != NULL, "valid UTF-8 (Zo\xc3\xab) parses");

    c = parse(p, "{\"sub\":\"alice\"} x", &detail);
    ok(c == NULL, "trailing garbage: refused");

    c = parse(p, "", &detail);
    ok(c == NULL, "empty payload: refused");

    /* Depth: the top-level object is level 1; each nested container adds one. */
    deep = apr_pstrdup(p, "{\"a\":");
    for (i = 2; i <= MAB_MAX_JSON_DEPTH; i++) {
        deep = apr_pstrcat(p, deep, "[", NULL);
    }
    for (i = 2; i <= MAB_MAX_JSON_DEPTH; i++) {
        deep = apr_pstrcat(p, deep, "]", NULL);
    }
    deep = apr_pstrcat(p, deep, "}", NULL);
    c = parse(p, deep, &detail);
    ok(c != NULL, "%d nested containers: accepted", MAB_MAX_JSON_DEPTH);

    deep = apr_pstrdup(p, "{\"a\":");
    for (i = 2; i <= MAB_MAX_JSON_DEPTH + 1; i++) {
        deep = apr_pstrcat(p, deep, "[", NULL);
    }
    for (i = 2; i <= MAB_MAX_JSON_DEPTH + 1; i++) {
        deep = apr_pstrcat(p, deep, "]", NULL);
    }
    deep = apr_pstrcat(p, deep, "}", NULL);
    c = parse(p, deep, &detail);
    ok(c == NULL, "%d nested containers: refused", MAB_MAX_JSON_DEPTH + 1);
    is_str(detail, "JSON is nested too deeply", "%d nested containers: detail",
           MAB_MAX_JSON_DEPTH + 1);

    deep = apr_pstrdup(p, "{\"a\":");
    for (i = 2; i <= MAB_MAX_JSON_DEPTH + 1; i++) {
        deep = apr_pstrcat(p, deep, "{\"o\":", NULL);
    }
    deep = apr_pstrcat(p, deep, "1", NULL);
    for (i = 2; i <= MAB_MAX_JSON_DEPTH + 1; i++) {
        deep = apr_pstrcat(p, deep, "}", NULL);
    }
    deep = apr_pstrcat(p, deep, "}", NULL);
    c = parse(p, deep, &detail);
    ok(c == NULL, "%d nested objects: refused", MAB_MAX_JSON_DEPTH + 1);
    is_str(detail, "JSON is nested too deeply", "%d nested objects: detail",
           MAB_MAX_JSON_DEPTH + 1);

    /* A scalar inside the deepest allowed container adds no nesting level. */
    deep = apr_pstrdup(p, "{\"a\":");
    for (i = 2; i <= MAB_MAX_JSON_DEPTH; i++) {
        deep = apr_pstrcat(p, deep, "[", NULL);
    }
    deep = apr_pstrcat(p, deep, "1", NULL);
    for (i = 2; i <= MAB_MAX_JSON_DEPTH; i++) {
        deep = apr_pstrcat(p, deep, "]", NULL);
    }
    deep = apr_pstrcat(p, deep, "}", NULL);
    c = parse(p, deep, &detail);
    if (!ok(c != NULL, "%d nested containers with a scalar innermost: accepted",
            MAB_MAX_JSON_DEPTH)) {
        printf("#   detail: %s\n", detail ? detail : "(null)");
    }

    /* Far deeper than jansson's own limit allows is refused as well, without crashing. */
    deep = apr_pstrdup(p, "{\"a\":");
    for (i = 0; i < 5000; i++) {
        deep = apr_pstrcat(p, deep, "[", NULL);
    }
    c = parse(p, deep, &detail);
    ok(c == NULL, "5000 open brackets: refused");
}

/* RFC 9068 (AuthBearerTokenType at+jwt): the claims every JWT access token carries. */
static void test_at_jwt(apr_pool_t *p)
{
    mab_claim_policy_t pol = policy(p);
    const char *d = NULL;
    const char *base = "\"iss\":\"" ISS "\",\"aud\":\"api\",\"iat\":1700000000";

    pol.access_token_jwt = 1;
    is_int(validate_pol(p, &pol, &d,
                        "{\"exp\":%lld,%s,\"sub\":\"u\",\"client_id\":\"c\","
                        "\"jti\":\"j\"}",
                        NOW + 60, base),
           MAB_OK, "at+jwt: sub, client_id, iat, jti, aud present: OK");
    is_int(
        validate_pol(p, &pol, &d, "{\"exp\":%lld,%s,\"sub\":\"u\",\"jti\":\"j\"}", NOW + 60, base),
        MAB_ERR_MISSING_CLAIM, "at+jwt: no client_id");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,%s,\"client_id\":\"c\",\"jti\":\"j\"}",
                        NOW + 60, base),
           MAB_ERR_MISSING_CLAIM, "at+jwt: no sub");
    is_int(validate_pol(p, &pol, &d,
                        "{\"exp\":%lld,%s,\"sub\":\"u\",\"client_id\":\"c\","
                        "\"jti\":7}",
                        NOW + 60, base),
           MAB_ERR_CLAIM_TYPE, "at+jwt: jti not a string");
    is_int(validate_pol(p, &pol, &d,
                        "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":\"api\","
                        "\"sub\":\"u\",\"client_id\":\"c\",\"jti\":\"j\"}",
                        NOW + 60),
           MAB_ERR_MISSING_CLAIM, "at+jwt: no iat");
    pol.audience_any = 1;
    is_int(validate_pol(p, &pol, &d,
                        "{\"exp\":%lld,\"iss\":\"" ISS "\",\"iat\":1,\"sub\":\"u\","
                        "\"client_id\":\"c\",\"jti\":\"j\"}",
                        NOW + 60),
           MAB_ERR_MISSING_CLAIM, "at+jwt: aud required even with AuthBearerAudience *");
}

static void test_validate(apr_pool_t *p)
{
    mab_claim_policy_t pol = policy(p);
    const char *d = NULL;
    const char *ok_tail = "\"iss\":\"" ISS "\",\"aud\":\"api\"";

    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,%s}", NOW + 3600, ok_tail), MAB_OK,
           "valid claims: OK");
    ok(d == NULL, "valid claims: no detail");

    /* exp */
    is_int(validate_pol(p, &pol, &d, "{%s}", ok_tail), MAB_ERR_NO_EXP, "exp missing: NO_EXP");
    is_str(d, "exp claim is required", "exp missing: detail");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":\"%lld\",%s}", NOW + 3600, ok_tail),
           MAB_ERR_CLAIM_TYPE, "exp as a string: CLAIM_TYPE");
    is_str(d, "exp is not a number", "exp as a string: detail");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":true,%s}", ok_tail), MAB_ERR_CLAIM_TYPE,
           "exp true: CLAIM_TYPE");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":null,%s}", ok_tail), MAB_ERR_CLAIM_TYPE,
           "exp null: CLAIM_TYPE");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":[%lld],%s}", NOW + 3600, ok_tail),
           MAB_ERR_CLAIM_TYPE, "exp array: CLAIM_TYPE");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,%s}", NOW - SKEW - 1, ok_tail), MAB_ERR_EXPIRED,
           "exp beyond skew: EXPIRED");
    ok(d != NULL && strstr(d, "in the past") != NULL, "exp beyond skew: detail");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,%s}", NOW - 86400, ok_tail), MAB_ERR_EXPIRED,
           "exp a day ago: EXPIRED");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,%s}", NOW - SKEW + 1, ok_tail), MAB_OK,
           "exp within skew: OK");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,%s}", NOW - SKEW, ok_tail), MAB_ERR_EXPIRED,
           "now == exp + skew: EXPIRED");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld.5,%s}", NOW - SKEW, ok_tail), MAB_OK,
           "fractional exp half a second inside the skew: OK");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":1e300,%s}", ok_tail), MAB_ERR_CLAIM_TYPE,
           "exp 1e300 (past year 9999) is an overflow trick: claim type");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":253402300800,%s}", ok_tail), MAB_ERR_CLAIM_TYPE,
           "exp one second past 9999-12-31: claim type");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":253402300799,%s}", ok_tail), MAB_OK,
           "exp at 9999-12-31T23:59:59Z: OK");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"nbf\":-1,%s}", NOW + 100, ok_tail),
           MAB_ERR_CLAIM_TYPE, "negative nbf: claim type");
    {
        mab_claim_policy_t no_skew = pol;
        no_skew.skew = 0;
        is_int(validate_pol(p, &no_skew, &d, "{\"exp\":%lld,%s}", NOW, ok_tail), MAB_ERR_EXPIRED,
               "skew 0, exp == now: EXPIRED");
        is_int(validate_pol(p, &no_skew, &d, "{\"exp\":%lld,%s}", NOW + 1, ok_tail), MAB_OK,
               "skew 0, exp == now + 1: OK");
    }

    /* nbf */
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"nbf\":%lld,%s}", NOW + 3600, NOW + SKEW + 1,
                        ok_tail),
           MAB_ERR_NOT_YET_VALID, "nbf beyond skew: NOT_YET_VALID");
    ok(d != NULL && strstr(d, "in the future") != NULL, "nbf beyond skew: detail");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"nbf\":%lld,%s}", NOW + 3600, NOW + SKEW,
                        ok_tail),
           MAB_OK, "nbf exactly at now + skew: OK");
    is_int(
        validate_pol(p, &pol, &d, "{\"exp\":%lld,\"nbf\":%lld,%s}", NOW + 3600, NOW + 10, ok_tail),
        MAB_OK, "nbf within skew: OK");
    is_int(
        validate_pol(p, &pol, &d, "{\"exp\":%lld,\"nbf\":%lld,%s}", NOW + 3600, NOW - 100, ok_tail),
        MAB_OK, "nbf in the past: OK");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"nbf\":\"0\",%s}", NOW + 3600, ok_tail),
           MAB_ERR_CLAIM_TYPE, "nbf as a string: CLAIM_TYPE");
    is_str(d, "nbf is not a number", "nbf as a string: detail");

    /* iat */
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iat\":%lld,%s}", NOW + 3600, NOW + SKEW + 1,
                        ok_tail),
           MAB_ERR_IAT_FUTURE, "iat beyond skew in the future: IAT_FUTURE");
    is_int(
        validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iat\":%lld,%s}", NOW + 3600, NOW + 30, ok_tail),
        MAB_OK, "iat within skew: OK");
    is_int(
        validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iat\":%lld,%s}", NOW + 3600, NOW - 30, ok_tail),
        MAB_OK, "iat in the past: OK");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iat\":{},%s}", NOW + 3600, ok_tail),
           MAB_ERR_CLAIM_TYPE, "iat an object: CLAIM_TYPE");
    is_str(d, "iat is not a number", "iat an object: detail");

    /* iss */
    is_int(validate_pol(p, &pol, &d,
                        "{\"exp\":%lld,\"iss\":\"https://evil.example/\","
                        "\"aud\":\"api\"}",
                        NOW + 3600),
           MAB_ERR_ISSUER, "iss mismatch: ISSUER");
    ok(d != NULL && strstr(d, "evil.example") != NULL, "iss mismatch: detail names the iss");
    is_int(validate_pol(p, &pol, &d,
                        "{\"exp\":%lld,\"iss\":\"https://issuer.example\","
                        "\"aud\":\"api\"}",
                        NOW + 3600),
           MAB_ERR_ISSUER, "iss without trailing slash: ISSUER (exact match)");
    is_int(validate_pol(p, &pol, &d,
                        "{\"exp\":%lld,\"iss\":\"HTTPS://ISSUER.EXAMPLE/\","
                        "\"aud\":\"api\"}",
                        NOW + 3600),
           MAB_ERR_ISSUER, "iss in other case: ISSUER");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"aud\":\"api\"}", NOW + 3600), MAB_ERR_ISSUER,
           "iss missing: ISSUER");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iss\":42,\"aud\":\"api\"}", NOW + 3600),
           MAB_ERR_CLAIM_TYPE, "iss a number: CLAIM_TYPE");
    is_str(d, "iss is not a string", "iss a number: detail");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iss\":[\"" ISS "\"],\"aud\":\"api\"}",
                        NOW + 3600),
           MAB_ERR_CLAIM_TYPE, "iss an array: CLAIM_TYPE");
    {
        mab_claim_policy_t no_iss = pol;
        no_iss.issuer = NULL;
        is_int(validate_pol(p, &no_iss, &d, "{\"exp\":%lld,%s}", NOW + 3600, ok_tail),
               MAB_ERR_ISSUER, "no issuer configured: ISSUER (fails closed)");
    }

    /* aud */
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":[\"x\",\"api\"]}",
                        NOW + 3600),
           MAB_OK, "aud array containing the audience: OK");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":[\"x\",\"y\"]}",
                        NOW + 3600),
           MAB_ERR_AUDIENCE, "aud array without the audience: AUDIENCE");
    is_str(d, "aud does not contain a configured audience", "aud without match: detail");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":[]}", NOW + 3600),
           MAB_ERR_AUDIENCE, "empty aud array: AUDIENCE");
    is_int(
        validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":\"API\"}", NOW + 3600),
        MAB_ERR_AUDIENCE, "aud in other case: AUDIENCE");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":\"api x\"}",
                        NOW + 3600),
           MAB_ERR_AUDIENCE, "aud string is not split on spaces: AUDIENCE");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\"}", NOW + 3600),
           MAB_ERR_AUDIENCE, "aud missing: AUDIENCE");
    is_str(d, "token has no aud", "aud missing: detail");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":[\"api\",5]}",
                        NOW + 3600),
           MAB_ERR_CLAIM_TYPE, "aud with a non-string element: CLAIM_TYPE");
    is_str(d, "aud is neither a string nor an array of strings", "aud non-string: detail");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":5}", NOW + 3600),
           MAB_ERR_CLAIM_TYPE, "aud a number: CLAIM_TYPE");
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":{\"api\":1}}",
                        NOW + 3600),
           MAB_ERR_CLAIM_TYPE, "aud an object: CLAIM_TYPE");
    {
        mab_claim_policy_t any = pol;
        any.audience_any = 1;
        any.audiences = list(p, NULL, NULL, NULL);
        is_int(validate_pol(p, &any, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":\"other\"}",
                            NOW + 3600),
               MAB_OK, "audience any: any aud accepted");
        is_int(validate_pol(p, &any, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\"}", NOW + 3600), MAB_OK,
               "audience any: missing aud accepted");
        is_int(validate_pol(p, &any, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":[\"a\",\"b\"]}",
                            NOW + 3600),
               MAB_OK, "audience any: aud array accepted");
        is_int(
            validate_pol(p, &any, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":[1]}", NOW + 3600),
            MAB_ERR_CLAIM_TYPE, "audience any: malformed aud still CLAIM_TYPE");
    }
    {
        mab_claim_policy_t multi = pol;
        multi.audiences = list(p, "api-a", "api-b", "api-c");
        is_int(validate_pol(p, &multi, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":\"api-b\"}",
                            NOW + 3600),
               MAB_OK, "several audiences: aud string matching the second: OK");
        is_int(validate_pol(p, &multi, &d,
                            "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":[\"z\",\"api-c\"]}",
                            NOW + 3600),
               MAB_OK, "several audiences: aud array matching the third: OK");
        is_int(validate_pol(p, &multi, &d, "{\"exp\":%lld,\"iss\":\"" ISS "\",\"aud\":\"api\"}",
                            NOW + 3600),
               MAB_ERR_AUDIENCE, "several audiences: none matching: AUDIENCE");
        multi.audiences = list(p, NULL, NULL, NULL);
        is_int(validate_pol(p, &multi, &d, "{\"exp\":%lld,%s}", NOW + 3600, ok_tail),
               MAB_ERR_AUDIENCE, "no audience configured and not any: AUDIENCE");
    }

    /* Order of checks: an expired token is reported as expired even with a bad issuer. */
    is_int(validate_pol(p, &pol, &d, "{\"exp\":%lld,\"iss\":\"x\",\"aud\":\"y\"}", NOW - 3600),
           MAB_ERR_EXPIRED, "expired and wrong iss: EXPIRED first");
}

static void test_scopes(apr_pool_t *p)
{
    const char *missing;
    json_t *c;

#define HAS(c_, a_, b_, c3_)                                                                       \
    (missing = NULL, mab_claims_has_scopes((c_), list(p, a_, b_, c3_), &missing))

    c = claims(p, "{\"scope\":\"openid read:messages write:messages\"}");
    is_int(HAS(c, "read:messages", NULL, NULL), 1, "scope string: one granted");
    is_int(HAS(c, "read:messages", "write:messages", "openid"), 1, "scope string: all granted");
    is_int(HAS(c, "read:messages", "admin", NULL), 0, "scope string: one missing");
    is_str(missing, "admin", "scope string: *missing is the absent one");
    is_int(HAS(c, "read", NULL, NULL), 0, "scope string: prefix of a word does not match");
    is_int(HAS(c, "messages", NULL, NULL), 0, "scope string: suffix of a word does not match");
    is_int(HAS(c, "READ:MESSAGES", NULL, NULL), 0, "scope string: case-sensitive");
    is_int(HAS(c, "read:messages write:messages", NULL, NULL), 0,
           "scope string: a required value with a space is not two scopes");
    is_int(HAS(c, NULL, NULL, NULL), 1, "no scope required: granted");

    c = claims(p, "{\"scope\":\"read:messagesX\"}");
    is_int(HAS(c, "read:messages", NULL, NULL), 0, "scope read:messagesX: read:messages missing");
    is_str(missing, "read:messages", "scope read:messagesX: *missing");
    c = claims(p, "{\"scope\":\"Xread:messages\"}");
    is_int(HAS(c, "read:messages", NULL, NULL), 0, "scope Xread:messages: read:messages missing");

    c = claims(p, "{\"scope\":\"  a   b  \"}");
    is_int(HAS(c, "a", "b", NULL), 1, "scope string with repeated spaces: both granted");
    is_int(HAS(c, "", NULL, NULL), 0, "empty required scope is never granted");

    c = claims(p, "{\"scp\":\"read write\"}");
    is_int(HAS(c, "write", "read", NULL), 1, "scp string: both granted");
    is_int(HAS(c, "delete", NULL, NULL), 0, "scp string: absent one missing");

    c = claims(p, "{\"scp\":[\"read\",\"write\"]}");
    is_int(HAS(c, "read", "write", NULL), 1, "scp array: both granted");
    is_int(HAS(c, "read", "wri", NULL), 0, "scp array: prefix not granted");
    is_str(missing, "wri", "scp array: *missing");

    c = claims(p, "{\"scp\":[\"read write\"]}");
    is_int(HAS(c, "read", NULL, NULL), 0, "scp array elements are not split on spaces");

    c = claims(p, "{\"permissions\":[\"read:messages\",\"delete:messages\"]}");
    is_int(HAS(c, "delete:messages", NULL, NULL), 1, "permissions array: granted");
    is_int(HAS(c, "write:messages", NULL, NULL), 0, "permissions array: absent one missing");

    c = claims(p, "{\"scope\":\"a\",\"scp\":[\"b\"],\"permissions\":[\"c\"]}");
    is_int(HAS(c, "a", "b", "c"), 1, "scopes from scope, scp and permissions together");
    is_int(HAS(c, "a", "d", "b"), 0, "first missing reported");
    is_str(missing, "d", "first missing reported: *missing");

    c = claims(p, "{\"sub\":\"alice\"}");
    is_int(HAS(c, "read", NULL, NULL), 0, "no scope claims: not granted");
    is_str(missing, "read", "no scope claims: *missing");

    /* Only the documented shapes: scope is a string, permissions an array. */
    c = claims(p, "{\"scope\":[\"read\",\"write\"]}");
    is_int(HAS(c, "read", NULL, NULL), 0, "scope as an array grants nothing");
    c = claims(p, "{\"permissions\":\"read write\"}");
    is_int(HAS(c, "read", NULL, NULL), 0, "permissions as a string grants nothing");
    c = claims(p, "{\"scope\":[\"read\"],\"permissions\":\"read\",\"scp\":\"write\"}");
    is_int(HAS(c, "write", NULL, NULL), 1, "undocumented shapes beside an scp string: scp counts");
    is_int(HAS(c, "read", NULL, NULL), 0, "undocumented shapes beside an scp string: they do not");
    is_int(mab_claims_has_scopes_in(c, "scope", list(p, "read", NULL, NULL), &missing), 1,
           "AuthBearerScopeClaim scope: an array is one of its documented shapes");
    is_int(mab_claims_has_scopes_in(c, "permissions", list(p, "read", NULL, NULL), &missing), 1,
           "AuthBearerScopeClaim permissions: a string is one of its documented shapes");

    c = claims(p, "{\"scope\":[1,2],\"scp\":42,\"permissions\":{\"read\":true}}");
    is_int(HAS(c, "read", NULL, NULL), 0, "scope claims of the wrong type grant nothing");
#undef HAS
}

static void test_match(apr_pool_t *p)
{
    json_t *c =
        claims(p, "{\"sub\":\"alice\",\"n\":42,\"r\":42.0,\"t\":true,\"f\":false,"
                  "\"roles\":[\"user\",\"admin\"],\"nums\":[1,2,3],"
                  "\"mixed\":[\"x\",7,true,{\"a\":1},[\"y\"]],"
                  "\"https://example.com/roles\":[\"editor\"],"
                  "\"obj\":{\"a\":1},\"zero\":0,\"nul\":null,\"s\":\"true\",\"s42\":\"42\"}");

#define M(name_, a_, b_) mab_claims_match(c, (name_), list(p, a_, b_, NULL))

    is_int(M("sub", "alice", NULL), 1, "string claim: equal");
    is_int(M("sub", "bob", "alice"), 1, "string claim: one of several values");
    is_int(M("sub", "Alice", NULL), 0, "string claim: case-sensitive");
    is_int(M("sub", "alic", NULL), 0, "string claim: prefix does not match");
    is_int(mab_claims_match(c, "sub", list(p, NULL, NULL, NULL)), 0, "no values: no match");

    is_int(M("n", "42", NULL), 1, "number 42 vs \"42\"");
    is_int(M("n", "42.0", NULL), 0, "integer 42 vs \"42.0\": a decimal never equals an integer");
    is_int(M("n", "4.2e1", NULL), 0, "integer 42 vs \"4.2e1\": a decimal never equals an integer");
    is_int(M("n", "+42", NULL), 0, "integer 42 vs \"+42\": no sign but '-'");
    is_int(M("n", "-", NULL), 0, "integer 42 vs \"-\"");
    is_int(M("n", "4x", NULL), 0, "number 42 vs \"4x\"");
    is_int(M("n", "42x", NULL), 0, "number 42 vs \"42x\"");
    is_int(M("n", "0x2a", NULL), 0, "number 42 vs \"0x2a\": decimal only");
    is_int(M("n", " 42", NULL), 0, "number 42 vs \" 42\": no leading space");
    is_int(M("n", "", NULL), 0, "number 42 vs \"\"");
    is_int(M("n", "43", NULL), 0, "number 42 vs \"43\"");
    is_int(M("zero", "", NULL), 0, "number 0 vs \"\": empty text is not zero");
    is_int(M("zero", "0", NULL), 1, "number 0 vs \"0\"");
    is_int(M("n", "inf", NULL), 0, "number 42 vs \"inf\"");
    is_int(M("r", "42", NULL), 0, "real 42.0 vs \"42\": an integer never equals a real");
    is_int(M("r", "42.0", NULL), 1, "real 42.0 vs \"42.0\"");
    is_int(M("r", "4.2e1", NULL), 1, "real 42.0 vs \"4.2e1\": the same double");
    is_int(M("s42", "42.0", NULL), 0, "string \"42\" vs \"42.0\": compared as strings");
    is_int(M("s42", "42", NULL), 1, "string \"42\" vs \"42\"");

    is_int(M("t", "true", NULL), 1, "true vs \"true\"");
    is_int(M("t", "false", NULL), 0, "true vs \"false\"");
    is_int(M("t", "1", NULL), 0, "true vs \"1\"");
    is_int(M("t", "True", NULL), 0, "true vs \"True\"");
    is_int(M("f", "false", NULL), 1, "false vs \"false\"");
    is_int(M("f", "true", NULL), 0, "false vs \"true\"");
    is_int(M("f", "0", NULL), 0, "false vs \"0\"");
    is_int(M("s", "true", NULL), 1, "string \"true\" vs \"true\"");

    is_int(M("roles", "admin", NULL), 1, "array of strings: contains");
    is_int(M("roles", "root", "user"), 1, "array of strings: contains one of several");
    is_int(M("roles", "root", NULL), 0, "array of strings: does not contain");
    is_int(M("roles", "user admin", NULL), 0, "array of strings: joined text does not match");
    is_int(M("nums", "2", NULL), 1, "array of numbers: contains 2");
    is_int(M("nums", "2.0", NULL), 0, "array of integers: \"2.0\" is a decimal, no match");
    is_int(M("nums", "4", NULL), 0, "array of numbers: does not contain 4");
    is_int(M("mixed", "7", NULL), 1, "mixed array: number element");
    is_int(M("mixed", "true", NULL), 1, "mixed array: boolean element");
    is_int(M("mixed", "y", NULL), 0, "mixed array: nested array element is never equal");
    is_int(M("mixed", "{\"a\":1}", NULL), 0, "mixed array: object element is never equal");

    is_int(M("missing", "alice", NULL), 0, "missing claim: no match");
    is_int(M("https://example.com/roles", "editor", NULL), 1, "URL-named claim: contains");
    is_int(M("https://example.com/roles", "admin", NULL), 0, "URL-named claim: does not contain");
    is_int(M("obj", "{\"a\":1}", NULL), 0, "object claim vs its JSON text: no match");
    is_int(M("obj", "", NULL), 0, "object claim vs empty: no match");
    is_int(M("obj", "a", NULL), 0, "object claim vs a member name: no match");
    is_int(M("nul", "null", NULL), 0, "null claim vs \"null\": no match");
    is_int(M("nul", "", NULL), 0, "null claim vs \"\": no match");
#undef M
}

/* Integers compare exactly as long long: through a double, 64-bit ids 256 apart (or 2^53 + 1
 * and 2^53) would be equal, which is cross-tenant access where ids are sequential. */
static void test_match_numbers(apr_pool_t *p)
{
    json_t *c = claims(p, "{\"big\":1234567890123456789,\"b53\":9007199254740993,"
                          "\"ids\":[7,1234567890123456789],\"max\":9223372036854775807,"
                          "\"min\":-9223372036854775808,\"fr\":1.5,\"neg\":-0.25,"
                          "\"r53\":9007199254740993.0,\"r19\":1e19,\"rmax\":9007199254740991.0}");

#define M(name_, a_) mab_claims_match(c, (name_), list(p, a_, NULL, NULL))
    is_int(M("big", "1234567890123456789"), 1, "64-bit integer: equal");
    is_int(M("big", "1234567890123456790"), 0, "64-bit integer: a neighbour does not match");
    is_int(M("big", "1234567890123456768"), 0, "64-bit integer: its double does not match");
    is_int(M("b53", "9007199254740993"), 1, "2^53+1: equal");
    is_int(M("b53", "9007199254740992"), 0, "2^53+1 vs 2^53: no match");
    is_int(M("ids", "1234567890123456800"), 0, "64-bit integer in an array: neighbour, no match");
    is_int(M("ids", "1234567890123456789"), 1, "64-bit integer in an array: equal");
    is_int(M("max", "9223372036854775807"), 1, "INT64_MAX: equal");
    is_int(M("max", "9223372036854775808"), 0, "INT64_MAX vs 2^63 (overflows): no match");
    is_int(M("max", "99999999999999999999"), 0, "INT64_MAX vs a value past int64: no match");
    is_int(M("min", "-9223372036854775808"), 1, "INT64_MIN: equal");
    is_int(M("min", "-9223372036854775809"), 0, "INT64_MIN vs one below (overflows): no match");
    is_int(M("b53", "9007199254740993.0"), 0, "integer vs the same number as a decimal: no match");

    is_int(M("fr", "1.5"), 1, "real 1.5 vs \"1.5\"");
    is_int(M("fr", "15e-1"), 1, "real 1.5 vs \"15e-1\"");
    is_int(M("fr", "1.50001"), 0, "real 1.5 vs \"1.50001\"");
    is_int(M("fr", "1"), 0, "real 1.5 vs \"1\"");
    is_int(M("neg", "-0.25"), 1, "real -0.25 vs \"-0.25\"");
    is_int(M("rmax", "9007199254740991.0"), 1, "real 2^53-1 vs the same decimal");
    is_int(M("r53", "9007199254740992.0"), 0, "real at 2^53 (rounded) never matches");
    is_int(M("r53", "9007199254740993.0"), 0, "real at 2^53 vs its own text: never matches");
    is_int(M("r19", "1e19"), 0, "real 1e19 (past int64) never matches");
    is_int(M("r19", "10000000000000000000"), 0, "real 1e19 vs an integer past int64: no match");
#undef M
}

/* Claim addressing: literal top-level names, and '/'-prefixed JSON Pointers. */
static void test_pointer_names(apr_pool_t *p)
{
    const char *why = NULL, *missing = NULL;
    json_t *c = claims(p, "{\"realm_access\":{\"roles\":[\"admin\",\"user\"]},"
                          "\"https://example.com/roles\":[\"editor\"],"
                          "\"org\":{\"id\":7,\"paid\":true,\"name\":\"acme\"},"
                          "\"a.b\":\"dotted\",\"a\":{\"b\":\"nested\"},"
                          "\"scp\":\"x\",\"ext\":{\"perms\":[\"p:read\"],\"sc\":\"s1 s2\"}}");

#define M(name_, a_) mab_claims_match(c, (name_), list(p, a_, NULL, NULL))
    is_int(M("/realm_access/roles", "admin"), 1, "pointer: array membership");
    is_int(M("/realm_access/roles", "root"), 0, "pointer: not a member");
    is_int(M("/realm_access/roles/1", "user"), 1, "pointer: array index");
    is_int(M("/org/id", "7"), 1, "pointer: nested number");
    is_int(M("/org/paid", "true"), 1, "pointer: nested boolean");
    is_int(M("/org/name", "acme"), 1, "pointer: nested string");
    is_int(M("/org/missing", "acme"), 0, "pointer: missing member");
    is_int(M("a.b", "dotted"), 1, "literal name with a dot is one top-level member");
    is_int(M("a.b", "nested"), 0, "a dot is never a path separator");
    is_int(M("/a/b", "nested"), 1, "pointer /a/b");
    is_int(M("https://example.com/roles", "editor"), 1, "URL-named claim stays literal");
    is_int(M("/https:~1~1example.com~1roles", "editor"), 1, "URL-named claim via a pointer");
    is_int(M("/realm_access", "admin"), 0, "pointer to an object never matches");
#undef M
    ok(mab_claims_lookup(c, "realm_access") == json_object_get(c, "realm_access"),
       "lookup: literal name");
    ok(mab_claims_lookup(c, "/realm_access/roles/0") != NULL, "lookup: pointer");
    ok(mab_claims_lookup(c, "/realm_access/roles/~2") == NULL, "lookup: bad escape is absent");

    is_int(mab_claims_name_valid("sub", &why), 1, "name valid: sub");
    is_int(mab_claims_name_valid("https://x/y", &why), 1, "name valid: URL");
    is_int(mab_claims_name_valid("/a/b~1c", &why), 1, "name valid: pointer");
    is_int(mab_claims_name_valid("", &why), 0, "name invalid: empty");
    is_int(mab_claims_name_valid("/a~x", &why), 0, "name invalid: bad pointer escape");

    /* AuthBearerScopeClaim: one named source replaces scope/scp/permissions. */
    is_int(mab_claims_has_scopes_in(c, "/ext/perms", list(p, "p:read", NULL, NULL), &missing), 1,
           "scope claim: pointer to an array");
    is_int(mab_claims_has_scopes_in(c, "/ext/sc", list(p, "s2", "s1", NULL), &missing), 1,
           "scope claim: pointer to a space-delimited string");
    is_int(mab_claims_has_scopes_in(c, "/ext/sc", list(p, "s3", NULL, NULL), &missing), 0,
           "scope claim: absent scope");
    is_str(missing, "s3", "scope claim: *missing");
    is_int(mab_claims_has_scopes_in(c, "/ext/perms", list(p, "x", NULL, NULL), &missing), 0,
           "scope claim set: scp is no longer consulted");
    is_int(mab_claims_has_scopes_in(c, NULL, list(p, "x", NULL, NULL), &missing), 1,
           "scope claim NULL: scp is consulted");
    is_int(mab_claims_has_scopes_in(c, "/org", list(p, "acme", NULL, NULL), &missing), 0,
           "scope claim pointing at an object grants nothing");
    is_int(mab_claims_has_scopes_in(c, "/nope", list(p, "x", NULL, NULL), &missing), 0,
           "missing scope claim grants nothing");
}

static const char *env_name(apr_pool_t *p, const char *name)
{
    return mab_claims_env_name_write(apr_palloc(p, mab_claims_env_name_size(name)), name);
}

static void test_env(apr_pool_t *p)
{
    json_t *c;

    is_str(env_name(p, "sub"), "BEARER_CLAIM_SUB", "env name: sub");
    is_str(env_name(p, "https://example.com/roles"), "BEARER_CLAIM_HTTPS___EXAMPLE_COM_ROLES",
           "env name: URL claim");
    is_str(env_name(p, "given_name2"), "BEARER_CLAIM_GIVEN_NAME2",
           "env name: underscore and digit kept");
    is_str(env_name(p, "Zo\xc3\xab"), "BEARER_CLAIM_ZO__",
           "env name: each byte of a 2-byte UTF-8 character becomes '_'");
    is_str(env_name(p, "\xe2\x82\xac"), "BEARER_CLAIM____",
           "env name: 3-byte UTF-8 character becomes three '_'");
    is_str(env_name(p, "a-b.c d=e"), "BEARER_CLAIM_A_B_C_D_E",
           "env name: punctuation, space and '=' become '_'");
    is_str(env_name(p, ""), "BEARER_CLAIM_", "env name: empty");

    c = claims(p, "{\"s\":\"Zo\xc3\xab \\\"quoted\\\"\",\"n\":42,\"r\":1.5,\"b\":true,"
                  "\"z\":null,\"a\":[\"x\",1,true],\"o\":{\"k\":{\"v\":[1,2]}},"
                  "\"e\":\"\"}");
    is_str(mab_claims_env_value(p, json_object_get(c, "s")), "Zo\xc3\xab \"quoted\"",
           "env value: string as-is (UTF-8, quotes unescaped)");
    is_str(mab_claims_env_value(p, json_object_get(c, "e")), "", "env value: empty string");
    is_str(mab_claims_env_value(p, json_object_get(c, "n")), "42", "env value: integer");
    is_str(mab_claims_env_value(p, json_object_get(c, "r")), "1.5", "env value: real");
    is_str(mab_claims_env_value(p, json_object_get(c, "b")), "true", "env value: boolean");
    is_str(mab_claims_env_value(p, json_object_get(c, "z")), "null", "env value: null");
    is_str(mab_claims_env_value(p, json_object_get(c, "a")), "[\"x\",1,true]",
           "env value: array as compact JSON");
    is_str(mab_claims_env_value(p, json_object_get(c, "o")), "{\"k\":{\"v\":[1,2]}}",
           "env value: object as compact JSON");
}

/* mab_claims_validate_ex: what an introspection answer may leave out is still checked when
 * present, and the flags change nothing else. */
static void test_validate_flags(apr_pool_t *p)
{
    mab_claim_policy_t pol = policy(p);
    const unsigned both = MAB_CLAIMS_EXP_OPTIONAL | MAB_CLAIMS_ISS_OPTIONAL;
    const char *detail = NULL;
    json_t *c;

    c = claims(p, "{\"aud\":\"api\"}");
    is_int(mab_claims_validate(c, &pol, p, &detail), MAB_ERR_NO_EXP, "no flags: exp required");
    is_int(mab_claims_validate_ex(c, &pol, MAB_CLAIMS_EXP_OPTIONAL, p, &detail), MAB_ERR_ISSUER,
           "EXP_OPTIONAL alone: iss still required");
    is_int(mab_claims_validate_ex(c, &pol, MAB_CLAIMS_ISS_OPTIONAL, p, &detail), MAB_ERR_NO_EXP,
           "ISS_OPTIONAL alone: exp still required");
    is_int(mab_claims_validate_ex(c, &pol, both, p, &detail), MAB_OK,
           "both flags: neither exp nor iss needed");

    c = claims(p, "{\"aud\":\"api\",\"iss\":\"https://other.example/\"}");
    is_int(mab_claims_validate_ex(c, &pol, both, p, &detail), MAB_ERR_ISSUER,
           "ISS_OPTIONAL: a present iss must still match");
    c = claims(p, "{\"aud\":\"api\",\"iss\":7}");
    is_int(mab_claims_validate_ex(c, &pol, both, p, &detail), MAB_ERR_CLAIM_TYPE,
           "ISS_OPTIONAL: a present iss must still be a string");
    c = claims(p, "{\"aud\":\"api\",\"iss\":\"" ISS "\"}");
    is_int(mab_claims_validate_ex(c, &pol, both, p, &detail), MAB_OK,
           "ISS_OPTIONAL: the right iss passes");

    is_int(validate_pol(p, &pol, &detail, "{\"aud\":\"api\",\"iss\":\"" ISS "\",\"exp\":%lld}",
                        NOW - SKEW - 1),
           MAB_ERR_EXPIRED, "(reference) expired with no flags");
    c = claims(p, apr_psprintf(p, "{\"aud\":\"api\",\"exp\":%" APR_INT64_T_FMT "}",
                               (apr_int64_t)(NOW - SKEW - 1)));
    is_int(mab_claims_validate_ex(c, &pol, both, p, &detail), MAB_ERR_EXPIRED,
           "EXP_OPTIONAL: a present exp past the skew still expires");
    c = claims(p, "{\"aud\":\"api\",\"exp\":\"soon\"}");
    is_int(mab_claims_validate_ex(c, &pol, both, p, &detail), MAB_ERR_CLAIM_TYPE,
           "EXP_OPTIONAL: a present exp must still be a number");
    c = claims(p, apr_psprintf(p, "{\"aud\":\"api\",\"nbf\":%" APR_INT64_T_FMT "}",
                               (apr_int64_t)(NOW + SKEW + 1)));
    is_int(mab_claims_validate_ex(c, &pol, both, p, &detail), MAB_ERR_NOT_YET_VALID,
           "flags: nbf still checked");
    c = claims(p, "{\"aud\":\"other\"}");
    is_int(mab_claims_validate_ex(c, &pol, both, p, &detail), MAB_ERR_AUDIENCE,
           "flags: aud still checked");
    c = claims(p, "{}");
    is_int(mab_claims_validate_ex(c, &pol, both, p, &detail), MAB_ERR_AUDIENCE,
           "flags: aud still required");
}

int main(void)
{
    apr_pool_t *p = test_setup();

    test_parse(p);
    test_validate(p);
    test_scopes(p);
    test_match(p);
    test_match_numbers(p);
    test_env(p);
    test_pointer_names(p);
    test_at_jwt(p);
    test_validate_flags(p);
    apr_pool_destroy(p);
    return tap_done();
}
