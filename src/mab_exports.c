#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mab_claims.h"
#include "mab_exports.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

/* The text of one value: a string's own bytes, or a malloc'd dump the caller frees. */
typedef struct {
    const char *text;
    size_t len;
    char *dumped;
} text_t;

static int text_of(const json_t *v, text_t *t)
{
    if (json_is_string(v)) {
        t->text = json_string_value(v);
        t->len = json_string_length(v);
        t->dumped = NULL;
        return 0;
    }
    t->dumped = json_dumps(v, DUMP_FLAGS);
    if (!t->dumped) {
        return -1;
    }
    t->text = t->dumped;
    t->len = strlen(t->dumped);
    return 0;
}

static char *put(char **cursor, const char *s, size_t len)
{
    char *out = *cursor;

    memcpy(out, s, len);
    out[len] = '\0';
    *cursor += len + 1;
    return out;
}

/* Claims whose names differ only outside [A-Za-z0-9_] ("a-b", "a.b") share a variable:
 * the later claim's value wins, in the earlier one's place, as setting them in turn
 * would have it. Leaves every name once, so they can be added without a search. The
 * quadratic walk runs once per token, over at most a few hundred claims (the token size
 * limit bounds them). */
static size_t unique(mab_export_t *v, size_t n)
{
    size_t i, j, kept = 0;

    for (j = 0; j < n; j++) {
        for (i = 0; i < kept; i++) {
            if (strcmp(v[i].name, v[j].name) == 0) {
                v[i].value = v[j].value;
                break;
            }
        }
        if (i == kept) {
            v[kept++] = v[j];
        }
    }
    return kept;
}

mab_exports_t *mab_exports_build(const json_t *claims)
{
    size_t n = json_object_size(claims), i = 0, bytes;
    text_t *texts, all = {NULL, 0, NULL};
    mab_exports_t *x = NULL;
    const char *name;
    json_t *value;
    char *cursor;

    if (!json_is_object(claims)) {
        return NULL;
    }
    texts = calloc(n ? n : 1, sizeof(*texts));
    if (!texts || text_of(claims, &all) != 0) {
        free(texts);
        return NULL;
    }
    /* First the sizes, then one block holding the table and every string. */
    bytes = sizeof(*x) + (n ? n - 1 : 0) * sizeof(x->vars[0]) + all.len + 1;
    json_object_foreach ((json_t *)claims, name, value) {
        if (text_of(value, &texts[i]) != 0) {
            goto done;
        }
        bytes += mab_claims_env_name_size(name) + texts[i].len + 1;
        i++;
    }
    x = malloc(bytes);
    if (!x) {
        goto done;
    }
    cursor = (char *)&x->vars[n ? n : 1];
    x->n = n;
    x->claims_json_len = all.len;
    x->claims_json = put(&cursor, all.text, all.len);
    i = 0;
    json_object_foreach ((json_t *)claims, name, value) {
        x->vars[i].name = mab_claims_env_name_write(cursor, name);
        cursor += strlen(cursor) + 1;
        x->vars[i].value = put(&cursor, texts[i].text, texts[i].len);
        i++;
    }
    x->n = unique(x->vars, n);
done:
    while (i > 0) {
        free(texts[--i].dumped);
    }
    free(texts);
    free(all.dumped);
    return x;
}

void mab_exports_free(mab_exports_t *x)
{
    free(x);
}
