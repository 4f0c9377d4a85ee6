#ifndef MAB_CERTBIND_H
#define MAB_CERTBIND_H

/* RFC 8705 §3: certificate-bound access tokens. The client certificate of the connection
 * (PEM from mod_ssl, or a front proxy's header) as its SHA-256 thumbprint, and the
 * comparison with a token's cnf["x5t#S256"]. */
#include <apr_pools.h>

#define MAB_CERT_DIGEST_LEN 32

/* SHA-256 of the DER certificate in a PEM text (one CERTIFICATE block; anything else:
 * -1). */
int mab_cert_digest_pem(const char *pem, apr_size_t len, unsigned char out[MAB_CERT_DIGEST_LEN]);

/* The same for a front proxy's header value: URL-encoded PEM (nginx
 * $ssl_client_escaped_cert, AWS ALB), plain PEM, or base64 DER (with or without padding).
 * 0 and out filled, or -1 (not a certificate). */
int mab_cert_digest_header(apr_pool_t *p, const char *value,
                           unsigned char out[MAB_CERT_DIGEST_LEN]);

/* Whether x5t (cnf["x5t#S256"], base64url without padding) is the digest: constant time
 * in the digest. 1 equal, 0 not (also for a malformed x5t). */
int mab_cert_matches(const char *x5t, const unsigned char digest[MAB_CERT_DIGEST_LEN]);

#endif
