#include "mab_resource.h"
#include "tap.h"
#include "testutil.h"

static int refused(apr_pool_t *p, const char *id)
{
    const char *why = NULL;

    return mab_resource_check_identifier(p, id, &why) != 0 && why && *why;
}

static int accepted(apr_pool_t *p, const char *id)
{
    const char *why = NULL;

    return mab_resource_check_identifier(p, id, &why) == 0;
}

static apr_array_header_t *list(apr_pool_t *p, const char *a, const char *b)
{
    apr_array_header_t *l = apr_array_make(p, 2, sizeof(const char *));

    if (a) {
        APR_ARRAY_PUSH(l, const char *) = a;
    }
    if (b) {
        APR_ARRAY_PUSH(l, const char *) = b;
    }
    return l;
}

int main(void)
{
    apr_pool_t *p = test_setup();
    mab_resource_meta_t m;
    const char *why = NULL, *doc, *etag;

    /* identifiers */
    ok(accepted(p, "https://api.example.com/mcp"), "https with a path");
    ok(accepted(p, "https://api.example.com"), "https without a path");
    ok(accepted(p, "https://api.example.com/"), "https with /");
    ok(accepted(p, "https://api.example.com:8443/a/b"), "https with a port");
    ok(accepted(p, "https://[2001:db8::1]:8443/x"), "https to an IPv6 literal");
    ok(accepted(p, "http://127.0.0.1:8080/mcp"), "http to 127.0.0.1");
    ok(accepted(p, "http://localhost/mcp"), "http to localhost");
    ok(accepted(p, "http://[::1]:9/mcp"), "http to ::1");
    ok(refused(p, "http://api.example.com/mcp"), "http to another host is refused");
    ok(refused(p, "https://api.example.com/mcp#frag"), "a fragment is refused");
    ok(refused(p, "https://api.example.com/mcp?x=1"), "a query is refused");
    ok(refused(p, "https://user@api.example.com/mcp"), "userinfo is refused");
    ok(refused(p, "https:///mcp"), "no host is refused");
    ok(refused(p, "HTTPS://api.example.com/"), "an upper-case scheme is refused");
    ok(refused(p, "api.example.com/mcp"), "a relative reference is refused");
    ok(refused(p, "urn:example:mcp"), "a URN is refused");
    ok(refused(p, "https://api.example.com:0/"), "port 0 is refused");
    ok(refused(p, "https://api.example.com:99999/"), "port 99999 is refused");
    ok(refused(p, "https://api.exa mple.com/"), "a space in the host is refused");

    /* origins */
    ok(mab_resource_check_origin(p, "https://mcp.example.com", &why) == 0, "origin");
    ok(mab_resource_check_origin(p, "https://mcp.example.com:8443/", &why) == 0,
       "origin with a port and a /");
    ok(mab_resource_check_origin(p, "https://mcp.example.com/mcp", &why) != 0,
       "an origin with a path is refused");
    ok(mab_resource_check_origin(p, "http://mcp.example.com", &why) != 0,
       "an http origin elsewhere than loopback is refused");

    /* RFC 9728 §3.1 */
    is_str(mab_resource_metadata_path(p, "https://rs/resource1"),
           "/.well-known/oauth-protected-resource/resource1", "path inserted");
    is_str(mab_resource_metadata_path(p, "https://rs/"), "/.well-known/oauth-protected-resource",
           "terminating / removed");
    is_str(mab_resource_metadata_path(p, "https://rs"), "/.well-known/oauth-protected-resource",
           "no path: the root form");
    is_str(mab_resource_metadata_path(p, "https://rs/a/b/"),
           "/.well-known/oauth-protected-resource/a/b/", "a trailing / of a longer path kept");
    is_str(mab_resource_metadata_url(p, "https://rs:8443/mcp", NULL),
           "https://rs:8443/.well-known/oauth-protected-resource/mcp", "URL from the identifier");
    is_str(mab_resource_metadata_url(p, "https://internal/mcp", "https://public.example/"),
           "https://public.example/.well-known/oauth-protected-resource/mcp",
           "URL from a public origin");
    is_str(mab_resource_metadata_url(p, "https://rs", NULL),
           "https://rs/.well-known/oauth-protected-resource", "URL without a path");

    /* the document */
    memset(&m, 0, sizeof(m));
    m.resource = "https://rs/mcp";
    is_str(mab_resource_document(p, &m),
           "{\"resource\":\"https://rs/mcp\",\"bearer_methods_supported\":[\"header\"]}",
           "minimal document: empty members omitted");
    m.authorization_servers = list(p, "https://as1/", "https://as2");
    m.scopes = list(p, "a", "b:c");
    m.name = "My \"MCP\"";
    m.documentation = "https://rs/docs";
    is_str(mab_resource_document(p, &m),
           "{\"resource\":\"https://rs/mcp\",\"authorization_servers\":[\"https://as1/\","
           "\"https://as2\"],\"scopes_supported\":[\"a\",\"b:c\"],\"bearer_methods_supported\":"
           "[\"header\"],\"resource_name\":\"My \\\"MCP\\\"\",\"resource_documentation\":"
           "\"https://rs/docs\"}",
           "every member");
    memset(&m, 0, sizeof(m));
    m.resource = "https://rs/mcp";
    m.dpop_algs = list(p, "ES256", "EdDSA");
    m.dpop_required = 1;
    m.cert_bound = 1;
    is_str(mab_resource_document(p, &m),
           "{\"resource\":\"https://rs/mcp\",\"bearer_methods_supported\":[\"header\"],"
           "\"tls_client_certificate_bound_access_tokens\":true,"
           "\"dpop_signing_alg_values_supported\":[\"ES256\",\"EdDSA\"],"
           "\"dpop_bound_access_tokens_required\":true}",
           "sender-constrained tokens: DPoP algorithms, DPoP and certificates required");
    m.dpop_required = 0;
    m.cert_bound = 0;
    doc = mab_resource_document(p, &m);
    ok(doc && strstr(doc, "dpop_signing_alg_values_supported")
           && !strstr(doc, "dpop_bound_access_tokens_required")
           && !strstr(doc, "tls_client_certificate"),
       "DPoP On: its algorithms, nothing required");
    m.scopes = list(p, NULL, NULL);
    m.name = "";
    doc = mab_resource_document(p, &m);
    ok(doc && !strstr(doc, "scopes_supported") && !strstr(doc, "resource_name"),
       "an empty list and an empty name are omitted");

    /* ETag */
    etag = mab_resource_etag(p, doc);
    ok(etag && strlen(etag) == 34 && etag[0] == '"' && etag[33] == '"', "ETag is quoted hex");
    is_str(mab_resource_etag(p, doc), etag, "the same document, the same ETag");
    ok(strcmp(mab_resource_etag(p, "{}"), etag) != 0, "another document, another ETag");
    ok(mab_resource_etag_matches(etag, etag), "If-None-Match: the ETag");
    ok(mab_resource_etag_matches(apr_pstrcat(p, "\"x\", W/", etag, NULL), etag),
       "If-None-Match: in a list, weak");
    ok(mab_resource_etag_matches("*", etag), "If-None-Match: *");
    ok(!mab_resource_etag_matches("\"x\"", etag), "If-None-Match: another");
    ok(!mab_resource_etag_matches("", etag), "If-None-Match: empty");
    return tap_done();
}
