#include <apr_strings.h>
#include <apr_time.h>
#include <jansson.h>

#include "mab_counters.h"
#include "mab_discovery_cache.h"
#include "mab_fetch.h"
#include "mab_keyfetch.h"
#include "mab_keyrefresh.h"
#include "mab_keystore.h"
#include "mab_log.h"

/* Its own allocator: created and destroyed from any thread without touching pchild, and
 * handed over to the caller with the keys it holds. */
static apr_pool_t *new_private_pool(void)
{
    apr_pool_t *p = NULL;

    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return NULL;
    }
    return p;
}

static void record_failure(mab_keyslot_t *slot, const char *uri, int discovery, int index,
                           const mab_keycache_opts_t *o, apr_pool_t *p, apr_uint32_t now,
                           const char *why)
{
    apr_uint32_t gen = mab_keyslot_gen(slot), retry = mab_keyrefresh_retry_at(o, now);
    apr_uint32_t limit = mab_keyslot_get(&slot->fresh_until) + (apr_uint32_t)o->max_stale_s;
    const char *label = discovery ? apr_pstrcat(p, "of issuer ", uri, " (discovery)", NULL) : uri;
    const char *kept = " (no keys yet: tokens are refused)";

    why = mab_log_printable(p, why);
    mab_keyslot_put_text(slot->last_error, sizeof(slot->last_error), why);
    mab_keyslot_count(&slot->failures);
    mab_counters_inc(o->counters, MAB_C_JWKS_FAILURES, (unsigned)index);
    if (gen != 0 && mab_keyslot_get(&slot->fresh_until) != 0) {
        /* Stale-if-error: keep the last good keys, try again after the retry interval, but
         * never past max-stale (the warm path looks at expires_at only). */
        mab_keyslot_set(&slot->expires_at, retry < limit ? retry : limit);
        kept = now < limit ? " (keeping the previous keys)"
                           : apr_psprintf(p,
                                          " (the previous keys expired more than "
                                          "AuthBearerJWKSMaxStale, %ld s, ago: tokens are refused)",
                                          o->max_stale_s);
    }
    else if (gen != 0) {
        kept = " (the key set is empty: tokens are refused)";
    }
    mab_keyslot_set(&slot->refresh_at, retry);
    mab_log(MAB_LOG_ERR, "MAB00030: fetching key set %s failed: %s%s", label, why, kept);
}

/* A well-formed {"keys":[]}: the issuer says it has no keys (a revocation), not an error. */
int mab_keyfetch_is_empty(const char *body, apr_size_t len)
{
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(doc, "keys");
    int empty = json_is_object(doc) && json_is_array(keys) && json_array_size(keys) == 0;

    json_decref(doc);
    return empty;
}

static void store(const mab_keyslot_t *slot, const char *uri, int discovery,
                  const mab_keycache_opts_t *o, apr_pool_t *tmp, const char *body, apr_size_t len)
{
    mab_keystore_rec_t rec;
    const char *why = NULL;

    rec.fetched_at = mab_keyslot_get(&slot->fetched_at);
    rec.expires_at = mab_keyslot_get(&slot->expires_at);
    rec.refresh_at = mab_keyslot_get(&slot->refresh_at);
    rec.jwks_uri = discovery ? mab_keyslot_text(tmp, slot->jwks_uri, sizeof(slot->jwks_uri)) : "";
    rec.meta_url = discovery ? mab_keyslot_text(tmp, slot->meta_url, sizeof(slot->meta_url)) : "";
    rec.body = body;
    rec.len = len;
    if (mab_keystore_save(tmp, o->store_dir, uri, discovery, &rec, &why) != 0) {
        mab_log(MAB_LOG_WARNING,
                "MAB00035: cannot keep key set %s for the next restart: %s (it is fetched "
                "again then)",
                uri, why);
    }
}

mab_keyset_t *mab_keyfetch(mab_keyslot_t *slot, uint64_t claim, const char *uri, int discovery,
                           int index, const mab_keycache_opts_t *o, apr_uint32_t now, int refetch,
                           apr_pool_t **keys_pool, apr_uint32_t *gen_out)
{
    apr_time_t started = apr_time_now(), took;
    apr_pool_t *tmp = new_private_pool(), *pool = NULL;
    const char *why = NULL, *url = uri;
    char *body = NULL;
    apr_size_t len = 0, cap = o->slot_size;
    long max_age = -1;
    mab_keyset_t *ks = NULL;
    apr_uint32_t expires_at, refresh_at;
    int empty;

    mab_keyslot_set(&slot->last_attempt, now);
    mab_keyslot_count(&slot->fetches);
    mab_counters_inc(o->counters, MAB_C_JWKS_FETCHES, (unsigned)index);
    if (refetch) {
        mab_keyslot_count(&slot->refetches);
        mab_counters_inc(o->counters, MAB_C_JWKS_REFETCHES, (unsigned)index);
    }
    if (!tmp) {
        mab_keyslot_put_text(slot->last_error, sizeof(slot->last_error), "out of memory");
        mab_keyslot_count(&slot->failures);
        mab_counters_inc(o->counters, MAB_C_JWKS_FAILURES, (unsigned)index);
        return NULL;
    }
    if (discovery && (url = mab_discovery_jwks_uri(slot, uri, o, tmp, now, &why)) == NULL) {
        record_failure(slot, uri, discovery, index, o, tmp, now, why);
        goto cleanup;
    }
    /* Fetch a bit more than fits, so a key set that is too large can say how large. */
    cap = cap < MAB_FETCH_MAX_BYTES ? MAB_FETCH_MAX_BYTES : cap;
    if (mab_fetch_ex(tmp, url, o->fetch_timeout_ms, cap, o->ca_file, &body, &len, &max_age, &why)
        != 0) {
        record_failure(slot, uri, discovery, index, o, tmp, now,
                       discovery ? apr_pstrcat(tmp, url, ": ", why, NULL) : why);
        goto cleanup;
    }
    if (len > o->slot_size) {
        why = apr_psprintf(tmp,
                           "key set is %lu bytes, more than AuthBearerCacheSize (%lu bytes): set "
                           "AuthBearerCacheSize %luK or more",
                           (unsigned long)len, (unsigned long)o->slot_size,
                           (unsigned long)((len + 1023) / 1024));
        record_failure(slot, uri, discovery, index, o, tmp, now, why);
        goto cleanup;
    }
    pool = new_private_pool();
    empty = pool && mab_keyfetch_is_empty(body, len);
    ks = !pool   ? NULL
         : empty ? apr_pcalloc(pool, sizeof(*ks))
                 : mab_jwks_parse_ex(pool, body, len, uri, 1, &why);
    if (!ks) {
        record_failure(slot, uri, discovery, index, o, tmp, now, pool ? why : "out of memory");
        goto cleanup;
    }
    if (!mab_keyslot_owns(slot, claim)) {
        /* Taken over as stale meanwhile: the new holder writes the slot now. */
        ks = NULL;
        goto cleanup;
    }
    mab_keyrefresh_schedule(o, now, max_age, &expires_at, &refresh_at);
    mab_keyslot_set(&slot->fetched_at, now);
    mab_keyslot_set(&slot->expires_at, expires_at);
    mab_keyslot_set(&slot->fresh_until, empty ? 0 : expires_at);
    mab_keyslot_set(&slot->refresh_at, refresh_at);
    mab_keyslot_put_text(slot->last_error, sizeof(slot->last_error),
                         empty ? "the issuer's key set is empty" : "");
    /* Published last: a process that sees the new gen finds its expiry already there. An
     * empty set is a generation too, so every process drops the keys it had. */
    *gen_out = mab_keyslot_publish(slot, body, len);
    if (empty) {
        mab_log(MAB_LOG_WARNING,
                "MAB00034: key set %s is empty: the issuer has withdrawn its keys, tokens are "
                "refused until it publishes keys again",
                discovery ? url : uri);
        if (o->store_dir) {
            mab_keystore_remove(tmp, o->store_dir, uri, discovery);
        }
    }
    else {
        mab_log(MAB_LOG_INFO, "MAB00031: key set %s fetched: %d key(s), %d skipped, %lu bytes",
                discovery ? url : uri, ks->nkeys, ks->nskipped, (unsigned long)len);
        /* A key set read from a file is read again at the next start: a kept copy could only
         * hide an edit made meanwhile (same kid, new key). */
        if (o->store_dir && (discovery || mab_fetch_is_url(uri))) {
            store(slot, uri, discovery, o, tmp, body, len);
        }
    }
    *keys_pool = pool;
    pool = NULL;
cleanup:
    if (pool) {
        apr_pool_destroy(pool);
    }
    apr_pool_destroy(tmp);
    /* The whole attempt, discovery and parsing included: what a request waiting for it
     * would have waited. A clock stepped back meanwhile counts it as instant. */
    took = apr_time_now() - started;
    mab_counters_observe(o->counters, MAB_C_JWKS_FETCH_SECONDS, (unsigned)index,
                         took > 0 ? (uint64_t)took : 0);
    return ks;
}
