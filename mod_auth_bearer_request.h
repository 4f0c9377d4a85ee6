#ifndef MOD_AUTH_BEARER_REQUEST_H
#define MOD_AUTH_BEARER_REQUEST_H

/* A request's verification, done once and shared by the authn, authz, access and hand-off
 * files; the challenge and the denial log line, built in one place each. */
#include "mab_verifier.h"
#include "mod_auth_bearer_private.h"

typedef struct {
    mab_verdict_t v;
    int status; /* OK, HTTP_BAD_REQUEST, HTTP_UNAUTHORIZED, HTTP_INTERNAL_SERVER_ERROR */
    /* What the authz providers found, for the 403's challenge and log line. */
    apr_array_header_t *denied_scopes; /* scopes a failed Require scope asked for */
    apr_array_header_t *asked_scopes;  /* every scope the evaluated Require scope lines named */
    const char *denied_claim;          /* the claim a failed Require claim named */
    const char *refused_rule;          /* a negated Require scope/claim the token met */
    int authz_passed; /* fixups ran: a later 403 is not an authorization decision */
    int explained;    /* the 403's challenge and log line are done */
    int anonymous;    /* AuthBearerOptional without a token: authenticated as "" */
    int token_needed; /* a Require scope/claim line asked for the token */
    int counted;      /* the metrics have this request's accepted or refused */
    int scheme;       /* mab_scheme_e the client used; 0 when it sent no token */
    int dpop_mode;    /* AuthBearerDPoP of the section: mab_bind_mode_e */
    unsigned dpop_algs; /* AuthBearerDPoPAlgorithms, for the DPoP challenge */
} mab_req_t;

/* Each child: the verifier's per-process stores. */
void mab_request_child_init(apr_pool_t *pchild, server_rec *s);

int mab_request_is_bearer(request_rec *r);

/* Verifies the request's credential once; NULL when AuthType is not Bearer. */
mab_req_t *mab_request_verify(request_rec *r);

/* This request's verification, or the one a subrequest or internal redirect with the same
 * configuration inherited (httpd skips authentication for those); NULL when none. */
const mab_req_t *mab_request_state(const request_rec *r);

/* No credential at all (no Authorization header, or another scheme). */
int mab_request_no_token(const mab_req_t *st);

/* AuthBearerOptional and no token: authentication succeeds anonymously (returns 1). */
int mab_request_anonymous(request_rec *r, mab_req_t *st);

/* The outcome of authentication: OK with r->user and the CGI environment set, or the
 * error status with its challenge set and the denial logged; counted in the metrics once
 * per client request. */
int mab_request_authn_result(request_rec *r, mab_req_t *st);

/* WWW-Authenticate (Proxy-Authenticate for a proxy request): realm, with an error its
 * description, the scope when given, and a declared resource's resource_metadata. Where
 * the section takes DPoP tokens, the DPoP challenge too (with algs), or only it (DPoP
 * Required); the error goes on the challenge of the scheme the client used. */
void mab_request_challenge(request_rec *r, const char *error, const char *description,
                           const char *scope);

/* The MAB00100 line; never the token, only its fingerprint. */
void mab_request_log_denial(request_rec *r, int status, const mab_req_t *st, const char *reason,
                            const char *detail);

#endif
