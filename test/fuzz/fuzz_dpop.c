/* libFuzzer target: DPoP proofs, htu normalisation, nonces and thumbprints. The input is
 * `proof [\0 url [\0 target]]`:
 *  - proof: mab_dpop_check under two expectations, without a key cache and twice through
 *    one kept across inputs; the three verdicts and details must agree (a cache hit never
 *    changes one). A refusal says why and leaves out zeroed; an acceptance has a jkt of 43
 *    base64url characters equal to the thumbprint of the header's jwk, an alg in the mask,
 *    a bounded jti, an iat in the window, and the ath and htm the expectation asked for
 *    (both re-derived here with jansson and OpenSSL). The same bytes as a nonce are
 *    accepted only when they are the current or previous window's; as a JWK, a
 *    thumbprint equals SHA-256 of jansson's sorted compact dump of the required members.
 *  - url: mab_htu_normalize's result is a fixed point, http(s), with no query, fragment,
 *    control character, dot segment, lower-case or needless %-escape;
 *  - target: mab_htu_request with two origins, the same properties. */
#include <openssl/evp.h>

#include "fuzz_common.h"
#include "mab_dpop.h"
#include "mab_htu.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000LL
#define HTU "https://rs.example/api"
#define TOKEN "fuzz-access-token"

static mab_dpop_keys_t *fuzz_keys;
static const unsigned char fuzz_nonce_secret[] = "fuzz nonce secret, 32 bytes long";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_global_init(0);
    fuzz_keys = mab_dpop_keys_create(fuzz_long_pool, 16);
    if (!fuzz_keys) {
        fuzz_die("proof-key cache");
    }
    return 0;
}

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_dpop: %s\n", what);
    abort();
}

static int is_b64url(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
              || c == '_')) {
            return 0;
        }
    }
    return 1;
}

static const char *sha256_b64(apr_pool_t *p, const void *data, size_t len)
{
    unsigned char d[32];
    unsigned int n = 0;

    if (EVP_Digest(data, len, d, &n, EVP_sha256(), NULL) != 1) {
        fail("SHA-256");
    }
    return mab_b64url_encode(p, d, n);
}

/* RFC 7638 again, the slow way: the required members, dumped sorted and compact. NULL
 * when the JWK lacks them. */
static const char *ref_thumbprint(apr_pool_t *p, const json_t *jwk)
{
    static const char *const rsa[] = {"e", "kty", "n", NULL},
                             *const ec[] = {"crv", "kty", "x", "y", NULL},
                             *const okp[] = {"crv", "kty", "x", NULL};
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *const *m;
    const char *out = NULL;
    json_t *sub;
    char *text;
    int i;

    if (!kty) {
        return NULL;
    }
    m = strcmp(kty, "RSA") == 0   ? rsa
        : strcmp(kty, "EC") == 0  ? ec
        : strcmp(kty, "OKP") == 0 ? okp
                                  : NULL;
    if (!m) {
        return NULL;
    }
    sub = json_object();
    for (i = 0; m[i]; i++) {
        json_t *v = json_object_get(jwk, m[i]);
        if (!json_is_string(v)) {
            json_decref(sub);
            return NULL;
        }
        json_object_set(sub, m[i], v);
    }
    text = json_dumps(sub, JSON_COMPACT | JSON_SORT_KEYS);
    if (text) {
        out = sha256_b64(p, text, strlen(text));
        free(text);
    }
    json_decref(sub);
    return out;
}

static void check_thumbprint(apr_pool_t *p, const char *in, size_t len)
{
    json_t *jwk = json_loadb(in, len, JSON_REJECT_DUPLICATES, NULL);
    char jkt[MAB_JKT_LEN + 1];

    if (!json_is_object(jwk)) {
        json_decref(jwk);
        return;
    }
    if (mab_jwk_thumbprint(jwk, jkt) == 0) {
        const char *want = ref_thumbprint(p, jwk);
        if (strlen(jkt) != MAB_JKT_LEN || !is_b64url(jkt, MAB_JKT_LEN)) {
            fail("thumbprint is not 43 base64url characters");
        }
        if (!want || strcmp(want, jkt) != 0) {
            fail("thumbprint differs from the reference");
        }
    }
    else if (!ref_thumbprint(p, jwk)) {
        /* refused and the reference agrees there are no members to hash */
    }
    json_decref(jwk);
}

static void check_nonce(const char *s)
{
    char cur[MAB_DPOP_NONCE_LEN + 1], prev[MAB_DPOP_NONCE_LEN + 1];
    int rc = mab_dpop_nonce_check(fuzz_nonce_secret, sizeof(fuzz_nonce_secret) - 1, NOW, s);

    if (mab_dpop_nonce(fuzz_nonce_secret, sizeof(fuzz_nonce_secret) - 1, NOW, cur) != 0
        || mab_dpop_nonce(fuzz_nonce_secret, sizeof(fuzz_nonce_secret) - 1,
                          NOW - MAB_DPOP_NONCE_WINDOW, prev)
               != 0) {
        fail("cannot make a nonce");
    }
    if (rc != (strcmp(s, cur) == 0 ? 0 : strcmp(s, prev) == 0 ? 1 : -1)) {
        fail("nonce verdict is not current/previous/neither");
    }
}

/* What an accepted proof must be, judged from its bytes with jansson. */
static void check_accepted(apr_pool_t *p, const char *proof, const mab_dpop_expect_t *e,
                           const mab_dpop_proof_t *out)
{
    const char *dot1 = strchr(proof, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    const mab_alg_t *alg = out->alg ? mab_alg_find(out->alg) : NULL;
    unsigned char *hdr, *pl;
    apr_size_t hdr_len, pl_len;
    json_t *h, *c;

    if (strlen(out->jkt) != MAB_JKT_LEN || !is_b64url(out->jkt, MAB_JKT_LEN)) {
        fail("accepted: jkt is not 43 base64url characters");
    }
    if (!alg || !(alg->bit & e->alg_mask) || alg->family == MAB_FAMILY_HMAC) {
        fail("accepted: alg not in the mask, or a MAC");
    }
    if (!out->jti || !*out->jti || strlen(out->jti) > MAB_DPOP_MAX_JTI) {
        fail("accepted: jti empty or too long");
    }
    if (out->iat < e->now - e->max_age || out->iat > e->now + e->skew) {
        fail("accepted: iat outside the window");
    }
    if (!dot1 || !dot2 || strchr(proof, ',')
        || mab_b64url_decode(p, proof, (apr_size_t)(dot1 - proof), &hdr, &hdr_len) != 0
        || mab_b64url_decode(p, dot1 + 1, (apr_size_t)(dot2 - dot1 - 1), &pl, &pl_len) != 0) {
        fail("accepted: not a compact JWS");
    }
    h = json_loadb((const char *)hdr, hdr_len, JSON_REJECT_DUPLICATES, NULL);
    c = json_loadb((const char *)pl, pl_len, JSON_REJECT_DUPLICATES, NULL);
    if (!h || !c) {
        fail("accepted: jansson cannot read the header or the payload");
    }
    {
        const char *want = ref_thumbprint(p, json_object_get(h, "jwk"));
        if (!want || strcmp(want, out->jkt) != 0) {
            fail("accepted: jkt is not the header jwk's thumbprint");
        }
    }
    if (json_object_get(json_object_get(h, "jwk"), "d")) {
        fail("accepted: a private jwk");
    }
    if (!json_is_string(json_object_get(c, "htm"))
        || strcmp(json_string_value(json_object_get(c, "htm")), e->htm) != 0) {
        fail("accepted: htm is not the request method");
    }
    if (!json_is_string(json_object_get(c, "ath"))
        || strcmp(json_string_value(json_object_get(c, "ath")),
                  sha256_b64(p, e->token, e->token_len))
               != 0) {
        fail("accepted: ath is not the token's");
    }
    json_decref(h);
    json_decref(c);
}

static void check_proof(apr_pool_t *p, const char *proof)
{
    mab_dpop_expect_t e[2];
    int i, j;

    memset(e, 0, sizeof(e));
    for (i = 0; i < 2; i++) {
        e[i].alg_mask = i == 0 ? mab_alg_default_mask() : mab_alg_find("ES256")->bit;
        e[i].max_age = i == 0 ? 300 : 10;
        e[i].skew = i == 0 ? 60 : 0;
        e[i].now = NOW;
        e[i].htm = i == 0 ? "POST" : "GET";
        e[i].htu = HTU;
        e[i].token = TOKEN;
        e[i].token_len = sizeof(TOKEN) - 1;
    }
    for (i = 0; i < 2; i++) {
        mab_dpop_keys_t *modes[3] = {NULL, fuzz_keys, fuzz_keys};
        mab_err_e first = MAB_OK;
        const char *first_detail = NULL;

        for (j = 0; j < 3; j++) {
            mab_dpop_proof_t out;
            const char *detail = NULL;
            mab_err_e rv = mab_dpop_check(modes[j], proof, &e[i], p, &out, &detail);

            if (rv == MAB_ERR_INTERNAL) {
                return; /* out of memory: nothing to compare */
            }
            if (rv != MAB_OK && rv != MAB_ERR_DPOP_PROOF) {
                fail("a verdict other than OK or DPOP_PROOF");
            }
            if (rv != MAB_OK) {
                static const mab_dpop_proof_t zero;
                if (!detail || strncmp(detail, "DPoP ", 5) != 0) {
                    fail("a refusal without its detail");
                }
                if (memcmp(&out, &zero, sizeof(out)) != 0) {
                    fail("a refusal left out filled");
                }
            }
            else {
                check_accepted(p, proof, &e[i], &out);
            }
            if (j == 0) {
                first = rv;
                first_detail = detail;
            }
            else if (rv != first || (rv != MAB_OK && strcmp(detail, first_detail) != 0)) {
                fail("the key cache changed a verdict");
            }
        }
    }
}

/* A normal form: http(s), no query, fragment or control character, no dot segment, %XX
 * in upper case and never of an unreserved character, and its own normal form. */
static void check_normal(apr_pool_t *p, const char *u)
{
    size_t i, n = strlen(u);
    const char *path, *again;

    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
        fail("htu: normal form is not http(s)");
    }
    path = strchr(u + 8, '/');
    if (!path) {
        fail("htu: normal form has no path");
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#') {
            fail("htu: a control, non-ASCII, '?' or '#' byte in a normal form");
        }
        if (c == '%') {
            unsigned v = 0;
            int k;
            for (k = 1; k <= 2; k++) {
                char h = u[i + k];
                if (!((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'))) {
                    fail("htu: %XX not in upper case hex");
                }
                v = v * 16 + (unsigned)(h <= '9' ? h - '0' : h - 'A' + 10);
            }
            if ((v >= 'A' && v <= 'Z') || (v >= 'a' && v <= 'z') || (v >= '0' && v <= '9')
                || v == '-' || v == '.' || v == '_' || v == '~') {
                fail("htu: an unreserved character left encoded");
            }
        }
    }
    for (i = (size_t)(path - u); i < n; i++) {
        if (u[i] == '/' && u[i + 1] == '.'
            && (u[i + 2] == '/' || u[i + 2] == '\0'
                || (u[i + 2] == '.' && (u[i + 3] == '/' || u[i + 3] == '\0')))) {
            fail("htu: a dot segment in a normal form");
        }
    }
    again = mab_htu_normalize(p, u, n);
    if (!again || strcmp(again, u) != 0) {
        fail("htu: the normal form is not a fixed point");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_new();
    const char *parts[3] = {NULL, NULL, NULL};
    size_t lens[3] = {0, 0, 0}, start = 0, i;
    int n = 0;

    for (i = 0; i <= size && n < 3; i++) {
        if (i == size || data[i] == 0) {
            parts[n] = apr_pstrmemdup(p, (const char *)data + start, i - start);
            lens[n++] = i - start;
            start = i + 1;
        }
    }
    check_proof(p, parts[0]);
    check_nonce(parts[0]);
    check_thumbprint(p, parts[0], lens[0]);
    if (parts[1]) {
        const char *u = mab_htu_normalize(p, parts[1], lens[1]);
        if (u) {
            check_normal(p, u);
        }
    }
    if (parts[2]) {
        static const char *const origins[] = {"https://rs.example", "http://[::1]:8080"};
        for (i = 0; i < 2; i++) {
            const char *u = mab_htu_request(p, origins[i], parts[2]);
            if (u) {
                check_normal(p, u);
                if (strncmp(u, i ? "http://[::1]:8080/" : "https://rs.example/",
                            strlen(origins[i]) + 1)
                    != 0) {
                    fail("htu: the request URL left its origin");
                }
            }
        }
    }
    fuzz_pool_done(p);
    return 0;
}
