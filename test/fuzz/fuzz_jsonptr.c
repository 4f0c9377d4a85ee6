/* libFuzzer target: RFC 6901 JSON Pointers (src/mab_jsonptr.c).
 * Input: "<pointer>\n<JSON document>".
 *  - any pointer on any document: no crash, and a pointer mab_jsonptr_valid() refuses never
 *    resolves;
 *  - for each member of the document's top-level object, the pointer built by escaping its
 *    name ('~' -> "~0", '/' -> "~1") resolves to exactly that member. */
#include "fuzz_common.h"
#include "mab_json.h"
#include "mab_jsonptr.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_global_init(0);
    return 0;
}

static void mismatch(const char *what)
{
    fprintf(stderr, "fuzz_jsonptr: %s\n", what);
    abort();
}

static char *escape(apr_pool_t *p, const char *name)
{
    char *out = apr_palloc(p, 2 * strlen(name) + 2), *o = out;

    *o++ = '/';
    for (; *name; name++) {
        if (*name == '~' || *name == '/') {
            *o++ = '~';
            *o++ = *name == '~' ? '0' : '1';
        }
        else {
            *o++ = *name;
        }
    }
    *o = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_new();
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    char *ptr = apr_pstrmemdup(p, (const char *)data, plen);
    const char *why = NULL, *detail = NULL, *key;
    json_t *doc = NULL, *member;

    if (nl) {
        doc = mab_json_parse_object(p, nl + 1, size - plen - 1, &detail);
    }
    if (doc) {
        const json_t *got = mab_jsonptr_get(doc, ptr);
        if (strlen(ptr) == plen && !mab_jsonptr_valid(ptr, &why) && got) {
            mismatch("an invalid pointer resolved");
        }
        json_object_foreach (doc, key, member) {
            if (mab_jsonptr_get(doc, escape(p, key)) != member) {
                mismatch("the escaped member name did not resolve to the member");
            }
        }
    }
    fuzz_pool_done(p);
    return 0;
}
