#include <stdlib.h>

#include <apr_strings.h>
#include <jansson.h>

#include "mab_json.h"

static apr_status_t json_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

static int depth_ok(const json_t *v, int depth)
{
    const char *key;
    json_t *child;
    size_t i;

    /* Depth counts containers only: a scalar inside the deepest one adds no level. */
    if ((json_is_object(v) || json_is_array(v)) && depth > MAB_MAX_JSON_DEPTH) {
        return 0;
    }
    if (json_is_object(v)) {
        /* jansson's iteration macros take non-const values; nothing is modified. */
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

json_t *mab_json_parse_object(apr_pool_t *p, const void *buf, apr_size_t len, const char **detail)
{
    json_error_t jerr;
    json_t *v;

    /* Without JSON_ALLOW_NUL jansson refuses \u0000; it always validates UTF-8. */
    v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        /* jerr.text can quote the input; a position is enough and leaks nothing. */
        *detail = apr_psprintf(p, "invalid JSON at byte %d", jerr.position);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        *detail = "JSON is not an object";
        return NULL;
    }
    if (!depth_ok(v, 1)) {
        json_decref(v);
        *detail = "JSON is nested too deeply";
        return NULL;
    }
    apr_pool_cleanup_register(p, v, json_cleanup, apr_pool_cleanup_null);
    return v;
}

void mab_json_disown(apr_pool_t *p, json_t *v)
{
    apr_pool_cleanup_kill(p, v, json_cleanup);
}

void mab_json_own(apr_pool_t *p, json_t *v)
{
    apr_pool_cleanup_register(p, v, json_cleanup, apr_pool_cleanup_null);
}

char *mab_json_compact(apr_pool_t *p, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *copy;

    if (!s) {
        return apr_pstrdup(p, "");
    }
    copy = apr_pstrdup(p, s);
    free(s);
    return copy;
}
