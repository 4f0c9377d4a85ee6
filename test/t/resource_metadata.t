# RFC 9728 protected resource metadata (issue 15): AuthBearerResource publishes its document
# at the well-known URL derived from the identifier (§3.1), without a token even where "/"
# is protected; the section's audience defaults to the identifier; its 401 and 403
# challenges carry resource_metadata (and a 401 the scopes its Require lines ask for);
# configuration mistakes stop the server at startup, naming the directive.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use LWP::UserAgent;
use HTTP::Request;
use MAB::Test qw(mint);
use MAB::Httpd;
use MAB::Lifecycle;

my $json = JSON::PP->new;
my $ua = LWP::UserAgent->new(keep_alive => 0, timeout => 30);

my $h = MAB::Httpd->new(paths => [qw(mcp api docs plain off off/x dpop)],
    # AuthBearerDPoP keeps its replay record in the default socache
    before => "LoadModule socache_shmcb_module @{[ MAB::Httpd::_modules_dir() ]}/mod_socache_shmcb.so");
my $jwks = $h->dir . '/jwks.json';
publish_jwks($jwks, jwk('issuer'));
my $base = "    AuthType Bearer\n    AuthName \"mcp\"\n";
{
    open my $fh, '>>', $h->dir . '/httpd.conf' or die;
    print $fh <<"CONF";
<AuthBearerIssuer https://issuer.test/>
    AuthBearerJWKS $jwks
</AuthBearerIssuer>
<AuthBearerIssuer https://other.test/>
    AuthBearerJWKS $jwks
</AuthBearerIssuer>
# "/" itself is protected: the metadata must still be reachable without a token
<Location />
$base    AuthBearerIssuer https://issuer.test/
    AuthBearerAudience https://quickstarts/api
    Require valid-user
</Location>
<Location /mcp>
$base    AuthBearerIssuer https://issuer.test/ https://other.test/
    AuthBearerResource https://mcp.example.com/mcp
    AuthBearerResourceName "Example MCP"
    AuthBearerResourceDocumentation https://mcp.example.com/docs
    Require scope mcp:read
    <If "%{HTTP:X-Tool} == 'delete'">
        # without it the <If>'s Require replaces the section's (httpd's AuthMerging Off)
        AuthMerging And
        Require scope items:delete
    </If>
</Location>
<Location /mcp/admin>
    Require scope mcp:admin
</Location>
<Location /api>
$base    AuthBearerIssuer https://issuer.test/
    AuthBearerResource https://api.example.com
    AuthBearerResourceScopes read write
    AuthBearerPublicURL https://public.example.net:8443
    Require scope read
</Location>
<Location /dpop>
$base    AuthBearerIssuer https://issuer.test/
    AuthBearerResource https://dpop.example.com/dpop
    AuthBearerDPoP Required
    AuthBearerDPoPAlgorithms ES256 EdDSA
    AuthBearerCertBound Required
    Require valid-user
</Location>
<Location /off>
$base    AuthBearerIssuer https://issuer.test/
    AuthBearerResource https://off.example.com/off
    AuthBearerResourceMetadata Off
    Require scope read
</Location>
CONF
}
ok($h->start, 'httpd starts') or do { diag $h->{start_output}; done_testing(); exit };

my $WK = '/.well-known/oauth-protected-resource';
my @members = qw(resource authorization_servers jwks_uri scopes_supported bearer_methods_supported
    resource_signing_alg_values_supported resource_name resource_documentation resource_policy_uri
    resource_tos_uri tls_client_certificate_bound_access_tokens authorization_details_types_supported
    dpop_signing_alg_values_supported dpop_bound_access_tokens_required signed_metadata);
my %known = map { $_ => 1 } @members;

# RFC 9728 §2 and §3.2: the members' types; nothing unknown, nothing empty.
sub schema_ok {
    my ($doc, $name) = @_;
    my @bad;
    push @bad, 'resource missing' unless defined $doc->{resource} && !ref $doc->{resource};
    for my $k (sort keys %$doc) {
        my $v = $doc->{$k};
        push @bad, "unknown member $k" unless $known{$k};
        if ($k =~ /^(authorization_servers|scopes_supported|bearer_methods_supported)$/) {
            push @bad, "$k is not a non-empty array of strings"
                unless ref $v eq 'ARRAY' && @$v && !grep { ref $_ || !length $_ } @$v;
        }
        elsif ($k eq 'dpop_signing_alg_values_supported') {
            push @bad, "$k is not a non-empty array of strings"
                unless ref $v eq 'ARRAY' && @$v && !grep { ref $_ || !length $_ } @$v;
        }
        elsif ($k =~ /^(tls_client_certificate_bound_access_tokens|dpop_bound_access_tokens_required)$/) {
            push @bad, "$k is not a boolean" unless JSON::PP::is_bool($v);
        }
        elsif ($k =~ /^(resource|resource_name|resource_documentation|jwks_uri)$/) {
            push @bad, "$k is not a non-empty string" unless !ref $v && length $v;
        }
    }
    push @bad, 'bearer_methods_supported is not [header]'
        unless ref $doc->{bearer_methods_supported} eq 'ARRAY'
        && "@{ $doc->{bearer_methods_supported} }" eq 'header';
    ok(!@bad, "$name: schema") or diag join "\n", @bad;
}

sub doc_of {
    my ($path, $name) = @_;
    my $r = $h->get($path);
    is($r->code, 200, "$name: 200 without a token");
    is($r->header('Content-Type'), 'application/json', "$name: application/json");
    my $doc = eval { $json->decode($r->decoded_content) };
    ok($doc, "$name: JSON") or diag $r->as_string;
    return ($doc // {}, $r);
}

# identifier with a path: path-inserted form, every member set
my ($doc, $r) = doc_of("$WK/mcp", 'with a path');
schema_ok($doc, 'with a path');
is_deeply($doc, {
    resource                 => 'https://mcp.example.com/mcp',
    authorization_servers    => ['https://issuer.test/', 'https://other.test/'],
    scopes_supported         => ['mcp:read', 'items:delete', 'mcp:admin'],
    bearer_methods_supported => ['header'],
    resource_name            => 'Example MCP',
    resource_documentation   => 'https://mcp.example.com/docs',
}, 'with a path: exact members; scopes from the section, its <If> and the Location beneath');
like($r->header('Cache-Control') // '', qr/^max-age=\d+$/, 'Cache-Control max-age');
my $etag = $r->header('ETag');
like($etag // '', qr/^"[0-9a-f]{32}"$/, 'ETag');
is($r->header('Access-Control-Allow-Origin'), '*', 'readable from any origin');
unlike($r->header('WWW-Authenticate') // '', qr/Bearer/, 'no challenge on the document');

$r = $h->get("$WK/mcp", headers => { 'If-None-Match' => $etag });
is($r->code, 304, 'If-None-Match: 304');
is($r->header('ETag'), $etag, '304 keeps the ETag');
$r = $h->get("$WK/mcp", headers => { 'If-None-Match' => '"other"' });
is($r->code, 200, 'another ETag: 200');
$r = $ua->head($h->url("$WK/mcp"));
is($r->code, 200, 'HEAD: 200');
$r = $ua->post($h->url("$WK/mcp"));
is($r->code, 405, 'POST: 405');
$r = $ua->request(HTTP::Request->new(OPTIONS => $h->url("$WK/mcp"),
    [Origin => 'https://app.example', 'Access-Control-Request-Method' => 'GET',
     'Access-Control-Request-Headers' => 'mcp-protocol-version']));
is($r->code, 204, 'CORS preflight: 204 without a token');
is($r->header('Access-Control-Allow-Origin'), '*', 'CORS preflight: any origin');
like($r->header('Access-Control-Allow-Methods') // '', qr/GET/, 'CORS preflight: GET allowed');

# identifier without a path: the root form; AuthBearerResourceScopes; no name/documentation
($doc) = doc_of($WK, 'without a path');
schema_ok($doc, 'without a path');
is_deeply($doc, {
    resource                 => 'https://api.example.com',
    authorization_servers    => ['https://issuer.test/'],
    scopes_supported         => ['read', 'write'],
    bearer_methods_supported => ['header'],
}, 'without a path: exact members, empty ones omitted, AuthBearerResourceScopes');

# sender-constrained tokens (RFC 9728 §2): the DPoP algorithms, what is required
($doc) = doc_of("$WK/dpop", 'DPoP and certificates required');
schema_ok($doc, 'DPoP and certificates required');
is_deeply($doc, {
    resource                                   => 'https://dpop.example.com/dpop',
    authorization_servers                      => ['https://issuer.test/'],
    bearer_methods_supported                   => ['header'],
    tls_client_certificate_bound_access_tokens => JSON::PP::true,
    dpop_signing_alg_values_supported          => ['ES256', 'EdDSA'],
    dpop_bound_access_tokens_required          => JSON::PP::true,
}, 'DPoP Required, CertBound Required: the algorithms and both requirements');
like($h->get('/dpop/ok.txt')->header('WWW-Authenticate') // '',
     qr{^DPoP realm="mcp", algs="ES256 EdDSA", resource_metadata="https://dpop\.example\.com/\.well-known/oauth-protected-resource/dpop"$},
     'DPoP Required: only the DPoP challenge, with algs and resource_metadata');

# AuthBearerResourceMetadata Off: no document; other paths are not the module's
is($h->get("$WK/off")->code, 401, 'Metadata Off: no document (the protected / answers)');
is($h->get("$WK/nope")->code, 401, 'an undeclared path is not answered by the module');
is($h->get("$WK/mcp/")->code, 401, 'only the exact path');

# challenges
my $md = 'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"';
$r = $h->get('/mcp/ok.txt');
is($r->code, 401, '401 without a token');
is($r->header('WWW-Authenticate'), qq{Bearer realm="mcp", scope="mcp:read", $md},
    '401: scope of the evaluated Require lines and resource_metadata');
$r = $h->get('/mcp/ok.txt', headers => { 'X-Tool' => 'delete' });
is($r->header('WWW-Authenticate'), qq{Bearer realm="mcp", scope="mcp:read items:delete", $md},
    '401: a Require inside <If> adds its scope');
$r = $h->get('/mcp/ok.txt', token => 'not-a-token');
like($r->header('WWW-Authenticate') // '', qr/^Bearer realm="mcp", error="invalid_token", .*scope="mcp:read", \Q$md\E$/,
    '401 invalid_token: scope and resource_metadata');

my $aud = 'https://mcp.example.com/mcp';
$r = $h->get('/mcp/ok.txt', token => mint(claims => { aud => $aud, scope => 'other' }));
is($r->code, 403, '403 without the scope');
is($r->header('WWW-Authenticate'),
    qq{Bearer realm="mcp", error="insufficient_scope", scope="mcp:read", $md},
    '403: insufficient_scope with resource_metadata');
$r = $h->get('/mcp/ok.txt', token => mint(claims => { aud => $aud, scope => 'mcp:read' }),
    headers => { 'X-Tool' => 'delete' });
is($r->code, 403, '<If>: the tool needs its scope');
like($r->header('WWW-Authenticate') // '', qr/error="insufficient_scope", scope="mcp:read items:delete"/,
    '<If>: the 403 names the tool scope, and the granted one (MCP step-up keeps it)');
is($h->get('/mcp/ok.txt', token => mint(claims => { aud => $aud, scope => 'mcp:read items:delete' }),
    headers => { 'X-Tool' => 'delete' })->code, 200, '<If>: with the scope, 200');

# audience default
is($h->get('/mcp/ok.txt', token => mint(claims => { aud => $aud, scope => 'mcp:read' }))->code, 200,
    'audience defaults to the identifier: 200');
$r = $h->get('/mcp/ok.txt', token => mint(claims => { scope => 'mcp:read' }));
is($r->code, 401, 'another audience: 401');
like($r->header('WWW-Authenticate') // '', qr/error="invalid_token"/, 'another audience: invalid_token');
is($h->get('/off/ok.txt', token => mint(claims => { aud => 'https://off.example.com/off', scope => 'read' }))->code,
    200, 'Metadata Off keeps the audience default');
$r = $h->get('/off/ok.txt');
is($r->header('WWW-Authenticate'), 'Bearer realm="mcp", scope="read"', 'Metadata Off: no resource_metadata');

# AuthBearerPublicURL
$r = $h->get('/api/ok.txt');
is($r->header('WWW-Authenticate'),
    'Bearer realm="mcp", scope="read", resource_metadata="https://public.example.net:8443/.well-known/oauth-protected-resource"',
    'AuthBearerPublicURL gives the metadata URL origin');
is($h->get('/api/ok.txt', token => mint(claims => { aud => 'https://api.example.com', scope => 'read' }))->code,
    200, 'a resource without a path: audience default');

# a section without AuthBearerResource: challenges unchanged
is($h->get('/plain/ok.txt')->header('WWW-Authenticate'), 'Bearer realm="mcp"',
    'no AuthBearerResource: the challenge is unchanged');
unlike($h->error_log, qr/\[(error|emerg|crit)\]/, 'no error in the log');
$h->stop;

# --- virtual hosts: a vhost's resource is answered on that vhost only ---------------------------
{
    my $x = MAB::Httpd->new(paths => [qw(a v)]);
    my $p = $x->port;
    open my $fh, '>>', $x->dir . '/httpd.conf' or die;
    print $fh <<"CONF";
AuthBearerJWKS $jwks
<VirtualHost 127.0.0.1:$p>
    ServerName main.test
</VirtualHost>
<VirtualHost 127.0.0.1:$p>
    ServerName vh.test
    <Location /v>
$base        AuthBearerIssuer https://issuer.test/
        AuthBearerResource https://vh.test/v
        Require scope v
    </Location>
</VirtualHost>
<Location /a>
$base    AuthBearerIssuer https://issuer.test/
    AuthBearerResource https://main.test/a
    Require scope a
</Location>
CONF
    close $fh;
    ok($x->start, 'virtual hosts: httpd starts') or diag $x->{start_output};
    my $get = sub { $ua->get($x->url($_[1]), Host => $_[0]) };
    is($get->('vh.test', "$WK/v")->code, 200, 'the vhost answers its own resource');
    like($get->('vh.test', "$WK/v")->decoded_content, qr/"scopes_supported":\["v"\]/, 'with its scopes');
    is($get->('main.test', "$WK/v")->code, 404, 'another vhost does not');
    is($get->('main.test', "$WK/a")->code, 200, 'a main-server section is answered on a vhost');
    is($get->('vh.test', "$WK/a")->code, 200, '... on every vhost (they inherit it)');
    $x->stop;
}

# --- conf/mcp-example.conf, as shipped ---------------------------------------------------------
{
    my $mods = MAB::Httpd::_modules_dir();
    my $example = Apache::Test::vars('t_dir') . '/../../conf/mcp-example.conf';
    my $x = MAB::Httpd->new(conf => "LoadModule proxy_module $mods/mod_proxy.so\n"
        . "LoadModule proxy_http_module $mods/mod_proxy_http.so\nInclude $example\n");
    ok($x->start, 'conf/mcp-example.conf: httpd starts with it') or diag $x->{start_output};
    my $r = $x->get("$WK/mcp");
    my $d = eval { $json->decode($r->decoded_content) } // {};
    is_deeply($d, {
        resource                 => 'https://mcp.example.com/mcp',
        authorization_servers    => ['https://auth.example.com/'],
        scopes_supported         => ['mcp:tools', 'items:delete'],
        bearer_methods_supported => ['header'],
        resource_name            => 'Example MCP server',
        resource_documentation   => 'https://mcp.example.com/docs',
    }, 'conf/mcp-example.conf: its document') or diag $r->as_string;
    my $post = sub { $ua->post($x->url('/mcp'), 'Mcp-Method' => $_[0], 'Mcp-Name' => $_[1], Content => '{}')
        ->header('WWW-Authenticate') // '' };
    my $c = $post->('tools/call', 'delete-all');
    like($c, qr/^Bearer realm="mcp", scope="mcp:tools items:delete", resource_metadata="https:\/\/mcp.example.com\/.well-known\/oauth-protected-resource\/mcp"$/,
        'conf/mcp-example.conf: a tool that is not free asks for items:delete');
    like($post->('tools/call', 'greet'), qr/scope="mcp:tools", /,
        'conf/mcp-example.conf: a free tool asks for mcp:tools only');
    like($post->(undef, undef), qr/scope="mcp:tools items:delete", /,
        'conf/mcp-example.conf: without the headers, items:delete too (allow-list)');
    like($x->get('/mcp')->header('WWW-Authenticate') // '', qr/scope="mcp:tools", /,
        'conf/mcp-example.conf: GET (the SSE stream) needs mcp:tools only');
    $x->stop;
}

# --- startup errors ---------------------------------------------------------------------------
sub refused {
    my ($conf, $want, $name) = @_;
    my $x = MAB::Httpd->new(paths => [qw(a b)], conf => "AuthBearerJWKS $jwks\n$conf");
    my ($rc, $out) = $x->configtest;
    isnt($rc, 0, "$name: httpd -t fails");
    like($out, $want, "$name: the message") or diag $out;
}
my $sec = sub {
    my ($path, $body) = @_;
    "<Location $path>\n$base    AuthBearerIssuer https://issuer.test/\n$body    Require valid-user\n</Location>\n";
};
refused($sec->('/a', "    AuthBearerResource http://mcp.example.com/a\n"),
    qr/AuthBearerResource: 'http:\/\/mcp.example.com\/a': plain http/, 'a non-https identifier');
refused($sec->('/a', "    AuthBearerResource https://mcp.example.com/a#x\n"),
    qr/AuthBearerResource: .*fragment/, 'an identifier with a fragment');
refused($sec->('/a', "    AuthBearerPublicURL https://mcp.example.com/path\n"),
    qr/AuthBearerPublicURL: .*only scheme:\/\/host/, 'a public URL with a path');
refused($sec->('/a', "    AuthBearerResource https://mcp.example.com/x\n    AuthBearerResourceName A\n")
      . $sec->('/b', "    AuthBearerResource https://mcp.example.com/x\n    AuthBearerResourceName B\n"),
    qr/MAB00701: AuthBearerResource https:\/\/mcp.example.com\/x is declared at .* with different metadata/,
    'one identifier, two documents');
refused($sec->('/a', "    AuthBearerResource https://mcp.example.com/\n")
      . $sec->('/b', "    AuthBearerResource https://mcp.example.com\n"),
    qr/MAB00702: .*same URL path \/.well-known\/oauth-protected-resource /, 'colliding metadata URLs');
{
    my $x = MAB::Httpd->new(paths => [qw(a b)],
        conf => "AuthBearerJWKS $jwks\n" . $sec->('/a', "    AuthBearerResource https://mcp.example.com/x\n")
              . $sec->('/b', "    AuthBearerResource https://mcp.example.com/x\n"));
    my ($rc, $out) = $x->configtest;
    is($rc, 0, 'one identifier in two sections with the same metadata is fine') or diag $out;
}
{
    my $x = MAB::Httpd->new(paths => [qw(a)], conf => "<Location /a>\n$base    AuthBearerAudience x\n"
        . "    AuthBearerResource https://mcp.example.com/a\n    Require valid-user\n</Location>\n");
    my ($rc, $out) = $x->configtest;
    like($out, qr/MAB00703: AuthBearerResource https:\/\/mcp.example.com\/a \(.*\) has no AuthBearerIssuer/,
        'a resource without AuthBearerIssuer: warned about at startup');
}

done_testing();
