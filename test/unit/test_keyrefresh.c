/* The key cache's refresh policy: how long keys are used, when requests and the
 * watchdog fetch, and how failures are spaced out. Times are whole seconds. */
#include "mab_keyrefresh.h"
#include "tap.h"
#include "testutil.h"

int main(void)
{
    apr_pool_t *p = test_setup();
    mab_keycache_opts_t o = {64 * 1024, 2000, 60, 86400, 30, 5, NULL, 0, 86400, NULL, NULL};
    mab_keycache_opts_t eager = o;
    apr_uint32_t now = 1700000000, exp = 0, ref = 0;

    (void)p;
    eager.refetch_interval_s = 0;

    /* keep_for: max-age within the bounds, the default when the issuer sends none. */
    is_int(mab_keyrefresh_keep_for(&o, -1), MAB_JWKS_DEFAULT_TTL, "no max-age: an hour");
    is_int(mab_keyrefresh_keep_for(&o, 600), 600, "max-age inside the bounds is used");
    is_int(mab_keyrefresh_keep_for(&o, 0), 60, "max-age 0 is raised to the minimum");
    is_int(mab_keyrefresh_keep_for(&o, 10), 60, "short max-age is raised to the minimum");
    is_int(mab_keyrefresh_keep_for(&o, 999999), 86400, "long max-age is cut to the maximum");
    {
        mab_keycache_opts_t fixed = o;
        fixed.refresh_min_s = fixed.refresh_max_s = 300;
        is_int(mab_keyrefresh_keep_for(&fixed, -1), 300, "equal bounds fix the lifetime");
    }

    /* margin: a tenth, 1 to 60 s. */
    is_int(mab_keyrefresh_margin(3600), 60, "an hour: refresh a minute early");
    is_int(mab_keyrefresh_margin(300), 30, "five minutes: a tenth");
    is_int(mab_keyrefresh_margin(5), 1, "short lifetime: at least a second");
    is_int(mab_keyrefresh_margin(0), 1, "zero lifetime: still a second");

    mab_keyrefresh_schedule(&o, now, -1, &exp, &ref);
    is_int(exp - now, 3600, "schedule: used for an hour");
    is_int(exp - ref, 60, "schedule: refreshed a minute before expiry");
    mab_keyrefresh_schedule(&o, now, 120, &exp, &ref);
    ok(exp == now + 120 && ref == now + 108, "schedule: max-age 120 refreshes at 108 s");
    is_int(mab_keyrefresh_retry_at(&o, now) - now, 5, "retry after the retry interval");

    /* stale grace: only with a background refresher. */
    is_int(mab_keyrefresh_stale_grace(&o, 0), 0, "no watchdog: no grace");
    is_int(mab_keyrefresh_stale_grace(&o, 1), 5 + 4 + 2,
           "watchdog: a retry interval, two timeouts and rounding");

    /* refetch: strictly more than the interval, or always when it is 0. */
    ok(!mab_keyrefresh_refetch_allowed(&o, 30), "refetch: not at exactly the interval");
    ok(mab_keyrefresh_refetch_allowed(&o, 31), "refetch: once past the interval");
    ok(mab_keyrefresh_refetch_allowed(&eager, 0), "refetch: interval 0 always allows");

    /* fetch_due: cold. */
    ok(mab_keyrefresh_fetch_due(&o, 0, 0, 0, 0, now, 0), "cold, never tried: fetch");
    ok(!mab_keyrefresh_fetch_due(&o, 0, 0, 0, now - 4, now, 0),
       "cold, failed 4 s ago: wait the retry interval");
    ok(!mab_keyrefresh_fetch_due(&o, 0, 0, 0, now - 4, now, 1),
       "cold, failed 4 s ago: an unknown kid waits too");
    ok(mab_keyrefresh_fetch_due(&o, 0, 0, 0, now - 5, now, 0), "cold, failed 5 s ago: retry");

    /* fetch_due: warm. */
    ok(!mab_keyrefresh_fetch_due(&o, 0, 3, now + 100, now - 100, now, 0), "fresh: no fetch");
    ok(mab_keyrefresh_fetch_due(&o, 0, 3, now, now - 3600, now, 0), "expired: fetch");
    ok(!mab_keyrefresh_fetch_due(&o, 1, 3, now, now - 3600, now, 0),
       "expired with a watchdog: left to it");
    ok(!mab_keyrefresh_fetch_due(&o, 1, 3, now - 10, now - 3600, now, 0),
       "10 s past expiry with a watchdog: still left to it");
    ok(mab_keyrefresh_fetch_due(&o, 1, 3, now - 11, now - 3600, now, 0),
       "11 s past expiry with a watchdog: stuck, the request fetches");
    ok(!mab_keyrefresh_fetch_due(&o, 0, 3, now + 100, now - 30, now, 1),
       "unknown kid inside the refetch interval: no fetch");
    ok(mab_keyrefresh_fetch_due(&o, 0, 3, now + 100, now - 31, now, 1),
       "unknown kid past the refetch interval: fetch");
    ok(mab_keyrefresh_fetch_due(&eager, 0, 3, now + 100, now, now, 1),
       "unknown kid, refetch interval 0: fetch");

    /* maintain_due. */
    ok(mab_keyrefresh_maintain_due(0, 0, 0, now), "watchdog: warms a source never tried");
    ok(!mab_keyrefresh_maintain_due(0, 0, now - 100, now),
       "watchdog: leaves a source that never worked to requests");
    ok(!mab_keyrefresh_maintain_due(3, now + 1, now - 100, now), "watchdog: not yet due");
    ok(mab_keyrefresh_maintain_due(3, now, now - 100, now), "watchdog: due at refresh_at");

    return tap_done();
}
