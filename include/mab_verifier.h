#ifndef MAB_VERIFIER_H
#define MAB_VERIFIER_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "mab_error.h"

struct json_t;
struct mab_credential_t;
struct mab_dpop_keys_t;
struct mab_kvstore_t;
struct mab_exports_t;
struct mab_key_t;
struct mab_keycache_t;
struct mab_keyset_t;
struct mab_source_t;
struct mab_tokencache_hit_t;
struct mab_tokencache_t;

/* The verifier: from a parsed credential and a location's policy to a verdict. Every rule
 * about tokens lives here (the glue only turns httpd state into these inputs and the
 * verdict into HTTP): which issuer a token belongs to, which keys may verify it, whether a
 * cached verification may stand for this policy, the registered claims, the user claim. */

/* What one issuer's tokens must be, every default resolved. Where a location accepts
 * several issuers each carries its own (audience, algorithms, … differ between IdPs). */
typedef struct mab_rules_t {
    const apr_array_header_t *audiences; /* const char *; one must be in aud */
    int audience_any;                    /* AuthBearerAudience * */
    unsigned alg_mask;                   /* allow-list (mab_alg_t bits) */
    int access_token_jwt;                /* RFC 9068 at+jwt only */
    long skew;                           /* seconds of leeway for exp, nbf, iat */
    const char *user_claim;
    const char *scope_claim; /* the one claim Require scope reads; NULL: scope, scp, permissions */
    int introspect;          /* mab_introspect_mode_e */
    const void *introspection; /* the glue's endpoint, handed back to the introspector */
} mab_rules_t;

/* AuthBearerIntrospect: which of an issuer's tokens are asked about at its RFC 7662
 * endpoint. Opaque: tokens that are not JWTs (at most one issuer of a policy may, since an
 * opaque token names none); All: also JWTs, after local verification (revocation). */
typedef enum {
    MAB_INTROSPECT_OFF = 0,
    MAB_INTROSPECT_OPAQUE,
    MAB_INTROSPECT_ALL
} mab_introspect_mode_e;

/* One issuer a policy accepts, with the keys that may verify its tokens: never another
 * issuer's (issuer and key source travel as one unit). */
typedef struct mab_issuer_t {
    const char *iss;                /* the exact iss value */
    struct mab_source_t *keys;      /* JWKS or discovery source for asymmetric tokens, or NULL */
    const struct mab_key_t *secret; /* HMAC secret for HS* tokens, or NULL */
    const mab_rules_t *rules;       /* this issuer's; NULL: the policy's own fields */
} mab_issuer_t;

/* AuthBearerDPoP and AuthBearerCertBound: whether a binding is checked, and whether only
 * tokens with one are accepted. A bound token is never accepted as a plain bearer token,
 * whatever the mode: Off refuses it. */
typedef enum { MAB_BIND_OFF = 0, MAB_BIND_ON, MAB_BIND_REQUIRED } mab_bind_mode_e;

/* Sender-constrained tokens (RFC 9449 DPoP, RFC 8705 certificate-bound), for a location. */
typedef struct mab_sender_policy_t {
    int dpop;               /* mab_bind_mode_e */
    unsigned dpop_alg_mask; /* AuthBearerDPoPAlgorithms */
    long dpop_max_age;      /* AuthBearerDPoPProofAge, seconds */
    int dpop_nonce;         /* AuthBearerDPoPNonce On: proofs carry a server nonce */
    const unsigned char *nonce_secret; /* AuthBearerDPoPNonceSecret (or made at start) */
    apr_size_t nonce_secret_len;
    int cert_bound; /* mab_bind_mode_e */
} mab_sender_policy_t;

/* What a location requires, every default already resolved. The rule fields apply to the
 * issuers that carry no rules of their own. */
typedef struct mab_policy_t {
    const mab_issuer_t *issuers;
    int nissuers;                        /* at least one */
    const apr_array_header_t *audiences; /* const char *; one must be in aud */
    int audience_any;                    /* AuthBearerAudience * */
    unsigned alg_mask;                   /* allow-list (mab_alg_t bits) */
    apr_size_t max_token_size;
    int access_token_jwt; /* RFC 9068 at+jwt only */
    long skew;            /* seconds of leeway for exp, nbf, iat */
    const char *user_claim;
    int use_cache; /* this location may use the token cache */
    mab_sender_policy_t sender;
} mab_policy_t;

/* What the request shows besides the token, for a sender-constrained one. */
typedef struct mab_sender_t {
    const char *proof;  /* the DPoP header's value, NULL when absent */
    int proofs;         /* how many DPoP header fields the request had */
    const char *method; /* htm */
    const char *htu;    /* the request's URL normalised (mab_htu_request); NULL: unknown */
    const unsigned char *cert_digest; /* SHA-256 of the client certificate; NULL: none */
    /* Or, to spare the work where no token asks: the digest when first needed (NULL: none). */
    const unsigned char *(*cert_lookup)(void *ctx);
    void *cert_ctx;
} mab_sender_t;

/* How the verifier asks an issuer's introspection endpoint (the glue's: it owns the
 * shared cache and the HTTP client). Returns MAB_OK with the endpoint's answer (a JSON
 * object living as long as pool; not yet checked) and whether it came from a cache, or
 * MAB_ERR_INTROSPECTION with *detail when no answer can be had (endpoint or cache down,
 * too many calls in flight): never a grant. `digest` is SHA-256 of the token. */
typedef struct mab_introspector_t {
    mab_err_e (*introspect)(void *ctx, const struct mab_issuer_t *issuer, const char *tok,
                            apr_size_t len, const unsigned char *digest, long long now,
                            apr_pool_t *pool, struct json_t **answer, int *cached,
                            const char **detail);
    void *ctx;
} mab_introspector_t;

/* The per-process stores the verifier reads: the key cache (shared key sets), the
 * verified-token cache (NULL when off), introspection (NULL when none is configured), the
 * DPoP replay record (the shared store; NULL: DPoP requests are refused) and recently seen
 * proof keys (NULL: each proof's key is imported). */
typedef struct mab_verifier_t {
    struct mab_keycache_t *keys;
    struct mab_tokencache_t *tokens;
    const mab_introspector_t *introspector;
    const struct mab_kvstore_t *replay;
    struct mab_dpop_keys_t *proof_keys;
} mab_verifier_t;

/* The outcome. What is known about the token is filled as far as verification got, also
 * for a refusal, so the log can say whose token it was. */
typedef struct mab_verdict_t {
    mab_err_e err;      /* MAB_OK: accepted */
    const char *detail; /* for the log; NULL when the reason says it all */
    const char *kid, *alg, *iss;
    const char *fingerprint;             /* first 8 hex digits of SHA-256(token), or NULL */
    struct json_t *claims;               /* once the signature verified; held as long as the pool */
    const struct mab_exports_t *exports; /* accepted: the claims as environment text */
    const char *user;                    /* accepted: the user claim's value */
    const mab_issuer_t *issuer;          /* the policy's issuer that vouched for it */
    const struct json_t *cnf; /* the token's confirmation (RFC 7800 cnf), NULL when none */
    int cached;               /* the signature was verified earlier (token cache), or the
                                 introspection answer came from a cache */
    int introspected;         /* an introspection answer vouched for it */
    int dpop;                 /* accepted: a DPoP proof bound the token (RFC 9449) */
    int cert_bound;           /* accepted: the client certificate bound it (RFC 8705) */
    const char *dpop_nonce;   /* a nonce for the DPoP-Nonce header (a use_dpop_nonce refusal,
                                 or a proof with the previous window's), or NULL */
} mab_verdict_t;

/* Verifies the credential against the policy at `now` (seconds since the epoch), and its
 * binding with what cred->sender shows (no sender: no proof, no certificate). Everything
 * the verdict points to lives as long as `pool`. Never grants on doubt: any failure is a
 * refusal with its reason. */
void mab_verify(const mab_verifier_t *v, const mab_policy_t *policy,
                const struct mab_credential_t *cred, long long now, apr_pool_t *pool,
                mab_verdict_t *out);

/* The rules a token of `issuer` (one of the policy's) is checked against. */
void mab_policy_rules(const mab_policy_t *policy, const mab_issuer_t *issuer, mab_rules_t *out);

/* The issuer of the policy a token naming `iss` belongs to: with one issuer, that one (the
 * claims check then compares iss); with several, the one whose iss is equal, or NULL. */
const mab_issuer_t *mab_policy_issuer(const mab_policy_t *policy, const char *iss);

/* Whether a token-cache hit may stand for this policy's issuer. Pure: the key cache's
 * answers are passed in. `gen` is the generation of the issuer's key source the warm path
 * would use now (0 if unknown), `ks` its current key set or NULL when not looked up yet. */
typedef enum {
    MAB_HIT_REFUSED = 0, /* take the full path, which words the refusal */
    MAB_HIT_ADMITTED,
    MAB_HIT_NEEDS_KEYS /* only the current key set can tell: ask again with ks */
} mab_hit_rule_e;

mab_hit_rule_e mab_verifier_hit_rule(const mab_policy_t *policy, const mab_issuer_t *issuer,
                                     const struct mab_tokencache_hit_t *hit, unsigned gen,
                                     const struct mab_keyset_t *ks);

#endif
