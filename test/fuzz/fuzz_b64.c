/* libFuzzer target: strict base64url both ways.
 *  - decode(input): when it succeeds, encode(decoded) must give the input back, byte for
 *    byte (the decoder promises exactly one accepted spelling per value);
 *  - encode(input): must decode again, to exactly the input. */
#include "fuzz_common.h"

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
    fprintf(stderr, "fuzz_b64: %s (input %zu bytes)\n", what, size);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_new();
    unsigned char *out = NULL, *back = NULL;
    apr_size_t out_len = 0, back_len = 0;
    char *enc;

    if (mab_b64url_decode(p, (const char *)data, size, &out, &out_len) == 0) {
        if (out_len != size / 4 * 3 + (size % 4 ? size % 4 - 1 : 0) || out[out_len] != '\0') {
            mismatch("decoded length or terminator wrong", size);
        }
        enc = mab_b64url_encode(p, out, out_len);
        if (strlen(enc) != size || memcmp(enc, data, size) != 0) {
            mismatch("decode accepted a non-canonical spelling", size);
        }
    }
    enc = mab_b64url_encode(p, data, size);
    if (strlen(enc) != (size * 4 + 2) / 3) {
        mismatch("encoded length wrong", size);
    }
    if (mab_b64url_decode(p, enc, strlen(enc), &back, &back_len) != 0) {
        mismatch("own encoding refused", size);
    }
    if (back_len != size || memcmp(back, data, size) != 0) {
        mismatch("round trip changed the bytes", size);
    }
    fuzz_pool_done(p);
    return 0;
}
