/* libFuzzer target: mab_json_parse_object against jansson's parser, the reference it
 * replaces (json_loadb with JSON_REJECT_DUPLICATES, an object, at most
 * MAB_MAX_JSON_DEPTH containers deep): both refuse for the same reason, or both accept
 * with the same values in the same member order. */
#include "fuzz_common.h"
#include "mab_json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_global_init(0);
    return 0;
}

static int depth_ok(const json_t *v, int depth)
{
    const char *key;
    json_t *child;
    size_t i;

    if ((json_is_object(v) || json_is_array(v)) && depth > MAB_MAX_JSON_DEPTH) {
        return 0;
    }
    if (json_is_object(v)) {
        json_object_foreach ((json_t *)v, key, child) {
            if (!depth_ok(child, depth + 1)) {
                return 0;
            }
        }
    }
    else if (json_is_array(v)) {
        json_array_foreach ((json_t *)v, i, child) {
            if (!depth_ok(child, depth + 1)) {
                return 0;
            }
        }
    }
    return 1;
}

static void mismatch(const char *what, size_t size)
{
    fprintf(stderr, "fuzz_json: %s (input %zu bytes)\n", what, size);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_new();
    json_error_t jerr;
    /* jansson skips a raw NUL byte right after a number or a literal (its stream buffer is
     * NUL-terminated); no raw NUL is accepted now, so the reference refuses them all. */
    json_t *ref = memchr(data, '\0', size)
                      ? NULL
                      : json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    const char *why_ref = "invalid JSON at byte ", *why = NULL;
    json_t *got = mab_json_parse_object(p, data, size, &why);

    if (ref && !json_is_object(ref)) {
        why_ref = "JSON is not an object";
        json_decref(ref);
        ref = NULL;
    }
    else if (ref && !depth_ok(ref, 1)) {
        why_ref = "JSON is nested too deeply";
        json_decref(ref);
        ref = NULL;
    }
    if (!ref != !got) {
        mismatch(ref ? "jansson accepts, mab_json refuses" : "mab_json accepts, jansson refuses",
                 size);
    }
    if (!ref && strncmp(why, why_ref, strlen(why_ref)) != 0) {
        mismatch("refused for another reason", size);
    }
    if (ref) {
        char *a = json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY);
        char *b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!a || !b || strcmp(a, b) != 0 || !json_equal(ref, got)) {
            mismatch("different values or member order", size);
        }
        free(a);
        free(b);
        json_decref(ref);
    }
    fuzz_pool_done(p);
    return 0;
}
