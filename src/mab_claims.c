#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "mab_claims.h"
#include "mab_json.h"
#include "mab_jsonptr.h"

json_t *mab_claims_parse(apr_pool_t *p, const unsigned char *payload, apr_size_t len,
                         const char **detail)
{
    return mab_json_parse_object(p, payload, len, detail);
}

/* A NumericDate (RFC 7519 §2): a finite JSON number; 1 when present, 0 absent, -1 bad. */
static int numeric_date(const json_t *claims, const char *name, double *out)
{
    const json_t *v = json_object_get(claims, name);

    if (!v) {
        return 0;
    }
    if (!json_is_number(v)) {
        return -1;
    }
    *out = json_number_value(v);
    /* Dates before 1970 or after 9999-12-31 are overflow tricks, not real tokens. */
    if (!isfinite(*out) || *out < 0 || *out > MAB_MAX_NUMERIC_DATE) {
        return -1;
    }
    return 1;
}

static int audience_matches(const json_t *aud, const mab_claim_policy_t *pol)
{
    int i;

    for (i = 0; pol->audiences && i < pol->audiences->nelts; i++) {
        const char *want = APR_ARRAY_IDX(pol->audiences, i, const char *);
        if (json_is_string(aud) && strcmp(json_string_value(aud), want) == 0) {
            return 1;
        }
        if (json_is_array(aud)) {
            size_t j;
            const json_t *v;
            json_array_foreach ((json_t *)aud, j, v) {
                if (json_is_string(v) && strcmp(json_string_value(v), want) == 0) {
                    return 1;
                }
            }
        }
    }
    return 0;
}

static int audience_well_formed(const json_t *aud)
{
    size_t i;
    const json_t *v;

    if (json_is_string(aud)) {
        return 1;
    }
    if (!json_is_array(aud)) {
        return 0;
    }
    json_array_foreach ((json_t *)aud, i, v) {
        if (!json_is_string(v)) {
            return 0;
        }
    }
    return 1;
}

/* RFC 9068 §2.2: what every JWT access token carries (iss and exp are checked above). */
static mab_err_e at_jwt_claims(const json_t *claims, apr_pool_t *p, const char **detail)
{
    static const char *const strings[] = {"sub", "client_id", "jti"};
    size_t i;

    for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        const json_t *v = json_object_get(claims, strings[i]);
        if (!v) {
            *detail = apr_psprintf(p, "RFC 9068 access tokens need a %s claim", strings[i]);
            return MAB_ERR_MISSING_CLAIM;
        }
        if (!json_is_string(v)) {
            *detail = apr_psprintf(p, "%s is not a string", strings[i]);
            return MAB_ERR_CLAIM_TYPE;
        }
    }
    if (!json_object_get(claims, "iat")) {
        *detail = "RFC 9068 access tokens need an iat claim";
        return MAB_ERR_MISSING_CLAIM;
    }
    if (!json_object_get(claims, "aud")) {
        *detail = "RFC 9068 access tokens need an aud claim";
        return MAB_ERR_MISSING_CLAIM;
    }
    return MAB_OK;
}

mab_err_e mab_claims_validate(const json_t *claims, const mab_claim_policy_t *pol, apr_pool_t *p,
                              const char **detail)
{
    return mab_claims_validate_ex(claims, pol, 0, p, detail);
}

mab_err_e mab_claims_validate_ex(const json_t *claims, const mab_claim_policy_t *pol,
                                 unsigned flags, apr_pool_t *p, const char **detail)
{
    double exp, nbf, iat;
    const json_t *iss, *aud;
    double now = (double)pol->now, skew = (double)pol->skew;
    int rv;

    *detail = NULL;
    rv = numeric_date(claims, "exp", &exp);
    if (rv == 0 && !(flags & MAB_CLAIMS_EXP_OPTIONAL)) {
        *detail = "exp claim is required";
        return MAB_ERR_NO_EXP;
    }
    if (rv < 0) {
        *detail = "exp is not a number";
        return MAB_ERR_CLAIM_TYPE;
    }
    if (rv > 0 && now >= exp + skew) {
        *detail = apr_psprintf(p, "exp %.0f is %.0f s in the past (skew %ld s)", exp, now - exp,
                               pol->skew);
        return MAB_ERR_EXPIRED;
    }
    rv = numeric_date(claims, "nbf", &nbf);
    if (rv < 0) {
        *detail = "nbf is not a number";
        return MAB_ERR_CLAIM_TYPE;
    }
    if (rv > 0 && nbf > now + skew) {
        *detail = apr_psprintf(p, "nbf %.0f is %.0f s in the future (skew %ld s)", nbf, nbf - now,
                               pol->skew);
        return MAB_ERR_NOT_YET_VALID;
    }
    rv = numeric_date(claims, "iat", &iat);
    if (rv < 0) {
        *detail = "iat is not a number";
        return MAB_ERR_CLAIM_TYPE;
    }
    if (rv > 0 && iat > now + skew) {
        *detail = apr_psprintf(p, "iat %.0f is %.0f s in the future (skew %ld s)", iat, iat - now,
                               pol->skew);
        return MAB_ERR_IAT_FUTURE;
    }
    iss = json_object_get(claims, "iss");
    if (iss && !json_is_string(iss)) {
        *detail = "iss is not a string";
        return MAB_ERR_CLAIM_TYPE;
    }
    if ((iss || !(flags & MAB_CLAIMS_ISS_OPTIONAL))
        && (!iss || !pol->issuer || strcmp(json_string_value(iss), pol->issuer) != 0)) {
        *detail =
            apr_psprintf(p, "iss \"%.200s\" is not \"%s\"", iss ? json_string_value(iss) : "(none)",
                         pol->issuer ? pol->issuer : "(unset)");
        return MAB_ERR_ISSUER;
    }
    aud = json_object_get(claims, "aud");
    if (aud && !audience_well_formed(aud)) {
        *detail = "aud is neither a string nor an array of strings";
        return MAB_ERR_CLAIM_TYPE;
    }
    if (!aud && pol->access_token_jwt) {
        *detail = "RFC 9068 access tokens need an aud claim";
        return MAB_ERR_MISSING_CLAIM;
    }
    if (!pol->audience_any && (!aud || !audience_matches(aud, pol))) {
        *detail = aud ? "aud does not contain a configured audience" : "token has no aud";
        return MAB_ERR_AUDIENCE;
    }
    if (pol->access_token_jwt) {
        return at_jwt_claims(claims, p, detail);
    }
    return MAB_OK;
}

/* Whether the space-delimited list `list` contains `want` as a whole word. */
static int word_in(const char *list, const char *want)
{
    size_t wl = strlen(want);
    const char *s = list;

    while (*s) {
        size_t n;
        while (*s == ' ') {
            s++;
        }
        n = strcspn(s, " ");
        if (n == wl && n > 0 && strncmp(s, want, n) == 0) {
            return 1;
        }
        s += n;
    }
    return 0;
}

const json_t *mab_claims_lookup(const json_t *claims, const char *name)
{
    if (name[0] == '/') {
        return mab_jsonptr_get(claims, name);
    }
    return json_object_get(claims, name);
}

int mab_claims_name_valid(const char *name, const char **why)
{
    if (!*name) {
        *why = "empty claim name";
        return 0;
    }
    return name[0] == '/' ? mab_jsonptr_valid(name, why) : 1;
}

#define SCOPE_STRING 1 /* a space-delimited string */
#define SCOPE_ARRAY 2  /* an array of whole scopes */

/* A scope claim's value, in one of the shapes `shapes` allows; any other shape grants
 * nothing. */
static int scope_in_value(const json_t *v, int shapes, const char *want)
{
    if ((shapes & SCOPE_STRING) && json_is_string(v)) {
        return word_in(json_string_value(v), want);
    }
    if ((shapes & SCOPE_ARRAY) && json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach ((json_t *)v, i, e) {
            if (json_is_string(e) && strcmp(json_string_value(e), want) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

static int scope_granted(const json_t *claims, const char *scope_claim, const char *want)
{
    /* Only the shapes the README promises (RFC 8693 scope, Azure scp, Auth0 permissions):
     * an issuer that sends another shape means something this module does not know. */
    static const struct {
        const char *name;
        int shapes;
    } sources[] = {
        {"scope", SCOPE_STRING},
        {"scp", SCOPE_STRING | SCOPE_ARRAY},
        {"permissions", SCOPE_ARRAY},
    };
    size_t k;

    if (scope_claim) {
        return scope_in_value(mab_claims_lookup(claims, scope_claim), SCOPE_STRING | SCOPE_ARRAY,
                              want);
    }
    for (k = 0; k < sizeof(sources) / sizeof(sources[0]); k++) {
        if (scope_in_value(json_object_get(claims, sources[k].name), sources[k].shapes, want)) {
            return 1;
        }
    }
    return 0;
}

int mab_claims_has_scopes(const json_t *claims, const apr_array_header_t *required,
                          const char **missing)
{
    return mab_claims_has_scopes_in(claims, NULL, required, missing);
}

int mab_claims_has_scopes_in(const json_t *claims, const char *scope_claim,
                             const apr_array_header_t *required, const char **missing)
{
    int i;

    for (i = 0; i < required->nelts; i++) {
        const char *want = APR_ARRAY_IDX(required, i, const char *);
        if (!scope_granted(claims, scope_claim, want)) {
            *missing = want;
            return 0;
        }
    }
    return 1;
}

/* Beyond 2^53 a double no longer holds every integer, so two different ids can round to
 * the same real: such reals never match. */
#define MAB_EXACT_REAL_LIMIT 9007199254740992.0

/* An integer Require value: -?[0-9]+ within long long, read exactly (no double on the way,
 * so 64-bit ids never round onto their neighbours). 1 when it is one, else 0. */
static int parse_integer(const char *want, long long *out)
{
    const char *digits = want[0] == '-' ? want + 1 : want;
    char *end;

    if (!*digits || strspn(digits, "0123456789") != strlen(digits)) {
        return 0;
    }
    errno = 0;
    *out = strtoll(want, &end, 10);
    return errno == 0 && *end == '\0';
}

/* A decimal Require value for a real claim: a plain decimal number with a '.' or an
 * exponent, finite and small enough to be exact. strtod alone would also take " 42",
 * "0x2a" or "inf". */
static int parse_decimal(const char *want, double *out)
{
    char *end;

    if (strspn(want, "0123456789+-.eE") != strlen(want) || !(apr_isdigit(*want) || *want == '-')
        || !strpbrk(want, ".eE")) {
        return 0;
    }
    errno = 0;
    *out = strtod(want, &end);
    return *end == '\0' && errno == 0 && fabs(*out) < MAB_EXACT_REAL_LIMIT;
}

/* One configured value (always text) against one JSON scalar. Integers compare exactly
 * with integer values; a real only with a decimal value; never an integer with a real. */
static int scalar_matches(const json_t *v, const char *want)
{
    if (json_is_string(v)) {
        return strcmp(json_string_value(v), want) == 0;
    }
    if (json_is_true(v)) {
        return strcmp(want, "true") == 0;
    }
    if (json_is_false(v)) {
        return strcmp(want, "false") == 0;
    }
    if (json_is_integer(v)) {
        long long n = 0;
        return parse_integer(want, &n) && n == (long long)json_integer_value(v);
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        double w = 0;
        return isfinite(d) && fabs(d) < MAB_EXACT_REAL_LIMIT && parse_decimal(want, &w) && w == d;
    }
    return 0;
}

int mab_claims_match(const json_t *claims, const char *name, const apr_array_header_t *values)
{
    const json_t *v = mab_claims_lookup(claims, name);
    int i;

    if (!v) {
        return 0;
    }
    for (i = 0; i < values->nelts; i++) {
        const char *want = APR_ARRAY_IDX(values, i, const char *);
        if (json_is_array(v)) {
            size_t j;
            const json_t *e;
            json_array_foreach ((json_t *)v, j, e) {
                if (scalar_matches(e, want)) {
                    return 1;
                }
            }
        }
        else if (scalar_matches(v, want)) {
            return 1;
        }
    }
    return 0;
}

static const char env_prefix[] = "BEARER_CLAIM_";

size_t mab_claims_env_name_size(const char *name)
{
    return sizeof(env_prefix) + strlen(name);
}

char *mab_claims_env_name_write(char *out, const char *name)
{
    size_t n = strlen(name), i;

    memcpy(out, env_prefix, sizeof(env_prefix) - 1);
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (c >= 'a' && c <= 'z') {
            c = (char)(c - 'a' + 'A');
        }
        else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
            c = '_';
        }
        out[sizeof(env_prefix) - 1 + i] = c;
    }
    out[sizeof(env_prefix) - 1 + n] = '\0';
    return out;
}

const char *mab_claims_env_value(apr_pool_t *p, const json_t *value)
{
    if (json_is_string(value)) {
        return apr_pstrmemdup(p, json_string_value(value), json_string_length(value));
    }
    return mab_json_compact(p, value);
}
