/* libFuzzer target: client certificates as mod_ssl and front proxies pass them (RFC 8705).
 *  - mab_cert_digest_pem on the raw bytes, mab_cert_digest_header on them as a C string:
 *    never a crash; a PEM accepted by the one is accepted by the other with the same digest
 *    (a header may hold plain PEM);
 *  - an accepted digest matches its own base64url spelling, and nothing else of the input;
 *  - mab_cert_matches with the input as x5t: a match only for the one canonical spelling of
 *    the digest. */
#include <openssl/evp.h>

#include "fuzz_common.h"
#include "mab_certbind.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* SHA-256 of nothing: a digest no certificate has, for the x5t side. */
static unsigned char empty_digest[MAB_CERT_DIGEST_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned int n = 0;

    (void)argc;
    (void)argv;
    fuzz_global_init(0);
    if (EVP_Digest("", 0, empty_digest, &n, EVP_sha256(), NULL) != 1) {
        fuzz_die("sha256");
    }
    return 0;
}

static void mismatch(const char *what, size_t size)
{
    fprintf(stderr, "fuzz_certbind: %s (input %zu bytes)\n", what, size);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_new();
    unsigned char pem_d[MAB_CERT_DIGEST_LEN], hdr_d[MAB_CERT_DIGEST_LEN];
    char *s = apr_pstrmemdup(p, (const char *)data, size);
    int pem_ok = mab_cert_digest_pem((const char *)data, size, pem_d) == 0;
    int hdr_ok = mab_cert_digest_header(p, s, hdr_d) == 0;
    const char *x5t;

    if (pem_ok) {
        if (!hdr_ok || memcmp(pem_d, hdr_d, sizeof(pem_d)) != 0) {
            mismatch("a PEM the header path refuses or digests otherwise", size);
        }
    }
    if (hdr_ok) {
        x5t = mab_b64url_encode(p, hdr_d, sizeof(hdr_d));
        if (mab_cert_matches(x5t, hdr_d) != 1) {
            mismatch("a digest does not match its own thumbprint", size);
        }
        if (strcmp(x5t, s) != 0 && mab_cert_matches(s, hdr_d) == 1) {
            mismatch("another spelling matched", size);
        }
    }
    if (mab_cert_matches(s, empty_digest) == 1) {
        x5t = mab_b64url_encode(p, empty_digest, sizeof(empty_digest));
        /* The x5t is a C string: what follows a NUL is not part of it. */
        if (strcmp(x5t, s) != 0) {
            mismatch("x5t matched in a spelling that is not the canonical one", size);
        }
    }
    fuzz_pool_done(p);
    return 0;
}
