#ifndef MAB_DISCOVERY_CACHE_H
#define MAB_DISCOVERY_CACHE_H

#include <apr_pools.h>

#include "mab_keycache.h"
#include "mab_keyslot.h"

/* By the holder of the slot's claim: the JWKS location of the discovery source for issuer whose
 * slot is slot. The jwks_uri cached in the slot while its metadata is fresh; else the
 * one of newly fetched metadata, once it passes the transport rule (and then cached for
 * the metadata's max-age); when that fails, the last good one, kept for a retry interval
 * (stale-if-error, logged as MAB00033). NULL with *why when there is none. Strings are
 * allocated in tmp. */
const char *mab_discovery_jwks_uri(mab_keyslot_t *slot, const char *issuer,
                                   const mab_keycache_opts_t *o, apr_pool_t *tmp, apr_uint32_t now,
                                   const char **why);

#endif
