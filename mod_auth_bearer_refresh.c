/* Key sets are refreshed off the request path by a mod_watchdog thread: a singleton
 * child watchdog, so exactly one child process at a time runs it, about once a second.
 * It warms every configured key source at startup and fetches each again shortly before
 * it expires (each source in its own fetcher thread, all due ones at once), while
 * requests keep using the current keys. Without mod_watchdog, the request that finds a
 * key set expired hands its refresh to the source's fetcher and goes on. */
#include <apr_atomic.h>
#include <apr_optional.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <mod_watchdog.h>

#include "mab_keycache.h"
#include "mod_auth_bearer_refresh.h"

#define MAB_WATCHDOG_NAME "auth-bearer-jwks"

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) * wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) * wd_register_callback;

/* Set once this child's key cache locks exist; the watchdog thread may start before. */
static apr_uint32_t child_ready;

void mab_refresh_child_ready(void)
{
    apr_atomic_set32(&child_ready, 1);
}

static apr_status_t tick(int state, void *data, apr_pool_t *pool)
{
    if (state != AP_WATCHDOG_STATE_STOPPING && apr_atomic_read32(&child_ready)) {
        mab_keycache_maintain(data);
    }
    return APR_SUCCESS;
}

int mab_refresh_start(server_rec *s, apr_pool_t *pconf, struct mab_keycache_t *kc)
{
    ap_watchdog_t *wd = NULL;
    apr_status_t rv;

    if (mab_keycache_count(kc) == 0) {
        return 0;
    }
    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!wd_get_instance || !wd_register_callback) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "MAB00041: mod_watchdog is not loaded: key sets are refreshed by the first "
                     "request that finds them expired");
        return 0;
    }
    rv = wd_get_instance(&wd, MAB_WATCHDOG_NAME, 0, 1, pconf);
    if (rv == APR_SUCCESS) {
        rv = wd_register_callback(wd, apr_time_from_sec(1), kc, tick);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "MAB00042: cannot use mod_watchdog: key sets are refreshed by the first "
                     "request that finds them expired");
        return 0;
    }
    mab_keycache_set_background(kc, 1);
    return 1;
}
