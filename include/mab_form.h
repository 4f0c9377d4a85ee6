#ifndef MAB_FORM_H
#define MAB_FORM_H

#include <apr_pools.h>

/* application/x-www-form-urlencoded text of len bytes of s: the unreserved characters of
 * RFC 3986 (A-Z a-z 0-9 - . _ ~) as they are, every other byte %XX (a space too, as %20,
 * which every form decoder reads back as a space, where a '+' would not survive a decoder
 * that only undoes percent-encoding). Allocated from p. */
char *mab_form_encode(apr_pool_t *p, const char *s, apr_size_t len);

/* The value of one hex digit of a %XX escape (either case), -1 for any other byte. */
int mab_hex_value(unsigned char c);

#endif
