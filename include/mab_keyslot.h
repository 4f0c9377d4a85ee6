#ifndef MAB_KEYSLOT_H
#define MAB_KEYSLOT_H

#include <stdatomic.h>
#include <stdint.h>

#include <apr_pools.h>

/* One key source's slot in shared memory, the same bytes in every process: a header of
 * numbers and short texts, then the raw JWKS. It holds no pointers (each process maps
 * it at its own address). Everything is written by the holder of the slot's claim (one
 * fetch at a time per source, see mab_keyslot_claim); anything read without it is atomic,
 * so the readers and writers of different threads never race.
 *
 * The JWKS bytes, len and gen form one generation, published under a sequence counter
 * (a seqlock): readers copy a generation out without any lock and retry when a writer
 * was at work meanwhile. Times are seconds since the epoch, 0 = never. */

#define MAB_KEYSLOT_URL_MAX 1024
#define MAB_KEYSLOT_ERROR_MAX 512

typedef struct {
    /* The claim on this slot: 0 when free, else (pid << 32 | start second) of the fetch
     * under way. First, so the 8-byte atomic is aligned. */
    _Atomic uint64_t claim;
    _Atomic apr_uint32_t seq;    /* odd while a generation is being written */
    _Atomic apr_uint32_t gen;    /* 0 = never filled; changes with every generation */
    _Atomic apr_uint32_t len;    /* bytes of JWKS in data */
    _Atomic apr_uint32_t in_use; /* a request or the configuration asked for this source */
    _Atomic apr_uint32_t fetched_at;
    _Atomic apr_uint32_t expires_at;   /* keys are used until then (stale-if-error pushes it) */
    _Atomic apr_uint32_t refresh_at;   /* the watchdog fetches again from then on */
    _Atomic apr_uint32_t last_attempt; /* last fetch, successful or not */
    _Atomic apr_uint32_t fetches;
    _Atomic apr_uint32_t failures;
    _Atomic apr_uint32_t refetches; /* fetches asked for by an unknown kid */
    _Atomic apr_uint32_t meta_expires_at;
    /* The expiry the last successful fetch gave its keys; stale-if-error pushes expires_at
     * but not this, so AuthBearerJWKSMaxStale counts from it. */
    _Atomic apr_uint32_t fresh_until;
    _Atomic apr_uint32_t spare; /* keeps the header a whole number of 8-byte words */
    /* Texts, NUL-terminated; byte-wise atomic so the status page can show them unlocked
     * (possibly torn, never unterminated). */
    _Atomic unsigned char jwks_uri[MAB_KEYSLOT_URL_MAX]; /* discovery: the metadata's jwks_uri */
    _Atomic unsigned char meta_url[MAB_KEYSLOT_URL_MAX]; /* discovery: the document it came from */
    _Atomic unsigned char last_error[MAB_KEYSLOT_ERROR_MAX];
    /* The raw JWKS of generation gen, in whole words so it is copied with 8-byte atomics. */
    _Atomic uint64_t data[];
} mab_keyslot_t;

/* Bytes between consecutive slots holding up to slot_size bytes of JWKS each. */
apr_size_t mab_keyslot_stride(apr_size_t slot_size);

/* Before any process uses it: an empty slot. Only the header is touched, so the pages of
 * an unused slot's data are never faulted in. */
void mab_keyslot_reset(mab_keyslot_t *s, int in_use);

/* One fetch at a time per source, across processes and threads: a claim is taken with a
 * compare-and-swap and names its owner (pid) and start. A claim older than stale_after
 * seconds, or whose process is gone, is taken over (a fetch never runs that long; its
 * process died mid-way). Returns the claim's value (the caller's proof of ownership) or 0
 * when another fetch holds it. *taken_from is the stale claim taken over, else 0. */
uint64_t mab_keyslot_claim(mab_keyslot_t *s, apr_uint32_t now, apr_uint32_t stale_after,
                           uint64_t *taken_from);

/* Gives the claim back, unless it was taken over meanwhile. */
void mab_keyslot_unclaim(mab_keyslot_t *s, uint64_t mine);

/* Whether the claim is still the caller's (not taken over as stale). */
static inline int mab_keyslot_owns(const mab_keyslot_t *s, uint64_t mine)
{
    return atomic_load_explicit(&s->claim, memory_order_relaxed) == mine;
}

/* Whether some fetch holds the claim (stale or not). */
static inline int mab_keyslot_claimed(const mab_keyslot_t *s)
{
    return atomic_load_explicit(&s->claim, memory_order_relaxed) != 0;
}

/* By the claim's holder: stores body (len bytes, at most the slot size) as the next
 * generation and returns its number, never 0. Whatever else the header should say about
 * it is stored first: a process that sees the new gen sees that too. */
apr_uint32_t mab_keyslot_publish(mab_keyslot_t *s, const char *body, apr_size_t len);

/* Without any lock: copies the current generation into p (NUL-terminated) and returns
 * its number, or 0 when the slot was never filled or no consistent copy could be made.
 * cap is the slot size. */
apr_uint32_t mab_keyslot_copy(const mab_keyslot_t *s, apr_size_t cap, apr_pool_t *p, char **buf,
                              apr_size_t *len);

/* The current generation. Acquire: the numbers stored before it was published (expiry)
 * are seen at least as new as it. */
static inline apr_uint32_t mab_keyslot_gen(const mab_keyslot_t *s)
{
    return atomic_load_explicit(&s->gen, memory_order_acquire);
}

/* The header's other numbers guard no data of their own, so relaxed order does: the
 * claim orders the writers, and a reader only ever decides on a value it read. */
static inline apr_uint32_t mab_keyslot_get(const _Atomic apr_uint32_t *n)
{
    return atomic_load_explicit(n, memory_order_relaxed);
}

static inline void mab_keyslot_set(_Atomic apr_uint32_t *n, apr_uint32_t v)
{
    atomic_store_explicit(n, v, memory_order_relaxed);
}

static inline void mab_keyslot_count(_Atomic apr_uint32_t *n)
{
    atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
}

/* By the claim's holder: stores s, cut to size - 1 bytes. */
void mab_keyslot_put_text(_Atomic unsigned char *t, apr_size_t size, const char *s);

/* A copy of a text in p. Read by anyone but the claim's holder it may be torn by a writer at work
 * (display only), but it is always terminated. */
char *mab_keyslot_text(apr_pool_t *p, const _Atomic unsigned char *t, apr_size_t size);

static inline int mab_keyslot_has_text(const _Atomic unsigned char *t)
{
    return atomic_load_explicit(&t[0], memory_order_relaxed) != 0;
}

#endif
