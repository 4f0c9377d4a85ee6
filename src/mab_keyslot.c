#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "mab_keyslot.h"

/* Atomics that took a lock would be per process (the lock lives in one address space),
 * so in shared memory every atomic used here must be lock-free. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(ATOMIC_CHAR_LOCK_FREE == 2, "byte atomics must be lock-free");
_Static_assert(sizeof(_Atomic unsigned char) == 1, "texts are sized in bytes");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "the data area is copied in 8-byte words");
_Static_assert(offsetof(mab_keyslot_t, data) % sizeof(uint64_t) == 0,
               "slots are a whole number of words apart");

#define WORD sizeof(uint64_t)

apr_size_t mab_keyslot_stride(apr_size_t slot_size)
{
    /* The header's size is a multiple of the word (data[] is aligned to it), so rounding
     * the whole keeps the next slot's header and the last partial word aligned. */
    return (sizeof(mab_keyslot_t) + slot_size + WORD - 1) / WORD * WORD;
}

void mab_keyslot_reset(mab_keyslot_t *s, int in_use)
{
    /* Before fork and before any thread uses the slot: plain stores are seen by all. */
    memset(s, 0, offsetof(mab_keyslot_t, data));
    atomic_store_explicit(&s->in_use, in_use ? 1 : 0, memory_order_relaxed);
}

/* The writer's side of the seqlock. seq goes odd (relaxed), then every word of the new
 * generation is stored with release, so a reader whose acquire load sees any new word
 * also sees seq odd when it checks again; seq goes even with release, so a reader that
 * sees it even sees every word before it. No fences: ThreadSanitizer checks this. */
apr_uint32_t mab_keyslot_publish(mab_keyslot_t *s, const char *body, apr_size_t len)
{
    /* "| 1": a writer that died mid-way left seq odd; readers must keep waiting. */
    apr_uint32_t odd = atomic_load_explicit(&s->seq, memory_order_relaxed) | 1;
    apr_uint32_t gen = atomic_load_explicit(&s->gen, memory_order_relaxed) + 1;
    apr_size_t i, words = len / WORD, tail = len % WORD;
    uint64_t w;

    gen = gen ? gen : 1; /* 0 means never filled */
    atomic_store_explicit(&s->seq, odd, memory_order_relaxed);
    for (i = 0; i < words; i++) {
        memcpy(&w, body + i * WORD, WORD);
        atomic_store_explicit(&s->data[i], w, memory_order_release);
    }
    if (tail) {
        w = 0;
        memcpy(&w, body + words * WORD, tail);
        atomic_store_explicit(&s->data[words], w, memory_order_release);
    }
    atomic_store_explicit(&s->len, (apr_uint32_t)len, memory_order_release);
    atomic_store_explicit(&s->gen, gen, memory_order_release);
    atomic_store_explicit(&s->seq, odd + 1, memory_order_release);
    return gen;
}

/* The reader's side: seq (acquire), the generation's words (acquire, so the second load
 * of seq cannot be done before them), seq again; equal and even means no writer touched
 * the slot in between. A writer holds seq odd for a copy of at most the slot size. */
apr_uint32_t mab_keyslot_copy(const mab_keyslot_t *s, apr_size_t cap, apr_pool_t *p, char **buf,
                              apr_size_t *len)
{
    int tries;

    for (tries = 0; tries < 1000; tries++) {
        apr_uint32_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire), gen, n;
        apr_size_t i, words, tail;
        uint64_t w;
        char *b;

        if (s1 & 1) {
            sched_yield();
            continue;
        }
        gen = atomic_load_explicit(&s->gen, memory_order_acquire);
        n = atomic_load_explicit(&s->len, memory_order_acquire);
        if (gen == 0 || n > cap) {
            return 0;
        }
        b = apr_palloc(p, (apr_size_t)n + 1);
        words = n / WORD;
        tail = n % WORD;
        for (i = 0; i < words; i++) {
            w = atomic_load_explicit(&s->data[i], memory_order_acquire);
            memcpy(b + i * WORD, &w, WORD);
        }
        if (tail) {
            w = atomic_load_explicit(&s->data[words], memory_order_acquire);
            memcpy(b + words * WORD, &w, tail);
        }
        b[n] = '\0';
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) == s1) {
            *buf = b;
            *len = n;
            return gen;
        }
    }
    return 0;
}

void mab_keyslot_put_text(_Atomic unsigned char *t, apr_size_t size, const char *s)
{
    apr_size_t i;

    for (i = 0; i + 1 < size && s[i]; i++) {
        atomic_store_explicit(&t[i], (unsigned char)s[i], memory_order_relaxed);
    }
    atomic_store_explicit(&t[i], 0, memory_order_relaxed);
}

char *mab_keyslot_text(apr_pool_t *p, const _Atomic unsigned char *t, apr_size_t size)
{
    char *c = apr_palloc(p, size);
    apr_size_t i;

    for (i = 0; i + 1 < size; i++) {
        c[i] = (char)atomic_load_explicit(&t[i], memory_order_relaxed);
        if (!c[i]) {
            return c;
        }
    }
    c[i] = '\0';
    return c;
}

/* A process that died holding the claim (killed mid-fetch) would otherwise block its
 * source for the whole stale time. EPERM: alive, another user's (the parent). */
static int owner_gone(uint64_t claim)
{
    pid_t pid = (pid_t)(claim >> 32);

    return pid > 0 && pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH;
}

uint64_t mab_keyslot_claim(mab_keyslot_t *s, apr_uint32_t now, apr_uint32_t stale_after,
                           uint64_t *taken_from)
{
    uint64_t mine = ((uint64_t)(apr_uint32_t)getpid() << 32) | now, cur;

    *taken_from = 0;
    cur = atomic_load_explicit(&s->claim, memory_order_relaxed);
    if (cur != 0) {
        apr_uint32_t since = now - (apr_uint32_t)cur;
        if (since <= stale_after && !owner_gone(cur)) {
            return 0;
        }
    }
    /* acquire: the new holder sees what the previous one wrote before it let go */
    if (!atomic_compare_exchange_strong_explicit(&s->claim, &cur, mine, memory_order_acquire,
                                                 memory_order_relaxed)) {
        return 0;
    }
    *taken_from = cur;
    return mine;
}

void mab_keyslot_unclaim(mab_keyslot_t *s, uint64_t mine)
{
    /* Fails only when it was taken over as stale: the claim is someone else's now. */
    atomic_compare_exchange_strong_explicit(&s->claim, &mine, 0, memory_order_release,
                                            memory_order_relaxed);
}
