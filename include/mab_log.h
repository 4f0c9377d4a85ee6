#ifndef MAB_LOG_H
#define MAB_LOG_H

#include <apr_pools.h>

/* The core never includes httpd headers; it reports through this callback, which the
 * glue points at ap_log_error so messages land in the error log at the right level.
 * Levels use syslog numbering, as httpd's APLOG_* do. */
#define MAB_LOG_ERR 3
#define MAB_LOG_WARNING 4
#define MAB_LOG_INFO 6
#define MAB_LOG_DEBUG 7

#include <apr_pools.h>

typedef void mab_log_fn(void *baton, int level, const char *msg);

/* Text from outside (an issuer's kid, ...) made safe for one log line: at most 64 bytes,
 * then "..."; bytes outside printable ASCII as \xNN, '"' and '\\' escaped: the glue's
 * rule for loggable(). "-" for NULL. */
const char *mab_log_item(apr_pool_t *p, const char *s);

void mab_log_set(mab_log_fn *fn, void *baton);
void mab_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A copy of s in p with every byte outside printable ASCII replaced by '?'. */
const char *mab_log_printable(apr_pool_t *p, const char *s);

#endif
