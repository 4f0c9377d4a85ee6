/* libFuzzer target: the input is a JWKS document as a key source would serve it. Every
 * key that imports is checked against every algorithm name (mab_alg_find +
 * mab_jwk_fits_alg) and used once for a (failing) verification with each alg it fits,
 * so OpenSSL's verify paths see keys the fuzzer made. */
#include "fuzz_common.h"
#include "mab_sig.h"

#include <openssl/evp.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_global_init(0);
    return 0;
}

static void try_key(apr_pool_t *p, const mab_key_t *key)
{
    static const unsigned char msg[] = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9";
    size_t i;

    if (!key || !key->kty || !key->pkey || key->secret) {
        abort(); /* a key set only ever yields public keys */
    }
    for (i = 0; i < FUZZ_NALGS; i++) {
        const mab_alg_t *alg = mab_alg_find(FUZZ_ALG_NAMES[i]);
        const char *detail = NULL;
        unsigned char *sig;
        size_t sig_len;

        if (!alg) {
            continue;
        }
        if (!mab_jwk_fits_alg(key, alg)) {
            continue;
        }
        if (alg->family == MAB_FAMILY_HMAC) {
            abort(); /* HMAC with a public key is the classic confusion attack */
        }
        switch (alg->family) {
        case MAB_FAMILY_ECDSA:
            sig_len = 2 * alg->ec_coord_len;
            break;
        case MAB_FAMILY_EDDSA:
            sig_len = 64;
            break;
        default:
            sig_len = (size_t)EVP_PKEY_get_size(key->pkey);
            break;
        }
        if (sig_len == 0 || sig_len > 4096) {
            continue;
        }
        sig = apr_palloc(p, sig_len);
        memset(sig, 0x5a, sig_len);
        if (mab_sig_verify(alg, key, msg, sizeof(msg) - 1, sig, sig_len, &detail) == MAB_OK) {
            abort(); /* a constant "signature" must not verify */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_new();
    const char *why = NULL;
    mab_keyset_t *ks;
    int i;

    ks = mab_jwks_parse(p, (const char *)data, size, "fuzz", &why);
    if (!ks) {
        if (!why) {
            abort();
        }
    }
    else {
        if (ks->nkeys < 1 || ks->nkeys > MAB_MAX_JWKS_KEYS || ks->nskipped < 0) {
            abort();
        }
        for (i = 0; i < ks->nkeys; i++) {
            try_key(p, ks->keys[i]);
        }
    }
    /* The quiet variant a second process uses. Its verdict is deliberately not compared
     * with the first: OpenSSL's RSA public check (EVP_PKEY_public_check, enhanced
     * Miller-Rabin with random bases) can accept or refuse the same malformed modulus
     * from one call to the next, see test/fuzz/crashes/README.md. */
    {
        const char *why2 = NULL;
        mab_keyset_t *ks2 = mab_jwks_parse_ex(p, (const char *)data, size, "fuzz", 0, &why2);
        if (!ks2 && !why2) {
            abort();
        }
    }
    fuzz_pool_done(p);
    return 0;
}
