#ifndef MOD_AUTH_BEARER_CERT_H
#define MOD_AUTH_BEARER_CERT_H

/* The client certificate of a request, for certificate-bound tokens (RFC 8705 §3): from
 * mod_ssl, or from the header a trusted front proxy that ends TLS passes it in
 * (AuthBearerClientCertHeader). */
#include "mod_auth_bearer_private.h"

struct mab_cert_header_t;

/* SHA-256 of this request's client certificate (MAB_CERT_DIGEST_LEN bytes, living as long
 * as r->pool), or NULL when it has none. With hdr set and the connection coming from one of
 * hdr's proxies, the certificate is that header's (a value that is not one: logged, NULL)
 * and never the connection's own (that would be the proxy's); otherwise mod_ssl's.
 * Worked out once per request and section header. */
const unsigned char *mab_cert_client_digest(request_rec *r, const struct mab_cert_header_t *hdr);

/* post_read_request: every AuthBearerClientCertHeader of the configuration is removed from
 * requests whose connection comes from none of the proxies that may set it, so that neither
 * this module nor the application behind it ever reads a certificate a client chose. */
void mab_cert_scrub(request_rec *r);

#endif
