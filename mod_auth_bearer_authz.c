/* Authz providers: Require scope … and Require claim <name> <value> …, and their aliases
 * Require bearer-scope / bearer-claim, which no other module can take.
 *
 * mod_authz_core evaluates Require twice: before authentication (r->user NULL) and after.
 * A definite AUTHZ_DENIED in the first pass is answered with 403 by mod_authz_core
 * itself, with no AuthzSendForbiddenOnFailure; AUTHZ_DENIED_NO_USER lets authentication
 * run. So the providers verify the token already in the first pass: a valid token that
 * lacks the scope is a 403 there, a missing or bad one goes on to authentication's 401.
 * Claim names may be JSON Pointers (mab_claims_lookup); under negation ("Require not",
 * <RequireNone>) mod_authz_core turns DENIED and DENIED_NO_USER into NEUTRAL and GRANTED
 * into DENIED, so a negated rule records what the token met rather than what it lacked.
 *
 * "claim" is also mod_auth_openidc's provider. httpd keeps one provider per name, the last
 * registered, and mod_authz_core binds each Require line to whichever it finds when it reads
 * the line; a section's AuthType may come later in the section or from an enclosing one, so
 * the line cannot be assigned to a module then. Hence: in pre_config, after every LoadModule
 * and before any Require line is read, the name is made ours again if a later module took
 * it; the module that had it is remembered (whichever order they loaded in); each line is
 * parsed both ways; and at request time the request's AuthType picks whose meaning applies. */
#include <apr_lib.h>
#include <apr_strings.h>
#include <ap_mpm.h>
#include <ap_provider.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_request.h>
#include <mod_auth.h>

#include <dlfcn.h>

#include "mab_claims.h"
#include "mab_counters.h"
#include "mod_auth_bearer_authz.h"
#include "mod_auth_bearer_check.h"
#include "mod_auth_bearer_config.h"
#include "mod_auth_bearer_metrics.h"
#include "mod_auth_bearer_request.h"
#include "mod_auth_bearer_resource.h"
#include "mod_auth_bearer_resource_conf.h"

typedef struct {
    const char *what; /* the provider name the line used, for messages */
    const char *name;
    apr_array_header_t *values; /* const char * */
    int negated;
} claim_req_t;

typedef struct {
    const char *what;
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

static const char *parse_scope_as(cmd_parms *cmd, const char *what, const char *line,
                                  const void **parsed)
{
    scope_req_t *req = apr_pcalloc(cmd->pool, sizeof(*req));

    req->what = what;
    req->scopes = split_words(cmd->pool, line);
    if (req->scopes->nelts == 0) {
        return apr_psprintf(cmd->pool, "Require %s needs at least one scope", what);
    }
    req->negated = is_negated(cmd);
    mab_resource_note_scopes(cmd, req->scopes, req->negated);
    *parsed = req;
    return NULL;
}

static const char *parse_claim_as(cmd_parms *cmd, const char *what, const char *line,
                                  const void **parsed)
{
    apr_array_header_t *words = split_words(cmd->pool, line);
    claim_req_t *req;
    const char *why = NULL;
    int i;

    if (words->nelts < 2) {
        return apr_psprintf(cmd->pool, "Require %s needs a claim name and at least one value",
                            what);
    }
    req = apr_pcalloc(cmd->pool, sizeof(*req));
    req->what = what;
    req->name = APR_ARRAY_IDX(words, 0, const char *);
    if (!mab_claims_name_valid(req->name, &why)) {
        return apr_psprintf(cmd->pool, "Require %s: '%s': %s", what, req->name, why);
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

/* The issuer's AuthBearerScopeClaim (its container's or the section's), or NULL. */
static const char *scope_claim_of(const mab_verdict_t *v)
{
    return v->issuer && v->issuer->rules ? v->issuer->rules->scope_claim : NULL;
}

static authz_status check_scope(request_rec *r, const char *line, const void *parsed)
{
    const scope_req_t *req = parsed;
    const char *missing = NULL;
    mab_req_t *st = NULL;
    authz_status rv = token_state(r, req->what, &st);

    if (!req->negated) {
        /* what a declared resource's 401 and 403 ask the client to get (MCP) */
        mab_req_t *asked = ap_get_module_config(r->request_config, &auth_bearer_module);
        if (asked) {
            remember(&asked->asked_scopes, r->pool, req->scopes);
        }
    }
    if (rv != AUTHZ_GRANTED) {
        return rv;
    }
    if (mab_claims_has_scopes_in(st->v.claims, scope_claim_of(&st->v), req->scopes, &missing)) {
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
    authz_status rv = token_state(r, req->what, &st);

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

/* --- the names no other module can take: Require bearer-scope / bearer-claim ----------------- */

static const char *parse_bearer_scope(cmd_parms *cmd, const char *line, const void **parsed)
{
    return parse_scope_as(cmd, "bearer-scope", line, parsed);
}

static const char *parse_bearer_claim(cmd_parms *cmd, const char *line, const void **parsed)
{
    return parse_claim_as(cmd, "bearer-claim", line, parsed);
}

static const authz_provider bearer_scope_provider = {check_scope, parse_bearer_scope};
static const authz_provider bearer_claim_provider = {check_claim, parse_bearer_claim};

/* --- the names another module may register too: Require scope / claim ------------------------- */

typedef const char *parse_as_fn(cmd_parms *cmd, const char *what, const char *line,
                                const void **parsed);

typedef struct {
    const char *name;
    const authz_provider *ours;
    parse_as_fn *parse;
    authz_status (*check)(request_rec *r, const char *line, const void *parsed);
    /* This configuration generation's other provider of the name, or NULL, and the file it
     * came from (for messages). */
    const authz_provider *other;
    const char *other_module;
} shared_name_t;

/* One Require line under a shared name, read both ways. */
typedef struct {
    const shared_name_t *shared;
    const authz_provider *other; /* the one that parsed `theirs` */
    const char *other_module;
    const void *ours; /* NULL: not our syntax, why in ours_err */
    const char *ours_err;
    const void *theirs;
    const char *theirs_err; /* NULL: parsed, or the other module parses nothing */
    const char *where;      /* file:line */
    int negated;
} shared_line_t;

/* The lines read at startup, for the check of each against its own section's AuthType. */
typedef struct {
    ap_conf_vector_t *section;
    const shared_line_t *line;
    const char *args;
} startup_line_t;

static apr_array_header_t *startup_lines;

static const char *parse_shared_scope(cmd_parms *cmd, const char *line, const void **parsed);
static const char *parse_shared_claim(cmd_parms *cmd, const char *line, const void **parsed);
static authz_status check_shared_scope(request_rec *r, const char *line, const void *parsed);
static authz_status check_shared_claim(request_rec *r, const char *line, const void *parsed);

static const authz_provider scope_provider = {check_shared_scope, parse_shared_scope};
static const authz_provider claim_provider = {check_shared_claim, parse_shared_claim};

static shared_name_t shared_names[] = {
    {"scope", &scope_provider, parse_scope_as, check_scope, NULL, NULL},
    {"claim", &claim_provider, parse_claim_as, check_claim, NULL, NULL},
};
#define N_SHARED (sizeof(shared_names) / sizeof(shared_names[0]))

static const char *parse_shared(cmd_parms *cmd, shared_name_t *sh, const char *line,
                                const void **parsed)
{
    shared_line_t *l = apr_pcalloc(cmd->pool, sizeof(*l));

    l->shared = sh;
    l->other = sh->other;
    l->other_module = sh->other_module;
    l->negated = is_negated(cmd);
    l->where = cmd->directive ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                                             cmd->directive->line_num)
                              : "?";
    l->ours_err = sh->parse(cmd, sh->name, line, &l->ours);
    if (!l->other) {
        if (l->ours_err) {
            return l->ours_err;
        }
    }
    else {
        if (l->other->parse_require_line) {
            l->theirs_err = l->other->parse_require_line(cmd, line, &l->theirs);
        }
        if (l->ours_err && l->theirs_err) {
            return apr_psprintf(cmd->pool,
                                "Require %s %s: neither mod_auth_bearer's syntax (%s) nor %s's "
                                "(%s)",
                                sh->name, line, l->ours_err, l->other_module, l->theirs_err);
        }
        /* .htaccess lines are read per request: those are judged per request only. */
        if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_RUN_MPM && startup_lines) {
            startup_line_t *sl = apr_array_push(startup_lines);
            sl->section = cmd->context;
            sl->line = l;
            sl->args = apr_pstrdup(cmd->pool, line);
        }
    }
    *parsed = l;
    return NULL;
}

/* A line that cannot be evaluated under the AuthType that governs the request refuses, also
 * under negation (where a plain denial would turn neutral and refuse nothing). */
static authz_status refuse_line(const shared_line_t *l)
{
    return l->negated ? AUTHZ_GRANTED : AUTHZ_DENIED;
}

static authz_status check_shared(request_rec *r, const char *line, const shared_line_t *l)
{
    const shared_name_t *sh = l->shared;

    if (!l->other || mab_request_is_bearer(r)) {
        if (!l->ours) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "MAB00602: Require %s %s (%s) is %s's syntax, not mod_auth_bearer's "
                          "(%s), but %s is under AuthType Bearer: denied; write mod_auth_bearer's "
                          "form, or Require bearer-%s",
                          sh->name, line, l->where, l->other_module, l->ours_err, r->uri, sh->name);
            return refuse_line(l);
        }
        return sh->check(r, line, l->ours);
    }
    if (l->theirs_err) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "MAB00603: Require %s %s (%s) is not %s's syntax (%s), but %s is under "
                      "AuthType %s: denied",
                      sh->name, line, l->where, l->other_module, l->theirs_err, r->uri,
                      ap_auth_type(r) ? ap_auth_type(r) : "(none)");
        return refuse_line(l);
    }
    return l->other->check_authorization(r, line, l->theirs);
}

static const char *parse_shared_scope(cmd_parms *cmd, const char *line, const void **parsed)
{
    return parse_shared(cmd, &shared_names[0], line, parsed);
}

static const char *parse_shared_claim(cmd_parms *cmd, const char *line, const void **parsed)
{
    return parse_shared(cmd, &shared_names[1], line, parsed);
}

static authz_status check_shared_scope(request_rec *r, const char *line, const void *parsed)
{
    return check_shared(r, line, parsed);
}

static authz_status check_shared_claim(request_rec *r, const char *line, const void *parsed)
{
    return check_shared(r, line, parsed);
}

/* The file a provider's code lives in ("mod_auth_openidc.so"), for messages. */
static const char *module_file(apr_pool_t *p, const authz_provider *prov)
{
    Dl_info info;
    const char *slash;

    if (!dladdr((void *)prov->check_authorization, &info) || !info.dli_fname) {
        return "another module";
    }
    slash = strrchr(info.dli_fname, '/');
    return apr_pstrdup(p, slash ? slash + 1 : info.dli_fname);
}

/* Another module's provider now registered under the name, if any: remembered. */
static int adopt_other(apr_pool_t *p, shared_name_t *sh)
{
    const authz_provider *cur =
        ap_lookup_provider(AUTHZ_PROVIDER_GROUP, sh->name, AUTHZ_PROVIDER_VERSION);

    if (!cur || cur == sh->ours) {
        return 0;
    }
    sh->other = cur;
    sh->other_module = module_file(p, cur);
    return 1;
}

void mab_authz_register_providers(apr_pool_t *p)
{
    size_t i;

    for (i = 0; i < N_SHARED; i++) {
        shared_name_t *sh = &shared_names[i];
        sh->other = NULL;
        sh->other_module = NULL;
        if (adopt_other(p, sh)) {
            /* The name is counted once already, by the module that has it: counting it again
             * would let httpd believe a per-URI provider elsewhere is per-configuration. */
            ap_register_provider(p, AUTHZ_PROVIDER_GROUP, sh->name, AUTHZ_PROVIDER_VERSION,
                                 sh->ours);
        }
        else {
            ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, sh->name, AUTHZ_PROVIDER_VERSION,
                                      sh->ours, AP_AUTH_INTERNAL_PER_CONF);
        }
    }
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "bearer-scope", AUTHZ_PROVIDER_VERSION,
                              &bearer_scope_provider, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "bearer-claim", AUTHZ_PROVIDER_VERSION,
                              &bearer_claim_provider, AP_AUTH_INTERNAL_PER_CONF);
}

void mab_authz_pre_config(apr_pool_t *pconf)
{
    size_t i;

    startup_lines = apr_array_make(pconf, 4, sizeof(startup_line_t));
    for (i = 0; i < N_SHARED; i++) {
        shared_name_t *sh = &shared_names[i];
        /* A module loaded after this one replaced the registration. Ours again, already
         * counted as per-configuration when it was first registered. */
        if (adopt_other(pconf, sh)) {
            ap_register_provider(pconf, AUTHZ_PROVIDER_GROUP, sh->name, AUTHZ_PROVIDER_VERSION,
                                 sh->ours);
        }
    }
}

void mab_authz_log_shared(server_rec *s)
{
    size_t i;

    for (i = 0; i < N_SHARED; i++) {
        const shared_name_t *sh = &shared_names[i];
        if (sh->other) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                         "MAB00600: Require %s is also %s's: each such line is decided by "
                         "mod_auth_bearer under AuthType Bearer and by %s under any other "
                         "AuthType; Require bearer-%s is always mod_auth_bearer's",
                         sh->name, sh->other_module, sh->other_module, sh->name);
        }
    }
}

int mab_authz_check_config(server_rec *s)
{
    int i, rc = 0;

    for (i = 0; startup_lines && i < startup_lines->nelts; i++) {
        const startup_line_t *sl = &APR_ARRAY_IDX(startup_lines, i, startup_line_t);
        const shared_line_t *l = sl->line;
        const char *type = mab_check_own_auth_type(sl->section);
        int bearer = type && strcasecmp(type, MAB_AUTH_TYPE) == 0;
        const char *err = bearer ? l->ours_err : type ? l->theirs_err : NULL;

        if (err) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         "MAB00601: Require %s %s (%s): its section says AuthType %s, which "
                         "makes it %s's line, but it is not that module's syntax: %s",
                         l->shared->name, sl->args, l->where, type,
                         bearer ? "mod_auth_bearer" : l->other_module, err);
            rc = -1;
        }
    }
    return rc;
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
        /* A declared resource names every scope the request needs, granted ones too, so a
         * client that asks again for these keeps what it had (MCP step-up). */
        mab_request_challenge(orig, "insufficient_scope", NULL,
                              mab_resource_declared(orig) && st->asked_scopes
                                  ? apr_array_pstrcat(out->pool, st->asked_scopes, ' ')
                                  : scopes);
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
