#include <stdarg.h>
#include <stdio.h>

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
