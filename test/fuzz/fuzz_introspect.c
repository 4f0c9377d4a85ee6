/* libFuzzer target: introspection answers and their shared-cache entries.
 *  - the input as a cache entry (bytes another host may have written): decode must never
 *    crash; what it takes is an object whose active agrees with the entry's flag;
 *  - the input as an answer's JSON: mab_introspect_check under a few policies (active
 *    must be true for a grant, every refusal says why); a granted answer with cnf or
 *    token_type DPoP is then refused by the binding when sent as a plain Bearer token
 *    without proof or certificate (mab_binding_check), the user claim,
 *    the cache time (never past exp, never 0 < until <= now), and encode -> decode must
 *    give the same answer back. */
#include "fuzz_common.h"
#include "mab_binding.h"
#include "mab_credential.h"
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

/* The binding's verdict on an accepted answer sent as "Bearer <token>" with no proof and
 * no client certificate, where DPoP and certificate-bound tokens are both on. */
static mab_err_e bearer_binding(apr_pool_t *p, const json_t *a)
{
    static const mab_issuer_t issuer = {"https://issuer.example.com", NULL, NULL, NULL};
    mab_verifier_t v;
    mab_policy_t pol;
    mab_credential_t cred = {MAB_SCHEME_BEARER, "t", 1, NULL};
    mab_verdict_t out;

    memset(&v, 0, sizeof(v));
    memset(&pol, 0, sizeof(pol));
    pol.issuers = &issuer;
    pol.nissuers = 1;
    pol.sender.dpop = MAB_BIND_ON;
    pol.sender.dpop_alg_mask = mab_alg_default_mask();
    pol.sender.dpop_max_age = 60;
    pol.sender.cert_bound = MAB_BIND_ON;
    memset(&out, 0, sizeof(out));
    out.claims = (json_t *)a;
    out.cnf = json_object_get(a, "cnf");
    out.introspected = 1;
    out.issuer = &issuer;
    out.err = MAB_OK;
    mab_binding_check(&v, &pol, &cred, NOW, p, &out);
    return out.err;
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
            if ((json_object_get(a, "cnf")
                 || (json_is_string(tt) && strcasecmp(json_string_value(tt), "dpop") == 0))
                && bearer_binding(p, a) == MAB_OK) {
                fail("granted a sender-constrained token as a plain bearer token");
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
