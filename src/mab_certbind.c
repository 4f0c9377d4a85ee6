/* RFC 8705 §3: the client certificate's SHA-256 thumbprint, from mod_ssl's PEM or from a
 * front proxy's header, and its comparison with a token's cnf["x5t#S256"].
 *
 * Whatever the text, the bytes hashed must be one parseable X.509 certificate in DER, the
 * whole of what was sent and nothing else: the thumbprint the authorization server bound the
 * token to is over the DER the client showed it, so a value that is not exactly one
 * certificate is refused rather than guessed at. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mab_b64.h"
#include "mab_certbind.h"
#include "mab_form.h"

/* A client certificate is one or two kilobytes of DER; PEM adds a third, URL-encoding up to
 * a half more. Anything near these bounds is not a client certificate. */
#define MAB_MAX_CERT_PEM 16384
#define MAB_MAX_CERT_HEADER 16384

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"

/* The base64 alphabets of RFC 4648 §4 (PEM, DER in a header) and §5 (base64url). */
enum { B64_STD, B64_URL };

static int b64_value(unsigned char c, int alphabet)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (alphabet == B64_STD) {
        return c == '+' ? 62 : c == '/' ? 63 : -1;
    }
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* n characters of one alphabet, padded to a multiple of four with at most two '=' or not at
 * all; unused trailing bits zero. out holds at least n / 4 * 3 + 2 bytes. 0 or -1. */
static int b64_decode(const char *in, apr_size_t n, int alphabet, unsigned char *out,
                      apr_size_t *out_len)
{
    apr_size_t i, o = 0, pad = 0;
    unsigned long acc = 0;
    int bits = 0;

    while (pad < 2 && n > 0 && in[n - 1] == '=') {
        n--;
        pad++;
    }
    if (n % 4 == 1 || (pad && (n + pad) % 4 != 0)) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        int v = b64_value((unsigned char)in[i], alphabet);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1UL << bits) - 1;
        }
    }
    /* Set leftover bits would be a second spelling of the same bytes. */
    if (acc != 0) {
        return -1;
    }
    *out_len = o;
    return 0;
}

/* Exactly one X.509 certificate, canonically encoded: d2i takes all of it and encodes it
 * back to the same bytes (mod_ssl re-encodes what it got; both paths hash the same). */
static int digest_der(const unsigned char *der, apr_size_t len,
                      unsigned char out[MAB_CERT_DIGEST_LEN])
{
    const unsigned char *p = der;
    unsigned char *again = NULL;
    unsigned int dlen = 0;
    X509 *x = NULL;
    int n, rc = -1;

    if (len == 0) {
        return -1;
    }
    x = d2i_X509(NULL, &p, (long)len);
    if (!x || p != der + len) {
        goto cleanup;
    }
    n = i2d_X509(x, &again); /* again: ours, freed below */
    if (n < 0 || (apr_size_t)n != len || memcmp(again, der, len) != 0) {
        goto cleanup;
    }
    if (EVP_Digest(der, len, out, &dlen, EVP_sha256(), NULL) != 1 || dlen != MAB_CERT_DIGEST_LEN) {
        goto cleanup;
    }
    rc = 0;
cleanup:
    OPENSSL_free(again);
    X509_free(x);
    return rc;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int mab_cert_digest_pem(const char *pem, apr_size_t len, unsigned char out[MAB_CERT_DIGEST_LEN])
{
    const char *s = pem, *end = pem + len, *body, *stop;
    unsigned char *der = NULL;
    char *chars = NULL;
    apr_size_t n = 0, der_len = 0;
    int rc = -1;

    if (!pem || len == 0 || len > MAB_MAX_CERT_PEM || memchr(pem, '\0', len)) {
        return -1;
    }
    while (s < end && is_space(*s)) {
        s++;
    }
    while (end > s && is_space(end[-1])) {
        end--;
    }
    if ((apr_size_t)(end - s) < sizeof(PEM_BEGIN) - 1 + sizeof(PEM_END) - 1
        || memcmp(s, PEM_BEGIN, sizeof(PEM_BEGIN) - 1) != 0
        || memcmp(end - (sizeof(PEM_END) - 1), PEM_END, sizeof(PEM_END) - 1) != 0) {
        return -1;
    }
    body = s + sizeof(PEM_BEGIN) - 1;
    stop = end - (sizeof(PEM_END) - 1);
    /* Line breaks (or the spaces some proxies put in their place) may separate the base64
     * characters; anything else — a PEM header line, a second block's dashes — is refused by
     * the decoder. */
    chars = malloc((apr_size_t)(stop - body) + 1);
    der = malloc((apr_size_t)(stop - body) / 4 * 3 + 3);
    if (!chars || !der) {
        goto cleanup;
    }
    for (; body < stop; body++) {
        if (!is_space(*body)) {
            chars[n++] = *body;
        }
    }
    if (b64_decode(chars, n, B64_STD, der, &der_len) != 0) {
        goto cleanup;
    }
    rc = digest_der(der, der_len, out);
cleanup:
    free(chars);
    free(der);
    return rc;
}

/* RFC 3986 percent-decoding, as nginx's $ssl_client_escaped_cert and AWS ALB's
 * X-Amzn-Mtls-Clientcert encode (the latter leaves '+', '=' and '/' as they are): '+' is
 * itself, never a space. A broken escape or an encoded NUL: NULL. */
static char *percent_decode(apr_pool_t *p, const char *in, apr_size_t len)
{
    char *out = apr_palloc(p, len + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (in[i] == '%') {
            int hi = i + 2 < len ? mab_hex_value((unsigned char)in[i + 1]) : -1;
            int lo = hi >= 0 ? mab_hex_value((unsigned char)in[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) {
                return NULL;
            }
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        }
        else {
            *o++ = in[i];
        }
    }
    *o = '\0';
    return out;
}

int mab_cert_digest_header(apr_pool_t *p, const char *value, unsigned char out[MAB_CERT_DIGEST_LEN])
{
    apr_size_t len, der_len = 0;
    const char *v;
    unsigned char *der;
    int alphabet;

    if (!value) {
        return -1;
    }
    len = strlen(value);
    if (len == 0 || len > MAB_MAX_CERT_HEADER) {
        return -1;
    }
    v = value;
    if (memchr(value, '%', len)) {
        v = percent_decode(p, value, len);
        if (!v) {
            return -1;
        }
        len = strlen(v);
    }
    while (len > 0 && is_space(*v)) {
        v++;
        len--;
    }
    while (len > 0 && is_space(v[len - 1])) {
        len--;
    }
    if (len >= sizeof(PEM_BEGIN) - 1 && memcmp(v, PEM_BEGIN, sizeof(PEM_BEGIN) - 1) == 0) {
        return mab_cert_digest_pem(v, len, out);
    }
    /* Base64 DER in one alphabet or the other: a value mixing both is no encoder's. */
    if (strcspn(v, "-_") < len) {
        if (strcspn(v, "+/") < len) {
            return -1;
        }
        alphabet = B64_URL;
    }
    else {
        alphabet = B64_STD;
    }
    der = apr_palloc(p, len / 4 * 3 + 3);
    if (b64_decode(v, len, alphabet, der, &der_len) != 0) {
        return -1;
    }
    return digest_der(der, der_len, out);
}

int mab_cert_matches(const char *x5t, const unsigned char digest[MAB_CERT_DIGEST_LEN])
{
    /* base64url of 32 bytes without padding: 43 characters. */
    unsigned char want[MAB_CERT_DIGEST_LEN + 2];
    apr_size_t n = 0;

    if (!x5t || !digest || strlen(x5t) != 43) {
        return 0;
    }
    if (mab_b64url_decode_into(x5t, 43, want, sizeof(want), &n) != 0 || n != MAB_CERT_DIGEST_LEN) {
        return 0;
    }
    return CRYPTO_memcmp(want, digest, MAB_CERT_DIGEST_LEN) == 0;
}
