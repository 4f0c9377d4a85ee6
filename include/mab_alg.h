#ifndef MAB_ALG_H
#define MAB_ALG_H

#include <stddef.h>

typedef enum {
    MAB_FAMILY_RSA_PKCS1,
    MAB_FAMILY_RSA_PSS,
    MAB_FAMILY_ECDSA,
    MAB_FAMILY_EDDSA,
    MAB_FAMILY_HMAC
} mab_alg_family_e;

typedef struct mab_alg_t {
    const char *name; /* as registered in RFC 7518 / 8037, case-sensitive */
    unsigned bit;     /* this algorithm in an allow-list mask */
    mab_alg_family_e family;
    const char *digest;  /* OpenSSL digest name, NULL for EdDSA */
    const char *curve;   /* JWK crv an ECDSA alg requires, NULL otherwise */
    size_t ec_coord_len; /* bytes of R and of S in a raw ECDSA signature */
} mab_alg_t;

/* How many algorithms the table holds; each has an index below this. */
#define MAB_ALG_COUNT 13

/* The table's algorithm number i (0 .. MAB_ALG_COUNT - 1), NULL past the end. */
const mab_alg_t *mab_alg_at(size_t i);

/* The index of a table entry; MAB_ALG_COUNT for anything that is not one. */
size_t mab_alg_index(const mab_alg_t *alg);

/* Exact, case-sensitive lookup; NULL for anything not registered here (incl. "none"). */
const mab_alg_t *mab_alg_find(const char *name);

/* Every asymmetric algorithm: the default allow-list. HMAC is never in it. */
unsigned mab_alg_default_mask(void);

/* Space-separated names of the algorithms in mask, for messages. */
const char *mab_alg_mask_names(char *buf, size_t len, unsigned mask);

#endif
