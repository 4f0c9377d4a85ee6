#include <string.h>

#include <apr_strings.h>

#include "mab_discovery.h"
#include "mab_discovery_cache.h"
#include "mab_fetch.h"
#include "mab_keyrefresh.h"
#include "mab_log.h"

const char *mab_discovery_jwks_uri(mab_keyslot_t *slot, const char *issuer,
                                   const mab_keycache_opts_t *o, apr_pool_t *tmp, apr_uint32_t now,
                                   const char **why)
{
    const char *meta_url = NULL, *jwks, *bad = NULL;
    long max_age = -1;

    if (mab_keyslot_has_text(slot->jwks_uri) && now < mab_keyslot_get(&slot->meta_expires_at)) {
        return mab_keyslot_text(tmp, slot->jwks_uri, sizeof(slot->jwks_uri));
    }
    /* Startup refuses such issuers already; this catches sections it cannot see. */
    if (!mab_fetch_url_allowed(tmp, issuer, o->allow_insecure, &bad)) {
        *why = apr_psprintf(tmp, "the issuer URL is refused for discovery: %s", bad);
        return NULL;
    }
    jwks =
        mab_discovery_fetch(tmp, issuer, o->fetch_timeout_ms, o->ca_file, &meta_url, &max_age, why);
    if (jwks && !mab_fetch_url_allowed(tmp, jwks, o->allow_insecure, &bad)) {
        *why = apr_psprintf(tmp, "%s: jwks_uri %s is refused: %s", meta_url, jwks, bad);
        jwks = NULL;
    }
    /* Cut short it would name another location. */
    if (jwks && strlen(jwks) >= sizeof(slot->jwks_uri)) {
        *why = apr_psprintf(tmp, "%s: jwks_uri is longer than %lu bytes", meta_url,
                            (unsigned long)sizeof(slot->jwks_uri) - 1);
        jwks = NULL;
    }
    if (jwks) {
        mab_keyslot_put_text(slot->jwks_uri, sizeof(slot->jwks_uri), jwks);
        mab_keyslot_put_text(slot->meta_url, sizeof(slot->meta_url), meta_url);
        mab_keyslot_set(&slot->meta_expires_at,
                        now + (apr_uint32_t)mab_keyrefresh_keep_for(o, max_age));
        return jwks;
    }
    if (mab_keyslot_has_text(slot->jwks_uri)) {
        const char *kept = mab_keyslot_text(tmp, slot->jwks_uri, sizeof(slot->jwks_uri));
        mab_log(MAB_LOG_ERR,
                "MAB00033: metadata of issuer %s could not be refreshed: %s (keeping jwks_uri %s)",
                issuer, mab_log_printable(tmp, *why), kept);
        mab_keyslot_set(&slot->meta_expires_at, mab_keyrefresh_retry_at(o, now));
        return kept;
    }
    return NULL;
}
