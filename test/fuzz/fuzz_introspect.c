/* libFuzzer target: introspection answers and their shared-cache entries.
 *  - the input as a cache entry (bytes another host may have written): decode must never
 *    crash; what it takes is an object whose active agrees with the entry's flag;
 *  - the input as an answer's JSON: mab_introspect_check under a few policies (active
 *    must be true and no cnf/DPoP for a grant, every refusal says why), the user claim,
 *    the cache time (never past exp, never 0 < until <= now), and encode -> decode must
 *    give the same answer back. */
#include "fuzz_common.h"
#include "mab_introspect.h"
#include "mab_json.h"

#include <strings.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000LL

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_global_init(0);
    return 0;
}

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_introspect: %s\n", what);
    abort();
}

static void check_answer(apr_pool_t *p, const json_t *a)
{
    static const char *const users[] = {"sub", "username", "/ext/uid"};
    mab_claim_policy_t cp;
    const json_t *tt;
    size_t i;

    for (i = 0; i < 3; i++) {
        const char *detail = NULL;
        mab_err_e e;

        memset(&cp, 0, sizeof(cp));
        cp.issuer = "https://issuer.example.com";
        cp.audiences = fuzz_audiences;
        cp.audience_any = i == 1;
        cp.skew = i == 2 ? 0 : 60;
        cp.now = NOW;
        cp.access_token_jwt = i == 2;
        e = mab_introspect_check(a, &cp, p, &detail);
        if ((unsigned)e >= MAB_ERR__COUNT) {
            fail("verdict out of range");
        }
        if (e != MAB_OK && !detail) {
            fail("a refusal without a detail");
        }
        if (e == MAB_OK) {
            tt = json_object_get(a, "token_type");
            if (!json_is_true(json_object_get(a, "active"))) {
                fail("granted without active: true");
            }
            if (json_object_get(a, "cnf")
                || (json_is_string(tt) && strcasecmp(json_string_value(tt), "dpop") == 0)) {
                fail("granted a sender-constrained token");
            }
        }
    }
    for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
        (void)mab_introspect_user(a, users[i]);
    }
}

static void check_until(const json_t *a)
{
    int active = json_is_true(json_object_get(a, "active"));
    const json_t *exp = json_object_get(a, "exp");
    long long until = mab_introspect_cache_until(active, a, NOW, 60);

    if (until != 0 && (until <= NOW || until > NOW + 60)) {
        fail("cache time outside (now, now + cache]");
    }
    if (!active && until > NOW + MAB_INTROSPECT_INACTIVE_TTL) {
        fail("inactive answer kept longer than the inactive TTL");
    }
    if (active && until && json_is_number(exp) && (double)until > json_number_value(exp)) {
        fail("active answer kept past its exp");
    }
    if (mab_introspect_cache_until(active, a, NOW, 0) != 0) {
        fail("cache 0 stored something");
    }
}

static void round_trip(apr_pool_t *p, const json_t *a)
{
    unsigned char *b = NULL;
    apr_size_t n = mab_introspect_entry_encode(p, a, NOW + 5, &b);
    json_t *back = NULL;
    long long exp = 0;
    int active = -1;

    if (!n) {
        return; /* too large, or jansson out of memory */
    }
    if (!mab_introspect_entry_decode(b, n, p, &back, &exp, &active)) {
        fail("an encoded answer does not decode");
    }
    if (exp != NOW + 5 || active != json_is_true(json_object_get(a, "active"))) {
        fail("expiry or active changed on the way");
    }
    if (!json_equal((json_t *)a, back)) {
        fail("the answer changed on the way");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_new();
    const char *detail = NULL;
    json_t *a = NULL;
    long long exp = 0;
    int active = -1;

    if (mab_introspect_entry_decode(data, size, p, &a, &exp, &active)) {
        if (!json_is_object(a) || active != json_is_true(json_object_get(a, "active"))) {
            fail("decoded an entry that contradicts itself");
        }
        check_answer(p, a);
        check_until(a);
    }
    a = mab_claims_parse(p, data, size, &detail);
    if (a) {
        check_answer(p, a);
        check_until(a);
        round_trip(p, a);
    }
    else if (!detail) {
        fail("a refused answer without a detail");
    }
    fuzz_pool_done(p);
    return 0;
}
