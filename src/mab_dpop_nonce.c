/* Stateless DPoP server nonces (RFC 9449 §9, §8.2): a nonce names a time window and proves
 * with an HMAC that this server (or one sharing its secret) made it, so nothing is stored
 * and every process and host agrees on which nonces are valid.
 *
 *   nonce = base64url(W || HMAC-SHA256(secret, "mab-dpop-nonce" || W)[0..15])
 *
 * with W the window number, now / MAB_DPOP_NONCE_WINDOW, as 8 bytes big-endian: 24 bytes,
 * 32 characters. 128 bits of MAC are far beyond guessing within a window's lifetime. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mab_b64.h"
#include "mab_dpop.h"

#define LABEL "mab-dpop-nonce"
#define LABEL_LEN (sizeof(LABEL) - 1)
#define MAC_LEN 16
#define RAW_LEN (8 + MAC_LEN)
#define TEXT_LEN 32 /* base64url of 24 bytes, no padding */

/* Floor division, so a clock before 1970 (a test's, or a broken one) still gives whole
 * windows rather than two windows numbered 0. */
static long long window_of(long long now)
{
    long long w = now / MAB_DPOP_NONCE_WINDOW;

    return (now % MAB_DPOP_NONCE_WINDOW < 0) ? w - 1 : w;
}

static void put_window(unsigned char out[8], long long window)
{
    unsigned long long w = (unsigned long long)window;
    int i;

    for (i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(w & 0xff);
        w >>= 8;
    }
}

static int mac_of(const unsigned char *secret, apr_size_t secret_len, const unsigned char w[8],
                  unsigned char out[MAC_LEN])
{
    unsigned char msg[LABEL_LEN + 8], mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    int ok;

    if (!secret || secret_len == 0) {
        return -1;
    }
    memcpy(msg, LABEL, LABEL_LEN);
    memcpy(msg + LABEL_LEN, w, 8);
    ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, secret_len, msg, sizeof(msg), mac,
                   sizeof(mac), &mac_len)
             != NULL
         && mac_len >= MAC_LEN;
    if (ok) {
        memcpy(out, mac, MAC_LEN);
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok ? 0 : -1;
}

int mab_dpop_nonce(const unsigned char *secret, apr_size_t secret_len, long long now,
                   char out[MAB_DPOP_NONCE_LEN + 1])
{
    unsigned char raw[RAW_LEN];

    put_window(raw, window_of(now));
    if (mac_of(secret, secret_len, raw, raw + 8) != 0) {
        out[0] = '\0';
        return -1;
    }
    mab_b64url_encode_into(raw, RAW_LEN, out);
    return 0;
}

int mab_dpop_nonce_check(const unsigned char *secret, apr_size_t secret_len, long long now,
                         const char *nonce)
{
    unsigned char raw[RAW_LEN], want[MAC_LEN], cur[8], prev[8];
    long long window = window_of(now);
    apr_size_t n = 0;
    int age;

    if (!nonce || strnlen(nonce, TEXT_LEN + 1) != TEXT_LEN
        || mab_b64url_decode_into(nonce, TEXT_LEN, raw, RAW_LEN, &n) != 0 || n != RAW_LEN) {
        return -1;
    }
    put_window(cur, window);
    put_window(prev, window - 1);
    if (memcmp(raw, cur, 8) == 0) {
        age = 0;
    }
    else if (memcmp(raw, prev, 8) == 0) {
        age = 1;
    }
    else {
        return -1;
    }
    if (mac_of(secret, secret_len, raw, want) != 0 || CRYPTO_memcmp(want, raw + 8, MAC_LEN) != 0) {
        return -1;
    }
    return age;
}
