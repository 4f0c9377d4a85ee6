/* mab_json_parse_object against jansson's own parser, the reference it replaces on the
 * token path: json_loadb with JSON_REJECT_DUPLICATES, then "an object" and "nested at
 * most MAB_MAX_JSON_DEPTH containers". For every case and for every one-byte mutation of
 * the cases (deleted, replaced, inserted) both must refuse, or both accept with the same
 * values in the same member order. */
#include <jansson.h>

#include "mab_json.h"
#include "tap.h"
#include "testutil.h"

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

/* The reference: what mab_json_parse_object did with jansson's parser. Except for one
 * thing: jansson skips a raw NUL byte right after a number or a literal (its stream buffer
 * is NUL-terminated, so an un-got NUL reads as "nothing buffered"), and accepted
 * {"exp":1<NUL>}; no raw NUL is ever accepted now, as the README says. */
static json_t *reference(const char *buf, size_t len, const char **why)
{
    json_error_t jerr;
    json_t *v = memchr(buf, '\0', len) ? NULL : json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);

    if (!v) {
        *why = "invalid JSON at byte ";
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        *why = "JSON is not an object";
        return NULL;
    }
    if (!depth_ok(v, 1)) {
        json_decref(v);
        *why = "JSON is nested too deeply";
        return NULL;
    }
    return v;
}

static int cases_run, mismatches;

static void printable(const char *buf, size_t len)
{
    size_t i;

    printf("#   input (%zu bytes): ", len);
    for (i = 0; i < len && i < 200; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c >= 0x20 && c < 0x7f) {
            putchar(c);
        }
        else {
            printf("\\x%02x", c);
        }
    }
    printf("\n");
}

/* Same verdict, same reason, same values: 1 when they agree. */
static int agree(apr_pool_t *p, const char *buf, size_t len)
{
    const char *why_ref = NULL, *why = NULL;
    json_t *ref = reference(buf, len, &why_ref);
    json_t *got = mab_json_parse_object(p, buf, len, &why);
    int same;

    cases_run++;
    if (!ref || !got) {
        same = !ref && !got && strncmp(why, why_ref, strlen(why_ref)) == 0;
    }
    else {
        char *a = json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY);
        char *b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        same = a && b && strcmp(a, b) == 0 && json_equal(ref, got);
        free(a);
        free(b);
    }
    if (!same && mismatches++ < 10) {
        printable(buf, len);
        printf("#   jansson: %s; mab_json: %s\n", ref ? "accepts" : why_ref, got ? "accepts" : why);
    }
    json_decref(ref);
    return same;
}

static const char *const cases[] = {
    "{}",
    " \t\r\n{ \t\r\n} \t\r\n",
    "[]",
    "[{}]",
    "{\"a\":1}",
    "{\"sub\":\"alice\",\"n\":1,\"a\":[1,{\"b\":null}],\"t\":true,\"f\":false}",
    "{\"iss\":\"https://issuer.test/\",\"aud\":[\"a\",\"b\"],\"exp\":4102444800,\"iat\":1.7e9,"
    "\"nbf\":-0,\"x\":-0.0,\"y\":1E+2,\"z\":1e-2,\"w\":0.5}",
    "{\"big\":9223372036854775807,\"small\":-9223372036854775808}",
    "{\"big\":9223372036854775808}",
    "{\"small\":-9223372036854775809}",
    "{\"r\":1e308,\"o\":1e309,\"u\":1e-400}",
    "{\"r\":-1e309}",
    "{\"n\":01}",
    "{\"n\":-}",
    "{\"n\":1.}",
    "{\"n\":.5}",
    "{\"n\":+1}",
    "{\"n\":1e}",
    "{\"n\":1e+}",
    "{\"n\":0x10}",
    "{\"n\":1.5e3x}",
    "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
    "{\"s\":\"\\u00e9\\u20ac\\ud83d\\ude00\"}",
    "{\"s\":\"\\u0000\"}",
    "{\"\\u0000\":1}",
    "{\"s\":\"\\ud800\"}",
    "{\"s\":\"\\udc00\"}",
    "{\"s\":\"\\ud800\\u0041\"}",
    "{\"s\":\"\\ud800x\"}",
    "{\"s\":\"\\uD83D\\uDE00\"}",
    "{\"s\":\"\\u12\"}",
    "{\"s\":\"\\u12g4\"}",
    "{\"s\":\"\\x\"}",
    "{\"s\":\"\\'\"}",
    "{\"s\":\"Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\"}",
    "{\"s\":\"\xc0\xaf\"}",
    "{\"s\":\"\xed\xa0\x80\"}",
    "{\"s\":\"\xf4\x90\x80\x80\"}",
    "{\"s\":\"\xe0\x80\xaf\"}",
    "{\"s\":\"\xf0\x80\x80\xaf\"}",
    "{\"s\":\"\xff\"}",
    "{\"s\":\"\x80\"}",
    "{\"s\":\"\xc3\"}",
    "{\"s\":\"a\tb\"}",
    "{\"s\":\"a\nb\"}",
    "{\"a\":1,\"a\":2}",
    "{\"x\":{\"r\":1,\"r\":2}}",
    "{\"a\":1,\"A\":2,\"a \":3,\"\":4}",
    "{\"\\u0061\":1,\"a\":2}",
    "{\"a\":1,}",
    "{,}",
    "{\"a\"}",
    "{\"a\":}",
    "{\"a\" 1}",
    "{\"a\":1 \"b\":2}",
    "{\"a\":[1,]}",
    "{\"a\":[,1]}",
    "{\"a\":[1 2]}",
    "{\"a\":true1}",
    "{\"a\":truex}",
    "{\"a\":True}",
    "{\"a\":nul}",
    "{\"a\":null}x",
    "{\"a\":null} {}",
    "{\"a\":1}\x00",
    "\"sub\"",
    "1",
    "null",
    "",
    " ",
    "{",
    "}",
    "{\"a\":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}",
    "{\"a\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}",
    "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{\"k\":{\"l\":{\"m\":{"
    "\"n\":"
    "{\"o\":{}}}}}}}}}}}}}}}}",
    "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{\"k\":{\"l\":{\"m\":{"
    "\"n\":"
    "{\"o\":{\"p\":{}}}}}}}}}}}}}}}}}",
    "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\",\"crit\":[\"exp\"],\"jwk\":{\"kty\":\"RSA\"}"
    "}",
};

static const char interesting[] = "{}[]:,\"\\u0-9eE.+-tfnl \t\n\x01\x1f\x7f\x80\xbf\xc0\xc2\xc3"
                                  "\xe0\xed\xf0\xf4\xf5\xff";

/* Every one-byte deletion, replacement (by each interesting byte) and insertion. */
static int mutations(apr_pool_t *p, const char *s, size_t len)
{
    char *buf = malloc(len + 2);
    size_t i, j, n = sizeof(interesting) - 1;
    int all = 1;

    for (i = 0; i <= len && buf; i++) {
        if (i < len) {
            memcpy(buf, s, i);
            memcpy(buf + i, s + i + 1, len - i - 1);
            all &= agree(p, buf, len - 1);
        }
        for (j = 0; j < n; j++) {
            if (i < len) {
                memcpy(buf, s, len);
                buf[i] = interesting[j];
                all &= agree(p, buf, len);
            }
            memcpy(buf, s, i);
            buf[i] = interesting[j];
            memcpy(buf + i + 1, s + i, len - i);
            all &= agree(p, buf, len + 1);
        }
    }
    free(buf);
    return all && buf;
}

int main(void)
{
    apr_pool_t *p = test_setup();
    size_t i;
    char *deep;
    int k;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        apr_pool_t *sub = NULL;
        apr_pool_create(&sub, p);
        ok(agree(sub, cases[i], strlen(cases[i])), "case %zu agrees with jansson", i);
        apr_pool_destroy(sub);
    }
    {
        static const char nul_inside[] = "{\"s\":\"a\0b\"}";
        static const char nul_after_number[] = "{\"exp\":1\0,\"t\":true\0}";
        const char *why = NULL;
        ok(agree(p, nul_inside, sizeof(nul_inside) - 1), "a raw NUL inside a string agrees");
        ok(agree(p, nul_after_number, sizeof(nul_after_number) - 1),
           "a raw NUL after a number or a literal agrees");
        ok(mab_json_parse_object(p, nul_after_number, sizeof(nul_after_number) - 1, &why) == NULL,
           "a raw NUL after a number or a literal is refused (jansson skips it)");
    }
    /* jansson's own limit of values open at once (2048), beyond our nesting limit. */
    for (k = 2047; k <= 2049; k++) {
        deep = apr_pcalloc(p, (apr_size_t)(2 * k + 16));
        memset(deep, '[', (size_t)k);
        deep[k] = '1';
        memset(deep + k + 1, ']', (size_t)k);
        ok(agree(p, deep, strlen(deep)), "%d nested arrays agree", k);
    }
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        apr_pool_t *sub = NULL;
        int before = cases_run;
        apr_pool_create(&sub, p);
        ok(mutations(sub, cases[i], strlen(cases[i])),
           "case %zu: its %d one-byte mutations agree with jansson", i, cases_run - before);
        apr_pool_destroy(sub);
    }
    printf("# %d inputs compared\n", cases_run);
    return tap_done();
}
