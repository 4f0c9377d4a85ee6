/* Signature-only verification with the published RFC 7515 / 7520 / 8037 examples: each
 * verifies with its published key and fails once any single character changes. */
#include <openssl/crypto.h>

#include "mab_alg.h"
#include "mab_b64.h"
#include "mab_jwk.h"
#include "mab_jws.h"
#include "tap.h"
#include "testutil.h"

static mab_err_e verify_compact(apr_pool_t *p, const char *compact, const mab_key_t *key)
{
    mab_jws_t *jws = NULL;
    const char *detail = NULL;
    mab_err_e rv = mab_jws_parse(p, compact, strlen(compact), MAB_MAX_TOKEN_SIZE, &jws, &detail);

    if (rv != MAB_OK) {
        return rv;
    }
    return mab_jws_verify_key(jws, key, &detail);
}

/* Every position, every time a different base64url character: no change may verify. */
static int no_single_change_verifies(apr_pool_t *p, const char *compact, const mab_key_t *key)
{
    size_t i, n = strlen(compact);
    char *copy = apr_pstrdup(p, compact);

    for (i = 0; i < n; i++) {
        char orig = copy[i];
        apr_pool_t *sub;
        mab_err_e rv;

        if (orig == '.') {
            continue;
        }
        copy[i] = orig == 'A' ? 'B' : 'A';
        apr_pool_create(&sub, p);
        rv = verify_compact(sub, copy, key);
        apr_pool_destroy(sub);
        copy[i] = orig;
        if (rv == MAB_OK) {
            printf("#   changing position %zu still verifies\n", i);
            return 0;
        }
    }
    return 1;
}

int main(void)
{
    static const char *const good[] = {"rfc7515_A2",  "rfc7515_A3",  "rfc7515_A4", "rfc7520_4_1",
                                       "rfc7520_4_2", "rfc7520_4_3", "rfc8037_A4"};
    apr_pool_t *p = test_setup();
    json_t *all = load_vectors();
    size_t i;

    if (!ok(all != NULL, "vectors file loads")) {
        return tap_done();
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const char *name = good[i], *why = NULL;
        const char *compact = json_string_value(vector(all, name, "compact"));
        mab_key_t *key = mab_jwk_import(p, vector(all, name, "jwk"), &why);

        if (!ok(key != NULL, "%s: published JWK imports", name)) {
            printf("#   %s\n", why);
            continue;
        }
        is_int(verify_compact(p, compact, key), MAB_OK, "%s: published signature verifies", name);
        ok(no_single_change_verifies(p, compact, key), "%s: no single-character change verifies",
           name);
    }

    /* HMAC vectors: they verify with the published secret given as an admin's secret, and
     * never with a public key, nor with a secret that arrives as a JWK. */
    {
        static const char *const hmac[] = {"rfc7515_A1", "rfc7520_4_4"};
        const char *why = NULL;
        mab_key_t *rsa = mab_jwk_import(p, vector(all, "rfc7515_A2", "jwk"), &why);

        for (i = 0; i < sizeof(hmac) / sizeof(hmac[0]); i++) {
            const char *name = hmac[i];
            const char *compact = json_string_value(vector(all, name, "compact"));
            json_t *k = json_object_get(vector(all, name, "jwk"), "k");
            unsigned char *raw = NULL;
            apr_size_t raw_len = 0;
            mab_key_t *secret;

            mab_b64url_decode(p, json_string_value(k), json_string_length(k), &raw, &raw_len);
            secret = mab_jwk_secret(p, raw, raw_len);
            is_int(verify_compact(p, compact, secret), MAB_OK,
                   "%s: verifies with the published secret", name);
            ok(no_single_change_verifies(p, compact, secret),
               "%s: no single-character change verifies", name);
            is_int(verify_compact(p, compact, rsa), MAB_ERR_NO_KEY,
                   "%s: an RSA public key never verifies HMAC", name);
            ok(mab_jwk_import(p, vector(all, name, "jwk"), &why) == NULL,
               "%s: the oct JWK itself is refused as a key-set key", name);
        }
        ok(!mab_jwk_fits_alg(mab_jwk_secret(p, (const unsigned char *)"short", 5),
                             mab_alg_find("HS256")),
           "a secret shorter than the hash output does not fit HS256");
        is_int(verify_compact(p, json_string_value(vector(all, "rfc7515_A5", "compact")), rsa),
               MAB_ERR_ALG, "rfc7515_A5 (alg none, empty signature) is refused");
        ok(verify_compact(p, json_string_value(vector(all, "rfc7515_E", "compact")), rsa) != MAB_OK,
           "rfc7515_E (alg none with an unknown crit, no signature) is refused");
        is_int(verify_compact(p, json_string_value(vector(all, "rfc7797_4_2", "compact")), rsa),
               MAB_ERR_CRIT, "rfc7797_4_2 (b64 false, critical) is refused");
        /* A key of the wrong type for the alg never verifies, even with a valid signature. */
        is_int(verify_compact(p, json_string_value(vector(all, "rfc7515_A3", "compact")), rsa),
               MAB_ERR_NO_KEY, "ES256 token with an RSA key: key does not fit");
    }
    json_decref(all);
    return tap_done();
}
