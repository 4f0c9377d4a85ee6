/* RFC 6901 JSON Pointers: the examples of §5, escapes, array indices and what never
 * resolves. */
#include "mab_jsonptr.h"
#include "tap.h"
#include "testutil.h"

/* RFC 6901 §5's example document. */
static const char rfc_doc[] = "{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,"
                              "\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}";

static long long int_at(const json_t *doc, const char *ptr)
{
    const json_t *v = mab_jsonptr_get(doc, ptr);

    return json_is_integer(v) ? (long long)json_integer_value(v) : -999;
}

static const char *str_at(const json_t *doc, const char *ptr)
{
    const json_t *v = mab_jsonptr_get(doc, ptr);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void test_rfc_examples(void)
{
    json_error_t err;
    json_t *doc = json_loads(rfc_doc, 0, &err);

    ok(doc != NULL, "RFC 6901 example document parses");
    ok(mab_jsonptr_get(doc, "") == doc, "\"\" is the whole document");
    ok(json_is_array(mab_jsonptr_get(doc, "/foo")), "/foo is the array");
    is_str(str_at(doc, "/foo/0"), "bar", "/foo/0");
    is_str(str_at(doc, "/foo/1"), "baz", "/foo/1");
    is_int(int_at(doc, "/"), 0, "/ is the member with the empty name");
    is_int(int_at(doc, "/a~1b"), 1, "/a~1b is a/b");
    is_int(int_at(doc, "/c%d"), 2, "/c%%d");
    is_int(int_at(doc, "/e^f"), 3, "/e^f");
    is_int(int_at(doc, "/g|h"), 4, "/g|h");
    is_int(int_at(doc, "/i\\j"), 5, "/i\\j");
    is_int(int_at(doc, "/k\"l"), 6, "/k\"l");
    is_int(int_at(doc, "/ "), 7, "/ (a space)");
    is_int(int_at(doc, "/m~0n"), 8, "/m~0n is m~n");
    json_decref(doc);
}

static void test_nested(void)
{
    json_error_t err;
    json_t *doc =
        json_loads("{\"realm_access\":{\"roles\":[\"admin\",\"user\"]},\"a\":{\"b\":{\"c\":true}},"
                   "\"~1\":\"tilde-one\",\"/\":\"slash\",\"x\":{\"\":{\"\":\"empty-empty\"}},"
                   "\"arr\":[[10,11],[20]],\"https://example.com/roles\":[\"editor\"],"
                   "\"dotted.name\":{\"k\":\"v\"},\"n\":42}",
                   0, &err);

    ok(doc != NULL, "nested document parses");
    ok(json_is_array(mab_jsonptr_get(doc, "/realm_access/roles")), "/realm_access/roles");
    is_str(str_at(doc, "/realm_access/roles/1"), "user", "/realm_access/roles/1");
    ok(json_is_true(mab_jsonptr_get(doc, "/a/b/c")), "/a/b/c is true");
    is_str(str_at(doc, "/~01"), "tilde-one", "/~01 is the member \"~1\" (not '/')");
    is_str(str_at(doc, "/~1"), "slash", "/~1 is the member \"/\"");
    is_str(str_at(doc, "/x//"), "empty-empty", "/x// walks two empty member names");
    is_int(int_at(doc, "/arr/0/1"), 11, "/arr/0/1");
    is_int(int_at(doc, "/arr/1/0"), 20, "/arr/1/0");
    ok(json_is_array(mab_jsonptr_get(doc, "/https:~1~1example.com~1roles")),
       "URL-named member via ~1 escapes");
    is_str(str_at(doc, "/dotted.name/k"), "v", "dots are plain characters");

    ok(mab_jsonptr_get(doc, "/missing") == NULL, "missing member");
    ok(mab_jsonptr_get(doc, "/realm_access/missing") == NULL, "missing nested member");
    ok(mab_jsonptr_get(doc, "/realm_access/roles/2") == NULL, "index past the end");
    ok(mab_jsonptr_get(doc, "/realm_access/roles/-") == NULL, "\"-\" never resolves");
    ok(mab_jsonptr_get(doc, "/realm_access/roles/01") == NULL, "leading zero is not an index");
    ok(mab_jsonptr_get(doc, "/realm_access/roles/+1") == NULL, "sign is not an index");
    ok(mab_jsonptr_get(doc, "/realm_access/roles/ 1") == NULL, "space is not an index");
    ok(mab_jsonptr_get(doc, "/realm_access/roles/") == NULL, "empty token is not an index");
    ok(mab_jsonptr_get(doc, "/realm_access/roles/99999999999999999999") == NULL,
       "huge index does not wrap");
    ok(mab_jsonptr_get(doc, "/realm_access/roles/admin") == NULL, "name into an array");
    ok(mab_jsonptr_get(doc, "/n/0") == NULL, "into a number");
    ok(mab_jsonptr_get(doc, "/realm_access/roles/0/x") == NULL, "into a string");
    ok(mab_jsonptr_get(doc, "/m~2n") == NULL, "bad escape ~2");
    ok(mab_jsonptr_get(doc, "/m~") == NULL, "trailing ~");
    ok(mab_jsonptr_get(doc, "n") == NULL, "no leading '/' is not a pointer");
    json_decref(doc);
}

static void test_valid(void)
{
    const char *why = NULL;

    is_int(mab_jsonptr_valid("", &why), 1, "valid: empty");
    is_int(mab_jsonptr_valid("/a/b~0~1/0", &why), 1, "valid: escapes and index");
    is_int(mab_jsonptr_valid("/", &why), 1, "valid: /");
    why = NULL;
    is_int(mab_jsonptr_valid("a/b", &why), 0, "invalid: no leading /");
    ok(why != NULL, "invalid: a reason");
    is_int(mab_jsonptr_valid("/a~2", &why), 0, "invalid: ~2");
    is_int(mab_jsonptr_valid("/a~", &why), 0, "invalid: trailing ~");
    is_int(mab_jsonptr_valid("/a~~0", &why), 0, "invalid: ~~");
}

int main(void)
{
    apr_pool_t *p = test_setup();

    test_rfc_examples();
    test_nested();
    test_valid();
    apr_pool_destroy(p);
    return tap_done();
}
