/* libFuzzer target: the input is a compact JWS/JWT exactly as it would arrive in an
 * Authorization header. It is parsed (MAB_MAX_TOKEN_SIZE), verified against the fixed key
 * set and the HMAC secret, and its payload run through every claims function. */
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
    apr_pool_t *p = fuzz_pool_new();

    /* The input buffer is passed as is (not NUL-terminated): the parser is length-bounded,
     * so ASan sees any read past the end. */
    fuzz_token_pipeline(p, (const char *)data, size);
    fuzz_pool_done(p);
    return 0;
}
