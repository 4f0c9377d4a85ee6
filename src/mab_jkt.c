/* RFC 7638 JWK thumbprints: what a DPoP-bound token's cnf.jkt names (RFC 9449 §6.1). */
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "mab_b64.h"
#include "mab_dpop.h"

/* The required members of each key type (RFC 7638 §3.2, RFC 8037 §2), already in the
 * lexicographic order the thumbprint takes them in; kty among them. */
static const char *const rsa_members[] = {"e", "kty", "n", NULL};
static const char *const ec_members[] = {"crv", "kty", "x", "y", NULL};
static const char *const okp_members[] = {"crv", "kty", "x", NULL};

/* The value is written between quotes as it is, so it must be one JSON would not escape:
 * the members are base64url and names like "P-256", and anything else is refused rather
 * than hashed in some escaped form another implementation might not choose. */
static int plain_string(const json_t *v)
{
    const unsigned char *s;
    size_t i, n;

    if (!json_is_string(v)) {
        return 0;
    }
    s = (const unsigned char *)json_string_value(v);
    n = json_string_length(v);
    for (i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] == '"' || s[i] == '\\') {
            return 0;
        }
    }
    return 1;
}

static int update(EVP_MD_CTX *md, const char *s, size_t n)
{
    return EVP_DigestUpdate(md, s, n) == 1;
}

int mab_jwk_thumbprint(const json_t *jwk, char out[MAB_JKT_LEN + 1])
{
    const char *const *members;
    const json_t *kty;
    EVP_MD_CTX *md = NULL;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    int ok, i;

    if (!json_is_object(jwk)) {
        return -1;
    }
    kty = json_object_get(jwk, "kty");
    if (!json_is_string(kty)) {
        return -1;
    }
    if (strcmp(json_string_value(kty), "RSA") == 0) {
        members = rsa_members;
    }
    else if (strcmp(json_string_value(kty), "EC") == 0) {
        members = ec_members;
    }
    else if (strcmp(json_string_value(kty), "OKP") == 0) {
        members = okp_members;
    }
    else {
        return -1;
    }
    /* Hashed piece by piece: an RSA modulus can be long, and no copy of it is needed. */
    md = EVP_MD_CTX_new();
    ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 && update(md, "{", 1);
    for (i = 0; ok && members[i]; i++) {
        const json_t *v = json_object_get(jwk, members[i]);

        ok = plain_string(v) && (i == 0 || update(md, ",", 1)) && update(md, "\"", 1)
             && update(md, members[i], strlen(members[i])) && update(md, "\":\"", 3)
             && update(md, json_string_value(v), json_string_length(v)) && update(md, "\"", 1);
    }
    ok = ok && update(md, "}", 1) && EVP_DigestFinal_ex(md, digest, &digest_len) == 1
         && digest_len == 32;
    EVP_MD_CTX_free(md);
    if (!ok) {
        return -1;
    }
    mab_b64url_encode_into(digest, 32, out);
    return 0;
}
