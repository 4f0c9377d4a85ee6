#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "mab_log.h"

static mab_log_fn *log_fn;
static void *log_baton;

void mab_log_set(mab_log_fn *fn, void *baton)
{
    log_fn = fn;
    log_baton = baton;
}

void mab_log(int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (!log_fn) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_fn(log_baton, level, buf);
}

/* Reasons can quote what a server sent (an issuer name, a JSON error near some bytes): kept
 * to printable ASCII before they reach the log, the status page and its JSON. */
const char *mab_log_printable(apr_pool_t *p, const char *s)
{
    char *c = apr_pstrdup(p, s), *o;

    for (o = c; *o; o++) {
        if ((unsigned char)*o < 0x20 || (unsigned char)*o >= 0x7f) {
            *o = '?';
        }
    }
    return c;
}

#define MAB_LOG_ITEM_MAX 64

const char *mab_log_item(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n, i;
    char *out, *o;

    if (!s) {
        return "-";
    }
    n = strnlen(s, MAB_LOG_ITEM_MAX + 1);
    /* Worst case every byte becomes \xNN, plus "..." and the NUL. */
    o = out = apr_palloc(p, 4 * MAB_LOG_ITEM_MAX + 4);
    for (i = 0; i < n && i < MAB_LOG_ITEM_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        }
        else if (c < 0x20 || c > 0x7e) {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
        else {
            *o++ = (char)c;
        }
    }
    if (n > MAB_LOG_ITEM_MAX) {
        memcpy(o, "...", 3);
        o += 3;
    }
    *o = '\0';
    return out;
}
