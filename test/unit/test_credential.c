#include "mab_credential.h"
#include "tap.h"
#include "testutil.h"

#define DPOP MAB_CREDENTIAL_ACCEPT_DPOP

/* Parses and, when the header is accepted, checks the token bytes and scheme too. */
static int parses(const char *authz, const char *args, unsigned flags, mab_err_e want,
                  mab_scheme_e scheme, const char *token)
{
    mab_credential_t c;
    const char *detail = "unset";
    mab_err_e rv = mab_credential_parse(authz, args, flags, &c, &detail);

    if (rv != want) {
        printf("#   got error %d, want %d\n", (int)rv, (int)want);
        return 0;
    }
    if (rv != MAB_OK) {
        /* The two-ways refusal has a detail, so does a Bearer token behind another
         * credential (a TOKEN_COUNT); every other refusal must clear it. */
        if (rv == MAB_ERR_TOKEN_TWICE) {
            return detail != NULL;
        }
        return rv == MAB_ERR_TOKEN_COUNT || detail == NULL;
    }
    if (c.scheme != scheme || c.len != strlen(token) || memcmp(c.token, token, c.len) != 0) {
        printf("#   got scheme %d token '%.*s'\n", (int)c.scheme, (int)c.len, c.token);
        return 0;
    }
    return detail == NULL && c.token >= authz && c.token + c.len <= authz + strlen(authz);
}

#define accepts(authz, args, flags, scheme, token, ...)                                            \
    ok(parses(authz, args, flags, MAB_OK, scheme, token), __VA_ARGS__)
#define refuses(authz, args, flags, err, ...)                                                      \
    ok(parses(authz, args, flags, err, 0, NULL), __VA_ARGS__)

static int b64(const char *t)
{
    return mab_credential_is_b64token(t, strlen(t));
}

int main(void)
{
    const mab_scheme_e B = MAB_SCHEME_BEARER, D = MAB_SCHEME_DPOP;
    char all[128], one[2], hi[4];
    const char *detail = NULL;
    mab_credential_t c;
    int i, n;

    test_setup();

    /* No header at all. */
    refuses(NULL, NULL, 0, MAB_ERR_NO_CREDENTIAL, "no header");
    refuses(NULL, "access_token=x", 0, MAB_ERR_NO_CREDENTIAL,
            "no header, even with access_token in the query");
    refuses(NULL, NULL, DPOP, MAB_ERR_NO_CREDENTIAL, "no header, DPoP accepted");

    /* The scheme. */
    accepts("Bearer abc", NULL, 0, B, "abc", "plain Bearer token");
    accepts("bearer abc", NULL, 0, B, "abc", "lower case scheme");
    accepts("BEARER abc", NULL, 0, B, "abc", "upper case scheme");
    accepts("bEaReR abc", NULL, 0, B, "abc", "mixed case scheme");
    accepts("  \t Bearer abc", NULL, 0, B, "abc", "leading spaces and tab skipped");
    accepts("\r\n\v\fBearer abc", NULL, 0, B, "abc", "leading CR LF VT FF skipped");
    accepts("Bearer\tabc", NULL, 0, B, "abc", "tab after the scheme");
    accepts("Bearer\r\n abc", NULL, 0, B, "abc", "CR LF after the scheme");
    accepts("Bearer      abc", NULL, 0, B, "abc", "several spaces after the scheme");
    refuses("Basic dXNlcjpwYXNz", NULL, 0, MAB_ERR_OTHER_SCHEME, "Basic is another scheme");
    refuses("Bearerx abc", NULL, 0, MAB_ERR_OTHER_SCHEME, "Bearerx is another scheme");
    refuses("Bearer,abc", NULL, 0, MAB_ERR_OTHER_SCHEME, "a ',' right after Bearer");
    refuses("Bear", NULL, 0, MAB_ERR_OTHER_SCHEME, "a prefix of Bearer");
    refuses("", NULL, 0, MAB_ERR_OTHER_SCHEME, "empty header");
    refuses("   ", NULL, 0, MAB_ERR_OTHER_SCHEME, "header of spaces only");
    refuses("xBearer abc", NULL, 0, MAB_ERR_OTHER_SCHEME, "text before the scheme");
    /* Octal escapes: a hex escape would swallow the letters after it. */
    refuses("B\305arer abc", NULL, 0, MAB_ERR_OTHER_SCHEME, "a high-bit byte in the scheme");
    refuses("\240Bearer abc", NULL, 0, MAB_ERR_OTHER_SCHEME, "NBSP is not white space");
    refuses("Bearer\240abc", NULL, 0, MAB_ERR_OTHER_SCHEME, "nor after the scheme");

    /* Another credential first and a Bearer token after it (httpd joins repeated fields with
     * ", "): the token must not pass as "another scheme" (issue 12, item 10). */
    refuses("Basic dXNlcjpwYXNz, Bearer bad", NULL, 0, MAB_ERR_TOKEN_COUNT, "Basic, Bearer");
    refuses("Basic dXNlcjpwYXNz,Bearer bad", NULL, 0, MAB_ERR_TOKEN_COUNT, "Basic,Bearer");
    refuses("Basic x, \tbearer bad", NULL, 0, MAB_ERR_TOKEN_COUNT, "Basic, tab, lower case");
    refuses("Basic x, DPoP y", NULL, 0, MAB_ERR_OTHER_SCHEME, "Basic, DPoP without the flag");
    refuses("Basic x, DPoP y", NULL, MAB_CREDENTIAL_ACCEPT_DPOP, MAB_ERR_TOKEN_COUNT,
            "Basic, DPoP with the flag");
    refuses("Digest username=\"a\", bearer=\"x\"", NULL, 0, MAB_ERR_OTHER_SCHEME,
            "an auth-param named bearer is not a credential");
    refuses("Basic x, Bearerx y", NULL, 0, MAB_ERR_OTHER_SCHEME, "Bearerx after a comma");

    /* Nothing after the scheme. */
    refuses("Bearer", NULL, 0, MAB_ERR_EMPTY_TOKEN, "Bearer alone");
    refuses("bearer", NULL, 0, MAB_ERR_EMPTY_TOKEN, "bearer alone");
    refuses("Bearer ", NULL, 0, MAB_ERR_EMPTY_TOKEN, "Bearer and a space");
    refuses("Bearer    ", NULL, 0, MAB_ERR_EMPTY_TOKEN, "Bearer and spaces");
    refuses("Bearer \t\r\n", NULL, 0, MAB_ERR_EMPTY_TOKEN, "Bearer and mixed white space");
    refuses("Bearer", "access_token=x", 0, MAB_ERR_EMPTY_TOKEN,
            "an empty token is reported before the query");

    /* Where the token ends, and what may follow it. */
    accepts("Bearer abc ", NULL, 0, B, "abc", "trailing space");
    accepts("Bearer abc \t \r\n", NULL, 0, B, "abc", "trailing white space of every kind");
    accepts("Bearer abc\r\n", NULL, 0, B, "abc", "trailing CR LF");
    accepts("Bearer a.b.c", NULL, 0, B, "a.b.c", "a compact JWS");
    accepts("Bearer ab==", NULL, 0, B, "ab==", "padding stays in the token");
    accepts("Bearer a\"b;c", NULL, 0, B, "a\"b;c", "syntax is not checked by the parser");
    accepts("Bearer \xff\x80", NULL, 0, B, "\xff\x80", "nor are high-bit bytes");
    refuses("Bearer abc def", NULL, 0, MAB_ERR_TOKEN_COUNT, "two tokens");
    refuses("Bearer abc\tdef", NULL, 0, MAB_ERR_TOKEN_COUNT, "two tokens split by a tab");
    refuses("Bearer abc\r\ndef", NULL, 0, MAB_ERR_TOKEN_COUNT, "two tokens split by CR LF");
    refuses("Bearer abc,def", NULL, 0, MAB_ERR_TOKEN_COUNT, "two tokens split by a comma");
    refuses("Bearer abc,", NULL, 0, MAB_ERR_TOKEN_COUNT, "a trailing comma");
    refuses("Bearer abc ,", NULL, 0, MAB_ERR_TOKEN_COUNT, "a comma after a space");
    refuses("Bearer ,abc", NULL, 0, MAB_ERR_TOKEN_COUNT, "a comma before the token");
    refuses("Bearer ,", NULL, 0, MAB_ERR_TOKEN_COUNT, "a comma alone");
    refuses("Bearer abc, Basic xyz", NULL, 0, MAB_ERR_TOKEN_COUNT, "a second credential");
    accepts("Bearer realm=\"x\"", NULL, 0, B, "realm=\"x\"",
            "an auth-param is taken for the token (the b64token check refuses it later)");

    /* DPoP, RFC 9449 §7.1, only when asked for. */
    refuses("DPoP abc", NULL, 0, MAB_ERR_OTHER_SCHEME, "DPoP without the flag");
    accepts("DPoP abc", NULL, DPOP, D, "abc", "DPoP with the flag");
    accepts("dpop abc", NULL, DPOP, D, "abc", "lower case dpop");
    accepts("DPOP\tabc ", NULL, DPOP, D, "abc", "upper case DPOP, tab and trailing space");
    accepts(" Bearer abc", NULL, DPOP, B, "abc", "Bearer still accepted with the flag");
    refuses("DPoP", NULL, DPOP, MAB_ERR_EMPTY_TOKEN, "DPoP alone");
    refuses("DPoP   ", NULL, DPOP, MAB_ERR_EMPTY_TOKEN, "DPoP and spaces");
    refuses("DPoP", NULL, 0, MAB_ERR_OTHER_SCHEME, "DPoP alone without the flag");
    refuses("DPoPx abc", NULL, DPOP, MAB_ERR_OTHER_SCHEME, "DPoPx is another scheme");
    refuses("DPo abc", NULL, DPOP, MAB_ERR_OTHER_SCHEME, "a prefix of DPoP");
    refuses("DPoP a b", NULL, DPOP, MAB_ERR_TOKEN_COUNT, "two DPoP tokens");
    refuses("DPoP a", "access_token=a", DPOP, MAB_ERR_TOKEN_TWICE, "DPoP and access_token");

    /* The access_token query parameter next to the header, RFC 6750 §2. */
    accepts("Bearer abc", "", 0, B, "abc", "empty query");
    refuses("Bearer abc", "access_token=x", 0, MAB_ERR_TOKEN_TWICE, "access_token=x");
    refuses("Bearer abc", "access_token=", 0, MAB_ERR_TOKEN_TWICE, "access_token= with no value");
    refuses("Bearer abc", "a=1&access_token=x", 0, MAB_ERR_TOKEN_TWICE, "after another field");
    refuses("Bearer abc", "a=1&access_token=x&b=2", 0, MAB_ERR_TOKEN_TWICE, "between fields");
    refuses("Bearer abc", "&&access_token=x", 0, MAB_ERR_TOKEN_TWICE, "after empty fields");
    accepts("Bearer abc", "xaccess_token=1", 0, B, "abc", "xaccess_token is another name");
    accepts("Bearer abc", "a=access_token=1", 0, B, "abc", "access_token= in a value");
    accepts("Bearer abc", "access_token", 0, B, "abc", "access_token without '='");
    accepts("Bearer abc", "access_token&b=1", 0, B, "abc", "access_token without '=', then more");
    accepts("Bearer abc", "Access_Token=1", 0, B, "abc", "the parameter name is case-sensitive");
    accepts("Bearer abc", "access%5Ftoken=1", 0, B, "abc", "an encoded name is not decoded");
    accepts("Bearer abc", "a=1&", 0, B, "abc", "a trailing '&'");
    mab_credential_parse("Bearer abc", "access_token=x", 0, &c, &detail);
    is_str(detail, "access_token query parameter and Authorization header", "the detail text");
    ok(mab_credential_parse("Bearer abc def", NULL, 0, &c, NULL) == MAB_ERR_TOKEN_COUNT
           && mab_credential_parse("Bearer abc", "access_token=x", 0, &c, NULL)
                  == MAB_ERR_TOKEN_TWICE
           && mab_credential_parse("Bearer abc", NULL, 0, &c, NULL) == MAB_OK,
       "detail may be NULL");
    c.len = 99;
    mab_credential_parse("Basic x", NULL, 0, &c, NULL);
    ok(c.len == 0 && c.token == NULL, "a refusal leaves an empty credential");

    /* b64token / token68. */
    ok(b64("abc"), "b64token: letters");
    ok(b64("a.b.c"), "b64token: a compact JWS");
    ok(b64("ab="), "b64token: one '='");
    ok(b64("ab=="), "b64token: two '='");
    ok(b64("a========"), "b64token: any number of '='");
    ok(!b64("a=b"), "b64token: '=' in the middle");
    ok(!b64("ab=c="), "b64token: '=' then more characters");
    ok(!b64("="), "b64token: padding alone");
    ok(!b64("=="), "b64token: two '=' alone");
    ok(!b64(""), "b64token: empty");
    ok(!mab_credential_is_b64token("abc", 0), "b64token: length 0 of a non-empty string");
    ok(mab_credential_is_b64token("ab cd", 2), "b64token: only len bytes are looked at");
    ok(!b64("a b"), "b64token: space");
    ok(!b64("a,b"), "b64token: comma");
    ok(!b64("a\"b"), "b64token: quote");
    ok(!b64("ab\xe9"), "b64token: a high-bit byte");
    ok(!b64("\x80"), "b64token: a high-bit byte alone");
    ok(!mab_credential_is_b64token("a\0b", 3), "b64token: NUL inside");
    ok(!mab_credential_is_b64token("a=\0", 3), "b64token: NUL after the padding");
    n = 0;
    for (i = 'A'; i <= 'Z'; i++) {
        all[n++] = (char)i;
    }
    for (i = 'a'; i <= 'z'; i++) {
        all[n++] = (char)i;
    }
    for (i = '0'; i <= '9'; i++) {
        all[n++] = (char)i;
    }
    memcpy(all + n, "-._~+/==", 9);
    ok(b64(all), "b64token: every allowed character, then padding");
    /* Exactly those 66 bytes, of all 256, make a one-character b64token. */
    n = 0;
    for (i = 0; i < 256; i++) {
        one[0] = (char)i;
        n += mab_credential_is_b64token(one, 1) == (strchr(all, i) && i != '=' && i != 0);
    }
    is_int(n, 256, "b64token: each byte alone, against the list of allowed ones");
    hi[0] = 'a';
    hi[1] = (char)0xff;
    hi[2] = 'b';
    hi[3] = 0;
    ok(!b64(hi), "b64token: 0xff");

    return tap_done();
}
