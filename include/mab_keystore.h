#ifndef MAB_KEYSTORE_H
#define MAB_KEYSTORE_H

#include <apr_pools.h>

/* The last good key set of each source on disk, so that a restart (graceful or full)
 * starts with keys instead of waiting for every issuer: one file per source in a
 * directory only the server's user can enter, named by a hash of the source (no part of
 * a URL becomes a path), written aside and renamed (a reader never sees half a file),
 * opened without following symbolic links. A key set is public data; the care is against
 * a planted file or link, not for secrecy. */

typedef struct {
    apr_uint32_t fetched_at, expires_at, refresh_at;
    const char *jwks_uri; /* discovery: where the keys came from; "" otherwise */
    const char *meta_url; /* discovery: the metadata document used; "" otherwise */
    const char *body;     /* the JWKS as fetched */
    apr_size_t len;
} mab_keystore_rec_t;

/* The file of a source (uri, or the issuer for a discovery source) in dir. */
const char *mab_keystore_path(apr_pool_t *p, const char *dir, const char *uri, int discovery);

/* Replaces the source's file with rec. 0, or -1 with *why. */
int mab_keystore_save(apr_pool_t *p, const char *dir, const char *uri, int discovery,
                      const mab_keystore_rec_t *rec, const char **why);

/* Reads the source's file (a JWKS of at most cap bytes) into rec. 1 when read, 0 when
 * there is none, -1 with *why when it is unusable (not a regular file, writable by
 * others, another source's, too large, malformed). */
int mab_keystore_load(apr_pool_t *p, const char *dir, const char *uri, int discovery,
                      apr_size_t cap, mab_keystore_rec_t *rec, const char **why);

/* Removes the source's file (its keys were withdrawn). */
void mab_keystore_remove(apr_pool_t *p, const char *dir, const char *uri, int discovery);

#endif
