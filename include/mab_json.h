#ifndef MAB_JSON_H
#define MAB_JSON_H

#include <apr_pools.h>

struct json_t;

#define MAB_MAX_JSON_DEPTH 16

/* Strict parse of an untrusted JSON object: valid UTF-8, no NUL, no duplicate member
 * names, nesting at most MAB_MAX_JSON_DEPTH. The value is decref'd by a cleanup on p.
 * Returns NULL with *detail set otherwise. */
struct json_t *mab_json_parse_object(apr_pool_t *p, const void *buf, apr_size_t len,
                                     const char **detail);

/* Takes over the reference a parse left with pool p (the caller must release it), and
 * gives one back to p. */
void mab_json_disown(apr_pool_t *p, struct json_t *v);
void mab_json_own(apr_pool_t *p, struct json_t *v);

/* Compact JSON text of v, allocated from p. */
char *mab_json_compact(apr_pool_t *p, const struct json_t *v);

#endif
