#include <apr_lib.h>

#include <openssl/evp.h>

#include "mab_certbind.h"
#include "tap.h"
#include "testutil.h"

/* Two self-signed P-256 certificates, made once with
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout a.key \
 *     -out a.pem -days 36500 -subj /CN=mab-test-client-a        (and b, CN=mab-test-client-b)
 * and their thumbprints computed apart from the module with
 *   openssl x509 -in a.pem -outform der | sha256sum
 *   openssl x509 -in a.pem -outform der | openssl dgst -sha256 -binary | basenc --base64url */
static const char CERT_A[] = "-----BEGIN CERTIFICATE-----\n"
                             "MIIBjzCCATWgAwIBAgIUZnq/cna5ihSr/nXvi+VN3kj8e6IwCgYIKoZIzj0EAwIw\n"
                             "HDEaMBgGA1UEAwwRbWFiLXRlc3QtY2xpZW50LWEwIBcNMjYxMjAyMTU0NzI1WhgP\n"
                             "MjEyNjExMDgxNTQ3MjVaMBwxGjAYBgNVBAMMEW1hYi10ZXN0LWNsaWVudC1hMFkw\n"
                             "EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9pbkHgxX8emPSooTO2tuzN/Hut/yyPqv\n"
                             "UColJWNRn+YfPPivm47uxvcJeF0LY7nZRpZl3PsSO4cEqzoPy9bMj6NTMFEwHQYD\n"
                             "VR0OBBYEFPSrpJh7q/7GML+SX7JJLdWliQyIMB8GA1UdIwQYMBaAFPSrpJh7q/7G\n"
                             "ML+SX7JJLdWliQyIMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIg\n"
                             "OB6pDceHD2dPlgH4USMXAknICCpOhv7OfisJ3FNOWvsCIQDPplVuFr/XK5ubFQSs\n"
                             "K9sNOBPZj5gV2Zf1+fFsM/TG0A==\n"
                             "-----END CERTIFICATE-----\n";
static const char SHA_A[] = "eb56aa78de5b2c9d2c9006bfcf9d934d18408283e0cbeaab2362bcac9f51e76c";
static const char X5T_A[] = "61aqeN5bLJ0skAa_z52TTRhAgoPgy-qrI2K8rJ9R52w";

static const char CERT_B[] = "-----BEGIN CERTIFICATE-----\n"
                             "MIIBkDCCATWgAwIBAgIUYrPJIioX5pdibA8/5EazLMbsBLUwCgYIKoZIzj0EAwIw\n"
                             "HDEaMBgGA1UEAwwRbWFiLXRlc3QtY2xpZW50LWIwIBcNMjYxMjAyMTU0NzI1WhgP\n"
                             "MjEyNjExMDgxNTQ3MjVaMBwxGjAYBgNVBAMMEW1hYi10ZXN0LWNsaWVudC1iMFkw\n"
                             "EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPzgYuVwbf/2T0HQFF7XGW0ij4zwaCq2x\n"
                             "rImukZyIjgnkKNMryzamMjw4xsOV8rgPSfM5LbvNIfvnIcKkVcDEkaNTMFEwHQYD\n"
                             "VR0OBBYEFAMalBGZDewJ7YqhBBrxQvYksxP3MB8GA1UdIwQYMBaAFAMalBGZDewJ\n"
                             "7YqhBBrxQvYksxP3MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIh\n"
                             "AM0erU4V0/fo+N9YT3qeP8P70+315qk0qGz4Dpo4r37tAiEA8GAwyUS2DNuqKFEK\n"
                             "sVJnqNzinTPCAAP1/z5Otq99r1E=\n"
                             "-----END CERTIFICATE-----\n";
static const char SHA_B[] = "84206f22da21f969b7512435384f8218329b24844102263819a511c163535f92";
static const char X5T_B[] = "hCBvItoh-Wm3USQ1OE-CGDKbJIRBAiY4GaURwWNTX5I";

static const char *hex(apr_pool_t *p, const unsigned char *d)
{
    char *out = apr_palloc(p, MAB_CERT_DIGEST_LEN * 2 + 1);
    int i;

    for (i = 0; i < MAB_CERT_DIGEST_LEN; i++) {
        apr_snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
    return out;
}

static const char *pem_digest(apr_pool_t *p, const char *pem, apr_size_t len)
{
    unsigned char d[MAB_CERT_DIGEST_LEN];

    return mab_cert_digest_pem(pem, len, d) == 0 ? hex(p, d) : "refused";
}

static const char *hdr_digest(apr_pool_t *p, const char *value)
{
    unsigned char d[MAB_CERT_DIGEST_LEN];

    return mab_cert_digest_header(p, value, d) == 0 ? hex(p, d) : "refused";
}

/* Replaces every occurrence of `from` in s by `to`. */
static char *replace(apr_pool_t *p, const char *s, const char *from, const char *to)
{
    char *out = "";
    const char *hit;

    while ((hit = strstr(s, from)) != NULL) {
        out = apr_pstrcat(p, out, apr_pstrmemdup(p, s, (apr_size_t)(hit - s)), to, NULL);
        s = hit + strlen(from);
    }
    return apr_pstrcat(p, out, s, NULL);
}

/* The PEM's base64 lines joined: the DER in standard base64 with padding. */
static char *b64_der(apr_pool_t *p, const char *pem)
{
    char *s = replace(p, pem, "-----BEGIN CERTIFICATE-----", "");

    s = replace(p, s, "-----END CERTIFICATE-----", "");
    return replace(p, s, "\n", "");
}

/* Percent-encoding of every byte not in `keep` nor unreserved (RFC 3986 §2.3): nginx's
 * $ssl_client_escaped_cert keeps none, AWS ALB keeps "+=/". */
static char *escape(apr_pool_t *p, const char *s, const char *keep)
{
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (apr_isalnum(c) || strchr("-._~", c) || (keep && strchr(keep, c))) {
            *o++ = (char)c;
        }
        else {
            o += apr_snprintf(o, 4, "%%%02X", c);
        }
    }
    *o = '\0';
    return out;
}

static char *lower_escapes(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s), *o;

    for (o = out; *o; o++) {
        if (o[0] == '%' && o[1] && o[2]) {
            o[1] = (char)apr_tolower(o[1]);
            o[2] = (char)apr_tolower(o[2]);
        }
    }
    return out;
}

static unsigned char *der_of(apr_pool_t *p, const char *pem, int *len)
{
    const char *b = b64_der(p, pem);
    unsigned char *der = apr_palloc(p, strlen(b));

    *len = EVP_DecodeBlock(der, (const unsigned char *)b, (int)strlen(b));
    /* EVP_DecodeBlock counts the padding's zero bytes. */
    *len -= (int)(strlen(b) - strcspn(b, "="));
    return der;
}

static char *b64_of(apr_pool_t *p, const unsigned char *der, int len)
{
    char *out = apr_palloc(p, (apr_size_t)(len + 2) / 3 * 4 + 1);

    EVP_EncodeBlock((unsigned char *)out, der, len);
    return out;
}

static void test_pem(apr_pool_t *p)
{
    char *s;
    int len;
    unsigned char *der;

    is_str(pem_digest(p, CERT_A, strlen(CERT_A)), SHA_A, "PEM: SHA-256 of the DER (a)");
    is_str(pem_digest(p, CERT_B, strlen(CERT_B)), SHA_B, "PEM: SHA-256 of the DER (b)");
    is_str(pem_digest(p, CERT_A, strlen(CERT_A) - 1), SHA_A, "PEM without the final newline");
    is_str(pem_digest(p, replace(p, CERT_A, "\n", "\r\n"), strlen(CERT_A) + 11), SHA_A,
           "PEM with CRLF lines");
    s = apr_pstrcat(p, " \n\t", CERT_A, "\n\n  ", NULL);
    is_str(pem_digest(p, s, strlen(s)), SHA_A, "PEM with white space around it");
    s = replace(p, CERT_A, "\n", " ");
    is_str(pem_digest(p, s, strlen(s)), SHA_A, "PEM with spaces for line breaks");
    s = apr_pstrcat(p, "-----BEGIN CERTIFICATE-----", b64_der(p, CERT_A),
                    "-----END CERTIFICATE-----", NULL);
    is_str(pem_digest(p, s, strlen(s)), SHA_A, "PEM on one line");

    s = apr_pstrcat(p, CERT_A, CERT_B, NULL);
    is_str(pem_digest(p, s, strlen(s)), "refused", "two certificates: refused");
    s = replace(p, CERT_A, "K9sNOBPZj5gV2Zf1+fFsM/TG0A==\n", "");
    is_str(pem_digest(p, s, strlen(s)), "refused", "truncated (last line gone): refused");
    s = replace(p, CERT_A, "K9sNOBPZj5gV2Zf1+fFsM/TG0A==", "K9sNOBPZj5gV2Zf1+fFsM/TG");
    is_str(pem_digest(p, s, strlen(s)), "refused", "truncated by a byte: refused");
    s = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    is_str(pem_digest(p, s, strlen(s)), "refused", "base64 that is no certificate: refused");
    s = replace(p, CERT_A, "MIIBjzCCATWg", "MIIBjzCCATWh");
    is_str(pem_digest(p, s, strlen(s)), "refused", "a damaged certificate: refused");
    s = replace(p, CERT_A, "-----\nMIIB", "-----\nProc-Type: 4,ENCRYPTED\n\nMIIB");
    is_str(pem_digest(p, s, strlen(s)), "refused", "PEM header lines: refused");
    s = replace(p, CERT_A, "CERTIFICATE", "PRIVATE KEY");
    is_str(pem_digest(p, s, strlen(s)), "refused", "another PEM type: refused");
    s = replace(p, CERT_A, "CERTIFICATE", "TRUSTED CERTIFICATE");
    is_str(pem_digest(p, s, strlen(s)), "refused", "TRUSTED CERTIFICATE: refused");
    s = apr_pstrcat(p, CERT_A, "garbage\n", NULL);
    is_str(pem_digest(p, s, strlen(s)), "refused", "text after the END line: refused");
    s = apr_pstrcat(p, "garbage\n", CERT_A, NULL);
    is_str(pem_digest(p, s, strlen(s)), "refused", "text before the BEGIN line: refused");
    s = replace(p, CERT_A, "-----END CERTIFICATE-----\n", "");
    is_str(pem_digest(p, s, strlen(s)), "refused", "no END line: refused");
    s = replace(p, CERT_A, "TG0A==", "TG0A=");
    is_str(pem_digest(p, s, strlen(s)), "refused", "wrong padding: refused");
    s = replace(p, CERT_A, "TG0A==", "TG0A===");
    is_str(pem_digest(p, s, strlen(s)), "refused", "three '=': refused");
    s = replace(p, CERT_A, "TG0A==", "TG0B==");
    is_str(pem_digest(p, s, strlen(s)), "refused", "set leftover bits: refused");
    s = replace(p, CERT_A, "2Zf1+fFs", "2Zf1=fFs");
    is_str(pem_digest(p, s, strlen(s)), "refused", "'=' inside: refused");
    s = replace(p, CERT_A, "2Zf1+fFs", "2Zf1-fFs");
    is_str(pem_digest(p, s, strlen(s)), "refused", "base64url inside PEM: refused");
    is_str(pem_digest(p, CERT_A, sizeof(CERT_A)), "refused", "a NUL inside the length: refused");
    is_str(pem_digest(p, "", 0), "refused", "empty: refused");
    is_str(pem_digest(p, NULL, 0), "refused", "NULL: refused");
    s = apr_pstrcat(p, CERT_A, apr_psprintf(p, "%16384s", ""), NULL);
    is_str(pem_digest(p, s, strlen(s)), "refused", "over 16 KB (even of white space): refused");

    /* DER, but not the canonical encoding: the length in four bytes instead of two, or a
     * byte after the certificate. */
    der = der_of(p, CERT_A, &len);
    ok(len == 403 && der[0] == 0x30 && der[1] == 0x82, "the test's DER of a is 403 bytes");
    {
        unsigned char *ber = apr_palloc(p, (apr_size_t)len + 2);
        ber[0] = 0x30;
        ber[1] = 0x84;
        ber[2] = 0;
        ber[3] = 0;
        memcpy(ber + 4, der + 2, (apr_size_t)len - 2);
        s = apr_pstrcat(p, "-----BEGIN CERTIFICATE-----\n", b64_of(p, ber, len + 2),
                        "\n-----END CERTIFICATE-----\n", NULL);
        is_str(pem_digest(p, s, strlen(s)), "refused", "non-minimal DER length: refused");
        memcpy(ber, der, (apr_size_t)len);
        ber[len] = 0;
        s = apr_pstrcat(p, "-----BEGIN CERTIFICATE-----\n", b64_of(p, ber, len + 1),
                        "\n-----END CERTIFICATE-----\n", NULL);
        is_str(pem_digest(p, s, strlen(s)), "refused", "a byte after the DER: refused");
        s = apr_pstrcat(p, "-----BEGIN CERTIFICATE-----\n", b64_of(p, der, len),
                        "\n-----END CERTIFICATE-----\n", NULL);
        is_str(pem_digest(p, s, strlen(s)), SHA_A, "... the same bytes without it: accepted");
    }
}

static void test_header(apr_pool_t *p)
{
    const char *der64 = b64_der(p, CERT_A);
    const char *url64 = replace(p, replace(p, replace(p, der64, "+", "-"), "/", "_"), "=", "");
    const char *nginx = escape(p, CERT_A, NULL);
    const char *alb = escape(p, CERT_A, "+=/");
    char *s;

    ok(strstr(nginx, "%2B") && strstr(nginx, "%2F") && strstr(nginx, "%0A"),
       "the nginx form encodes + / and line breaks");
    ok(strchr(alb, '+') && strchr(alb, '/') && strstr(alb, "%0A"),
       "the ALB form keeps + and / and encodes line breaks");
    is_str(hdr_digest(p, nginx), SHA_A, "header: URL-encoded PEM (nginx $ssl_client_escaped_cert)");
    is_str(hdr_digest(p, alb), SHA_A, "header: URL-encoded PEM keeping +=/ (AWS ALB)");
    is_str(hdr_digest(p, lower_escapes(p, nginx)), SHA_A, "header: lower-case escapes");
    is_str(hdr_digest(p, escape(p, CERT_B, NULL)), SHA_B, "header: URL-encoded PEM (b)");
    is_str(hdr_digest(p, CERT_A), SHA_A, "header: plain PEM");
    is_str(hdr_digest(p, replace(p, CERT_A, "\n", " ")), SHA_A, "header: PEM with spaces");
    is_str(hdr_digest(p, der64), SHA_A, "header: base64 DER with padding");
    ok(strstr(der64, "==") != NULL, "... (which has two '=')");
    is_str(hdr_digest(p, replace(p, der64, "=", "")), SHA_A, "header: base64 DER without padding");
    is_str(hdr_digest(p, url64), SHA_A, "header: base64url DER");
    is_str(hdr_digest(p, apr_pstrcat(p, url64, "==", NULL)), SHA_A,
           "header: base64url DER with padding");
    is_str(hdr_digest(p, escape(p, der64, NULL)), SHA_A, "header: URL-encoded base64 DER");
    is_str(hdr_digest(p, b64_der(p, CERT_B)), SHA_B, "header: base64 DER (b)");

    is_str(hdr_digest(p, replace(p, alb, "%20", "+")), "refused",
           "'+' is not a space: a form-encoded PEM is refused");
    is_str(hdr_digest(p, replace(p, der64, "+", " ")), "refused",
           "base64 DER with '+' read as space: refused");
    is_str(hdr_digest(p, escape(p, apr_pstrcat(p, CERT_A, CERT_B, NULL), NULL)), "refused",
           "two certificates: refused");
    is_str(hdr_digest(p, apr_pstrcat(p, der64, b64_der(p, CERT_B), NULL)), "refused",
           "two DERs joined: refused");
    is_str(hdr_digest(p, apr_pstrndup(p, der64, strlen(der64) - 8)), "refused",
           "truncated base64 DER: refused");
    is_str(hdr_digest(p, apr_pstrndup(p, nginx, strlen(nginx) / 2)), "refused",
           "truncated URL-encoded PEM: refused");
    is_str(hdr_digest(p, replace(p, der64, "/", "_")), "refused", "mixed alphabets: refused");
    is_str(hdr_digest(p, replace(p, nginx, "%0A", "%0G")), "refused", "a bad escape: refused");
    is_str(hdr_digest(p, apr_pstrcat(p, nginx, "%0", NULL)), "refused", "a cut escape: refused");
    is_str(hdr_digest(p, replace(p, nginx, "%0A", "%00")), "refused", "an encoded NUL: refused");
    is_str(hdr_digest(p, "aGVsbG8gd29ybGQ="), "refused", "base64 that is no certificate: refused");
    is_str(hdr_digest(p, "garbage!"), "refused", "garbage: refused");
    is_str(hdr_digest(p, "(null)"), "refused", "(null): refused");
    is_str(hdr_digest(p, ""), "refused", "empty: refused");
    is_str(hdr_digest(p, NULL), "refused", "NULL: refused");
    s = apr_pstrcat(p, nginx, apr_psprintf(p, "%16384s", ""), NULL);
    is_str(hdr_digest(p, s), "refused", "over 16 KB: refused");
    s = apr_pstrcat(p, nginx, replace(p, apr_psprintf(p, "%6000s", ""), " ", "%20"), NULL);
    ok(strlen(s) > 16384, "... the limit is on what was sent");
    is_str(hdr_digest(p, s), "refused", "... also when the decoded text is small");
}

static void test_matches(apr_pool_t *p)
{
    unsigned char a[MAB_CERT_DIGEST_LEN], b[MAB_CERT_DIGEST_LEN], d[MAB_CERT_DIGEST_LEN];
    char *x;

    ok(mab_cert_digest_pem(CERT_A, strlen(CERT_A), a) == 0, "digest of a");
    ok(mab_cert_digest_header(p, escape(p, CERT_B, NULL), b) == 0, "digest of b from a header");
    is_int(mab_cert_matches(X5T_A, a), 1, "x5t#S256 of a matches a's certificate");
    is_int(mab_cert_matches(X5T_B, b), 1, "x5t#S256 of b matches b's certificate");
    is_int(mab_cert_matches(X5T_B, a), 0, "b's x5t#S256 does not match a");
    is_int(mab_cert_matches(X5T_A, b), 0, "a's x5t#S256 does not match b");
    memcpy(d, a, sizeof(d));
    d[MAB_CERT_DIGEST_LEN - 1] ^= 1;
    is_int(mab_cert_matches(X5T_A, d), 0, "a digest differing in the last bit: no match");
    memcpy(d, a, sizeof(d));
    d[0] ^= 0x80;
    is_int(mab_cert_matches(X5T_A, d), 0, "a digest differing in the first bit: no match");
    is_int(mab_cert_matches(apr_pstrcat(p, X5T_A, "=", NULL), a), 0, "with padding: no match");
    x = replace(p, replace(p, X5T_A, "_", "/"), "-", "+");
    is_int(mab_cert_matches(x, a), 0, "in standard base64: no match");
    is_int(mab_cert_matches(apr_pstrndup(p, X5T_A, 42), a), 0, "42 characters: no match");
    is_int(mab_cert_matches(apr_pstrcat(p, X5T_A, "A", NULL), a), 0, "44 characters: no match");
    x = apr_pstrdup(p, X5T_A);
    x[42] = 'x'; /* 'w' and 'x' differ in the two bits past the 32 bytes */
    is_int(mab_cert_matches(x, a), 0, "set leftover bits: no match");
    x = apr_pstrdup(p, X5T_A);
    x[10] = '.';
    is_int(mab_cert_matches(x, a), 0, "a character outside base64url: no match");
    is_int(mab_cert_matches(SHA_A, a), 0, "the hex digest: no match");
    is_int(mab_cert_matches("", a), 0, "empty: no match");
    is_int(mab_cert_matches(NULL, a), 0, "NULL x5t: no match");
    is_int(mab_cert_matches(X5T_A, NULL), 0, "no certificate: no match");
}

int main(void)
{
    apr_pool_t *p = test_setup();

    test_pem(p);
    test_header(p);
    test_matches(p);
    return tap_done();
}
