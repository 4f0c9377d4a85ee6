/* libFuzzer target: the Authorization credential (mab_credential_parse) and the b64token
 * check. The input is `authorization \0 query`; without a NUL there is no query (args
 * NULL). Each input is parsed with and without MAB_CREDENTIAL_ACCEPT_DPOP and the verdicts
 * are compared with a slow reference written the way the glue used to parse (ctype in the
 * C locale, strncasecmp, strcspn), so the table-driven parser must agree with it exactly.
 * Invariants on MAB_OK: the token lies inside the header, is non-empty, holds no white space,
 * ',' or NUL, and the scheme is one the flags allow. */
#include <ctype.h>
#include <strings.h>

#include "fuzz_common.h"
#include "mab_credential.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_global_init(0);
    return 0;
}

static void mismatch(const char *what, size_t size)
{
    fprintf(stderr, "fuzz_credential: %s (input %zu bytes)\n", what, size);
    abort();
}

static int ref_space(char c)
{
    return isspace((unsigned char)c);
}

/* The scheme's length when `name` starts s and white space or the end follows, else 0. */
static size_t ref_scheme(const char *s, const char *name)
{
    size_t n = strlen(name);

    return strncasecmp(s, name, n) == 0 && (!s[n] || ref_space(s[n])) ? n : 0;
}

static int ref_query(const char *args)
{
    const char *seg = args;
    size_t n;

    if (!args) {
        return 0;
    }
    for (;;) {
        n = strcspn(seg, "&");
        if (n >= 13 && memcmp(seg, "access_token=", 13) == 0) {
            return 1;
        }
        if (!seg[n]) {
            return 0;
        }
        seg += n + 1;
    }
}

static mab_err_e ref_parse(const char *authz, const char *args, unsigned flags,
                           mab_credential_t *out)
{
    const char *s, *end;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (!authz) {
        return MAB_ERR_NO_CREDENTIAL;
    }
    for (s = authz; ref_space(*s); s++) {
    }
    out->scheme = MAB_SCHEME_BEARER;
    n = ref_scheme(s, "Bearer");
    if (!n && (flags & MAB_CREDENTIAL_ACCEPT_DPOP)) {
        out->scheme = MAB_SCHEME_DPOP;
        n = ref_scheme(s, "DPoP");
    }
    if (!n) {
        /* another scheme first, and a Bearer (or accepted DPoP) credential after a ',' */
        const char *c;
        for (c = strchr(s, ','); c; c = strchr(c + 1, ',')) {
            const char *w = c + 1;
            while (ref_space(*w)) {
                w++;
            }
            if (ref_scheme(w, "Bearer")
                || ((flags & MAB_CREDENTIAL_ACCEPT_DPOP) && ref_scheme(w, "DPoP"))) {
                out->scheme = 0;
                return MAB_ERR_TOKEN_COUNT;
            }
        }
        return MAB_ERR_OTHER_SCHEME;
    }
    for (s += n; ref_space(*s); s++) {
    }
    if (!*s) {
        return MAB_ERR_EMPTY_TOKEN;
    }
    n = strcspn(s, " \t\n\v\f\r,");
    for (end = s + n; ref_space(*end); end++) {
    }
    if (*end) {
        return MAB_ERR_TOKEN_COUNT;
    }
    if (ref_query(args)) {
        return MAB_ERR_TOKEN_TWICE;
    }
    out->token = s;
    out->len = n;
    return MAB_OK;
}

static int ref_b64token(const char *t, size_t len)
{
    static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789-._~+/";
    size_t i, body = 0;

    while (body < len && t[body] && strchr(allowed, t[body])) {
        body++;
    }
    for (i = body; i < len; i++) {
        if (t[i] != '=') {
            return 0;
        }
    }
    return body > 0;
}

static void check_b64token(const char *t, size_t len, size_t size)
{
    if (!!mab_credential_is_b64token(t, len) != ref_b64token(t, len)) {
        mismatch("is_b64token disagrees with the reference", size);
    }
}

static void one(const char *authz, size_t alen, const char *args, unsigned flags, size_t size)
{
    mab_credential_t got, want;
    const char *detail = NULL;
    mab_err_e rv = mab_credential_parse(authz, args, flags, &got, &detail);
    mab_err_e ref = ref_parse(authz, args, flags, &want);
    size_t i;

    if (rv != ref) {
        mismatch("verdict differs from the reference", size);
    }
    /* A detail for the two-ways refusal, and for a token behind another credential only. */
    if ((rv == MAB_ERR_TOKEN_TWICE && !detail)
        || (detail && rv != MAB_ERR_TOKEN_TWICE && rv != MAB_ERR_TOKEN_COUNT)) {
        mismatch("detail set for the wrong refusal", size);
    }
    if (rv != MAB_OK) {
        if (got.token || got.len) {
            mismatch("a refusal handed out a token", size);
        }
        return;
    }
    if (got.token != want.token || got.len != want.len || got.scheme != want.scheme) {
        mismatch("token or scheme differs from the reference", size);
    }
    if (got.len == 0 || got.token < authz || got.token + got.len > authz + alen) {
        mismatch("token empty or outside the header", size);
    }
    for (i = 0; i < got.len; i++) {
        char c = got.token[i];
        if (c == '\0' || c == ',' || ref_space(c)) {
            mismatch("white space, ',' or NUL inside the token", size);
        }
    }
    if (got.scheme != MAB_SCHEME_BEARER
        && !(got.scheme == MAB_SCHEME_DPOP && (flags & MAB_CREDENTIAL_ACCEPT_DPOP))) {
        mismatch("scheme the flags do not allow", size);
    }
    check_b64token(got.token, got.len, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t alen = nul ? (size_t)(nul - data) : size;
    char *authz, *args = NULL;
    mab_err_e plain, dpop;
    mab_credential_t c;

    /* Copies of exactly the bytes, so ASan catches a read past either terminator. */
    authz = malloc(alen + 1);
    if (!authz) {
        return 0;
    }
    memcpy(authz, data, alen);
    authz[alen] = '\0';
    if (nul) {
        size_t qlen = size - alen - 1;

        args = malloc(qlen + 1);
        if (!args) {
            free(authz);
            return 0;
        }
        memcpy(args, nul + 1, qlen);
        args[qlen] = '\0';
    }
    one(authz, alen, args, 0, size);
    one(authz, alen, args, MAB_CREDENTIAL_ACCEPT_DPOP, size);
    /* The flag only ever adds a scheme: it can change nothing but "another scheme". */
    plain = mab_credential_parse(authz, args, 0, &c, NULL);
    dpop = mab_credential_parse(authz, args, MAB_CREDENTIAL_ACCEPT_DPOP, &c, NULL);
    if (plain != dpop && plain != MAB_ERR_OTHER_SCHEME) {
        mismatch("the DPoP flag changed a Bearer verdict", size);
    }
    if (mab_credential_parse(NULL, args, MAB_CREDENTIAL_ACCEPT_DPOP, &c, NULL)
        != MAB_ERR_NO_CREDENTIAL) {
        mismatch("no header is not MAB_ERR_NO_CREDENTIAL", size);
    }
    /* The whole input, NULs included, as a candidate token. */
    check_b64token((const char *)data, size, size);
    check_b64token(authz, alen, size);
    free(args);
    free(authz);
    return 0;
}
