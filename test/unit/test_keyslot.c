/* The shared slot's seqlock: a generation is copied out whole or not at all, whatever its
 * length, while a writer publishes new ones (run under ThreadSanitizer by make unit-tsan,
 * which checks the memory orders, not just the outcome). */
#include <stdlib.h>

#include <apr_thread_proc.h>

#include "mab_keyslot.h"
#include "tap.h"
#include "testutil.h"

#define CAP 4096

typedef struct {
    mab_keyslot_t *slot;
    atomic_int readers_done;
} race_t;

typedef struct {
    race_t *race;
    int torn, copies; /* this reader's own */
} reader_t;

/* Every generation is one letter repeated, its length depending on the letter: a copy
 * mixing two generations shows as a wrong letter or a wrong length. */
static apr_size_t len_of(char c)
{
    return 1000 + (apr_size_t)(c - 'a') * 237;
}

static void *APR_THREAD_FUNC writer(apr_thread_t *t, void *data)
{
    race_t *r = data;
    char *body = malloc(CAP);
    int i;

    /* Until every reader is done, so none of them runs without a writer at work. */
    for (i = 0; atomic_load(&r->readers_done) < 3; i++) {
        char c = (char)('a' + i % 8);
        memset(body, c, len_of(c));
        mab_keyslot_publish(r->slot, body, len_of(c));
    }
    free(body);
    return NULL;
}

static void *APR_THREAD_FUNC reader(apr_thread_t *t, void *data)
{
    reader_t *r = data;
    apr_pool_t *p = NULL;
    int n;

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    for (n = 0; n < 5000; n++) {
        char *buf = NULL;
        apr_size_t len = 0, i;
        if (mab_keyslot_copy(r->race->slot, CAP, p, &buf, &len)) {
            int bad = len != len_of(buf[0]) || buf[len] != '\0';
            for (i = 0; !bad && i < len; i++) {
                bad = buf[i] != buf[0];
            }
            r->torn += bad;
            r->copies++;
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    atomic_fetch_add(&r->race->readers_done, 1);
    return NULL;
}

int main(void)
{
    apr_pool_t *p = test_setup();
    apr_size_t stride = mab_keyslot_stride(CAP);
    mab_keyslot_t *s = aligned_alloc(8, stride);
    char body[64], *buf = NULL;
    apr_size_t len = 0, n;
    apr_uint32_t g, prev = 0;
    int good = 1;

    ok(stride % 8 == 0 && stride >= sizeof(mab_keyslot_t) + CAP,
       "stride: whole words, room for header and data");
    ok(mab_keyslot_stride(CAP + 1) == stride + 8, "stride: a partial word takes a whole one");
    mab_keyslot_reset(s, 1);
    is_int(mab_keyslot_get(&s->in_use), 1, "reset: in use as asked");
    is_int(mab_keyslot_copy(s, CAP, p, &buf, &len), 0, "never filled: no generation to copy");

    /* Every tail length, and generations that only ever go up. */
    for (n = 0; n < sizeof(body); n++) {
        body[n] = (char)('A' + n % 26);
    }
    for (n = 1; n <= sizeof(body); n++) {
        g = mab_keyslot_publish(s, body, n);
        good &= g == prev + 1 && mab_keyslot_copy(s, CAP, p, &buf, &len) == g && len == n
                && memcmp(buf, body, n) == 0 && buf[n] == '\0';
        prev = g;
    }
    ok(good, "1 to 64 bytes: copied back exactly, each a new generation");
    atomic_store(&s->gen, 0xffffffffu);
    is_int(mab_keyslot_publish(s, "{}", 2), 1, "the generation after 2^32-1 skips 0");

    /* A writer that died mid-way leaves seq odd: no copy, and the next writer recovers. */
    atomic_fetch_add(&s->seq, 1);
    is_int(mab_keyslot_copy(s, CAP, p, &buf, &len), 0, "seq left odd: nothing is copied");
    g = mab_keyslot_publish(s, "{\"keys\":[]}", 11);
    ok(mab_keyslot_copy(s, CAP, p, &buf, &len) == g && strcmp(buf, "{\"keys\":[]}") == 0,
       "the next generation is readable again");
    ok((atomic_load(&s->seq) & 1) == 0, "seq even after publishing");

    mab_keyslot_put_text(s->last_error, sizeof(s->last_error), "cannot open");
    is_str(mab_keyslot_text(p, s->last_error, sizeof(s->last_error)), "cannot open", "text");
    {
        char long_url[MAB_KEYSLOT_URL_MAX + 10];
        memset(long_url, 'u', sizeof(long_url) - 1);
        long_url[sizeof(long_url) - 1] = '\0';
        mab_keyslot_put_text(s->jwks_uri, sizeof(s->jwks_uri), long_url);
        is_int(strlen(mab_keyslot_text(p, s->jwks_uri, sizeof(s->jwks_uri))),
               MAB_KEYSLOT_URL_MAX - 1, "a long text is cut to fit, terminated");
    }
    mab_keyslot_put_text(s->last_error, sizeof(s->last_error), "");
    ok(!mab_keyslot_has_text(s->last_error), "an emptied text is empty");

    /* One writer, three readers. */
    {
        race_t r = {0};
        reader_t rd[3] = {{0}};
        apr_thread_t *th[4];
        apr_status_t rv;
        int i, copies = 0, torn = 0;

        r.slot = s;
        /* A generation of the race's own shape first: a reader that runs before the writer
         * has published anything must not find the earlier tests' content (not torn, just
         * of another shape). */
        {
            char *first = malloc(len_of('a'));
            memset(first, 'a', len_of('a'));
            mab_keyslot_publish(s, first, len_of('a'));
            free(first);
        }
        apr_thread_create(&th[0], NULL, writer, &r, p);
        for (i = 0; i < 3; i++) {
            rd[i].race = &r;
            apr_thread_create(&th[i + 1], NULL, reader, &rd[i], p);
        }
        for (i = 0; i < 4; i++) {
            apr_thread_join(&rv, th[i]);
        }
        for (i = 0; i < 3; i++) {
            copies += rd[i].copies;
            torn += rd[i].torn;
        }
        is_int(torn, 0, "race: no torn copy in %d copies while generations were published", copies);
        ok(copies > 0, "race: readers got copies while the writer was at work");
    }
    free(s);
    return tap_done();
}
