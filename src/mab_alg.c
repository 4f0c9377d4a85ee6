#include <stdio.h>
#include <string.h>

#include "mab_alg.h"

static const mab_alg_t algs[] = {
    {"RS256", 1u << 0, MAB_FAMILY_RSA_PKCS1, "SHA256", NULL, 0},
    {"RS384", 1u << 1, MAB_FAMILY_RSA_PKCS1, "SHA384", NULL, 0},
    {"RS512", 1u << 2, MAB_FAMILY_RSA_PKCS1, "SHA512", NULL, 0},
    {"PS256", 1u << 3, MAB_FAMILY_RSA_PSS, "SHA256", NULL, 0},
    {"PS384", 1u << 4, MAB_FAMILY_RSA_PSS, "SHA384", NULL, 0},
    {"PS512", 1u << 5, MAB_FAMILY_RSA_PSS, "SHA512", NULL, 0},
    {"ES256", 1u << 6, MAB_FAMILY_ECDSA, "SHA256", "P-256", 32},
    {"ES384", 1u << 7, MAB_FAMILY_ECDSA, "SHA384", "P-384", 48},
    {"ES512", 1u << 8, MAB_FAMILY_ECDSA, "SHA512", "P-521", 66},
    {"EdDSA", 1u << 9, MAB_FAMILY_EDDSA, NULL, NULL, 0},
    {"HS256", 1u << 10, MAB_FAMILY_HMAC, "SHA256", NULL, 0},
    {"HS384", 1u << 11, MAB_FAMILY_HMAC, "SHA384", NULL, 0},
    {"HS512", 1u << 12, MAB_FAMILY_HMAC, "SHA512", NULL, 0},
};

/* Kept in step with the header, which sizes per-algorithm arrays by it. */
_Static_assert(sizeof(algs) / sizeof(algs[0]) == MAB_ALG_COUNT, "MAB_ALG_COUNT");

const mab_alg_t *mab_alg_at(size_t i)
{
    return i < MAB_ALG_COUNT ? &algs[i] : NULL;
}

size_t mab_alg_index(const mab_alg_t *alg)
{
    size_t i;

    for (i = 0; alg && i < MAB_ALG_COUNT; i++) {
        if (alg == &algs[i]) {
            return i;
        }
    }
    return MAB_ALG_COUNT;
}

const mab_alg_t *mab_alg_find(const char *name)
{
    size_t i;

    if (!name) {
        return NULL;
    }
    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(algs[i].name, name) == 0) {
            return &algs[i];
        }
    }
    return NULL;
}

unsigned mab_alg_default_mask(void)
{
    unsigned mask = 0;
    size_t i;

    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (algs[i].family != MAB_FAMILY_HMAC) {
            mask |= algs[i].bit;
        }
    }
    return mask;
}

const char *mab_alg_mask_names(char *buf, size_t len, unsigned mask)
{
    size_t i, used = 0;

    if (len == 0) {
        return buf;
    }
    buf[0] = '\0';
    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (mask & algs[i].bit) {
            int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", algs[i].name);
            if (n < 0 || (size_t)n >= len - used) {
                break;
            }
            used += (size_t)n;
        }
    }
    return buf;
}
