#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <openssl/evp.h>

#include "mab_keystore.h"

#define MAGIC "mab-keyset 1\n"
#define HEADER_MAX 4096 /* the header lines: two URLs of at most 1 KiB and three numbers */

const char *mab_keystore_path(apr_pool_t *p, const char *dir, const char *uri, int discovery)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    const char *what = apr_pstrcat(p, discovery ? "issuer " : "jwks ", uri, NULL);
    char hex[33];

    if (!EVP_Digest(what, strlen(what), md, &n, EVP_sha256(), NULL) || n < 16) {
        return NULL;
    }
    for (i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    return apr_pstrcat(p, dir, "/", hex, ".jwks", NULL);
}

static const char *source_line(apr_pool_t *p, const char *uri, int discovery)
{
    return apr_pstrcat(p, "source ", discovery ? "issuer " : "jwks ", uri, "\n", NULL);
}

static int write_all(int fd, const char *buf, apr_size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        buf += n;
        len -= (apr_size_t)n;
    }
    return 0;
}

int mab_keystore_save(apr_pool_t *p, const char *dir, const char *uri, int discovery,
                      const mab_keystore_rec_t *rec, const char **why)
{
    const char *path = mab_keystore_path(p, dir, uri, discovery), *tmp, *head;
    int fd, bad;

    if (!path) {
        *why = "cannot hash the source";
        return -1;
    }
    /* A name of this thread's own: O_EXCL never opens what someone else left there. */
    tmp = apr_psprintf(p, "%s.%ld.%lx.tmp", path, (long)getpid(), (unsigned long)(uintptr_t)&fd);
    head = apr_psprintf(p, "%s%sfetched %u\nexpires %u\nrefresh %u\njwks_uri %s\nmeta_url %s\n\n",
                        MAGIC, source_line(p, uri, discovery), rec->fetched_at, rec->expires_at,
                        rec->refresh_at, rec->jwks_uri, rec->meta_url);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        *why = apr_psprintf(p, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    bad = write_all(fd, head, strlen(head)) != 0 || write_all(fd, rec->body, rec->len) != 0
          || fsync(fd) != 0;
    bad = close(fd) != 0 || bad;
    /* rename replaces a link named path, it never writes through one */
    if (bad || rename(tmp, path) != 0) {
        *why = apr_psprintf(p, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The value of "name value\n" at *at, advancing past it; NULL when the line is not that. */
static char *field(char **at, const char *name)
{
    size_t n = strlen(name);
    char *v, *nl;

    if (strncmp(*at, name, n) != 0 || (*at)[n] != ' ' || (nl = strchr(*at, '\n')) == NULL) {
        return NULL;
    }
    v = *at + n + 1;
    *nl = '\0';
    *at = nl + 1;
    return v;
}

static int number(char **at, const char *name, apr_uint32_t *out)
{
    char *v = field(at, name), *end;
    unsigned long n;

    if (!v) {
        return -1;
    }
    n = strtoul(v, &end, 10);
    if (!*v || *end || n > 0xffffffffUL) {
        return -1;
    }
    *out = (apr_uint32_t)n;
    return 0;
}

int mab_keystore_load(apr_pool_t *p, const char *dir, const char *uri, int discovery,
                      apr_size_t cap, mab_keystore_rec_t *rec, const char **why)
{
    const char *path = mab_keystore_path(p, dir, uri, discovery), *want;
    struct stat st;
    char *buf, *at, *v;
    apr_size_t got = 0;
    int fd;

    if (!path) {
        *why = "cannot hash the source";
        return -1;
    }
    /* O_NONBLOCK: a FIFO planted under the name must not hang startup */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) {
            return 0;
        }
        *why = apr_psprintf(p, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 022) || st.st_nlink != 1
        || (apr_size_t)st.st_size > cap + HEADER_MAX) {
        close(fd);
        *why = apr_psprintf(p, "%s is not a private regular file of at most %lu bytes", path,
                            (unsigned long)(cap + HEADER_MAX));
        return -1;
    }
    buf = apr_palloc(p, (apr_size_t)st.st_size + 1);
    while (got < (apr_size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (apr_size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (apr_size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    at = buf;
    want = source_line(p, uri, discovery);
    memset(rec, 0, sizeof(*rec));
    if (got != (apr_size_t)st.st_size || strncmp(at, MAGIC, strlen(MAGIC)) != 0
        || strncmp(at + strlen(MAGIC), want, strlen(want)) != 0) {
        *why = apr_psprintf(p, "%s is not this source's key set file", path);
        return -1;
    }
    at += strlen(MAGIC) + strlen(want);
    if (number(&at, "fetched", &rec->fetched_at) || number(&at, "expires", &rec->expires_at)
        || number(&at, "refresh", &rec->refresh_at) || !(v = field(&at, "jwks_uri"))
        || !(rec->jwks_uri = v) || !(v = field(&at, "meta_url")) || !(rec->meta_url = v)
        || *at != '\n') {
        *why = apr_psprintf(p, "%s: malformed header", path);
        return -1;
    }
    rec->body = at + 1;
    rec->len = got - (apr_size_t)(rec->body - buf);
    if (rec->len == 0 || rec->len > cap) {
        *why = apr_psprintf(p, "%s: the key set is empty or larger than the cache", path);
        return -1;
    }
    return 1;
}

void mab_keystore_remove(apr_pool_t *p, const char *dir, const char *uri, int discovery)
{
    const char *path = mab_keystore_path(p, dir, uri, discovery);

    if (path) {
        unlink(path);
    }
}
