/* mab_fetch over loopback: a tiny HTTP server thread answers, libcurl is restricted to
 * http/https (CURLOPT_PROTOCOLS_STR, or the CURLOPT_PROTOCOLS bitmask on libcurl < 7.85:
 * this file is also built with -DMAB_FORCE_CURLOPT_PROTOCOLS, see the Makefile), plain
 * http is never redirected, and a file:// source is not a URL. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mab_fetch.h"
#include "tap.h"
#include "testutil.h"

static int listener;
static int port;

/* One answer per connection, chosen by the request's path; stops at /quit. */
static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        char req[2048];
        size_t got = 0;
        const char *answer;
        int c = accept(listener, NULL, NULL);

        if (c < 0) {
            return NULL;
        }
        while (got < sizeof(req) - 1) {
            ssize_t n = read(c, req + got, sizeof(req) - 1 - got);
            if (n <= 0) {
                break;
            }
            got += (size_t)n;
            req[got] = '\0';
            if (strstr(req, "\r\n\r\n")) {
                break;
            }
        }
        req[got] = '\0';
        if (strncmp(req, "GET /jwks ", 10) == 0) {
            answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Cache-Control: public, max-age=600\r\nContent-Length: 11\r\n"
                     "Connection: close\r\n\r\n{\"keys\":[]}";
        }
        else if (strncmp(req, "GET /to-file ", 13) == 0) {
            answer = "HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n";
        }
        else {
            answer = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        }
        if (write(c, answer, strlen(answer)) < 0) {
            /* the client gave up; nothing to tell it */
        }
        close(c);
        if (strncmp(req, "GET /quit ", 10) == 0) {
            return NULL;
        }
    }
}

static int start_server(pthread_t *t)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    listener = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof(a)) != 0
        || listen(listener, 8) != 0 || getsockname(listener, (struct sockaddr *)&a, &len) != 0) {
        return -1;
    }
    port = ntohs(a.sin_port);
    return pthread_create(t, NULL, serve, NULL);
}

static int fetch(apr_pool_t *p, const char *source, char **body, long *max_age, const char **err)
{
    apr_size_t len = 0;

    *body = NULL;
    *err = NULL;
    *max_age = -2;
    return mab_fetch(p, source, 5000, MAB_FETCH_MAX_BYTES, body, &len, max_age, err);
}

int main(void)
{
    apr_pool_t *p = test_setup();
    pthread_t server;
    char *body;
    long max_age;
    const char *err;

#ifdef MAB_FORCE_CURLOPT_PROTOCOLS
    printf("# built with CURLOPT_PROTOCOLS (the libcurl < 7.85 path)\n");
#endif
    ok(mab_fetch_global_init() == 0, "libcurl initialises");
    if (!ok(start_server(&server) == 0, "loopback server listens")) {
        return tap_done();
    }

    is_int(fetch(p, apr_psprintf(p, "http://127.0.0.1:%d/jwks", port), &body, &max_age, &err), 0,
           "http://127.0.0.1: fetched");
    if (err) {
        printf("#   error: %s\n", err);
    }
    is_str(body, "{\"keys\":[]}", "http://127.0.0.1: the body");
    is_int((int)max_age, 600, "http://127.0.0.1: Cache-Control max-age");

    is_int(fetch(p, apr_psprintf(p, "http://127.0.0.1:%d/to-file", port), &body, &max_age, &err),
           -1, "http redirect to file://: not followed");
    is_str(err, "HTTP status 302", "http redirect to file://: the 302 is the answer");

    is_int(fetch(p, apr_psprintf(p, "http://127.0.0.1:%d/nope", port), &body, &max_age, &err), -1,
           "404: an error");
    is_str(err, "HTTP status 404", "404: the status");

    ok(!mab_fetch_is_url("file:///etc/passwd"), "file:// is not a URL to fetch");
    is_int(fetch(p, "file:///etc/passwd", &body, &max_age, &err), -1,
           "file:///etc/passwd: refused (a path of that name does not exist)");
    ok(err && strncmp(err, "cannot open", 11) == 0, "file:///etc/passwd: cannot open");

    fetch(p, apr_psprintf(p, "http://127.0.0.1:%d/quit", port), &body, &max_age, &err);
    pthread_join(server, NULL);
    close(listener);
    return tap_done();
}
