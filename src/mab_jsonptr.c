#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mab_jsonptr.h"

/* Decodes one reference token (ptr[0..len)) into out (at least len + 1 bytes): "~1" is '/',
 * "~0" is '~'. Returns the decoded length, or -1 on any other '~'. Undoing "~1" first and
 * then "~0" would turn "~01" into '/', which RFC 6901 §4 rules out; one pass cannot. */
static long unescape(const char *tok, size_t len, char *out)
{
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        if (tok[i] != '~') {
            out[o++] = tok[i];
        }
        else if (i + 1 < len && (tok[i + 1] == '0' || tok[i + 1] == '1')) {
            out[o++] = tok[i + 1] == '0' ? '~' : '/';
            i++;
        }
        else {
            return -1;
        }
    }
    out[o] = '\0';
    return (long)o;
}

/* An array index (RFC 6901 §4): "0" or digits without a leading zero; -1 otherwise,
 * including "-" (the element after the last one, which never exists to read). */
static long long array_index(const char *tok, size_t len)
{
    long long v = 0;
    size_t i;

    if (len == 0 || (len > 1 && tok[0] == '0') || len > 18) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (tok[i] < '0' || tok[i] > '9') {
            return -1;
        }
        v = v * 10 + (tok[i] - '0');
    }
    return v;
}

int mab_jsonptr_valid(const char *ptr, const char **why)
{
    const char *s;

    if (*ptr && *ptr != '/') {
        *why = "a JSON Pointer starts with '/'";
        return 0;
    }
    for (s = ptr; *s; s++) {
        if (*s == '~' && s[1] != '0' && s[1] != '1') {
            *why = "'~' must be followed by 0 or 1 (~0 is '~', ~1 is '/')";
            return 0;
        }
    }
    return 1;
}

const json_t *mab_jsonptr_get(const json_t *root, const char *ptr)
{
    const json_t *cur = root;
    const char *s = ptr;
    char *buf;

    if (*s && *s != '/') {
        return NULL;
    }
    /* One scratch buffer as long as the whole pointer holds any decoded token. */
    buf = malloc(strlen(ptr) + 1);
    if (!buf) {
        return NULL;
    }
    while (cur && *s == '/') {
        const char *tok = s + 1;
        size_t len = strcspn(tok, "/");
        long n = unescape(tok, len, buf);

        s = tok + len;
        if (n < 0) {
            cur = NULL;
        }
        else if (json_is_object(cur)) {
            /* Member names may contain NUL in JSON, but payloads with one are refused
             * at parse time, so a C string lookup sees every name there is. */
            cur = json_object_get(cur, buf);
        }
        else if (json_is_array(cur)) {
            long long i = array_index(buf, (size_t)n);
            cur = i < 0 ? NULL : json_array_get(cur, (size_t)i);
        }
        else {
            cur = NULL;
        }
    }
    free(buf);
    return cur;
}
