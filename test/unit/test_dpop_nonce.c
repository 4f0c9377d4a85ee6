/* Stateless DPoP nonces: their form (NQCHAR, bounded), the windows at their edges (current,
 * previous, two back, the future), another secret, garbage and overlong text, and an
 * independent recomputation of the construction with OpenSSL's HMAC. */
#include <openssl/hmac.h>

#include "mab_b64.h"
#include "mab_dpop.h"
#include "tap.h"
#include "testutil.h"

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
static const unsigned char other[] = "0123456789abcdef0123456789abcdeF";
#define SLEN (sizeof(secret) - 1)
#define W MAB_DPOP_NONCE_WINDOW

static const char *nonce_at(long long now)
{
    static char buf[16][MAB_DPOP_NONCE_LEN + 1];
    static int next;
    char *out = buf[next++ % 16];

    if (mab_dpop_nonce(secret, SLEN, now, out) != 0) {
        return NULL;
    }
    return out;
}

/* RFC 9449 §8.1: nonce = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E */
static int all_nqchar(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!(c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e))) {
            return 0;
        }
    }
    return 1;
}

static void test_form(apr_pool_t *p)
{
    const long long k = 5800000; /* a window number near today's */
    const char *n = nonce_at(k * W);
    unsigned char msg[14 + 8], mac[EVP_MAX_MD_SIZE], raw[24];
    unsigned int mac_len = 0;
    int i;

    ok(n != NULL, "a nonce is made");
    ok(n && strlen(n) <= MAB_DPOP_NONCE_LEN, "at most MAB_DPOP_NONCE_LEN characters");
    ok(n && all_nqchar(n), "only NQCHAR");
    is_str(nonce_at(k * W + W - 1), n, "the same nonce throughout its window");
    ok(strcmp(nonce_at(k * W - 1), n) != 0, "another nonce in the window before");
    ok(strcmp(nonce_at(k * W + W), n) != 0, "another nonce in the window after");

    /* The construction, recomputed: window (8 bytes big-endian) || HMAC-SHA256(secret,
     * "mab-dpop-nonce" || window)[0..15] */
    memcpy(msg, "mab-dpop-nonce", 14);
    for (i = 0; i < 8; i++) {
        msg[14 + i] = (unsigned char)((unsigned long long)k >> (56 - 8 * i));
    }
    HMAC(EVP_sha256(), secret, (int)SLEN, msg, sizeof(msg), mac, &mac_len);
    memcpy(raw, msg + 14, 8);
    memcpy(raw + 8, mac, 16);
    is_str(n, mab_b64url_encode(p, raw, sizeof(raw)), "independently recomputed");
}

static void test_windows(void)
{
    const long long k = 5800000;
    const char *n = nonce_at(k * W); /* made at the window's first second */

    is_int(mab_dpop_nonce_check(secret, SLEN, k * W, n), 0, "current window, first second");
    is_int(mab_dpop_nonce_check(secret, SLEN, k * W + W - 1, n), 0, "current window, last second");
    is_int(mab_dpop_nonce_check(secret, SLEN, k * W + W, n), 1, "next window: previous, valid");
    is_int(mab_dpop_nonce_check(secret, SLEN, k * W + 2 * W - 1, n), 1,
           "next window's last second: still previous");
    is_int(mab_dpop_nonce_check(secret, SLEN, k * W + 2 * W, n), -1, "two windows later: refused");
    is_int(mab_dpop_nonce_check(secret, SLEN, k * W + 100 * W, n), -1, "long after: refused");
    is_int(mab_dpop_nonce_check(secret, SLEN, k * W - 1, n), -1,
           "a second before its window: from the future, refused");

    n = nonce_at(k * W - 1); /* the last second of window k - 1 */
    is_int(mab_dpop_nonce_check(secret, SLEN, k * W - 1, n), 0, "made at k*W - 1: current there");
    is_int(mab_dpop_nonce_check(secret, SLEN, k * W, n), 1, "one second later: previous");
    is_int(mab_dpop_nonce_check(secret, SLEN, k * W + W - 1, n), 1, "k*W + W - 1: previous");
    is_int(mab_dpop_nonce_check(secret, SLEN, k * W + W, n), -1, "k*W + W: refused");

    /* a clock before 1970 still has whole windows */
    n = nonce_at(-1);
    is_int(mab_dpop_nonce_check(secret, SLEN, -W, n), 0, "negative times: same window");
    is_int(mab_dpop_nonce_check(secret, SLEN, 0, n), 1, "negative times: next window");
    ok(strcmp(nonce_at(-1), nonce_at(0)) != 0, "-1 and 0 are different windows");
}

static void test_refusals(apr_pool_t *p)
{
    const long long now = 5800000LL * W + 7;
    const char *n = nonce_at(now);
    char buf[64];
    unsigned char *raw;
    apr_size_t raw_len;

    is_int(mab_dpop_nonce_check(other, SLEN, now, n), -1, "another secret: refused");
    is_int(mab_dpop_nonce_check(secret, SLEN - 1, now, n), -1, "a shorter secret: refused");
    is_int(mab_dpop_nonce_check(secret, SLEN, now, NULL), -1, "NULL: refused");
    is_int(mab_dpop_nonce_check(secret, SLEN, now, ""), -1, "empty: refused");
    is_int(mab_dpop_nonce_check(secret, SLEN, now, "garbage"), -1, "garbage: refused");
    is_int(mab_dpop_nonce_check(secret, SLEN, now, "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"), -1,
           "32 characters outside base64url: refused");
    snprintf(buf, sizeof(buf), "%sA", n);
    is_int(mab_dpop_nonce_check(secret, SLEN, now, buf), -1, "one character too many: refused");
    snprintf(buf, sizeof(buf), "%s%s", n, n);
    is_int(mab_dpop_nonce_check(secret, SLEN, now, buf), -1, "overlong: refused");
    snprintf(buf, sizeof(buf), "%.31s", n);
    is_int(mab_dpop_nonce_check(secret, SLEN, now, buf), -1, "one character short: refused");

    /* the MAC's last byte changed */
    mab_b64url_decode(p, n, strlen(n), &raw, &raw_len);
    raw[23] ^= 1;
    is_int(mab_dpop_nonce_check(secret, SLEN, now, mab_b64url_encode(p, raw, raw_len)), -1,
           "a changed MAC: refused");
    /* a window claimed current with the MAC of another */
    raw[23] ^= 1;
    raw[7] ^= 1;
    is_int(mab_dpop_nonce_check(secret, SLEN, now, mab_b64url_encode(p, raw, raw_len)), -1,
           "a changed window: refused");

    ok(mab_dpop_nonce(secret, 0, now, buf) == -1, "no secret: no nonce");
    ok(mab_dpop_nonce(NULL, 0, now, buf) == -1, "NULL secret: no nonce");
    is_int(mab_dpop_nonce_check(NULL, 0, now, n), -1, "NULL secret: nothing accepted");
}

int main(void)
{
    apr_pool_t *p = test_setup();

    test_form(p);
    test_windows();
    test_refusals(p);
    return tap_done();
}
