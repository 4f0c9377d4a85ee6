#include <string.h>

#include <apr_strings.h>

#include "mab_b64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The value of each base64url character, -1 for every other byte. */
/* clang-format off */
static const signed char decode_table[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};
/* clang-format on */

/* Four characters at a time: a table look-up per character and one check per group,
 * instead of a chain of range tests and a bit loop per character (about a third of the
 * instructions on a 700-byte token). */
int mab_b64url_decode_into(const char *in, apr_size_t in_len, unsigned char *out,
                           apr_size_t out_cap, apr_size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)in;
    apr_size_t full = in_len / 4, rem = in_len % 4, i;
    unsigned char *o = out;

    /* One leftover character cannot encode a whole byte. */
    if (rem == 1 || full * 3 + (rem ? rem - 1 : 0) > out_cap) {
        return -1;
    }
    for (i = 0; i < full; i++, s += 4, o += 3) {
        int a = decode_table[s[0]], b = decode_table[s[1]], c = decode_table[s[2]],
            d = decode_table[s[3]];
        unsigned long v;

        if ((a | b | c | d) < 0) {
            return -1;
        }
        v = (unsigned long)a << 18 | (unsigned long)b << 12 | (unsigned long)c << 6
            | (unsigned long)d;
        o[0] = (unsigned char)(v >> 16);
        o[1] = (unsigned char)(v >> 8);
        o[2] = (unsigned char)v;
    }
    if (rem) {
        int a = decode_table[s[0]], b = decode_table[s[1]], c = rem == 3 ? decode_table[s[2]] : 0;

        if ((a | b | c) < 0) {
            return -1;
        }
        /* Non-zero leftover bits would give a second spelling of the same bytes. */
        if (rem == 2 ? (b & 0x0f) != 0 : (c & 0x03) != 0) {
            return -1;
        }
        *o++ = (unsigned char)(a << 2 | b >> 4);
        if (rem == 3) {
            *o++ = (unsigned char)((b & 0x0f) << 4 | c >> 2);
        }
    }
    *out_len = (apr_size_t)(o - out);
    return 0;
}

int mab_b64url_decode(apr_pool_t *p, const char *in, apr_size_t in_len, unsigned char **out,
                      apr_size_t *out_len)
{
    apr_size_t cap = in_len / 4 * 3 + (in_len % 4 ? in_len % 4 - 1 : 0);
    unsigned char *buf;

    if (in_len % 4 == 1) {
        return -1;
    }
    buf = apr_palloc(p, cap + 1);
    if (mab_b64url_decode_into(in, in_len, buf, cap, out_len) != 0) {
        return -1;
    }
    buf[*out_len] = '\0';
    *out = buf;
    return 0;
}

apr_size_t mab_b64url_encode_into(const unsigned char *in, apr_size_t in_len, char *out)
{
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
    return o;
}

char *mab_b64url_encode(apr_pool_t *p, const unsigned char *in, apr_size_t in_len)
{
    char *out = apr_palloc(p, MAB_B64URL_LEN(in_len) + 1);

    mab_b64url_encode_into(in, in_len, out);
    return out;
}
