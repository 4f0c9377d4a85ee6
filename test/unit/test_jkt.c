/* RFC 7638 thumbprints: the RFCs' vectors for RSA, EC and OKP, member order and extra
 * members not mattering, and refusals (missing members, other ktys, values that would need
 * JSON escaping). */
#include "mab_dpop.h"
#include "tap.h"
#include "testutil.h"

#define RFC7638_N                                                                                  \
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP" \
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"          \
    "FDW2QvzqY3"                                                                                   \
    "68QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM" \
    "4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"

static const char *thumb(const char *json)
{
    static char out[MAB_JKT_LEN + 1];
    json_t *jwk = json_loads(json, 0, NULL);
    int rc;

    memset(out, 'x', sizeof(out));
    rc = mab_jwk_thumbprint(jwk, out);
    json_decref(jwk);
    return rc == 0 ? out : NULL;
}

static void test_vectors(void)
{
    /* RFC 7638 §3.1 */
    is_str(thumb("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"alg\":\"RS256\","
                 "\"kid\":\"2011-04-29\"}"),
           "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "RFC 7638 §3.1 RSA key");
    /* RFC 9449 §6.1's EC key, whose thumbprint the RFC's cnf.jkt shows */
    is_str(thumb("{\"kty\":\"EC\",\"x\":\"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs\","
                 "\"y\":\"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA\",\"crv\":\"P-256\"}"),
           "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "RFC 9449 EC key");
    /* RFC 8037 A.2's Ed25519 key. Computed independently (and equal to RFC 8037 A.3):
     *   python3 -c 'import hashlib,base64; print(base64.urlsafe_b64encode(hashlib.sha256(
     *     b"{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"
     *     ).digest()).rstrip(b"=").decode())' */
    is_str(thumb("{\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\",\"kty\":\"OKP\","
                 "\"crv\":\"Ed25519\",\"use\":\"sig\"}"),
           "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "RFC 8037 Ed25519 key");
}

static void test_refusals(void)
{
    char out[MAB_JKT_LEN + 1];

    ok(thumb("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\"}") == NULL, "RSA without e");
    ok(thumb("{\"kty\":\"RSA\",\"e\":\"AQAB\"}") == NULL, "RSA without n");
    ok(thumb("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\"}") == NULL, "EC without y");
    ok(thumb("{\"kty\":\"EC\",\"x\":\"AA\",\"y\":\"AA\"}") == NULL, "EC without crv");
    ok(thumb("{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}") == NULL, "OKP without x");
    ok(thumb("{\"kty\":\"oct\",\"k\":\"AAAA\"}") == NULL, "oct: no thumbprint here");
    ok(thumb("{\"kty\":\"rsa\",\"n\":\"AA\",\"e\":\"AQAB\"}") == NULL, "kty is case-sensitive");
    ok(thumb("{\"n\":\"AA\",\"e\":\"AQAB\"}") == NULL, "no kty");
    ok(thumb("{\"kty\":1}") == NULL, "kty not a string");
    ok(thumb("{\"kty\":\"RSA\",\"n\":\"AA\",\"e\":65537}") == NULL, "e not a string");
    ok(thumb("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"a\\\"b\"}") == NULL,
       "a quote would need escaping: refused");
    ok(thumb("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"a\\\\b\"}") == NULL,
       "a backslash would need escaping: refused");
    ok(thumb("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"a\\nb\"}") == NULL,
       "a control character would need escaping: refused");
    ok(thumb("[1]") == NULL, "not an object");
    ok(mab_jwk_thumbprint(NULL, out) == -1, "NULL");
}

int main(void)
{
    apr_pool_t *p = test_setup();

    (void)p;
    test_vectors();
    test_refusals();
    return tap_done();
}
