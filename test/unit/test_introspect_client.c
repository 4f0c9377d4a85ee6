/* mab_introspect_call against loopback servers in this process: a keep-alive HTTP/1.1
 * server and an https one that asks for a client certificate (OpenSSL's server side). It
 * checks the request each authentication method sends, every failure kind, that the
 * detail never holds the token or the secret, that one thread's calls share one
 * connection (plain and TLS), that threads and a forked child each get their own, and the
 * size cap, the timeout and the refusal of redirects and other schemes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "mab_fetch.h"
#include "mab_introspect_auth.h"
#include "mab_introspect_client.h"
#include "tap.h"
#include "testutil.h"

#define TOKEN "tok.SECRET+/=&x"
#define TOKEN_FORM "tok.SECRET%2B%2F%3D%26x"
#define SECRET "s3cr3t-pass"

static char dir[] = "/tmp/mab-test-ic-XXXXXX";

/* --- the servers ------------------------------------------------------------------------- */

static struct {
    pthread_mutex_t lock;
    int connections; /* accepted, both servers */
    int requests;
    char last[32768]; /* the last request: head and body */
    char client_cn[256];
} srv = {PTHREAD_MUTEX_INITIALIZER, 0, 0, "", ""};

typedef struct {
    int listener, port;
    SSL_CTX *tls; /* NULL: plain http */
    pthread_t thread;
} server_t;

typedef struct {
    int fd;
    SSL *ssl;
} conn_t;

static ssize_t conn_read(conn_t *c, char *b, size_t n)
{
    if (c->ssl) {
        int r = SSL_read(c->ssl, b, (int)n);
        return r > 0 ? r : -1;
    }
    return read(c->fd, b, n);
}

static void conn_write(conn_t *c, const char *b, size_t n)
{
    while (n > 0) {
        ssize_t w = c->ssl ? SSL_write(c->ssl, b, (int)n) : send(c->fd, b, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return;
        }
        b += w;
        n -= (size_t)w;
    }
}

static void answer(conn_t *c, int status, const char *extra_headers, const char *body)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "%s\r\n",
                     status, strlen(body), extra_headers);

    conn_write(c, head, (size_t)n);
    conn_write(c, body, strlen(body));
}

static char *padded(size_t n)
{
    static const char open[] = "{\"active\":true,\"aud\":\"api\",\"pad\":\"";
    char *b = malloc(n + 1);

    memcpy(b, open, sizeof(open) - 1);
    memset(b + sizeof(open) - 1, 'x', n - (sizeof(open) - 1) - 2);
    memcpy(b + n - 2, "\"}", 3);
    return b;
}

/* Returns 0 to keep the connection, -1 to close it. */
static int respond(conn_t *c, const char *path)
{
    if (strcmp(path, "/ok") == 0 || strcmp(path, "/close") == 0) {
        answer(c, 200, strcmp(path, "/close") == 0 ? "Connection: close\r\n" : "",
               "{\"active\":true,\"sub\":\"alice\",\"aud\":\"api\"}");
        return strcmp(path, "/close") == 0 ? -1 : 0;
    }
    if (strcmp(path, "/inactive") == 0) {
        answer(c, 200, "", "{\"active\":false}");
    }
    else if (strcmp(path, "/401") == 0) {
        answer(c, 401, "",
               "{\"error\":\"invalid_client\",\"error_description\":\"" TOKEN " " SECRET "\"}");
    }
    else if (strcmp(path, "/401odd") == 0) {
        answer(c, 401, "", "{\"error\":\"bad \\\"client\\\" " SECRET "\"}");
    }
    else if (strcmp(path, "/403") == 0) {
        answer(c, 403, "", "forbidden " TOKEN);
    }
    else if (strcmp(path, "/500") == 0) {
        answer(c, 500, "", "{\"active\":true}");
    }
    else if (strcmp(path, "/302") == 0) {
        answer(c, 302, "Location: /ok\r\n", "");
    }
    else if (strcmp(path, "/garbage") == 0) {
        answer(c, 200, "", "<html>" TOKEN "</html>");
    }
    else if (strcmp(path, "/array") == 0) {
        answer(c, 200, "", "[{\"active\":true}]");
    }
    else if (strcmp(path, "/noactive") == 0) {
        answer(c, 200, "", "{\"sub\":\"alice\"}");
    }
    else if (strcmp(path, "/strbool") == 0) {
        answer(c, 200, "", "{\"active\":\"true\"}");
    }
    else if (strcmp(path, "/dup") == 0) {
        answer(c, 200, "", "{\"active\":false,\"active\":true}");
    }
    else if (strcmp(path, "/big") == 0 || strcmp(path, "/bigchunked") == 0) {
        char *b = padded(100000);
        if (strcmp(path, "/big") == 0) {
            answer(c, 200, "", b);
        }
        else {
            char head[200];
            int n =
                snprintf(head, sizeof(head),
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n", strlen(b));
            conn_write(c, head, (size_t)n);
            conn_write(c, b, strlen(b));
            conn_write(c, "\r\n0\r\n\r\n", 7);
        }
        free(b);
    }
    else if (strcmp(path, "/hang") == 0) {
        sleep(2);
        return -1;
    }
    else {
        answer(c, 404, "", "{}");
    }
    return 0;
}

/* One HTTP/1.1 request after another on one connection, until the client closes it. */
static void *serve_conn(void *arg)
{
    conn_t c = *(conn_t *)arg;
    char buf[65536];
    size_t have = 0;

    free(arg);
    if (c.ssl && SSL_accept(c.ssl) != 1) {
        goto done;
    }
    if (c.ssl) {
        X509 *peer = SSL_get1_peer_certificate(c.ssl);
        pthread_mutex_lock(&srv.lock);
        srv.client_cn[0] = '\0';
        if (peer) {
            X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, srv.client_cn,
                                      sizeof(srv.client_cn));
        }
        pthread_mutex_unlock(&srv.lock);
        X509_free(peer);
    }
    for (;;) {
        char *end, path[256] = "", *cl;
        size_t head_len, body_len = 0, total;

        while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
            ssize_t n =
                have < sizeof(buf) - 1 ? conn_read(&c, buf + have, sizeof(buf) - 1 - have) : -1;
            if (n <= 0) {
                goto done;
            }
            have += (size_t)n;
        }
        head_len = (size_t)(end - buf) + 4;
        buf[have] = '\0';
        cl = strcasestr(buf, "\r\nContent-Length:");
        if (cl && cl < end) {
            body_len = strtoul(cl + 17, NULL, 10);
        }
        total = head_len + body_len;
        while (have < total && have < sizeof(buf) - 1) {
            ssize_t n = conn_read(&c, buf + have, sizeof(buf) - 1 - have);
            if (n <= 0) {
                goto done;
            }
            have += (size_t)n;
        }
        sscanf(buf, "%*s %255s", path);
        pthread_mutex_lock(&srv.lock);
        srv.requests++;
        memcpy(srv.last, buf, total < sizeof(srv.last) - 1 ? total : sizeof(srv.last) - 1);
        srv.last[total < sizeof(srv.last) - 1 ? total : sizeof(srv.last) - 1] = '\0';
        pthread_mutex_unlock(&srv.lock);
        if (respond(&c, path) != 0) {
            goto done;
        }
        memmove(buf, buf + total, have - total);
        have -= total;
    }
done:
    if (c.ssl) {
        SSL_free(c.ssl);
    }
    close(c.fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    server_t *s = arg;

    for (;;) {
        int fd = accept(s->listener, NULL, NULL);
        conn_t *c;
        pthread_t t;

        if (fd < 0) {
            return NULL;
        }
        pthread_mutex_lock(&srv.lock);
        srv.connections++;
        pthread_mutex_unlock(&srv.lock);
        c = malloc(sizeof(*c));
        c->fd = fd;
        c->ssl = NULL;
        if (s->tls) {
            c->ssl = SSL_new(s->tls);
            SSL_set_fd(c->ssl, fd);
        }
        pthread_create(&t, NULL, serve_conn, c);
        pthread_detach(t);
    }
}

static int start(server_t *s, SSL_CTX *tls)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    s->tls = tls;
    s->listener = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s->listener < 0 || bind(s->listener, (struct sockaddr *)&a, sizeof(a)) != 0
        || listen(s->listener, 64) != 0
        || getsockname(s->listener, (struct sockaddr *)&a, &len) != 0) {
        return -1;
    }
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->thread, NULL, accept_loop, s);
}

static void stop(server_t *s)
{
    shutdown(s->listener, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->listener);
}

/* Any client certificate will do: the test checks which one came. */
static int accept_any(int ok_, X509_STORE_CTX *ctx)
{
    (void)ok_;
    (void)ctx;
    return 1;
}

static SSL_CTX *tls_server(apr_pool_t *p)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (!ctx
        || SSL_CTX_use_certificate_chain_file(ctx, apr_pstrcat(p, dir, "/server.pem", NULL)) != 1
        || SSL_CTX_use_PrivateKey_file(ctx, apr_pstrcat(p, dir, "/server.key", NULL),
                                       SSL_FILETYPE_PEM)
               != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
    return ctx;
}

static int counter(int *c)
{
    int v;

    pthread_mutex_lock(&srv.lock);
    v = *c;
    pthread_mutex_unlock(&srv.lock);
    return v;
}

static const char *last_request(apr_pool_t *p)
{
    const char *s;

    pthread_mutex_lock(&srv.lock);
    s = apr_pstrdup(p, srv.last);
    pthread_mutex_unlock(&srv.lock);
    return s;
}

/* --- the client ---------------------------------------------------------------------------- */

static const char *resolve(void *ctx, const char *path)
{
    return path[0] == '/' ? path : apr_pstrcat(ctx, dir, "/", path, NULL);
}

static mab_introspect_auth_t *auth(apr_pool_t *p, const char *method, const char *a1,
                                   const char *a2, const char *a3)
{
    char *argv[4] = {(char *)method, (char *)a1, (char *)a2, (char *)a3};
    int argc = a3 ? 4 : a2 ? 3 : a1 ? 2 : 1;
    mab_introspect_auth_t *out = NULL;
    const char *err = mab_introspect_auth_parse(p, argc, argv, resolve, p, &out);

    if (err) {
        printf("# auth: %s\n", err);
    }
    return out;
}

typedef struct {
    mab_introspect_status_e st;
    json_t *answer;
    long code;
    double seconds;
    const char *detail;
} result_t;

static result_t call(apr_pool_t *p, const mab_introspect_endpoint_t *ep)
{
    result_t r;

    r.st =
        mab_introspect_call(ep, TOKEN, strlen(TOKEN), p, &r.answer, &r.code, &r.seconds, &r.detail);
    return r;
}

static mab_introspect_endpoint_t endpoint(apr_pool_t *p, const server_t *s, const char *path,
                                          const mab_introspect_auth_t *a)
{
    mab_introspect_endpoint_t ep;

    memset(&ep, 0, sizeof(ep));
    ep.url = apr_psprintf(p, "%s://127.0.0.1:%d%s", s->tls ? "https" : "http", s->port, path);
    ep.auth = a;
    ep.timeout_ms = 20000; /* valgrind makes a TLS handshake slow */
    return ep;
}

/* A failure of the expected kind whose detail says `want` and leaks nothing. */
#define failed(r, kind, want, name)                                                                \
    do {                                                                                           \
        result_t r_ = (r);                                                                         \
        if (!ok(r_.st == (kind) && r_.answer == NULL && r_.detail && strstr(r_.detail, want)       \
                    && !strstr(r_.detail, "SECRET") && !strstr(r_.detail, SECRET),                 \
                "%s: %s", name, mab_introspect_status_name(kind))) {                               \
            printf("#   got %s: %s\n", mab_introspect_status_name(r_.st),                          \
                   r_.detail ? r_.detail : "(no detail)");                                         \
        }                                                                                          \
    } while (0)

static void test_requests(apr_pool_t *p, const server_t *s)
{
    mab_introspect_endpoint_t ep = endpoint(p, s, "/ok", NULL);
    result_t r = call(p, &ep);
    const char *req;

    ok(r.st == MAB_IC_OK && r.answer && r.detail == NULL, "ok: an answer");
    is_int(r.code, 200, "ok: HTTP 200");
    ok(r.seconds > 0 && r.seconds < 20, "ok: the time it took");
    ok(json_is_true(json_object_get(r.answer, "active")), "ok: the answer's active");
    req = last_request(p);
    ok(strncmp(req, "POST /ok HTTP/1.1\r\n", 19) == 0, "a POST to the endpoint's path");
    ok(strcasestr(req, "\r\nAccept: application/json\r\n") != NULL, "Accept: application/json");
    ok(strcasestr(req, "\r\nContent-Type: application/x-www-form-urlencoded\r\n") != NULL,
       "a form body");
    ok(strcasestr(req, "\r\nUser-Agent: mod_auth_bearer\r\n") != NULL, "our User-Agent");
    ok(!strcasestr(req, "\r\nExpect:") && !strcasestr(req, "\r\nAuthorization:"),
       "no Expect, no Authorization without auth");
    is_str(strstr(req, "\r\n\r\n") + 4, "token=" TOKEN_FORM "&token_type_hint=access_token",
           "the body: the token form-encoded and the hint");

    ep.auth = auth(p, "client_secret_basic", "rs", "env:MAB_TEST_SECRET", NULL);
    r = call(p, &ep);
    req = last_request(p);
    ok(r.st == MAB_IC_OK, "client_secret_basic: ok");
    ok(strstr(req, "\r\nAuthorization: Basic cnM6czNjcjN0LXBhc3M=\r\n") != NULL,
       "client_secret_basic: the Authorization header");
    is_str(strstr(req, "\r\n\r\n") + 4, "token=" TOKEN_FORM "&token_type_hint=access_token",
           "client_secret_basic: nothing more in the body");

    ep.auth = auth(p, "client_secret_post", "rs", "env:MAB_TEST_SECRET", NULL);
    r = call(p, &ep);
    req = last_request(p);
    ok(r.st == MAB_IC_OK && !strcasestr(req, "\r\nAuthorization:"), "client_secret_post: ok");
    is_str(strstr(req, "\r\n\r\n") + 4,
           "token=" TOKEN_FORM "&token_type_hint=access_token&client_id=rs&client_secret=" SECRET,
           "client_secret_post: client_id and client_secret after the token");

    ep.auth = auth(p, "bearer", "env:MAB_TEST_SECRET", NULL, NULL);
    r = call(p, &ep);
    req = last_request(p);
    ok(r.st == MAB_IC_OK && strstr(req, "\r\nAuthorization: Bearer " SECRET "\r\n"),
       "bearer: Authorization: Bearer");

    ep.auth = auth(p, "private_key_jwt", "rs", "client.key", NULL);
    r = call(p, &ep);
    req = last_request(p);
    ok(r.st == MAB_IC_OK
           && strstr(req, "&client_id=rs&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
                          "client-assertion-type%3Ajwt-bearer&client_assertion=eyJ"),
       "private_key_jwt: the assertion in the body");
    ok(!strcasestr(req, "\r\nExpect:"), "private_key_jwt: a body over 1 KiB, still no Expect");

    ep.auth = auth(p, "tls_client_auth", "rs", "client.pem", "client.key");
    failed(call(p, &ep), MAB_IC_INTERNAL, "needs an https:// endpoint",
           "tls_client_auth over plain http");
}

static void test_failures(apr_pool_t *p, const server_t *s)
{
    mab_introspect_endpoint_t ep;
    mab_introspect_auth_t *basic =
        auth(p, "client_secret_basic", "rs", "env:MAB_TEST_SECRET", NULL);
    result_t r;

    ep = endpoint(p, s, "/inactive", basic);
    r = call(p, &ep);
    ok(r.st == MAB_IC_OK && json_is_false(json_object_get(r.answer, "active")),
       "active false is an answer, not a failure (the check refuses it)");

    ep = endpoint(p, s, "/401", basic);
    r = call(p, &ep);
    failed(r, MAB_IC_REFUSED_AUTH, "HTTP status 401, error invalid_client", "401");
    is_int(r.code, 401, "401: the status");
    ep = endpoint(p, s, "/401odd", basic);
    r = call(p, &ep);
    failed(r, MAB_IC_REFUSED_AUTH, "HTTP status 401: the endpoint refused",
           "401 with an odd error");
    ok(r.detail && !strstr(r.detail, "bad"), "an error code that is not a plain word is left out");
    ep = endpoint(p, s, "/403", basic);
    failed(call(p, &ep), MAB_IC_REFUSED_AUTH, "HTTP status 403", "403");
    ep = endpoint(p, s, "/500", basic);
    failed(call(p, &ep), MAB_IC_HTTP_STATUS, "HTTP status 500", "500 (with a JSON body)");
    ep = endpoint(p, s, "/302", basic);
    r = call(p, &ep);
    failed(r, MAB_IC_HTTP_STATUS, "302 (redirects are not followed)", "a redirect");
    ok(strncmp(last_request(p), "POST /302 ", 10) == 0, "a redirect: /ok was never asked");
    ep = endpoint(p, s, "/404", basic);
    failed(call(p, &ep), MAB_IC_HTTP_STATUS, "HTTP status 404", "404");
    ep = endpoint(p, s, "/garbage", basic);
    failed(call(p, &ep), MAB_IC_BAD_ANSWER, "not a JSON object: invalid JSON at byte", "garbage");
    ep = endpoint(p, s, "/array", basic);
    failed(call(p, &ep), MAB_IC_BAD_ANSWER, "JSON is not an object", "a JSON array");
    ep = endpoint(p, s, "/dup", basic);
    failed(call(p, &ep), MAB_IC_BAD_ANSWER, "not a JSON object", "duplicate members");
    ep = endpoint(p, s, "/noactive", basic);
    failed(call(p, &ep), MAB_IC_BAD_ANSWER, "no active member", "no active");
    ep = endpoint(p, s, "/strbool", basic);
    failed(call(p, &ep), MAB_IC_BAD_ANSWER, "active is not a boolean", "active \"true\"");

    ep = endpoint(p, s, "/big", basic);
    failed(call(p, &ep), MAB_IC_TOO_BIG, "larger than 65536 bytes", "100 kB with Content-Length");
    ep = endpoint(p, s, "/bigchunked", basic);
    failed(call(p, &ep), MAB_IC_TOO_BIG, "larger than 65536 bytes", "100 kB chunked");
    ep = endpoint(p, s, "/bigchunked", basic);
    ep.max_body = 200000;
    r = call(p, &ep);
    ok(r.st == MAB_IC_OK, "100 kB chunked under a larger max_body: an answer");
    ep = endpoint(p, s, "/big", basic);
    ep.max_body = 100;
    failed(call(p, &ep), MAB_IC_TOO_BIG, "larger than 100 bytes", "max_body 100");

    ep = endpoint(p, s, "/hang", basic);
    ep.timeout_ms = 300;
    r = call(p, &ep);
    failed(r, MAB_IC_TIMEOUT, "", "an endpoint that hangs");
    ok(r.seconds >= 0.25 && r.seconds < 1.5, "the timeout bounds the call (%.2f s)", r.seconds);

    ep = endpoint(p, s, "/ok", basic);
    ep.url = "http://127.0.0.1:1/introspect";
    failed(call(p, &ep), MAB_IC_CONNECT, "", "a closed port");
    ep.url = "ftp://127.0.0.1/introspect";
    failed(call(p, &ep), MAB_IC_INTERNAL, "", "ftp://");
    ep.url = "file:///etc/passwd";
    failed(call(p, &ep), MAB_IC_INTERNAL, "", "file://");

    ok(strcmp(mab_introspect_status_name(MAB_IC_OK), "ok") == 0
           && strcmp(mab_introspect_status_name(MAB_IC_CONNECT), "connect") == 0
           && strcmp(mab_introspect_status_name(MAB_IC__COUNT), "internal") == 0,
       "status names");
}

/* --- connections ------------------------------------------------------------------------------ */

static void test_reuse(apr_pool_t *p, const server_t *s)
{
    mab_introspect_endpoint_t ep = endpoint(p, s, "/ok", NULL);
    int before, i, all = 1;

    mab_introspect_client_thread_done();
    before = counter(&srv.connections);
    for (i = 0; i < 5; i++) {
        all &= call(p, &ep).st == MAB_IC_OK;
    }
    ok(all, "five calls: five answers");
    is_int(counter(&srv.connections) - before, 1, "five calls on one thread: one connection");
    mab_introspect_client_thread_done();
    call(p, &ep);
    is_int(counter(&srv.connections) - before, 2, "after thread_done: a new connection");
    ep = endpoint(p, s, "/close", NULL);
    call(p, &ep);
    ep = endpoint(p, s, "/ok", NULL);
    call(p, &ep);
    is_int(counter(&srv.connections) - before, 3,
           "a server that closes: the next call connects again");
}

typedef struct {
    const mab_introspect_endpoint_t *ep;
    int index, good;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    apr_pool_t *p = NULL;
    int i;

    apr_pool_create(&p, NULL);
    for (i = 0; i < 10; i++) {
        w->good += call(p, w->ep).st == MAB_IC_OK;
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    /* what a worker thread's exit does through the key's destructor, done explicitly for
     * half of them */
    if (w->index % 2) {
        mab_introspect_client_thread_done();
    }
    return NULL;
}

static void test_threads(apr_pool_t *p, const server_t *s)
{
    mab_introspect_endpoint_t ep = endpoint(p, s, "/ok", NULL);
    pthread_t t[8];
    worker_t w[8];
    int i, good = 0, before = counter(&srv.connections);

    for (i = 0; i < 8; i++) {
        w[i].ep = &ep;
        w[i].index = i;
        w[i].good = 0;
        pthread_create(&t[i], NULL, worker, &w[i]);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        good += w[i].good;
    }
    is_int(good, 80, "8 threads x 10 calls at once: every call answered");
    is_int(counter(&srv.connections) - before, 8, "one connection per thread, kept across calls");
}

static void test_fork(apr_pool_t *p, const server_t *s)
{
    mab_introspect_endpoint_t ep = endpoint(p, s, "/ok", NULL);
    int before, status = -1;
    pid_t pid;

    call(p, &ep);
    before = counter(&srv.connections);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        /* the parent's handle must not be used (or closed) here */
        int good = call(p, &ep).st == MAB_IC_OK;
        _exit(good ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child's call: answered");
    is_int(counter(&srv.connections) - before, 1, "the child opened its own connection");
    ok(call(p, &ep).st == MAB_IC_OK, "the parent's call after the fork: answered");
    is_int(counter(&srv.connections) - before, 1, "the parent still uses its own connection");
}

/* --- TLS ------------------------------------------------------------------------------------ */

static void test_tls(apr_pool_t *p, const server_t *s)
{
    mab_introspect_endpoint_t ep;
    mab_introspect_auth_t *mtls = auth(p, "tls_client_auth", "rs", "client.pem", "client.key");
    mab_introspect_auth_t *basic =
        auth(p, "client_secret_basic", "rs", "env:MAB_TEST_SECRET", NULL);
    int before, i, all = 1;
    result_t r;

    mab_introspect_client_thread_done();
    ep = endpoint(p, s, "/ok", mtls);
    failed(call(p, &ep), MAB_IC_CONNECT, "", "https with a self-signed server, system store");
    ep.ca_file = apr_pstrcat(p, dir, "/server.pem", NULL);
    r = call(p, &ep);
    ok(r.st == MAB_IC_OK, "https with the server's certificate as CA file: an answer");
    if (r.st != MAB_IC_OK) {
        printf("#   %s: %s\n", mab_introspect_status_name(r.st), r.detail);
    }
    pthread_mutex_lock(&srv.lock);
    is_str(srv.client_cn, "mab-test-client", "tls_client_auth: the server saw our certificate");
    pthread_mutex_unlock(&srv.lock);
    is_str(strstr(last_request(p), "\r\n\r\n") + 4,
           "token=" TOKEN_FORM "&token_type_hint=access_token&client_id=rs",
           "tls_client_auth: client_id in the body");

    before = counter(&srv.connections);
    for (i = 0; i < 4; i++) {
        all &= call(p, &ep).st == MAB_IC_OK;
    }
    ok(all, "four more https calls: answered");
    is_int(counter(&srv.connections) - before, 0,
           "https: the calls reuse the connection (no new TLS handshake)");

    ep.auth = basic;
    failed(call(p, &ep), MAB_IC_CONNECT, "", "a server that wants a certificate, none sent");
    ep.auth = mtls;
    ok(call(p, &ep).st == MAB_IC_OK, "the certificate again: answered");
    mab_introspect_client_thread_done();
}

static int make_files(apr_pool_t *p)
{
    if (!mkdtemp(dir)) {
        return 0;
    }
    return system(apr_psprintf(
               p,
               "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
               "-addext subjectAltName=IP:127.0.0.1 -keyout server.key -out server.pem "
               "2>/dev/null && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
               "-out client.key 2>/dev/null && openssl req -x509 -new -key client.key -days 1 "
               "-subj /CN=mab-test-client -out client.pem 2>/dev/null",
               dir))
           == 0;
}

int main(void)
{
    apr_pool_t *p = test_setup();
    server_t plain, tls;
    SSL_CTX *ctx;

    signal(SIGPIPE, SIG_IGN);
    setenv("MAB_TEST_SECRET", SECRET, 1);
    ok(mab_fetch_global_init() == 0, "libcurl initialises");
    if (!ok(make_files(p), "certificates made with the openssl CLI in %s", dir)) {
        return tap_done();
    }
    ctx = tls_server(p);
    if (!ok(ctx && start(&plain, NULL) == 0 && start(&tls, ctx) == 0, "loopback servers listen")) {
        return tap_done();
    }
    test_requests(p, &plain);
    test_failures(p, &plain);
    test_reuse(p, &plain);
    test_threads(p, &plain);
    test_fork(p, &plain);
    test_tls(p, &tls);
    mab_introspect_client_thread_done();
    stop(&plain);
    stop(&tls);
    SSL_CTX_free(ctx);
    if (system(apr_psprintf(p, "rm -rf %s", dir)) != 0) {
        printf("# cannot remove %s\n", dir);
    }
    apr_pool_destroy(p);
    curl_global_cleanup();
    return tap_done();
}
