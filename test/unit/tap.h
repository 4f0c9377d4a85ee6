#ifndef MAB_TAP_H
#define MAB_TAP_H

/* A tiny TAP producer for the core's unit tests: `ok N - name` lines, a plan, and a
 * closing "N passed, N failed" line that CI reads. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

__attribute__((format(printf, 4, 5))) static int tap_ok(int pass, const char *file, int line,
                                                        const char *fmt, ...)
{
    va_list ap;

    tap_n++;
    printf("%s %d - ", pass ? "ok" : "not ok", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    return pass;
}

#define is_int(got, want, ...)                                                                     \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        if (!ok(g_ == w_, __VA_ARGS__)) {                                                          \
            printf("#   got %lld, want %lld\n", g_, w_);                                           \
        }                                                                                          \
    } while (0)

#define is_str(got, want, ...)                                                                     \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (!ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__)) {                                   \
            printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)");           \
        }                                                                                          \
    } while (0)

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    printf("%d passed, %d failed\n", tap_n - tap_failed, tap_failed);
    return tap_failed ? 1 : 0;
}

#endif
