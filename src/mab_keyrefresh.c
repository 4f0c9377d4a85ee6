#include "mab_keyrefresh.h"

long mab_keyrefresh_keep_for(const mab_keycache_opts_t *o, long max_age)
{
    long ttl = max_age >= 0 ? max_age : MAB_JWKS_DEFAULT_TTL;

    if (ttl < o->refresh_min_s) {
        ttl = o->refresh_min_s;
    }
    if (ttl > o->refresh_max_s) {
        ttl = o->refresh_max_s;
    }
    return ttl;
}

/* Fetching a little before expiry means requests never see stale keys while the issuer
 * answers; the bounds keep short lifetimes from refreshing constantly and long ones from
 * refreshing needlessly early. */
apr_uint32_t mab_keyrefresh_margin(long ttl)
{
    long m = ttl / 10;

    return (apr_uint32_t)(m < 1 ? 1 : m > 60 ? 60 : m);
}

void mab_keyrefresh_schedule(const mab_keycache_opts_t *o, apr_uint32_t now, long max_age,
                             apr_uint32_t *expires_at, apr_uint32_t *refresh_at)
{
    long ttl = mab_keyrefresh_keep_for(o, max_age);

    *expires_at = now + (apr_uint32_t)ttl;
    *refresh_at = *expires_at - mab_keyrefresh_margin(ttl);
}

apr_uint32_t mab_keyrefresh_retry_at(const mab_keycache_opts_t *o, apr_uint32_t now)
{
    return now + (apr_uint32_t)o->retry_interval_s;
}

/* With a background refresher, requests leave expired keys to it (it retries every
 * retry interval while the issuer is down) and only step in when it is clearly stuck:
 * one retry interval plus two fetch timeouts, plus rounding to whole seconds. */
apr_uint32_t mab_keyrefresh_stale_grace(const mab_keycache_opts_t *o, int background)
{
    return background ? (apr_uint32_t)(o->retry_interval_s + 2 * o->fetch_timeout_ms / 1000 + 2)
                      : 0;
}

/* Times are whole seconds: "more than the interval" keeps two refetches at least a full
 * interval apart (a fetch at 10.9 s and one at 12.0 s would be 1.1 s apart with >=). */
int mab_keyrefresh_refetch_allowed(const mab_keycache_opts_t *o, apr_uint32_t since)
{
    return o->refetch_interval_s == 0 || since > (apr_uint32_t)o->refetch_interval_s;
}

int mab_keyrefresh_fetch_due(const mab_keycache_opts_t *o, int background, apr_uint32_t gen,
                             apr_uint32_t expires_at, apr_uint32_t last_attempt, apr_uint32_t now,
                             int want_refresh)
{
    apr_uint32_t since = now - last_attempt;

    if (gen == 0) {
        /* Cold: after a failure, wait the retry interval instead of hammering. */
        return last_attempt == 0 || since >= (apr_uint32_t)o->retry_interval_s;
    }
    if (now >= expires_at + mab_keyrefresh_stale_grace(o, background)) {
        return 1; /* a failed refresh already pushed expires_at by the retry interval */
    }
    return want_refresh && mab_keyrefresh_refetch_allowed(o, since);
}

/* A source that has never worked is retried by the requests that need it, not by the
 * watchdog: that keeps a broken source's error out of the log until someone uses it. */
int mab_keyrefresh_maintain_due(apr_uint32_t gen, apr_uint32_t refresh_at,
                                apr_uint32_t last_attempt, apr_uint32_t now)
{
    return gen ? now >= refresh_at : last_attempt == 0;
}
