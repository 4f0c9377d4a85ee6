/* Authz providers: Require scope … and Require claim <name> <value> …
 *
 * mod_authz_core evaluates Require twice: before authentication (r->user NULL) and after.
 * A definite AUTHZ_DENIED in the first pass is answered with 403 by mod_authz_core
 * itself, with no AuthzSendForbiddenOnFailure; AUTHZ_DENIED_NO_USER lets authentication
 * run. So the providers verify the token already in the first pass: a valid token that
 * lacks the scope is a 403 there, a missing or bad one goes on to authentication's 401.
 * Claim names may be JSON Pointers (mab_claims_lookup); under negation ("Require not",
 * <RequireNone>) mod_authz_core turns DENIED and DENIED_NO_USER into NEUTRAL and GRANTED
 * into DENIED, so a negated rule records what the token met rather than what it lacked. */
#include <apr_lib.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_request.h>
#include <mod_auth.h>

#include "mab_claims.h"
#include "mab_counters.h"
#include "mod_auth_bearer_authz.h"
#include "mod_auth_bearer_config.h"
#include "mod_auth_bearer_metrics.h"
#include "mod_auth_bearer_request.h"

typedef struct {
    const char *name;
    apr_array_header_t *values; /* const char * */
    int negated;
} claim_req_t;

typedef struct {
    apr_array_header_t *scopes; /* const char * */
    int negated;
} scope_req_t;

/* Whether mod_authz_core will negate this Require line: "Require not …" and each enclosing
 * <RequireNone> flip it. A negated rule that the token fails is a pass, not something to
 * ask the client for (no insufficient_scope for "banned"); one the token meets is the
 * reason for the 403. */
static int is_negated(const cmd_parms *cmd)
{
    const ap_directive_t *d = cmd->directive;
    const char *args;
    int neg = 0;

    if (!d) {
        return 0;
    }
    args = d->args ? d->args : "";
    while (apr_isspace(*args)) {
        args++;
    }
    if (strncasecmp(args, "not", 3) == 0 && apr_isspace(args[3])) {
        neg = 1;
    }
    for (d = d->parent; d; d = d->parent) {
        if (strcasecmp(d->directive, "<RequireNone") == 0
            || strcasecmp(d->directive, "<RequireNotAll") == 0) {
            neg = !neg;
        }
    }
    return neg;
}

static apr_array_header_t *split_words(apr_pool_t *p, const char *line)
{
    apr_array_header_t *words = apr_array_make(p, 4, sizeof(const char *));
    const char *w;

    while (*(w = ap_getword_conf(p, &line))) {
        APR_ARRAY_PUSH(words, const char *) = w;
    }
    return words;
}

static const char *parse_scope(cmd_parms *cmd, const char *line, const void **parsed)
{
    scope_req_t *req = apr_pcalloc(cmd->pool, sizeof(*req));

    req->scopes = split_words(cmd->pool, line);
    if (req->scopes->nelts == 0) {
        return "Require scope needs at least one scope";
    }
    req->negated = is_negated(cmd);
    *parsed = req;
    return NULL;
}

static const char *parse_claim(cmd_parms *cmd, const char *line, const void **parsed)
{
    apr_array_header_t *words = split_words(cmd->pool, line);
    claim_req_t *req;
    const char *why = NULL;
    int i;

    if (words->nelts < 2) {
        return "Require claim needs a claim name and at least one value";
    }
    req = apr_pcalloc(cmd->pool, sizeof(*req));
    req->name = APR_ARRAY_IDX(words, 0, const char *);
    if (!mab_claims_name_valid(req->name, &why)) {
        return apr_psprintf(cmd->pool, "Require claim: '%s': %s", req->name, why);
    }
    req->values = apr_array_make(cmd->pool, words->nelts - 1, sizeof(const char *));
    for (i = 1; i < words->nelts; i++) {
        APR_ARRAY_PUSH(req->values, const char *) = APR_ARRAY_IDX(words, i, const char *);
    }
    req->negated = is_negated(cmd);
    *parsed = req;
    return NULL;
}

/* The verified token of this request, or why the provider cannot decide yet. */
static authz_status token_state(request_rec *r, const char *what, mab_req_t **out)
{
    mab_req_t *st = mab_request_verify(r);

    if (!st) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "MAB00200: Require %s is used at %s without AuthType Bearer: denied", what,
                      r->uri);
        return r->user ? AUTHZ_DENIED : AUTHZ_DENIED_NO_USER;
    }
    if (st->status != OK) {
        /* Missing or bad token: authentication answers it (401/400/500), also in
         * AuthBearerOptional mode, where a missing one is otherwise anonymous. */
        st->token_needed = 1;
        return AUTHZ_DENIED_NO_USER;
    }
    if (!r->user) {
        /* A valid token is this request's identity even when the Require lines decide
         * before authentication runs (which mod_authz_core then skips): REMOTE_USER, the
         * claims for CGI and the headers for a proxied application all follow from it. */
        mab_request_authn_result(r, st);
    }
    *out = st;
    return AUTHZ_GRANTED;
}

static void remember(apr_array_header_t **list, apr_pool_t *p, const apr_array_header_t *add)
{
    int i, j;

    if (!*list) {
        *list = apr_array_make(p, add->nelts, sizeof(const char *));
    }
    for (i = 0; i < add->nelts; i++) {
        const char *s = APR_ARRAY_IDX(add, i, const char *);
        for (j = 0; j < (*list)->nelts; j++) {
            if (strcmp(APR_ARRAY_IDX(*list, j, const char *), s) == 0) {
                break;
            }
        }
        if (j == (*list)->nelts) {
            APR_ARRAY_PUSH(*list, const char *) = s;
        }
    }
}

static authz_status check_scope(request_rec *r, const char *line, const void *parsed)
{
    const scope_req_t *req = parsed;
    const char *missing = NULL;
    mab_req_t *st = NULL;
    authz_status rv = token_state(r, "scope", &st);

    if (rv != AUTHZ_GRANTED) {
        return rv;
    }
    if (mab_claims_has_scopes_in(st->v.claims, mab_dir_conf(r)->scope_claim, req->scopes,
                                 &missing)) {
        if (req->negated) {
            st->refused_rule =
                apr_pstrcat(r->pool, "scope ", apr_array_pstrcat(r->pool, req->scopes, ' '), NULL);
        }
        return AUTHZ_GRANTED;
    }
    if (req->negated) {
        return AUTHZ_DENIED;
    }
    remember(&st->denied_scopes, r->pool, req->scopes);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "MAB00201: token lacks scope %s for %s", missing,
                  r->uri);
    return AUTHZ_DENIED;
}

static authz_status check_claim(request_rec *r, const char *line, const void *parsed)
{
    const claim_req_t *req = parsed;
    mab_req_t *st = NULL;
    authz_status rv = token_state(r, "claim", &st);

    if (rv != AUTHZ_GRANTED) {
        return rv;
    }
    if (mab_claims_match(st->v.claims, req->name, req->values)) {
        if (req->negated) {
            st->refused_rule = apr_psprintf(r->pool, "claim %s is %s", req->name,
                                            apr_array_pstrcat(r->pool, req->values, '|'));
        }
        return AUTHZ_GRANTED;
    }
    if (req->negated) {
        return AUTHZ_DENIED;
    }
    st->denied_claim = apr_psprintf(r->pool, "claim %s is not %s", req->name,
                                    apr_array_pstrcat(r->pool, req->values, '|'));
    return AUTHZ_DENIED;
}

static const authz_provider scope_provider = {check_scope, parse_scope};
static const authz_provider claim_provider = {check_claim, parse_claim};

void mab_authz_register_providers(apr_pool_t *p)
{
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "scope", AUTHZ_PROVIDER_VERSION,
                              &scope_provider, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "claim", AUTHZ_PROVIDER_VERSION,
                              &claim_provider, AP_AUTH_INTERNAL_PER_CONF);
}

/* The challenge and the log line of a 403 our providers decided for `orig`. `out` is the
 * request that answers: orig itself, or its ErrorDocument request, which shares orig's
 * err_headers_out (an internal redirect keeps them) but not its AuthName. */
static void explain_403(request_rec *out, request_rec *orig, mab_req_t *st)
{
    mab_forbidden_e kind;

    if (st->explained || st->authz_passed || st->status != OK) {
        return;
    }
    st->explained = 1;
    if (st->denied_scopes && st->denied_scopes->nelts) {
        const char *scopes = apr_array_pstrcat(out->pool, st->denied_scopes, ' ');
        mab_request_challenge(orig, "insufficient_scope", NULL, scopes);
        mab_request_log_denial(orig, HTTP_FORBIDDEN, st, "insufficient scope",
                               apr_pstrcat(out->pool, "requires ", scopes, NULL));
        kind = MAB_FORBIDDEN_SCOPE;
    }
    else if (st->denied_claim) {
        mab_request_log_denial(orig, HTTP_FORBIDDEN, st, "claim requirement not met",
                               st->denied_claim);
        kind = MAB_FORBIDDEN_CLAIM;
    }
    else if (st->refused_rule) {
        mab_request_log_denial(orig, HTTP_FORBIDDEN, st, "token meets a negated requirement",
                               st->refused_rule);
        kind = MAB_FORBIDDEN_NEGATED;
    }
    else {
        return; /* mod_authz_core's own 403 (a rule no token can meet): not ours to count */
    }
    /* Once per 403 the client gets: explained once, and never for a subrequest's. */
    if (!orig->main) {
        mab_counters_inc(mab_metrics(), MAB_C_REFUSED, mab_counters_forbidden(kind));
    }
}

void mab_authz_error_filter(request_rec *r)
{
    mab_req_t *st;

    if (r->status != HTTP_FORBIDDEN) {
        return;
    }
    st = ap_get_module_config(r->request_config, &auth_bearer_module);
    if (st) {
        explain_403(r, r, st);
    }
}

void mab_authz_passed(request_rec *r)
{
    mab_req_t *st = ap_get_module_config(r->request_config, &auth_bearer_module);

    if (st) {
        st->authz_passed = 1;
    }
}

void mab_authz_error_document(request_rec *r)
{
    request_rec *orig = r->prev;
    mab_req_t *st;

    /* ErrorDocument with a local URL: httpd answers the 403 with an internal redirect that
     * never runs the original request's error filter; the response headers are shared. */
    if (!orig || orig->status != HTTP_FORBIDDEN
        || !apr_table_get(r->subprocess_env, "REDIRECT_STATUS")) {
        return;
    }
    st = ap_get_module_config(orig->request_config, &auth_bearer_module);
    if (st) {
        explain_403(r, orig, st);
    }
}
