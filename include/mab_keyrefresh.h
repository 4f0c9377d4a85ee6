#ifndef MAB_KEYREFRESH_H
#define MAB_KEYREFRESH_H

#include "mab_keycache.h"

/* When a key source is fetched, and how long its keys are used: pure functions of the
 * options and of times in whole seconds since the epoch (the slot's numbers), so the
 * policy can be tested without shared memory, clocks or servers. */

/* How long a fetched key set (or a discovery document) is used: the issuer's
 * Cache-Control max-age, or MAB_JWKS_DEFAULT_TTL when it sends none (max_age < 0),
 * always within [refresh_min_s, refresh_max_s]. */
long mab_keyrefresh_keep_for(const mab_keycache_opts_t *o, long max_age);

/* How long before expiry the watchdog fetches again: a tenth of ttl, 1 to 60 s. */
apr_uint32_t mab_keyrefresh_margin(long ttl);

/* After a successful fetch at now: until when its keys are used, and from when the
 * watchdog fetches again. */
void mab_keyrefresh_schedule(const mab_keycache_opts_t *o, apr_uint32_t now, long max_age,
                             apr_uint32_t *expires_at, apr_uint32_t *refresh_at);

/* After a failed attempt at now: when to try again (and, with keys in hand, until when
 * they are kept: stale-if-error). */
apr_uint32_t mab_keyrefresh_retry_at(const mab_keycache_opts_t *o, apr_uint32_t now);

/* How far past expiry requests keep using keys without fetching themselves: 0 without a
 * background refresher, else long enough for it to retry once. */
apr_uint32_t mab_keyrefresh_stale_grace(const mab_keycache_opts_t *o, int background);

/* Whether an unknown kid may cause a fetch `since` seconds after the last attempt. */
int mab_keyrefresh_refetch_allowed(const mab_keycache_opts_t *o, apr_uint32_t since);

/* Whether a request should fetch now, given the slot's generation (0: never filled),
 * expiry and last attempt (0: never tried). */
int mab_keyrefresh_fetch_due(const mab_keycache_opts_t *o, int background, apr_uint32_t gen,
                             apr_uint32_t expires_at, apr_uint32_t last_attempt, apr_uint32_t now,
                             int want_refresh);

/* Whether the watchdog should fetch now: keys due for refresh, or never tried. */
int mab_keyrefresh_maintain_due(apr_uint32_t gen, apr_uint32_t refresh_at,
                                apr_uint32_t last_attempt, apr_uint32_t now);

#endif
