#ifndef MAB_EXPORTS_H
#define MAB_EXPORTS_H

#include <stddef.h>

struct json_t;

/* One environment variable a verified token sets. */
typedef struct mab_export_t {
    const char *name; /* BEARER_CLAIM_<NAME>, see mab_claims_env_name */
    const char *value;
} mab_export_t;

/* A token's claims as text, written once per token instead of once per request: every
 * top-level claim as BEARER_CLAIM_<NAME> (strings as they are, anything else compact
 * JSON) and the whole payload as compact JSON (BEARER_CLAIMS, the payload header).
 * One malloc'd block that nothing modifies after it is built, so any number of threads
 * may read it at once; the verified-token cache keeps one with each entry. */
typedef struct mab_exports_t {
    const char *claims_json;
    size_t claims_json_len;
    size_t n;             /* in the claims' own order; see mab_exports_build for clashes */
    mab_export_t vars[1]; /* n of them (at least one slot, so the struct is standard C) */
} mab_exports_t;

/* When several claims fold to one variable name ("sub", "SUB"), only the claim named
 * exactly the lower-case form of the variable's suffix ("sub") is exported; if none is,
 * that variable is not set. NULL when memory runs out or a value cannot be serialised. */
mab_exports_t *mab_exports_build(const struct json_t *claims);

void mab_exports_free(mab_exports_t *x);

#endif
