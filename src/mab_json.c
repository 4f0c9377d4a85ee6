#include <errno.h>
#include <limits.h>
#include <langinfo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "mab_json.h"

static apr_status_t json_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* A strict JSON parser for the token's header and payload, building jansson values.
 *
 * It accepts exactly what json_loadb(JSON_REJECT_DUPLICATES) accepts, with the same
 * values in the same member order (test_json compares the two on every case it has and
 * on mutations of them, the fuzz_json target on whatever libFuzzer finds): jansson's
 * lexer reads through a per-byte stream with a UTF-8 decoder, a saved-text buffer and a
 * malloc per string, about 150 instructions per byte of a payload, more than the JSON
 * values cost to build. Here a byte of a plain string costs a table look-up.
 *
 * jansson's rules kept: whitespace is space, tab, CR, LF; the top level is an object or
 * an array; strings are valid UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) without raw control characters, with the escapes of RFC 8259 only, surrogate
 * escapes in valid pairs, and no \u0000 (in names or values); numbers are
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, an integer without fraction or exponent
 * (one outside long long is an error), else a double (one that overflows is an error);
 * literals true, false, null; no duplicate member names at any level; at most
 * JSON_PARSER_MAX_DEPTH values open at once. */

enum { C_PLAIN = 0, C_QUOTE, C_ESCAPE, C_CONTROL, C_HIGH };

/* What a byte inside a string needs: nothing (most), the end, an escape, a refusal, or
 * UTF-8 decoding. */
/* clang-format off */
#define ROW(c) c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c
static const unsigned char str_class[256] = {
    ROW(C_CONTROL), ROW(C_CONTROL),
    0, 0, C_QUOTE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x22 '"' */
    ROW(0), ROW(0),
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, C_ESCAPE, 0, 0, 0, /* 0x5c '\\' */
    ROW(0), ROW(0),
    ROW(C_HIGH), ROW(C_HIGH), ROW(C_HIGH), ROW(C_HIGH),
    ROW(C_HIGH), ROW(C_HIGH), ROW(C_HIGH), ROW(C_HIGH)};
/* clang-format on */
#undef ROW

typedef struct {
    const unsigned char *p, *end, *start;
    int open;           /* values being parsed, as jansson counts its depth */
    int containers;     /* objects and arrays open */
    int max_containers; /* the deepest nesting seen */
    const unsigned char *err;
} parser_t;

static void *fail(parser_t *ps)
{
    if (!ps->err) {
        ps->err = ps->p;
    }
    return NULL;
}

static void skip_ws(parser_t *ps)
{
    while (ps->p < ps->end
           && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t')) {
        ps->p++;
    }
}

/* One multi-byte UTF-8 sequence at p (its first byte >= 0x80), as jansson's
 * utf8_check_first and utf8_check_full judge it: its length, or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned char u = p[0];
    size_t n, i;
    long v;

    if (u >= 0xc2 && u <= 0xdf) {
        n = 2;
        v = u & 0x1f;
    }
    else if (u >= 0xe0 && u <= 0xef) {
        n = 3;
        v = u & 0x0f;
    }
    else if (u >= 0xf0 && u <= 0xf4) {
        n = 4;
        v = u & 0x07;
    }
    else {
        return 0; /* a continuation byte, C0/C1 (overlong ASCII), or F5 and above */
    }
    if ((size_t)(end - p) < n) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
        v = (v << 6) | (p[i] & 0x3f);
    }
    if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) || (n == 3 && v < 0x800)
        || (n == 4 && v < 0x10000)) {
        return 0;
    }
    return n;
}

static int hex4(const unsigned char *p, long *out)
{
    long v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= c - '0';
        }
        else if (c >= 'a' && c <= 'f') {
            v |= c - 'a' + 10;
        }
        else if (c >= 'A' && c <= 'F') {
            v |= c - 'A' + 10;
        }
        else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

static size_t utf8_put(unsigned char *o, long cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes the escapes of a string already scanned (raw bytes valid) into out, which has
 * room for len bytes (never more are written: each escape is longer than its bytes). */
static int unescape(const unsigned char *s, size_t len, unsigned char *out, size_t *out_len)
{
    const unsigned char *end = s + len;
    unsigned char *o = out;

    while (s < end) {
        long cp, lo;

        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        s++;
        switch (*s++) {
        case '"':
            *o++ = '"';
            continue;
        case '\\':
            *o++ = '\\';
            continue;
        case '/':
            *o++ = '/';
            continue;
        case 'b':
            *o++ = '\b';
            continue;
        case 'f':
            *o++ = '\f';
            continue;
        case 'n':
            *o++ = '\n';
            continue;
        case 'r':
            *o++ = '\r';
            continue;
        case 't':
            *o++ = '\t';
            continue;
        case 'u':
            break;
        default:
            return -1;
        }
        if (end - s < 4 || hex4(s, &cp) != 0) {
            return -1;
        }
        s += 4;
        if (cp >= 0xd800 && cp <= 0xdbff) {
            /* a high surrogate must be followed by an escaped low one */
            if (end - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) != 0 || lo < 0xdc00
                || lo > 0xdfff) {
                return -1;
            }
            s += 6;
            cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
        }
        else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return -1;
        }
        if (cp == 0) {
            return -1; /* \u0000: jansson refuses it in names and values alike */
        }
        o += utf8_put(o, cp);
    }
    *out_len = (size_t)(o - out);
    return 0;
}

/* A string at ps->p (its opening quote). *s and *len are its bytes: in the input when it
 * has no escapes, else decoded into *owned (malloc'd, the caller frees). */
static int scan_string(parser_t *ps, const char **s, size_t *len, char **owned)
{
    const unsigned char *begin = ++ps->p, *q = begin;
    int escaped = 0;

    *owned = NULL;
    for (;;) {
        if (q >= ps->end) {
            ps->p = q;
            return -1;
        }
        switch (str_class[*q]) {
        case C_PLAIN:
            q++;
            continue;
        case C_QUOTE:
            break;
        case C_ESCAPE:
            /* Validated when decoded; here only skip the escaped byte so a \" is not the
             * end. Whatever follows the backslash must itself be a valid string byte. */
            escaped = 1;
            if (q + 1 >= ps->end || str_class[q[1]] == C_CONTROL || str_class[q[1]] == C_HIGH) {
                ps->p = q;
                return -1;
            }
            q += 2;
            continue;
        case C_HIGH: {
            size_t n = utf8_seq(q, ps->end);
            if (!n) {
                ps->p = q;
                return -1;
            }
            q += n;
            continue;
        }
        default: /* a raw control character */
            ps->p = q;
            return -1;
        }
        break;
    }
    ps->p = q + 1;
    if (!escaped) {
        *s = (const char *)begin;
        *len = (size_t)(q - begin);
        return 0;
    }
    *owned = malloc((size_t)(q - begin) + 1);
    if (!*owned || unescape(begin, (size_t)(q - begin), (unsigned char *)*owned, len) != 0) {
        free(*owned);
        *owned = NULL;
        ps->p = begin;
        return -1;
    }
    (*owned)[*len] = '\0';
    *s = *owned;
    return 0;
}

/* strtod on JSON's notation whatever the locale, as jansson's jsonp_strtod does it
 * (nl_langinfo rather than its localeconv, which rewrites a static buffer per call). */
static int to_double(const unsigned char *s, size_t len, double *out)
{
    char small[64], *buf = len < sizeof(small) ? small : malloc(len + 1);
    const char *point = nl_langinfo(RADIXCHAR);
    char *end = NULL, *dot;
    double v;

    if (!buf) {
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (*point != '.' && (dot = strchr(buf, '.')) != NULL) {
        *dot = *point;
    }
    errno = 0;
    v = strtod(buf, &end);
    if (buf != small) {
        free(buf);
    }
    if ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE) {
        return -1;
    }
    *out = v;
    return 0;
}

static json_t *scan_number(parser_t *ps)
{
    const unsigned char *s = ps->p, *q = s;
    int neg = 0, is_int = 1;

    if (q < ps->end && *q == '-') {
        neg = 1;
        q++;
    }
    if (q < ps->end && *q == '0') {
        q++;
        if (q < ps->end && *q >= '0' && *q <= '9') {
            ps->p = q;
            return fail(ps);
        }
    }
    else if (q < ps->end && *q >= '1' && *q <= '9') {
        while (q < ps->end && *q >= '0' && *q <= '9') {
            q++;
        }
    }
    else {
        ps->p = q;
        return fail(ps);
    }
    if (q < ps->end && *q == '.') {
        is_int = 0;
        q++;
        if (q >= ps->end || *q < '0' || *q > '9') {
            ps->p = q;
            return fail(ps);
        }
        while (q < ps->end && *q >= '0' && *q <= '9') {
            q++;
        }
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        is_int = 0;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) {
            q++;
        }
        if (q >= ps->end || *q < '0' || *q > '9') {
            ps->p = q;
            return fail(ps);
        }
        while (q < ps->end && *q >= '0' && *q <= '9') {
            q++;
        }
    }
    ps->p = q;
    if (is_int) {
        /* strtoll's range: -2^63 .. 2^63 - 1, anything else an error as in jansson */
        unsigned long long acc = 0, limit = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
        const unsigned char *d;

        for (d = s + neg; d < q; d++) {
            unsigned digit = (unsigned)(*d - '0');
            if (acc > (limit - digit) / 10) {
                return fail(ps);
            }
            acc = acc * 10 + digit;
        }
        return json_integer(neg ? (json_int_t)(0 - acc) : (json_int_t)acc);
    }
    {
        double v;
        if (to_double(s, (size_t)(q - s), &v) != 0) {
            return fail(ps);
        }
        return json_real(v);
    }
}

static json_t *parse_value(parser_t *ps);

static json_t *parse_object(parser_t *ps)
{
    json_t *obj = json_object();

    if (!obj) {
        return fail(ps);
    }
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return obj;
    }
    for (;;) {
        const char *key;
        size_t key_len;
        char *owned = NULL, small[64], *name;
        json_t *value;

        if (ps->p >= ps->end || *ps->p != '"' || scan_string(ps, &key, &key_len, &owned) != 0) {
            break;
        }
        /* jansson's 2.10 API wants the name NUL-terminated; it never holds a NUL. */
        if (owned) {
            name = owned;
        }
        else if (key_len < sizeof(small)) {
            memcpy(small, key, key_len);
            small[key_len] = '\0';
            name = small;
        }
        else if ((owned = malloc(key_len + 1)) != NULL) {
            memcpy(owned, key, key_len);
            owned[key_len] = '\0';
            name = owned;
        }
        else {
            break;
        }
        if (json_object_get(obj, name)) {
            free(owned);
            break; /* a duplicate name */
        }
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            free(owned);
            break;
        }
        ps->p++;
        skip_ws(ps);
        value = parse_value(ps);
        if (!value || json_object_set_new_nocheck(obj, name, value) != 0) {
            free(owned);
            break;
        }
        free(owned);
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return obj;
        }
        break;
    }
    json_decref(obj);
    return fail(ps);
}

static json_t *parse_array(parser_t *ps)
{
    json_t *arr = json_array();

    if (!arr) {
        return fail(ps);
    }
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return arr;
    }
    for (;;) {
        json_t *elem = parse_value(ps);

        if (!elem || json_array_append_new(arr, elem) != 0) {
            break;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return arr;
        }
        break;
    }
    json_decref(arr);
    return fail(ps);
}

static int literal(parser_t *ps, const char *word, size_t len)
{
    const unsigned char *q = ps->p + len;

    /* jansson reads the whole run of letters: "truex" is no true */
    if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0
        || (q < ps->end && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))) {
        return 0;
    }
    ps->p = q;
    return 1;
}

static json_t *parse_value(parser_t *ps)
{
    json_t *v = NULL;

    if (ps->p >= ps->end || ++ps->open > JSON_PARSER_MAX_DEPTH) {
        return fail(ps);
    }
    switch (*ps->p) {
    case '{':
    case '[':
        if (++ps->containers > ps->max_containers) {
            ps->max_containers = ps->containers;
        }
        v = *ps->p == '{' ? parse_object(ps) : parse_array(ps);
        ps->containers--;
        break;
    case '"': {
        const char *s;
        size_t len;
        char *owned = NULL;

        if (scan_string(ps, &s, &len, &owned) == 0) {
            v = json_stringn_nocheck(s, len);
            free(owned);
        }
        break;
    }
    case 't':
        v = literal(ps, "true", 4) ? json_true() : NULL;
        break;
    case 'f':
        v = literal(ps, "false", 5) ? json_false() : NULL;
        break;
    case 'n':
        v = literal(ps, "null", 4) ? json_null() : NULL;
        break;
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
            v = scan_number(ps);
        }
        break;
    }
    ps->open--;
    return v ? v : fail(ps);
}

json_t *mab_json_parse_object(apr_pool_t *p, const void *buf, apr_size_t len, const char **detail)
{
    parser_t ps;
    json_t *v = NULL;

    memset(&ps, 0, sizeof(ps));
    ps.start = ps.p = buf;
    ps.end = ps.start + len;
    skip_ws(&ps);
    if (ps.p < ps.end && (*ps.p == '{' || *ps.p == '[')) {
        v = parse_value(&ps);
    }
    if (v) {
        skip_ws(&ps);
        if (ps.p != ps.end) {
            json_decref(v);
            v = NULL;
        }
    }
    if (!v) {
        const unsigned char *at = ps.err ? ps.err : ps.p;
        /* The position only: the input may be anything, and is not quoted. */
        *detail = apr_psprintf(p, "invalid JSON at byte %d", (int)(at - ps.start));
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        *detail = "JSON is not an object";
        return NULL;
    }
    /* Depth counts containers only: a scalar inside the deepest one adds no level. */
    if (ps.max_containers > MAB_MAX_JSON_DEPTH) {
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
