#ifndef MAB_B64_H
#define MAB_B64_H

#include <apr_pools.h>

/* Strict base64url (RFC 7515 §2): alphabet A-Z a-z 0-9 - _ only, no padding, no
 * whitespace, and unused trailing bits must be zero so every value has exactly one
 * encoding. The output is NUL-terminated for convenience (not counted in *out_len).
 * Returns 0 on success, -1 on any deviation. */
int mab_b64url_decode(apr_pool_t *p, const char *in, apr_size_t in_len, unsigned char **out,
                      apr_size_t *out_len);

/* The same into a caller's buffer of out_cap bytes, for fixed sizes (digests, nonces);
 * -1 also when the bytes would not fit. */
int mab_b64url_decode_into(const char *in, apr_size_t in_len, unsigned char *out,
                           apr_size_t out_cap, apr_size_t *out_len);

char *mab_b64url_encode(apr_pool_t *p, const unsigned char *in, apr_size_t in_len);

/* The same into out, which holds MAB_B64URL_LEN(in_len) + 1 bytes; returns the length. */
#define MAB_B64URL_LEN(n) (((n)*4 + 2) / 3)
apr_size_t mab_b64url_encode_into(const unsigned char *in, apr_size_t in_len, char *out);

#endif
