#ifndef MAB_ERROR_H
#define MAB_ERROR_H

/* Why a request's credential was refused. mab_err_rfc6750 gives the RFC 6750 error code
 * (the glue maps it to the HTTP status); the short description is what goes into
 * error_description and the log. */
typedef enum {
    MAB_OK = 0,
    MAB_ERR_MALFORMED,
    MAB_ERR_TOO_LARGE,
    MAB_ERR_ALG,
    MAB_ERR_NO_KEY,
    MAB_ERR_SIGNATURE,
    MAB_ERR_EXPIRED,
    MAB_ERR_NOT_YET_VALID,
    MAB_ERR_IAT_FUTURE,
    MAB_ERR_NO_EXP,
    MAB_ERR_CLAIM_TYPE,
    MAB_ERR_ISSUER,
    MAB_ERR_AUDIENCE,
    MAB_ERR_USER_CLAIM,
    MAB_ERR_NO_KEYS,
    MAB_ERR_CRIT,
    MAB_ERR_TOKEN_TYPE,
    MAB_ERR_MISSING_CLAIM,
    MAB_ERR_INACTIVE,           /* introspection: active is not true */
    MAB_ERR_SENDER_CONSTRAINED, /* cnf with no method checked here, or one turned off */
    /* Sender-constrained tokens (RFC 9449, RFC 8705): */
    MAB_ERR_DPOP_PROOF,   /* the DPoP proof is not valid: invalid_dpop_proof */
    MAB_ERR_DPOP_REPLAY,  /* the proof was used before: invalid_dpop_proof */
    MAB_ERR_DPOP_NONCE,   /* no or a stale server nonce: use_dpop_nonce */
    MAB_ERR_DPOP_BINDING, /* cnf.jkt is not the proof key's thumbprint: invalid_token */
    MAB_ERR_DPOP_BOUND,   /* a DPoP-bound token sent as Bearer: invalid_token */
    MAB_ERR_NOT_BOUND,    /* an unbound token where a binding is required: invalid_token */
    MAB_ERR_CERT_BINDING, /* no or another client certificate: invalid_token */
    /* About the credential rather than the token (RFC 6750 §3.1): */
    MAB_ERR_NO_CREDENTIAL, /* no Authorization header: no error code, a bare challenge */
    MAB_ERR_OTHER_SCHEME,  /* Authorization with another scheme (Basic …): likewise */
    MAB_ERR_EMPTY_TOKEN,   /* invalid_request */
    MAB_ERR_TOKEN_COUNT,   /* more than one token in the header: invalid_request */
    MAB_ERR_TOKEN_TWICE,   /* header and access_token query parameter: invalid_request */
    MAB_ERR_DPOP_NO_PROOF, /* the DPoP scheme without one DPoP header: invalid_request */
    /* Not the client's doing, and passing: no error code; 503 with Retry-After. */
    MAB_ERR_INTROSPECTION, /* no introspection answer: endpoint or cache down, too busy */
    MAB_ERR_REPLAY_STORE,  /* the DPoP replay record cannot be read or written */
    /* Not the client's doing: no error code, and the glue answers 500. */
    MAB_ERR_CONFIG,   /* a section lacks a required directive */
    MAB_ERR_INTERNAL, /* out of memory */
    MAB_ERR__COUNT
} mab_err_e;

const char *mab_err_desc(mab_err_e err);

/* The RFC 6750 error code: "invalid_request", "invalid_token", RFC 9449's
 * "invalid_dpop_proof" and "use_dpop_nonce", or NULL when the response carries none (no
 * credential, another scheme, a server-side failure). */
const char *mab_err_rfc6750(mab_err_e err);

/* Whether the refusal is the server's fault (configuration, memory): a 500, no challenge. */
int mab_err_is_internal(mab_err_e err);

/* The response status RFC 6750 §3.1 gives the refusal's code: 400 for invalid_request,
 * 401 for invalid_token and for no code at all (a bare challenge), 500 for the server's
 * own failures; 0 for MAB_OK. The glue answers with it, and the metrics label it so. */
int mab_err_http_status(mab_err_e err);

/* A short name for the reason, [a-z_] only: the metrics' `reason` label. NULL for MAB_OK
 * and a reason without one (a unit test sees that none is missing). */
const char *mab_err_label(mab_err_e err);

/* Whether the refusal says nothing about the token, only that it could not be checked now
 * (the introspection endpoint or the shared cache): a 503 with Retry-After, no challenge. */
int mab_err_is_unavailable(mab_err_e err);

#endif
