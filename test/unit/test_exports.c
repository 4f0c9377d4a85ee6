/* A token's claims as environment text, written once per token: one variable per claim
 * (strings as they are, everything else compact JSON), BEARER_CLAIMS, and name clashes
 * resolved the way setting the variables in turn would. */
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
    /* "a-b", "a.b" and "A_B" all become BEARER_CLAIM_A_B: the last one's value, once. */
    json_t *c = parse("{\"a-b\":\"first\",\"https://example.com/roles\":[\"admin\"],"
                      "\"a.b\":\"second\",\"A_B\":\"third\",\"\\u20ac\":\"euro\"}");
    mab_exports_t *x = mab_exports_build(c);
    size_t i, clash = 0;

    ok(x != NULL, "names: built");
    is_int((int)x->n, 3, "names: clashing names give one variable");
    for (i = 0; x && i < x->n; i++) {
        clash += strcmp(x->vars[i].name, "BEARER_CLAIM_A_B") == 0;
    }
    is_int((int)clash, 1, "names: BEARER_CLAIM_A_B once");
    is_str(x->vars[0].name, "BEARER_CLAIM_A_B", "names: in the first one's place");
    is_str(x->vars[0].value, "third", "names: with the last one's value");
    is_str(var(x, "BEARER_CLAIM_HTTPS___EXAMPLE_COM_ROLES"), "[\"admin\"]",
           "names: a URL claim name");
    is_str(var(x, "BEARER_CLAIM____"), "euro", "names: each byte outside [A-Z0-9_] is '_'");
    mab_exports_free(x);
    json_decref(c);
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
    test_edges();
    apr_pool_destroy(p);
    return tap_done();
}
