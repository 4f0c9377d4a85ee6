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

static const char var_prefix[] = "BEARER_CLAIM_";

/* Whether `claim` is exactly the lower-case form of its variable's suffix: "sub" for
 * BEARER_CLAIM_SUB, "a_b" for BEARER_CLAIM_A_B. */
static int canonical(const char *claim, const char *var)
{
    const char *suffix = var + sizeof(var_prefix) - 1;

    for (; *claim && *suffix; claim++, suffix++) {
        char want = *suffix >= 'A' && *suffix <= 'Z' ? (char)(*suffix - 'A' + 'a') : *suffix;
        if (*claim != want) {
            return 0;
        }
    }
    return *claim == '\0' && *suffix == '\0';
}

/* Claims whose names fold to one variable ("sub" and "SUB", "a-b" and "a.b") would let
 * whichever the issuer put last override the one an application reads ("SUB":"admin"
 * over "sub":"alice" while REMOTE_USER is alice). So of a clash only the claim whose name
 * is the variable's own lower-case form is exported, in the first one's place; without
 * one, the variable is not set at all. Leaves every name once, so they can be added
 * without a search. The quadratic walk runs once per token, over at most a few hundred
 * claims (the token size limit bounds them). `state` is scratch space for n entries. */
static size_t unique(mab_export_t *v, const char **claim, unsigned char *state, size_t n)
{
    enum { ONE = 0, CLASH = 1, WON = 2 };
    size_t i, j, kept = 0;

    for (j = 0; j < n; j++) {
        int canon = canonical(claim[j], v[j].name);
        for (i = 0; i < kept; i++) {
            if (strcmp(v[i].name, v[j].name) == 0) {
                break;
            }
        }
        if (i == kept) {
            v[kept] = v[j];
            state[kept++] = canon ? WON : ONE;
            continue;
        }
        if (canon) {
            v[i].value = v[j].value;
            state[i] = WON;
        }
        else if (state[i] == ONE) {
            state[i] = CLASH; /* contested, and no canonical claim so far */
        }
    }
    for (i = 0, j = 0; i < kept; i++) {
        if (state[i] != CLASH) {
            v[j++] = v[i];
        }
    }
    return j;
}

mab_exports_t *mab_exports_build(const json_t *claims)
{
    size_t n = json_object_size(claims), i = 0, bytes;
    text_t *texts, all = {NULL, 0, NULL};
    const char **names;
    unsigned char *state;
    mab_exports_t *x = NULL;
    const char *name;
    json_t *value;
    char *cursor;

    if (!json_is_object(claims)) {
        return NULL;
    }
    texts = calloc(n ? n : 1, sizeof(*texts));
    names = calloc(n ? n : 1, sizeof(*names));
    state = calloc(n ? n : 1, 1);
    if (!texts || !names || !state || text_of(claims, &all) != 0) {
        free(texts);
        free(names);
        free(state);
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
        names[i] = name;
        x->vars[i].name = mab_claims_env_name_write(cursor, name);
        cursor += strlen(cursor) + 1;
        x->vars[i].value = put(&cursor, texts[i].text, texts[i].len);
        i++;
    }
    x->n = unique(x->vars, names, state, n);
done:
    while (i > 0) {
        free(texts[--i].dumped);
    }
    free(texts);
    free(names);
    free(state);
    free(all.dumped);
    return x;
}

void mab_exports_free(mab_exports_t *x)
{
    free(x);
}
