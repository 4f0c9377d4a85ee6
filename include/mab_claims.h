#ifndef MAB_CLAIMS_H
#define MAB_CLAIMS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "mab_error.h"

struct json_t;

#define MAB_MAX_NUMERIC_DATE 253402300799.0 /* 9999-12-31T23:59:59Z */

/* What a location requires of an access token's registered claims. */
typedef struct mab_claim_policy_t {
    const char *issuer;                  /* exact match */
    const apr_array_header_t *audiences; /* const char *; one must be in aud */
    int audience_any;                    /* AuthBearerAudience * */
    long skew;                           /* seconds of leeway for exp/nbf/iat */
    long long now;                       /* seconds since the epoch */
    int access_token_jwt;                /* RFC 9068: sub, client_id, iat, jti and aud required */
} mab_claim_policy_t;

/* Parses the payload as a JSON object (strict: no duplicate names, no NUL, bounded
 * depth). Returns NULL with *detail set when it is not one. The value is decref'd by a
 * cleanup on p. */
struct json_t *mab_claims_parse(apr_pool_t *p, const unsigned char *payload, apr_size_t len,
                                const char **detail);

/* Checks exp (required), nbf, iat, iss and aud. */
mab_err_e mab_claims_validate(const struct json_t *claims, const mab_claim_policy_t *policy,
                              apr_pool_t *p, const char **detail);

/* Flags for mab_claims_validate_ex: what may be absent (still checked when present). An
 * RFC 7662 introspection answer needs neither exp nor iss (§2.2), a JWT needs both. */
#define MAB_CLAIMS_EXP_OPTIONAL 0x1u
#define MAB_CLAIMS_ISS_OPTIONAL 0x2u

/* mab_claims_validate with flags; mab_claims_validate is flags 0. */
mab_err_e mab_claims_validate_ex(const struct json_t *claims, const mab_claim_policy_t *policy,
                                 unsigned flags, apr_pool_t *p, const char **detail);

/* 1 when every scope in `required` is granted by the `scope` string, the `scp` string or
 * array, or the `permissions` array, in no other shape. Otherwise 0 and *missing is the
 * first one absent. */
int mab_claims_has_scopes(const struct json_t *claims, const apr_array_header_t *required,
                          const char **missing);

/* The same, but with `scope_claim` (a claim name, see mab_claims_lookup) as the only
 * source of scopes when it is not NULL: a space-delimited string or an array of strings. */
int mab_claims_has_scopes_in(const struct json_t *claims, const char *scope_claim,
                             const apr_array_header_t *required, const char **missing);

/* Claim addressing: a name starting with '/' is an RFC 6901 JSON Pointer into the payload
 * ("/realm_access/roles"); any other name is one literal top-level member, dots and all
 * ("https://example.com/roles"). NULL when absent. */
const struct json_t *mab_claims_lookup(const struct json_t *claims, const char *name);

/* 1 when `name` is usable as a claim name (non-empty; a valid pointer if it starts with
 * '/'), otherwise 0 with *why set. For configuration-time checks. */
int mab_claims_name_valid(const char *name, const char **why);

/* 1 when claim `name` (see mab_claims_lookup) equals one of `values` (strings compare as
 * strings; integers exactly as long long against integer text; reals against decimal text
 * with a '.' or exponent, the same double, and only below 2^53; never an integer with a real;
 * booleans as true/false), or, for an array claim, contains one of them. */
int mab_claims_match(const struct json_t *claims, const char *name,
                     const apr_array_header_t *values);

/* "BEARER_CLAIM_" + name upper-cased, every byte outside [A-Z0-9_] replaced by '_', written
 * to `out`, which holds mab_claims_env_name_size(name) bytes; returns out. */
size_t mab_claims_env_name_size(const char *name);
char *mab_claims_env_name_write(char *out, const char *name);

/* A claim value for the environment: strings as they are, anything else compact JSON. */
const char *mab_claims_env_value(apr_pool_t *p, const struct json_t *value);

#endif
