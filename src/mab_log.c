#include <stdarg.h>
#include <stdio.h>

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
