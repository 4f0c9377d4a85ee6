/* libFuzzer target: the input is header JSON, a NUL, payload bytes, a NUL, raw signature
 * bytes. The harness base64url-encodes each part (mab_b64url_encode) and joins them with
 * dots, so mutations land in the JSON and the signature primitives instead of dying in
 * base64 validation (fuzz_token covers that). Missing parts are empty. */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_global_init(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[3] = {data, data + size, data + size};
    size_t len[3] = {size, 0, 0};
    const uint8_t *nul;
    apr_pool_t *p;
    char *h, *pl, *s, *tok;
    size_t tok_len;

    /* Signature bytes are arbitrary (may hold NULs): only the first two NULs split. */
    nul = memchr(data, 0, size);
    if (nul) {
        len[0] = (size_t)(nul - data);
        part[1] = nul + 1;
        len[1] = size - len[0] - 1;
        nul = memchr(part[1], 0, len[1]);
        if (nul) {
            len[1] = (size_t)(nul - part[1]);
            part[2] = nul + 1;
            len[2] = size - len[0] - len[1] - 2;
        }
    }
    p = fuzz_pool_new();
    h = mab_b64url_encode(p, part[0], len[0]);
    pl = mab_b64url_encode(p, part[1], len[1]);
    s = mab_b64url_encode(p, part[2], len[2]);
    tok = apr_pstrcat(p, h, ".", pl, ".", s, NULL);
    tok_len = strlen(tok);
    /* An exact-size copy, so ASan notices a read one past the token. */
    {
        char *exact = apr_pmemdup(p, tok, tok_len);
        fuzz_token_pipeline(p, exact, tok_len);
    }
    fuzz_pool_done(p);
    return 0;
}
