/* libFuzzer target: the whole request path of the core, from the Authorization header to
 * the verdict. The input is `<Authorization value>\n<query string>` (no newline: no query
 * string). It is parsed with mab_credential_parse and, when that yields a token, verified
 * twice with mab_verify against one policy: a real key cache over a JWKS file (a P-256 key
 * generated at start, whose private half never leaves this process) and the RFC 7515 A.1
 * HMAC secret, with a real token cache, so the second call may be a cache hit.
 *
 * Invariants: every verdict is a known mab_err_e; an accepted one has a user, exports,
 * claims and the policy's issuer; both calls agree; and since the fuzzer cannot sign with
 * the generated key, an accepted token must carry a correct HMAC under the secret, checked
 * here independently with OpenSSL's HMAC() over the signing input.
 *
 * MAB_FUZZ_VERBOSE=1 build/fuzz/fuzz_verifier <file>... prints each verdict. */
#include <unistd.h>

#include <apr_file_io.h>
#include <openssl/hmac.h>

#include "fuzz_common.h"
#include "mab_credential.h"
#include "mab_keycache.h"
#include "mab_tokencache.h"
#include "mab_verifier.h"

#include "../unit/signer.h"

#define FUZZ_NOW 1700000000LL
#define FUZZ_ISS "https://issuer.example.com"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mab_verifier_t fv;
static mab_issuer_t fissuer;
static mab_policy_t fpolicy;
static char fdir[] = "/tmp/mab-fuzz-verifier-XXXXXX";
static const char *fjwks_path;

static void fuzz_verifier_cleanup(void)
{
    unlink(fjwks_path);
    rmdir(fdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    mab_keycache_opts_t opts = {64 * 1024, 2000, 86400, 86400, 3600, 3600,
                                NULL,      0,    86400, NULL,  NULL};
    const char *err = NULL, *text;
    apr_file_t *f = NULL;
    EVP_PKEY *k;
    mab_source_t *src;

    (void)argc;
    (void)argv;
    fuzz_global_init(1); /* the pool, the log sink, the audiences and the HMAC secret */
    mab_tokencache_global_init(fuzz_long_pool);

    k = EVP_EC_gen("P-256");
    if (!k || !mkdtemp(fdir)) {
        fuzz_die("key or temporary directory");
    }
    fjwks_path = apr_pstrcat(fuzz_long_pool, fdir, "/jwks.json", NULL);
    atexit(fuzz_verifier_cleanup); /* runs before apr_terminate (registered earlier) */
    text = apr_psprintf(fuzz_long_pool, "{\"keys\":[%s]}", ec_jwk(fuzz_long_pool, k, "ec-1"));
    EVP_PKEY_free(k); /* the private half is gone: nothing can sign for this key now */
    if (apr_file_open(&f, fjwks_path, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                      APR_FPROT_OS_DEFAULT, fuzz_long_pool)
            != APR_SUCCESS
        || apr_file_write_full(f, text, strlen(text), NULL) != APR_SUCCESS
        || apr_file_close(f) != APR_SUCCESS) {
        fuzz_die("writing the JWKS");
    }

    fv.keys = mab_keycache_create(fuzz_long_pool);
    src = mab_keycache_source(fv.keys, fjwks_path);
    if (mab_keycache_init(fv.keys, fuzz_long_pool, &opts, &err) != 0
        || mab_keycache_child_init(fv.keys, fuzz_long_pool) != 0) {
        fuzz_die(err ? err : "key cache");
    }
    fv.tokens = mab_tokencache_create(fuzz_long_pool, MAB_TOKENCACHE_DEFAULT_ENTRIES);
    if (!fv.tokens) {
        fuzz_die("token cache");
    }

    fissuer.iss = FUZZ_ISS;
    fissuer.keys = src;
    fissuer.secret = fuzz_hmac_key;
    fpolicy.issuers = &fissuer;
    fpolicy.nissuers = 1;
    fpolicy.audiences = fuzz_audiences;
    fpolicy.audience_any = 0;
    fpolicy.alg_mask = mab_alg_default_mask() | mab_alg_find("HS256")->bit
                       | mab_alg_find("HS384")->bit | mab_alg_find("HS512")->bit;
    fpolicy.max_token_size = MAB_MAX_TOKEN_SIZE;
    fpolicy.access_token_jwt = 0;
    fpolicy.skew = 60;
    fpolicy.user_claim = "sub";
    fpolicy.use_cache = 1;
    return 0;
}

/* Whether tok is `h.p.s` where s is exactly the base64url HMAC of `h.p` under the secret,
 * with SHA-256, -384 or -512. Independent of the core's JWS code. */
static int hmac_valid(apr_pool_t *p, const char *tok, apr_size_t len)
{
    const EVP_MD *mds[3];
    const char *dot1 = memchr(tok, '.', len), *dot2;
    apr_size_t in_len;
    size_t i;

    if (!dot1 || !(dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - tok)))) {
        return 0;
    }
    if (memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - tok))) {
        return 0;
    }
    in_len = (apr_size_t)(dot2 - tok);
    mds[0] = EVP_sha256();
    mds[1] = EVP_sha384();
    mds[2] = EVP_sha512();
    for (i = 0; i < 3; i++) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        const char *enc;

        if (!HMAC(mds[i], fuzz_hmac_key->secret, (int)fuzz_hmac_key->secret_len,
                  (const unsigned char *)tok, in_len, mac, &mac_len)) {
            continue;
        }
        enc = mab_b64url_encode(p, mac, mac_len);
        if (strlen(enc) == len - in_len - 1 && memcmp(enc, dot2 + 1, strlen(enc)) == 0) {
            return 1;
        }
    }
    return 0;
}

static void check_verdict(apr_pool_t *p, const mab_credential_t *cred, const mab_verdict_t *v)
{
    if (v->err < 0 || v->err >= MAB_ERR__COUNT || !mab_err_desc(v->err)) {
        fprintf(stderr, "fuzz_verifier: verdict %d is no mab_err_e\n", (int)v->err);
        abort();
    }
    if (v->fingerprint && strlen(v->fingerprint) != 8) {
        fprintf(stderr, "fuzz_verifier: fingerprint '%s' is not 8 hex digits\n", v->fingerprint);
        abort();
    }
    if (v->err != MAB_OK) {
        return;
    }
    if (!v->user || !*v->user || !v->exports || !v->claims || v->issuer != &fissuer) {
        fprintf(stderr, "fuzz_verifier: accepted without user, exports, claims or issuer\n");
        abort();
    }
    if (!hmac_valid(p, cred->token, cred->len)) {
        fprintf(stderr, "fuzz_verifier: accepted a token with no valid HMAC: %.*s\n",
                (int)cred->len, cred->token);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_new(), *r1 = NULL, *r2 = NULL;
    const char *nl = memchr(data, '\n', size);
    const char *authz, *query = NULL, *detail = NULL;
    mab_credential_t cred;
    mab_verdict_t v1, v2;
    mab_err_e rv;

    /* NUL-terminated copies, as httpd hands them over (an embedded NUL ends the string). */
    if (nl) {
        authz = apr_pstrmemdup(p, (const char *)data, (apr_size_t)(nl - (const char *)data));
        query = apr_pstrmemdup(p, nl + 1, size - (size_t)(nl + 1 - (const char *)data));
    }
    else {
        authz = apr_pstrmemdup(p, (const char *)data, size);
    }
    memset(&cred, 0, sizeof(cred));
    rv = mab_credential_parse(authz, query, 0, &cred, &detail);
    if (rv < 0 || rv >= MAB_ERR__COUNT) {
        abort();
    }
    if (rv == MAB_OK) {
        if (!cred.token || cred.len == 0) {
            abort();
        }
        /* Each call on its own "request" pool: the second outlives nothing of the first. */
        apr_pool_create(&r1, p);
        mab_verify(&fv, &fpolicy, &cred, FUZZ_NOW, r1, &v1);
        check_verdict(p, &cred, &v1);
        apr_pool_destroy(r1);
        apr_pool_create(&r2, p);
        mab_verify(&fv, &fpolicy, &cred, FUZZ_NOW, r2, &v2);
        check_verdict(p, &cred, &v2);
        if (getenv("MAB_FUZZ_VERBOSE")) {
            fprintf(stderr, "fuzz_verifier: %s, then %s%s\n", mab_err_desc(v1.err),
                    mab_err_desc(v2.err), v2.cached ? " (cached)" : "");
        }
        if (v1.err != v2.err) {
            fprintf(stderr, "fuzz_verifier: first call %d, second call %d (cached %d)\n",
                    (int)v1.err, (int)v2.err, v2.cached);
            abort();
        }
        apr_pool_destroy(r2);
    }
    fuzz_pool_done(p);
    return 0;
}
