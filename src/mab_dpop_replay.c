/* The DPoP replay record (RFC 9449 §11.1): a proof's jti is remembered for the target it
 * was made for, as long as the proof could be accepted, in the shared store so that every
 * process (and, with memcache or redis, every host) refuses its second use. */
#include <string.h>

#include <openssl/evp.h>

#include "mab_dpop.h"
#include "mab_introspect_cache.h"

#define DIGEST_LEN 32
/* The store's key: the digest first (shmcb picks its subcache by the first byte), then the
 * letter of this user of the store, so a jti's record can never be taken for an
 * introspection answer ('I') or the reverse. */
#define KEY_LEN (DIGEST_LEN + 1)
#define KEY_LETTER 'D'

/* SHA-256 over jti NUL htm NUL htu: none of the three holds a NUL (jti is a JSON string
 * without \u0000, the others come from the request and a normalised URL), so the
 * separators make the encoding unambiguous and ("ab", "c") differs from ("a", "bc"). The
 * RFC allows the jti alone; with the target as well, a jti reused for another URL is the
 * client's business, never a false replay. */
static int replay_key(const char *jti, const char *htm, const char *htu, unsigned char key[KEY_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1
             && EVP_DigestUpdate(md, jti, strlen(jti) + 1) == 1
             && EVP_DigestUpdate(md, htm, strlen(htm) + 1) == 1
             && EVP_DigestUpdate(md, htu, strlen(htu)) == 1 && EVP_DigestFinal_ex(md, key, &n) == 1
             && n == DIGEST_LEN;

    EVP_MD_CTX_free(md);
    key[DIGEST_LEN] = KEY_LETTER;
    return ok ? 0 : -1;
}

int mab_dpop_replay_record(const mab_kvstore_t *store, const mab_dpop_proof_t *proof,
                           const char *htm, const char *htu, long long until, apr_pool_t *p)
{
    static const unsigned char seen = 1;
    unsigned char key[KEY_LEN], buf[16];
    unsigned len = sizeof(buf);
    int rc, locked;

    if (!store || !store->get || !store->put || !proof || !proof->jti || !htm || !htu
        || replay_key(proof->jti, htm, htu, key) != 0) {
        return -1;
    }
    /* Held across the look-up and the record, so two processes racing with one proof
     * cannot both find it absent (where the store has no lock, that window remains: the
     * RFC accepts imperfect single use without shared state). */
    locked = store->lock && store->unlock;
    if (locked) {
        store->lock(store->ctx);
    }
    rc = store->get(store->ctx, key, KEY_LEN, buf, &len, p);
    if (rc == 1) {
        rc = store->put(store->ctx, key, KEY_LEN, until, &seen, 1, p) == 0 ? 0 : -1;
    }
    else if (rc == 0) {
        rc = 1;
    }
    else {
        rc = -1;
    }
    if (locked) {
        store->unlock(store->ctx);
    }
    return rc;
}
