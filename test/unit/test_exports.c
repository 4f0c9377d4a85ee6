/* A token's claims as environment text, written once per token: one variable per claim
 * (strings as they are, everything else compact JSON), BEARER_CLAIMS, and name clashes
 * never letting one claim override another. */
#include <string.h>

#include "mab_exports.h"
#include "tap.h"
#include "testutil.h"

static json_t *parse(const char *text)
{
    json_error_t err;

    return json_loads(text, JSON_REJECT_DUPLICATES, &err);
}

/* The value of variable `name`, or NULL when the exports have none. */
static const char *var(const mab_exports_t *x, const char *name)
{
    size_t i;

    for (i = 0; x && i < x->n; i++) {
        if (strcmp(x->vars[i].name, name) == 0) {
            return x->vars[i].value;
        }
    }
    return NULL;
}

static void test_values(void)
{
    json_t *c = parse("{\"sub\":\"auth0|42\",\"n\":42,\"r\":1.5,\"b\":true,\"z\":null,"
                      "\"aud\":[\"https://api\",\"https://other\"],\"o\":{\"k\":[1,2]},"
                      "\"s\":\"Zo\\u00eb \\\"quoted\\\"\",\"e\":\"\"}");
    mab_exports_t *x = mab_exports_build(c);

    ok(x != NULL, "values: built");
    is_int((int)x->n, 9, "values: one variable per claim");
    is_str(x->vars[0].name, "BEARER_CLAIM_SUB", "values: in the claims' order");
    is_str(var(x, "BEARER_CLAIM_SUB"), "auth0|42", "values: a string as it is");
    is_str(var(x, "BEARER_CLAIM_N"), "42", "values: an integer");
    is_str(var(x, "BEARER_CLAIM_R"), "1.5", "values: a real");
    is_str(var(x, "BEARER_CLAIM_B"), "true", "values: a boolean");
    is_str(var(x, "BEARER_CLAIM_Z"), "null", "values: null");
    is_str(var(x, "BEARER_CLAIM_AUD"), "[\"https://api\",\"https://other\"]",
           "values: an array, compact JSON");
    is_str(var(x, "BEARER_CLAIM_O"), "{\"k\":[1,2]}", "values: an object, compact JSON");
    is_str(var(x, "BEARER_CLAIM_S"), "Zo\xc3\xab \"quoted\"", "values: UTF-8 and quotes kept");
    is_str(var(x, "BEARER_CLAIM_E"), "", "values: an empty string");
    {
        char *whole = json_dumps(c, JSON_COMPACT);
        is_str(x->claims_json, whole, "BEARER_CLAIMS: the whole payload, compact");
        is_int((int)x->claims_json_len, (int)strlen(whole), "BEARER_CLAIMS: its length");
        free(whole);
    }
    mab_exports_free(x);
    json_decref(c);
}

static void test_names(void)
{
    /* "a-b", "a.b" and "A_B" all become BEARER_CLAIM_A_B and none is "a_b": not set. */
    json_t *c = parse("{\"a-b\":\"first\",\"https://example.com/roles\":[\"admin\"],"
                      "\"a.b\":\"second\",\"A_B\":\"third\",\"\\u20ac\":\"euro\"}");
    mab_exports_t *x = mab_exports_build(c);

    ok(x != NULL, "names: built");
    is_int((int)x->n, 2, "names: clashing names without a canonical one give no variable");
    ok(var(x, "BEARER_CLAIM_A_B") == NULL, "names: BEARER_CLAIM_A_B not set");
    is_str(x->vars[0].name, "BEARER_CLAIM_HTTPS___EXAMPLE_COM_ROLES", "names: order kept");
    is_str(var(x, "BEARER_CLAIM_HTTPS___EXAMPLE_COM_ROLES"), "[\"admin\"]",
           "names: a URL claim name");
    is_str(var(x, "BEARER_CLAIM____"), "euro", "names: each byte outside [A-Z0-9_] is '_'");
    mab_exports_free(x);
    json_decref(c);
}

/* A claim that folds onto another must not override it: "SUB":"admin" beside "sub":"alice"
 * (REMOTE_USER alice) would tell the application the user is admin. */
static void test_clashes(void)
{
    static const struct {
        const char *json, *var, *want, *what;
        size_t n;
    } cases[] = {
        {"{\"sub\":\"alice\",\"SUB\":\"admin\"}", "BEARER_CLAIM_SUB", "alice", "sub then SUB", 1},
        {"{\"SUB\":\"admin\",\"sub\":\"alice\"}", "BEARER_CLAIM_SUB", "alice", "SUB then sub", 1},
        {"{\"Sub\":\"x\",\"SUB\":\"admin\",\"sub\":\"alice\",\"s-u-b\":\"y\"}", "BEARER_CLAIM_SUB",
         "alice", "sub among Sub, SUB (s-u-b is another name)", 2},
        {"{\"SUB\":\"admin\",\"Sub\":\"alice\"}", "BEARER_CLAIM_SUB", NULL,
         "SUB and Sub, no sub: not set", 0},
        {"{\"SUB\":\"admin\"}", "BEARER_CLAIM_SUB", "admin", "SUB alone: set", 1},
        {"{\"a-b\":\"dash\"}", "BEARER_CLAIM_A_B", "dash", "a-b alone: set", 1},
        {"{\"a-b\":\"dash\",\"a_b\":\"canon\",\"a.b\":\"dot\"}", "BEARER_CLAIM_A_B", "canon",
         "a_b among a-b, a.b", 1},
        {"{\"x\":1,\"a-b\":2,\"a.b\":3,\"y\":4}", "BEARER_CLAIM_A_B", NULL,
         "a-b and a.b: not set, the others kept", 2},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *c = parse(cases[i].json);
        mab_exports_t *x = c ? mab_exports_build(c) : NULL;
        const char *got = var(x, cases[i].var);

        if (!ok(x != NULL, "clash %s: built", cases[i].what)) {
            json_decref(c);
            continue;
        }
        if (cases[i].want) {
            is_str(got, cases[i].want, "clash %s: %s", cases[i].what, cases[i].var);
        }
        else {
            ok(got == NULL, "clash %s: %s not set", cases[i].what, cases[i].var);
        }
        is_int((int)x->n, (int)cases[i].n, "clash %s: %d variable(s)", cases[i].what,
               (int)cases[i].n);
        mab_exports_free(x);
        json_decref(c);
    }
}

static void test_edges(void)
{
    json_t *empty = json_object(), *arr = json_array(), *many = json_object();
    mab_exports_t *x;
    int i;

    x = mab_exports_build(empty);
    ok(x && x->n == 0 && strcmp(x->claims_json, "{}") == 0, "edges: no claims");
    mab_exports_free(x);
    ok(mab_exports_build(arr) == NULL, "edges: not an object");
    ok(mab_exports_build(NULL) == NULL, "edges: nothing");
    for (i = 0; i < 300; i++) {
        char name[16];
        snprintf(name, sizeof(name), "c%d", i);
        json_object_set_new(many, name, json_integer(i));
    }
    x = mab_exports_build(many);
    ok(x && x->n == 300, "edges: 300 claims");
    is_str(var(x, "BEARER_CLAIM_C299"), "299", "edges: the last of them");
    mab_exports_free(x);
    mab_exports_free(NULL);
    json_decref(empty);
    json_decref(arr);
    json_decref(many);
}

int main(void)
{
    apr_pool_t *p = test_setup();

    test_values();
    test_names();
    test_clashes();
    test_edges();
    apr_pool_destroy(p);
    return tap_done();
}
