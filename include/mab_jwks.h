#ifndef MAB_JWKS_H
#define MAB_JWKS_H

#include <apr_pools.h>
#include "mab_jwk.h"

#define MAB_MAX_JWKS_KEYS 128

typedef struct mab_keyset_t {
    mab_key_t **keys;
    int nkeys;
    int nskipped; /* keys in the document that could not be used */
} mab_keyset_t;

/* Parses a JWKS document. Bad keys are skipped one by one (each logged with its reason
 * under the label `source`); the set fails only when the document itself is unusable.
 * Returns NULL with *reason on failure. */
mab_keyset_t *mab_jwks_parse(apr_pool_t *p, const char *buf, apr_size_t len, const char *source,
                             const char **reason);

/* The same; log_skipped 0 keeps quiet about skipped keys, for a process that parses a
 * generation another process fetched (and already logged). */
mab_keyset_t *mab_jwks_parse_ex(apr_pool_t *p, const char *buf, apr_size_t len, const char *source,
                                int log_skipped, const char **reason);

#endif
