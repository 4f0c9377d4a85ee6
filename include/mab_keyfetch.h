#ifndef MAB_KEYFETCH_H
#define MAB_KEYFETCH_H

#include <apr_pools.h>

#include "mab_jwks.h"
#include "mab_keycache.h"
#include "mab_keyslot.h"

/* By the holder of the slot's claim (whose value is claim): one attempt to fetch the key
 * set of a source into its slot.
 * uri is the JWKS location, or the issuer when discovery is set; index is the source's in
 * the key cache. The attempt is counted in the slot and, with its duration, in
 * o->counters; a key set that cannot be had, does not fit or does not parse is recorded
 * there and logged (MAB00030), keeping the previous generation (stale-if-error); a good
 * one is published as a new generation (logged as MAB00031) and, with a store directory,
 * kept there for the next restart. A well-formed empty set ({"keys":[]}) is the issuer
 * withdrawing its keys: published as a generation of no keys (MAB00034), its file
 * removed; tokens are refused until keys come back. Nothing is published when the claim
 * was taken over meanwhile.
 *
 * On success returns the keys, parsed once so the fetching process need not parse them
 * again (no keys for an empty set), in *keys_pool: a new unmanaged pool the caller owns.
 * *gen_out is their generation. NULL otherwise. */
mab_keyset_t *mab_keyfetch(mab_keyslot_t *slot, uint64_t claim, const char *uri, int discovery,
                           int index, const mab_keycache_opts_t *o, apr_uint32_t now, int refetch,
                           apr_pool_t **keys_pool, apr_uint32_t *gen_out);

/* Whether a JWKS document is a well-formed empty key set, {"keys":[]}. */
int mab_keyfetch_is_empty(const char *body, apr_size_t len);

#endif
