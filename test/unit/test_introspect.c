/* Introspection answers (src/mab_introspect.c): what an answer grants and every reason it
 * does not, whose it is, the cache key, how long it is kept, and the cache entry's
 * encoding, which must read anything corrupt or foreign as absent. */
#include "mab_introspect.h"
#include "mab_json.h"
#include "tap.h"
#include "testutil.h"

#define NOW 1700000000LL
#define SKEW 30L
#define ISS "https://as.example/"

static json_t *answer(apr_pool_t *p, const char *text)
{
    const char *detail = NULL;
    json_t *a = mab_claims_parse(p, (const unsigned char *)text, strlen(text), &detail);

    if (!a) {
        printf("# test answer does not parse (%s): %s\n", detail ? detail : "?", text);
    }
    return a;
}

/* An answer from a printf format: NOW-relative times go in as %lld. */
static json_t *answerf(apr_pool_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *answerf(apr_pool_t *p, const char *fmt, ...)
{
    char text[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return answer(p, text);
}

static mab_claim_policy_t policy(apr_pool_t *p)
{
    mab_claim_policy_t cp;
    apr_array_header_t *auds = apr_array_make(p, 2, sizeof(const char *));

    APR_ARRAY_PUSH(auds, const char *) = "api";
    APR_ARRAY_PUSH(auds, const char *) = "https://api.example/";
    memset(&cp, 0, sizeof(cp));
    cp.issuer = ISS;
    cp.audiences = auds;
    cp.skew = SKEW;
    cp.now = NOW;
    return cp;
}

/* The verdict, and that a refusal always says why. */
static mab_err_e check(apr_pool_t *p, const mab_claim_policy_t *cp, const json_t *a)
{
    const char *detail = "unset";
    mab_err_e e;

    if (!a) {
        return MAB_ERR__COUNT;
    }
    e = mab_introspect_check(a, cp, p, &detail);
    if (e != MAB_OK && (!detail || !*detail)) {
        printf("#   refusal %d without a detail\n", (int)e);
        return MAB_ERR__COUNT;
    }
    if (e == MAB_OK && detail) {
        printf("#   success with a detail: %s\n", detail);
        return MAB_ERR__COUNT;
    }
    return e;
}

static void test_check(apr_pool_t *p)
{
    mab_claim_policy_t cp = policy(p), any = cp, at = cp;
    const char *detail = NULL;

    any.audience_any = 1;
    at.access_token_jwt = 1;

    is_int(check(p, &cp, answer(p, "{\"active\":true,\"aud\":\"api\"}")), MAB_OK,
           "active true with a configured aud: granted");
    is_int(check(p, &cp,
                 answerf(p,
                         "{\"active\":true,\"aud\":[\"x\",\"https://api.example/\"],"
                         "\"iss\":\"" ISS "\",\"exp\":%lld,\"nbf\":%lld,\"iat\":%lld,"
                         "\"sub\":\"alice\",\"scope\":\"read write\","
                         "\"token_type\":\"Bearer\",\"client_id\":\"c\"}",
                         NOW + 60, NOW - 10, NOW - 10)),
           MAB_OK, "a full RFC 7662 answer: granted");

    /* active */
    is_int(check(p, &cp, answer(p, "{\"active\":false,\"aud\":\"api\"}")), MAB_ERR_INACTIVE,
           "active false: inactive");
    mab_introspect_check(answer(p, "{\"active\":false}"), &cp, p, &detail);
    is_str(detail, "introspection answer is active: false", "active false: the detail");
    is_int(check(p, &cp, answer(p, "{\"aud\":\"api\"}")), MAB_ERR_INACTIVE,
           "no active member: inactive");
    is_int(check(p, &cp, answer(p, "{\"active\":\"true\",\"aud\":\"api\"}")), MAB_ERR_INACTIVE,
           "active \"true\" (a string): inactive");
    is_int(check(p, &cp, answer(p, "{\"active\":1,\"aud\":\"api\"}")), MAB_ERR_INACTIVE,
           "active 1: inactive");
    is_int(check(p, &cp, answer(p, "{\"active\":null,\"aud\":\"api\"}")), MAB_ERR_INACTIVE,
           "active null: inactive");
    is_int(check(p, &cp, answer(p, "{\"active\":[true],\"aud\":\"api\"}")), MAB_ERR_INACTIVE,
           "active [true]: inactive");
    is_int(check(p, &cp, answer(p, "{\"active\":false,\"cnf\":{\"jkt\":\"x\"}}")), MAB_ERR_INACTIVE,
           "inactive and bound: inactive is the reason");
    is_str(mab_err_desc(MAB_ERR_INACTIVE), "token is not active", "its description");
    is_str(mab_err_rfc6750(MAB_ERR_INACTIVE), "invalid_token", "its RFC 6750 code");

    /* sender-constrained: the answer's cnf and token_type are the binding's to judge with
     * the request (test_binding.c); the answer itself stands */
    is_int(check(p, &cp, answer(p, "{\"active\":true,\"aud\":\"api\",\"cnf\":{\"jkt\":\"x\"}}")),
           MAB_OK, "cnf.jkt (DPoP-bound): left to the binding check");
    is_int(check(p, &cp, answer(p, "{\"active\":true,\"aud\":\"api\",\"token_type\":\"DPoP\"}")),
           MAB_OK, "token_type DPoP: left to the binding check");
    is_int(check(p, &cp, answer(p, "{\"active\":true,\"aud\":\"api\",\"token_type\":\"bearer\"}")),
           MAB_OK, "token_type bearer: granted");
    is_int(check(p, &cp, answer(p, "{\"active\":true,\"aud\":\"api\",\"token_type\":7}")),
           MAB_ERR_CLAIM_TYPE, "token_type not a string: invalid claim type");
    is_str(mab_err_desc(MAB_ERR_SENDER_CONSTRAINED), "sender-constrained token not accepted here",
           "its description");

    /* times */
    is_int(check(p, &cp, answerf(p, "{\"active\":true,\"aud\":\"api\",\"exp\":%lld}", NOW - SKEW)),
           MAB_ERR_EXPIRED, "exp + skew reached: expired");
    is_int(
        check(p, &cp, answerf(p, "{\"active\":true,\"aud\":\"api\",\"exp\":%lld}", NOW - SKEW + 1)),
        MAB_OK, "exp within the skew: granted");
    is_int(check(p, &cp, answer(p, "{\"active\":true,\"aud\":\"api\",\"exp\":\"never\"}")),
           MAB_ERR_CLAIM_TYPE, "exp a string: invalid claim type");
    is_int(check(p, &cp, answer(p, "{\"active\":true,\"aud\":\"api\",\"exp\":1e300}")),
           MAB_ERR_CLAIM_TYPE, "exp past year 9999: invalid claim type");
    is_int(
        check(p, &cp, answerf(p, "{\"active\":true,\"aud\":\"api\",\"nbf\":%lld}", NOW + SKEW + 1)),
        MAB_ERR_NOT_YET_VALID, "nbf beyond the skew: not yet valid");
    is_int(
        check(p, &cp, answerf(p, "{\"active\":true,\"aud\":\"api\",\"iat\":%lld}", NOW + SKEW + 1)),
        MAB_ERR_IAT_FUTURE, "iat beyond the skew: issued in the future");

    /* iss */
    is_int(check(p, &cp, answer(p, "{\"active\":true,\"aud\":\"api\",\"iss\":\"" ISS "\"}")),
           MAB_OK, "the issuer's iss: granted");
    is_int(check(p, &cp, answer(p, "{\"active\":true,\"aud\":\"api\",\"iss\":\"https://as2/\"}")),
           MAB_ERR_ISSUER, "another iss: issuer mismatch");
    is_int(check(p, &cp, answer(p, "{\"active\":true,\"aud\":\"api\",\"iss\":[\"" ISS "\"]}")),
           MAB_ERR_CLAIM_TYPE, "iss an array: invalid claim type");

    /* aud */
    is_int(check(p, &cp, answer(p, "{\"active\":true}")), MAB_ERR_AUDIENCE,
           "no aud: audience mismatch");
    is_int(check(p, &any, answer(p, "{\"active\":true}")), MAB_OK,
           "no aud with AuthBearerAudience *: granted");
    is_int(check(p, &cp, answer(p, "{\"active\":true,\"aud\":\"other\"}")), MAB_ERR_AUDIENCE,
           "another aud: audience mismatch");
    is_int(check(p, &cp, answer(p, "{\"active\":true,\"aud\":[\"other\",\"x\"]}")),
           MAB_ERR_AUDIENCE, "an aud array without ours: audience mismatch");
    is_int(check(p, &cp, answer(p, "{\"active\":true,\"aud\":[\"api\",3]}")), MAB_ERR_CLAIM_TYPE,
           "an aud array with a number: invalid claim type");

    /* RFC 9068 applies to JWTs only */
    is_int(check(p, &at, answer(p, "{\"active\":true,\"aud\":\"api\"}")), MAB_OK,
           "AuthBearerTokenType at+jwt: no RFC 9068 claims asked of an answer");
    ok(at.access_token_jwt == 1, "the caller's policy is left as it was");
}

static void test_user(apr_pool_t *p)
{
    json_t *a;

    a = answer(p, "{\"active\":true,\"sub\":\"alice\",\"username\":\"al\",\"client_id\":\"c\"}");
    is_str(mab_introspect_user(a, "sub"), "alice", "sub when present");
    is_str(mab_introspect_user(a, "username"), "al", "a named claim");
    a = answer(p, "{\"active\":true,\"username\":\"al\",\"client_id\":\"c\"}");
    is_str(mab_introspect_user(a, "sub"), "al", "no sub: username");
    a = answer(p, "{\"active\":true,\"client_id\":\"c\"}");
    is_str(mab_introspect_user(a, "sub"), "c", "no sub, no username: client_id");
    a = answer(p, "{\"active\":true,\"username\":5,\"client_id\":\"c\"}");
    is_str(mab_introspect_user(a, "sub"), "c", "username not a string: client_id");
    a = answer(p, "{\"active\":true}");
    ok(mab_introspect_user(a, "sub") == NULL, "none of them: NULL");
    a = answer(p, "{\"active\":true,\"sub\":42,\"username\":\"al\"}");
    ok(mab_introspect_user(a, "sub") == NULL,
       "sub present but not a string: NULL, no fallback to username");
    a = answer(p, "{\"active\":true,\"username\":\"al\",\"client_id\":\"c\"}");
    ok(mab_introspect_user(a, "email") == NULL, "a configured claim that is absent: no fallback");
    a = answer(p, "{\"active\":true,\"ext\":{\"uid\":\"u1\"}}");
    is_str(mab_introspect_user(a, "/ext/uid"), "u1", "a JSON Pointer");
}

static void test_cache_key(void)
{
    unsigned char a[MAB_INTROSPECT_KEY_LEN], b[MAB_INTROSPECT_KEY_LEN];

    ok(mab_introspect_cache_key("https://as/introspect", "tok", 3, a) == 0, "key computed");
    ok(mab_introspect_cache_key("https://as/introspect", "tok", 3, b) == 0
           && memcmp(a, b, sizeof(a)) == 0,
       "the same token at the same endpoint: the same key");
    mab_introspect_cache_key("https://as2/introspect", "tok", 3, b);
    ok(memcmp(a, b, sizeof(a)) != 0, "another endpoint: another key");
    mab_introspect_cache_key("https://as/introspect", "tol", 3, b);
    ok(memcmp(a, b, sizeof(a)) != 0, "another token: another key");
    mab_introspect_cache_key("https://as/introspect", "tokx", 3, b);
    ok(memcmp(a, b, sizeof(a)) == 0, "only len bytes of the token count");
    mab_introspect_cache_key("ab", "c", 1, a);
    mab_introspect_cache_key("a", "bc", 2, b);
    ok(memcmp(a, b, sizeof(a)) != 0, "url and token cannot be cut differently into one key");
}

static void test_cache_until(apr_pool_t *p)
{
    json_t *noexp = answer(p, "{\"active\":true}");

    is_int(mab_introspect_cache_until(1, noexp, NOW, 60), NOW + 60,
           "active without exp: cache_seconds");
    is_int(mab_introspect_cache_until(1, noexp, NOW, 0), 0, "cache 0: not stored");
    is_int(mab_introspect_cache_until(0, noexp, NOW, 0), 0, "cache 0: inactive not stored either");
    is_int(mab_introspect_cache_until(1, noexp, NOW, -1), 0, "negative cache: not stored");
    is_int(mab_introspect_cache_until(1, answerf(p, "{\"active\":true,\"exp\":%lld}", NOW + 20),
                                      NOW, 60),
           NOW + 20, "exp before the cache time: until exp (RFC 7662 section 4)");
    is_int(mab_introspect_cache_until(1, answerf(p, "{\"active\":true,\"exp\":%lld}", NOW + 600),
                                      NOW, 60),
           NOW + 60, "exp after the cache time: cache_seconds");
    is_int(mab_introspect_cache_until(1, answerf(p, "{\"active\":true,\"exp\":%lld.9}", NOW + 20),
                                      NOW, 60),
           NOW + 20, "a fractional exp: rounded down");
    is_int(
        mab_introspect_cache_until(1, answerf(p, "{\"active\":true,\"exp\":%lld}", NOW), NOW, 60),
        0, "exp now: not stored");
    is_int(mab_introspect_cache_until(1, answerf(p, "{\"active\":true,\"exp\":%lld}", NOW - 5), NOW,
                                      60),
           0, "exp past (within the skew): not stored");
    is_int(mab_introspect_cache_until(1, answer(p, "{\"active\":true,\"exp\":\"x\"}"), NOW, 60), 0,
           "exp not a number: not stored");
    is_int(mab_introspect_cache_until(1, answer(p, "{\"active\":true,\"exp\":-1}"), NOW, 60), 0,
           "exp negative: not stored");
    is_int(mab_introspect_cache_until(1, answer(p, "{\"active\":true,\"exp\":1e300}"), NOW, 60), 0,
           "exp past year 9999: not stored");
    is_int(mab_introspect_cache_until(0, answer(p, "{\"active\":false}"), NOW, 60),
           NOW + MAB_INTROSPECT_INACTIVE_TTL, "inactive: 10 s");
    is_int(MAB_INTROSPECT_INACTIVE_TTL, 10, "the inactive figure the README documents");
    is_int(mab_introspect_cache_until(0, answer(p, "{\"active\":false}"), NOW, 4), NOW + 4,
           "inactive with a shorter cache: the cache time");
    is_int(mab_introspect_cache_until(0, answerf(p, "{\"active\":false,\"exp\":%lld}", NOW - 100),
                                      NOW, 60),
           NOW + MAB_INTROSPECT_INACTIVE_TTL, "inactive: its exp does not matter");
}

/* Decodes and says whether the entry was taken. */
static int decode(apr_pool_t *p, const unsigned char *b, apr_size_t n)
{
    json_t *a = (json_t *)1;
    long long e = -7;
    int act = -7, got = mab_introspect_entry_decode(b, n, p, &a, &e, &act);

    if (!got && (a != NULL || e != -7 || act != -7)) {
        printf("#   a refused entry changed the outputs\n");
        return -1;
    }
    return got;
}

static void test_entry(apr_pool_t *p)
{
    const char *text = "{\"active\":true,\"sub\":\"al\\u00e9\",\"n\":12345678901234,\"r\":1.5,"
                       "\"aud\":[\"a\",\"b\"],\"o\":{\"k\":null}}";
    json_t *a = answer(p, text), *back = NULL;
    unsigned char *b = NULL, *c;
    long long exp = 0;
    int active = -1;
    apr_size_t n, i;
    char *want, *got;

    n = mab_introspect_entry_encode(p, a, NOW + 60, &b);
    ok(n > MAB_INTROSPECT_ENTRY_HEADER && b, "an active answer encodes");
    is_int(b[0], MAB_INTROSPECT_ENTRY_VERSION, "the first byte is the version");
    ok(mab_introspect_entry_decode(b, n, p, &back, &exp, &active) == 1, "and decodes");
    is_int(exp, NOW + 60, "the expiry comes back");
    is_int(active, 1, "active comes back");
    want = mab_json_compact(p, a);
    got = back ? mab_json_compact(p, back) : NULL;
    is_str(got, want, "the answer comes back member for member");

    n = mab_introspect_entry_encode(p, answer(p, "{\"active\":false}"), -5, &b);
    ok(mab_introspect_entry_decode(b, n, p, &back, &exp, &active) == 1 && active == 0 && exp == -5,
       "an inactive answer (and a negative time) round-trips");

    {
        json_t *arr = json_array();
        ok(mab_introspect_entry_encode(p, arr, NOW, &b) == 0 && b == NULL,
           "not an object: not encoded");
        json_decref(arr);
    }

    /* corrupt and foreign entries */
    n = mab_introspect_entry_encode(p, a, NOW + 60, &b);
    for (i = 0; i < n; i++) {
        if (decode(p, b, i) != 0) {
            break;
        }
    }
    ok(i == n, "every truncation (0 to %lu bytes) decodes as absent", (unsigned long)n - 1);
    ok(decode(p, NULL, 0) == 0, "NULL: absent");
    c = apr_pmemdup(p, b, n + 1);
    c[n] = ' ';
    ok(decode(p, c, n + 1) == 0, "a trailing byte: absent");
    c = apr_pmemdup(p, b, n);
    c[0] = MAB_INTROSPECT_ENTRY_VERSION + 1;
    ok(decode(p, c, n) == 0, "another version: absent");
    c = apr_pmemdup(p, b, n);
    c[1] |= 0x80;
    ok(decode(p, c, n) == 0, "an unknown flag: absent");
    c = apr_pmemdup(p, b, n);
    c[1] = 0;
    ok(decode(p, c, n) == 0, "flag inactive, JSON active: absent");
    n = mab_introspect_entry_encode(p, answer(p, "{\"active\":false}"), NOW, &b);
    c = apr_pmemdup(p, b, n);
    c[1] = 1;
    ok(decode(p, c, n) == 0, "flag active, JSON inactive: absent");
    n = mab_introspect_entry_encode(p, a, NOW + 60, &b);
    c = apr_pmemdup(p, b, n);
    c[10] = 0xff;
    ok(decode(p, c, n) == 0, "a length that does not add up: absent");
    c = apr_pmemdup(p, b, n);
    c[13] ^= 1;
    ok(decode(p, c, n) == 0, "a length one off: absent");
    c = apr_pmemdup(p, b, n);
    c[MAB_INTROSPECT_ENTRY_HEADER] = '[';
    ok(decode(p, c, n) == 0, "JSON that does not parse: absent");
    {
        static const char dup[] = "{\"active\":true,\"active\":false}";
        unsigned char e[MAB_INTROSPECT_ENTRY_HEADER + sizeof(dup) - 1];
        memcpy(e, b, MAB_INTROSPECT_ENTRY_HEADER);
        e[10] = e[11] = e[12] = 0;
        e[13] = (unsigned char)(sizeof(dup) - 1);
        memcpy(e + MAB_INTROSPECT_ENTRY_HEADER, dup, sizeof(dup) - 1);
        ok(decode(p, e, sizeof(e)) == 0, "duplicate members (strict parse): absent");
    }
    {
        static const char arr[] = "[true]";
        unsigned char e[MAB_INTROSPECT_ENTRY_HEADER + sizeof(arr) - 1];
        memcpy(e, b, MAB_INTROSPECT_ENTRY_HEADER);
        e[10] = e[11] = e[12] = 0;
        e[13] = (unsigned char)(sizeof(arr) - 1);
        memcpy(e + MAB_INTROSPECT_ENTRY_HEADER, arr, sizeof(arr) - 1);
        ok(decode(p, e, sizeof(e)) == 0, "a JSON array: absent");
    }
    ok(decode(p, (const unsigned char *)"{\"active\":true}", 15) == 0,
       "bare JSON (another module's value): absent");
    {
        /* a valid entry holds no token, only what the server said */
        json_t *t = answer(p, "{\"active\":true,\"sub\":\"s\"}");
        n = mab_introspect_entry_encode(p, t, NOW, &b);
        is_int(n, MAB_INTROSPECT_ENTRY_HEADER + strlen("{\"active\":true,\"sub\":\"s\"}"),
               "the entry is the header and the compact answer, nothing else");
    }
}

int main(void)
{
    apr_pool_t *p = test_setup();

    test_check(p);
    test_user(p);
    test_cache_key();
    test_cache_until(p);
    test_entry(p);
    apr_pool_destroy(p);
    return tap_done();
}
