#ifndef MAB_INTROSPECT_AUTH_H
#define MAB_INTROSPECT_AUTH_H

/* How the module authenticates itself to an RFC 7662 introspection endpoint (§2.1 requires
 * it): AuthBearerIntrospectionAuth <method> …, parsed and checked once at startup (secrets
 * read, keys and certificates loaded), then applied to each request as a pure function. */
#include <apr_pools.h>

typedef enum {
    MAB_IA_CLIENT_SECRET_BASIC = 1, /* RFC 6749 §2.3.1, Authorization: Basic */
    MAB_IA_CLIENT_SECRET_POST,      /* RFC 6749 §2.3.1, client_id + client_secret in the body */
    MAB_IA_PRIVATE_KEY_JWT,         /* RFC 7523 §2.2 client assertion, OIDC Core §9 */
    MAB_IA_TLS_CLIENT_AUTH,         /* RFC 8705 §2.1, a client certificate */
    MAB_IA_BEARER                   /* Authorization: Bearer <secret> (Keycloak, WSO2, …) */
} mab_introspect_auth_method_e;

/* Opaque: holds secrets (wiped when the parse pool goes) and keys (freed with it). */
typedef struct mab_introspect_auth_t mab_introspect_auth_t;

/* Lifetime of a client assertion: short, so a captured one is soon useless; long enough
 * for a clock a little ahead of ours. */
#define MAB_IA_ASSERTION_LIFETIME 60

/* The largest secret file accepted (a bearer secret may itself be a JWT). */
#define MAB_IA_MAX_SECRET 8192

/* The largest PEM key or certificate file accepted. */
#define MAB_IA_MAX_PEM (64 * 1024)

/* Parses the directive's arguments, argv[0] being the method:
 *   client_secret_basic <client_id> file:<path>|env:<NAME>
 *   client_secret_post  <client_id> file:<path>|env:<NAME>
 *   private_key_jwt     <client_id> <PEM private key> [<alg>]
 *   tls_client_auth     <client_id> <PEM certificate> <PEM private key>
 *   bearer              file:<path>|env:<NAME>
 * Secrets come from a file (its content, one trailing newline dropped) or the environment,
 * never from the configuration text. Every file path goes through resolve(ctx, path) (the
 * glue passes ap_server_root_relative; NULL: used as written; a NULL result is an error).
 * Keys and certificates are loaded and checked now (type, size, curve, alg, that the key
 * signs and matches the certificate), so a bad file is a startup error. Returns NULL with
 * *out allocated from p, or an error naming AuthBearerIntrospectionAuth and what to fix
 * (never a secret). */
const char *mab_introspect_auth_parse(apr_pool_t *p, int argc, char *const argv[],
                                      const char *(*resolve)(void *ctx, const char *path),
                                      void *ctx, mab_introspect_auth_t **out);

mab_introspect_auth_method_e mab_introspect_auth_method(const mab_introspect_auth_t *auth);

/* "client_secret_basic", …: for logs, the status page and metrics. */
const char *mab_introspect_auth_method_name(const mab_introspect_auth_t *auth);

/* The configured client_id; NULL for bearer. */
const char *mab_introspect_auth_client_id(const mab_introspect_auth_t *auth);

/* The alg a private_key_jwt assertion is signed with ("RS256", …); NULL for other methods. */
const char *mab_introspect_auth_alg(const mab_introspect_auth_t *auth);

/* What one introspection request carries for auth (NULL auth: nothing), at time now, to
 * endpoint_url (the aud of an assertion): *form_extra, form parameters to append after
 * "token=…&token_type_hint=access_token&" (already form-encoded, no leading '&'), or NULL;
 * *authz_header, the Authorization header's value ("Basic …", "Bearer …"), or NULL. Both
 * may hold a secret: never log them. Strings belong to auth or to p. Returns NULL, or an
 * error (signing or the random source failed) with nothing to send. */
const char *mab_introspect_auth_apply(const mab_introspect_auth_t *auth, const char *endpoint_url,
                                      long long now, apr_pool_t *p, const char **form_extra,
                                      const char **authz_header);

/* The client certificate of tls_client_auth, for libcurl: the PEM files' content (read at
 * parse time, so key files readable only by root work in children that serve as another
 * user) and their resolved paths (for libcurl before 7.71, which has no blobs). NULL for
 * other methods. The key is wiped when the parse pool goes. */
typedef struct mab_introspect_tls_t {
    const char *cert_path, *key_path;
    const void *cert_pem, *key_pem;
    apr_size_t cert_len, key_len;
} mab_introspect_tls_t;

const mab_introspect_tls_t *mab_introspect_auth_tls(const mab_introspect_auth_t *auth);

#endif
