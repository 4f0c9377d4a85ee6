#include <string.h>

#include <apr_strings.h>

#include "mab_b64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int decode_char(unsigned char c)
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
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

int mab_b64url_decode(apr_pool_t *p, const char *in, apr_size_t in_len, unsigned char **out,
                      apr_size_t *out_len)
{
    apr_size_t full = in_len / 4, rem = in_len % 4, i, o = 0;
    unsigned char *buf;
    unsigned long acc = 0;
    int bits = 0;

    /* One leftover character cannot encode a whole byte. */
    if (rem == 1) {
        return -1;
    }
    buf = apr_palloc(p, full * 3 + (rem ? rem - 1 : 0) + 1);
    for (i = 0; i < in_len; i++) {
        int v = decode_char((unsigned char)in[i]);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
            acc &= (1UL << bits) - 1;
        }
    }
    /* Non-zero leftover bits would give a second spelling of the same bytes. */
    if (acc != 0) {
        return -1;
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return 0;
}

char *mab_b64url_encode(apr_pool_t *p, const unsigned char *in, apr_size_t in_len)
{
    char *out = apr_palloc(p, (in_len + 2) / 3 * 4 + 1);
    apr_size_t i, o = 0;
    unsigned long acc = 0;
    int bits = 0;

    for (i = 0; i < in_len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = alphabet[(acc >> bits) & 0x3f];
        }
        acc &= (1UL << bits) - 1;
    }
    if (bits > 0) {
        out[o++] = alphabet[(acc << (6 - bits)) & 0x3f];
    }
    out[o] = '\0';
    return out;
}
