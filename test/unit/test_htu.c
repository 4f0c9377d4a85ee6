/* htu normalisation (RFC 3986 §6.2.2, §6.2.3): a table of URLs and their normal forms,
 * pairs that must and must not compare equal, refusals, idempotence, and the request's own
 * URL from an origin and a request-target. */
#include "mab_htu.h"
#include "tap.h"
#include "testutil.h"

/* The string with bytes outside printable ASCII as \xNN, for test names (TAP is one line). */
static const char *show(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, 4 * strlen(s) + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        o += c < 0x20 || c >= 0x7f ? sprintf(o, "\\x%02x", c) : sprintf(o, "%c", c);
    }
    *o = '\0';
    return out;
}

static const char *norm(apr_pool_t *p, const char *url)
{
    return mab_htu_normalize(p, url, strlen(url));
}

/* url -> its normal form */
static const struct {
    const char *in, *out;
} forms[] = {
    {"https://example.com/a", "https://example.com/a"},
    {"HTTPS://EXAMPLE.COM/a", "https://example.com/a"},
    {"https://Example.Com/A/B", "https://example.com/A/B"}, /* the path keeps its case */
    {"https://example.com", "https://example.com/"},
    {"https://example.com:443/a", "https://example.com/a"},
    {"http://example.com:80/a", "http://example.com/a"},
    {"http://example.com:443/a", "http://example.com:443/a"},
    {"https://example.com:80/a", "https://example.com:80/a"},
    {"https://example.com:8443/a", "https://example.com:8443/a"},
    {"https://example.com:/a", "https://example.com/a"},
    {"https://example.com:0443/a", "https://example.com/a"},
    {"https://example.com/a?q=1", "https://example.com/a"},
    {"https://example.com/a?", "https://example.com/a"},
    {"https://example.com/a#frag", "https://example.com/a"},
    {"https://example.com/a?q#f", "https://example.com/a"},
    {"https://example.com?q", "https://example.com/"},
    {"https://example.com#f", "https://example.com/"},
    {"https://example.com/a/%7Euser", "https://example.com/a/~user"},
    {"https://example.com/%41%62%2d%2E%5f", "https://example.com/Ab-._"},
    {"https://example.com/a%2fb", "https://example.com/a%2Fb"},
    {"https://example.com/a%2Fb", "https://example.com/a%2Fb"},
    {"https://example.com/%e2%82%ac", "https://example.com/%E2%82%AC"},
    {"https://example.com/a%20b", "https://example.com/a%20b"},
    {"https://example.com/a/./b", "https://example.com/a/b"},
    {"https://example.com/a/../b", "https://example.com/b"},
    {"https://example.com/a/b/..", "https://example.com/a/"},
    {"https://example.com/a/b/.", "https://example.com/a/b/"},
    {"https://example.com/../../a", "https://example.com/a"},
    {"https://example.com/..", "https://example.com/"},
    {"https://example.com/.", "https://example.com/"},
    {"https://example.com/a/%2E%2E/b", "https://example.com/b"},
    {"https://example.com/a/%2e/b", "https://example.com/a/b"},
    {"https://example.com/a//../b", "https://example.com/a/b"},
    {"https://example.com//a", "https://example.com//a"},
    {"https://example.com/a/", "https://example.com/a/"},
    {"https://example.com/.../a", "https://example.com/.../a"},
    {"https://example.com/a/..b/c", "https://example.com/a/..b/c"},
    {"https://[::1]/a", "https://[::1]/a"},
    {"https://[::1]:443/a", "https://[::1]/a"},
    {"http://[2001:DB8::1]:8080/a", "http://[2001:db8::1]:8080/a"},
    {"https://127.0.0.1:8443/", "https://127.0.0.1:8443/"},
    {"https://example.com/a;p=1/b", "https://example.com/a;p=1/b"},
    {"https://example.com/a:b@c", "https://example.com/a:b@c"},
    {"https://example.com/\xc3\xa9", "https://example.com/%C3%A9"},
    {"https://example.com/a|b", "https://example.com/a%7Cb"},
};

/* URLs that are not refused but name another resource than the first of the pair */
static const struct {
    const char *a, *b;
    int equal;
} pairs[] = {
    {"https://example.com/a", "https://EXAMPLE.com/a", 1},
    {"https://example.com/a", "HTTPS://example.com:443/a", 1},
    {"https://example.com/a", "https://example.com/a?x=1", 1},
    {"https://example.com/a", "https://example.com/a#x", 1},
    {"https://example.com/a", "https://example.com/%61", 1},
    {"https://example.com/a/b", "https://example.com/a/c/../b", 1},
    {"https://example.com/", "https://example.com", 1},
    {"https://example.com/a%2Fb", "https://example.com/a%2fb", 1},
    {"https://example.com/a", "https://example.com/A", 0},
    {"https://example.com/a", "http://example.com/a", 0},
    {"https://example.com/a", "https://example.com:8443/a", 0},
    {"https://example.com/a", "https://example.org/a", 0},
    {"https://example.com/a/b", "https://example.com/a%2Fb", 0},
    {"https://example.com/a", "https://example.com/a/", 0},
    {"https://example.com/a", "https://example.com//a", 0},
    {"https://example.com/a", "https://example.com.:443/a", 0},
    {"https://example.com/a%20b", "https://example.com/a+b", 0},
};

/* refused */
static const char *const bad[] = {
    "",
    "example.com/a",
    "ftp://example.com/a",
    "//example.com/a",
    "https:/example.com/a",
    "https:example.com",
    "https://",
    "https:///a",
    "https://user@example.com/a",
    "https://user:pw@example.com/a",
    "https://example.com:99999/a",
    "https://example.com:0/a",
    "https://example.com:8x/a",
    "https://example.com:-1/a",
    "https://exa mple.com/a",
    "https://example.com/a b",
    "https://example.com/a\tb",
    "https://example.com/a\x7f",
    "https://example.com/a\r\n",
    "https://example.com/%",
    "https://example.com/%4",
    "https://example.com/%zz",
    "https://example.com/%4g",
    "https://ex%41mple.com/a",
    "https://[::1/a",
    "https://[]/a",
    "https://[v1.x]/a",
    "https://[::1]x/a",
    "https://exa(mple).com/a",
    "https://example.com:443:443/a",
};

static void test_forms(apr_pool_t *p)
{
    size_t i;

    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        const char *got = norm(p, forms[i].in);
        is_str(got, forms[i].out, "normalise %s", show(p, forms[i].in));
        /* a normal form is its own normal form: mab_dpop_check relies on it */
        is_str(got ? norm(p, got) : NULL, forms[i].out, "idempotent: %s", forms[i].out);
    }
}

static void test_pairs(apr_pool_t *p)
{
    size_t i;

    for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        const char *a = norm(p, pairs[i].a), *b = norm(p, pairs[i].b);
        ok(a && b && (strcmp(a, b) == 0) == pairs[i].equal, "%s %s %s", pairs[i].a,
           pairs[i].equal ? "==" : "!=", pairs[i].b);
    }
}

static void test_bad(apr_pool_t *p)
{
    size_t i;
    char *huge;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(norm(p, bad[i]) == NULL, "refused: \"%s\"", show(p, bad[i]));
    }
    ok(mab_htu_normalize(p, NULL, 0) == NULL, "NULL refused");
    /* an embedded NUL within len is a control character */
    ok(mab_htu_normalize(p, "https://example.com/a\0b", 23) == NULL, "NUL within len refused");
    /* len is honoured: the rest of the buffer is not read */
    is_str(mab_htu_normalize(p, "https://example.com/ab", 21), "https://example.com/a",
           "only len bytes read");

    huge = apr_palloc(p, 8300);
    memcpy(huge, "https://example.com/", 20);
    memset(huge + 20, 'a', 8300 - 21);
    huge[8299] = '\0';
    ok(mab_htu_normalize(p, huge, 8192) != NULL, "8192 bytes accepted");
    ok(mab_htu_normalize(p, huge, 8193) == NULL, "8193 bytes refused");
}

static void test_request(apr_pool_t *p)
{
    is_str(mab_htu_request(p, "https://example.com", "/a/b?q=1"), "https://example.com/a/b",
           "origin-form target");
    is_str(mab_htu_request(p, "https://EXAMPLE.com:443", "/a/./b"), "https://example.com/a/b",
           "origin normalised with the target");
    is_str(mab_htu_request(p, "https://example.com/", "/a"), "https://example.com/a",
           "origin with a trailing slash");
    is_str(mab_htu_request(p, "http://rs.example:8080", "/"), "http://rs.example:8080/",
           "origin with a port");
    is_str(mab_htu_request(p, "https://example.com", "http://other.example/x?y"),
           "https://example.com/x", "absolute-form: the path only, the origin's authority");
    is_str(mab_htu_request(p, "https://example.com", "HTTP://other.example"),
           "https://example.com/", "absolute-form without a path");
    is_str(mab_htu_request(p, "https://example.com", "https://u@other.example/x"),
           "https://example.com/x", "absolute-form: its authority is never used");
    is_str(mab_htu_request(p, "https://example.com", "//evil.example/x"),
           "https://example.com//evil.example/x", "a target starting // stays a path");
    is_str(mab_htu_request(p, "https://example.com", "/@evil.example"),
           "https://example.com/@evil.example", "a target with @ stays a path");
    is_str(mab_htu_request(p, "https://[::1]:8443", "/a%2fb"), "https://[::1]:8443/a%2Fb",
           "IPv6 origin, encoded slash kept");
    ok(mab_htu_request(p, "https://example.com", "*") == NULL, "* target: NULL");
    ok(mab_htu_request(p, "https://example.com", "") == NULL, "empty target: NULL");
    ok(mab_htu_request(p, "https://example.com", "example.com:443") == NULL,
       "authority-form target: NULL");
    ok(mab_htu_request(p, "https://example.com", "a/b") == NULL, "relative target: NULL");
    ok(mab_htu_request(p, "https://example.com/base", "/a") == NULL, "origin with a path: NULL");
    ok(mab_htu_request(p, "https://example.com?x", "/a") == NULL, "origin with a query: NULL");
    ok(mab_htu_request(p, "ftp://example.com", "/a") == NULL, "origin of another scheme: NULL");
    ok(mab_htu_request(p, "https://u@example.com", "/a") == NULL, "origin with userinfo: NULL");
    ok(mab_htu_request(p, NULL, "/a") == NULL, "no origin: NULL");
    ok(mab_htu_request(p, "https://example.com", NULL) == NULL, "no target: NULL");
    ok(mab_htu_request(p, "https://example.com", "/a%zz") == NULL, "bad escape in target: NULL");
    is_str(mab_htu_request(p, "https://example.com", "/a?q=%zz"), "https://example.com/a",
           "a bad escape in the query is dropped with it");
}

int main(void)
{
    apr_pool_t *p = test_setup();

    test_forms(p);
    test_pairs(p);
    test_bad(p);
    test_request(p);
    return tap_done();
}
