/* Claim text to request header value: raw UTF-8, base64url or ISO-8859-1. */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "mab_b64.h"
#include "mab_hdrenc.h"

static const char *const names[] = {"raw", "base64url", "latin1"};

int mab_hdrenc_parse(const char *word, mab_hdrenc_e *out)
{
    size_t i;

    for (i = 0; word && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(word, names[i]) == 0) {
            *out = (mab_hdrenc_e)i;
            return 0;
        }
    }
    return -1;
}

const char *mab_hdrenc_name(mab_hdrenc_e enc)
{
    return (size_t)enc < sizeof(names) / sizeof(names[0]) ? names[enc] : "?";
}

/* What backends would trim, split or read as a line break. `c1`: bytes 0x80-0x9F are C1
 * controls here (a latin1 value, where each byte is one character). */
static const char *unsafe(const unsigned char *v, size_t n, int c1)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if ((v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f || (c1 && v[i] >= 0x80 && v[i] <= 0x9f)) {
            return "holds control characters";
        }
    }
    if (n
        && (v[0] == ' ' || v[0] == '\t' || v[0] == ',' || v[n - 1] == ' ' || v[n - 1] == '\t'
            || v[n - 1] == ',')) {
        return "starts or ends with white space or a comma";
    }
    return NULL;
}

/* One UTF-8 sequence at s (n bytes left): its length and code point, or 0 when it is not
 * well-formed (overlong, surrogate, beyond U+10FFFF, truncated). */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned long *cp)
{
    size_t len, i;
    unsigned long c, min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        c = s[0] & 0x1f;
        min = 0x80;
    }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        c = s[0] & 0x0f;
        min = 0x800;
    }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        c = s[0] & 0x07;
        min = 0x10000;
    }
    else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }
    *cp = c;
    return len;
}

static mab_hdrval_e to_latin1(apr_pool_t *p, const char *text, const char **out, const char **why)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text), i = 0, o = 0;
    unsigned char *buf = apr_palloc(p, n + 1);

    while (i < n) {
        unsigned long cp = 0;
        size_t len = utf8_next(s + i, n - i, &cp);
        if (!len) {
            *why = "is not valid UTF-8";
            return MAB_HDRVAL_NOT_LATIN1;
        }
        if (cp > 0xff) {
            *why = apr_psprintf(p, "holds U+%04lX, which Latin-1 cannot represent", cp);
            return MAB_HDRVAL_NOT_LATIN1;
        }
        buf[o++] = (unsigned char)cp;
        i += len;
    }
    buf[o] = '\0';
    if ((*why = unsafe(buf, o, 1)) != NULL) {
        return MAB_HDRVAL_UNSAFE;
    }
    *out = (const char *)buf;
    return MAB_HDRVAL_OK;
}

mab_hdrval_e mab_hdrenc_value(apr_pool_t *p, mab_hdrenc_e enc, const char *text, const char **out,
                              const char **why)
{
    size_t n = strlen(text);

    *out = NULL;
    *why = NULL;
    switch (enc) {
    case MAB_HDRENC_BASE64URL:
        /* Its alphabet has no control, blank or comma: every value can travel. */
        *out = mab_b64url_encode(p, (const unsigned char *)text, n);
        return MAB_HDRVAL_OK;
    case MAB_HDRENC_LATIN1:
        return to_latin1(p, text, out, why);
    case MAB_HDRENC_RAW:
    default:
        if ((*why = unsafe((const unsigned char *)text, n, 0)) != NULL) {
            return MAB_HDRVAL_UNSAFE;
        }
        *out = text;
        return MAB_HDRVAL_OK;
    }
}
