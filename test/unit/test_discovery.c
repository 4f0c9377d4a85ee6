/* Issuer metadata discovery (where the metadata lives, what is accepted from it) and the
 * transport rule for key source URLs. Fetching over HTTP is covered by Apache::Test
 * (t/jwks_discovery.t) against a real server. */
#include <apr_strings.h>

#include "mab_discovery.h"
#include "mab_fetch.h"
#include "tap.h"
#include "testutil.h"

static const char *url(apr_pool_t *p, const char *issuer, mab_discovery_kind_e kind)
{
    const char *why = NULL, *u = mab_discovery_url(p, issuer, kind, &why);

    return u ? u : apr_pstrcat(p, "ERROR: ", why, NULL);
}

static const char *parse(apr_pool_t *p, const char *doc, const char *issuer)
{
    const char *why = NULL, *u = mab_discovery_parse(p, doc, strlen(doc), issuer, &why);

    return u ? u : apr_pstrcat(p, "ERROR: ", why, NULL);
}

static int allowed(apr_pool_t *p, const char *u, int insecure)
{
    const char *why = NULL;

    return mab_fetch_url_allowed(p, u, insecure, &why);
}

int main(void)
{
    apr_pool_t *p = test_setup();
    const char *r;

    /* OIDC Discovery §4: the issuer's trailing slash is dropped before appending. */
    is_str(url(p, "https://tenant.auth0.com/", MAB_DISCOVERY_OIDC),
           "https://tenant.auth0.com/.well-known/openid-configuration", "OIDC: trailing slash");
    is_str(url(p, "https://login.example.com/tenant/v2.0", MAB_DISCOVERY_OIDC),
           "https://login.example.com/tenant/v2.0/.well-known/openid-configuration",
           "OIDC: issuer with a path");
    is_str(url(p, "https://a.example", MAB_DISCOVERY_OIDC),
           "https://a.example/.well-known/openid-configuration", "OIDC: bare host");
    /* RFC 8414 §3.1: the well-known part goes between host and path. */
    is_str(url(p, "https://a.example/tenant/", MAB_DISCOVERY_RFC8414),
           "https://a.example/.well-known/oauth-authorization-server/tenant",
           "RFC 8414: path after the well-known part, trailing slash dropped");
    is_str(url(p, "https://a.example/", MAB_DISCOVERY_RFC8414),
           "https://a.example/.well-known/oauth-authorization-server", "RFC 8414: bare host");
    is_str(url(p, "http://127.0.0.1:8080/iss", MAB_DISCOVERY_RFC8414),
           "http://127.0.0.1:8080/.well-known/oauth-authorization-server/iss",
           "RFC 8414: port kept");
    ok(strncmp(url(p, "my-issuer", MAB_DISCOVERY_OIDC), "ERROR", 5) == 0, "not a URL: refused");
    ok(strncmp(url(p, "https://a.example/?x=1", MAB_DISCOVERY_OIDC), "ERROR", 5) == 0,
       "query in the issuer: refused (RFC 8414 §2)");
    ok(strncmp(url(p, "https:///path", MAB_DISCOVERY_OIDC), "ERROR", 5) == 0, "no host: refused");

    /* What metadata is accepted. */
    is_str(parse(p,
                 "{\"issuer\":\"https://a.example/\",\"jwks_uri\":\"https://a.example/keys\","
                 "\"id_token_signing_alg_values_supported\":[\"HS256\"]}",
                 "https://a.example/"),
           "https://a.example/keys", "matching issuer: jwks_uri used");
    r = parse(p, "{\"issuer\":\"https://a.example\",\"jwks_uri\":\"https://a.example/keys\"}",
              "https://a.example/");
    ok(strstr(r, "ERROR") && strstr(r, "not the configured"),
       "issuer differing by a trailing slash: refused (exact match)");
    r = parse(p, "{\"issuer\":\"https://evil.example/\",\"jwks_uri\":\"https://evil/keys\"}",
              "https://a.example/");
    ok(strstr(r, "ERROR") && strstr(r, "evil.example"), "another issuer: refused, named");
    ok(strncmp(parse(p, "{\"jwks_uri\":\"https://a.example/keys\"}", "https://a.example/"), "ERROR",
               5)
           == 0,
       "no issuer: refused");
    ok(strncmp(parse(p, "{\"issuer\":\"https://a.example/\"}", "https://a.example/"), "ERROR", 5)
           == 0,
       "no jwks_uri: refused");
    ok(strncmp(parse(p, "{\"issuer\":\"https://a.example/\",\"jwks_uri\":\"file:///etc/passwd\"}",
                     "https://a.example/"),
               "ERROR", 5)
           == 0,
       "jwks_uri that is not http(s): refused");
    ok(strncmp(parse(p, "{\"issuer\":\"https://a.example/\",\"jwks_uri\":7}", "https://a.example/"),
               "ERROR", 5)
           == 0,
       "jwks_uri not a string: refused");
    ok(strncmp(parse(p,
                     "{\"issuer\":\"https://a.example/\",\"jwks_uri\":\"https://a.example/k\\n"
                     "x\"}",
                     "https://a.example/"),
               "ERROR", 5)
           == 0,
       "jwks_uri with a control character: refused");
    ok(strncmp(parse(p, "not json", "https://a.example/"), "ERROR", 5) == 0, "garbage: refused");
    ok(strncmp(parse(p, "[1,2]", "https://a.example/"), "ERROR", 5) == 0, "array: refused");
    ok(strncmp(parse(p,
                     "{\"issuer\":\"https://a.example/\",\"issuer\":\"https://a.example/\","
                     "\"jwks_uri\":\"https://a.example/keys\"}",
                     "https://a.example/"),
               "ERROR", 5)
           == 0,
       "duplicate members: refused");

    /* Transport rule. */
    ok(allowed(p, "https://a.example/keys", 0), "https: allowed");
    ok(allowed(p, "http://127.0.0.1:8529/jwks.json", 0), "http to 127.0.0.1: allowed");
    ok(allowed(p, "http://127.8.9.10/jwks.json", 0), "http to 127.0.0.0/8: allowed");
    ok(allowed(p, "http://[::1]:80/jwks.json", 0), "http to [::1]: allowed");
    ok(allowed(p, "http://LOCALHOST/jwks.json", 0), "http to localhost: allowed");
    ok(!allowed(p, "http://a.example/jwks.json", 0), "http to another host: refused");
    ok(!allowed(p, "http://128.0.0.1/jwks.json", 0), "http to 128.0.0.1: refused");
    ok(!allowed(p, "http://127.0.0.1.evil.example/jwks.json", 0),
       "http to a name starting 127.0.0.1: refused");
    ok(!allowed(p, "http://localhost.evil.example/jwks.json", 0),
       "http to a name starting localhost: refused");
    ok(!allowed(p, "http://127.0.0.1@evil.example/jwks.json", 0),
       "userinfo that looks like loopback: refused");
    ok(!allowed(p, "http://[::2]/jwks.json", 0), "http to [::2]: refused");
    ok(allowed(p, "http://a.example/jwks.json", 1), "http to another host with the opt-in");
    ok(!allowed(p, "ftp://a.example/jwks.json", 1), "ftp: refused even with the opt-in");
    return tap_done();
}
