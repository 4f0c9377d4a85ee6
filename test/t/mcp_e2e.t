# End to end with real MCP software (issue 15): the npm MCP SDK's example Streamable HTTP server
# (simpleStreamableHttp.js) behind httpd with mod_proxy_http and mod_auth_bearer, the real
# oidc-provider as authorization server (dynamic client registration, client credentials with a
# resource indicator: audience-restricted JWT access tokens), and the SDK's own client with its
# OAuth support, given nothing but the MCP URL (test/mcp/client.mjs). It must get a 401, follow
# resource_metadata to the authorization server, register, obtain a token, list tools and call a
# free one; a tool that needs a scope it lacks gives 403 insufficient_scope naming that scope;
# and under AuthBearerResourceMetadata Off the same client fails: the metadata made it work.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use File::Spec;
use Cwd qw(abs_path);
use MAB::Httpd;
use MAB::OIDCProvider;
use MAB::Process;

my $mcp_dir = abs_path(defined $ENV{MAB_REPO} ? "$ENV{MAB_REPO}/test/mcp" : "$FindBin::Bin/../mcp");
my $sdk = "$mcp_dir/node_modules/\@modelcontextprotocol/sdk";
plan skip_all => "$sdk missing: run scripts/install-deps (npm ci in test/mcp)" unless -d $sdk;
my $node = MAB::OIDCProvider::_node();
my $json = JSON::PP->new;

# the SDK's example MCP server, unmodified, on a loopback port
my $mcp_port = MAB::Process::free_port();
my $tmp = File::Temp::tempdir('mab-mcp-XXXXXX', TMPDIR => 1, CLEANUP => 1);
local $ENV{MCP_PORT} = $mcp_port;
my $server = MAB::Process->spawn(name => 'mcp-server', dir => $mcp_dir, log => "$tmp/server.log",
    cmd => [ $node, "$sdk/dist/esm/examples/server/simpleStreamableHttp.js" ]);
ok(MAB::Process::wait_until(30, sub { IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $mcp_port) }, $server),
    'the SDK example MCP server listens') or diag MAB::Process::slurp("$tmp/server.log");

my $mods = MAB::Httpd::_modules_dir();
my $h = MAB::Httpd->new();
my $port = $h->port;
my $mcp = "http://127.0.0.1:$port/mcp";
my $off = "http://127.0.0.1:$port/mcp-off";
my $as = MAB::OIDCProvider->new(
    registration => 1,
    resources => {
        $mcp => { scope => 'mcp:tools items:delete', format => 'jwt' },
        $off => { scope => 'mcp:tools items:delete', format => 'jwt' },
    },
);
my ($iss, $jwks) = ($as->issuer, $as->jwks_uri);

# The example of conf/mcp-example.conf, on loopback (http identifiers are allowed there).
my $section = sub {
    my ($path, $id, $extra) = @_;
    return <<"CONF";
<Location $path>
    AuthType Bearer
    AuthName "mcp"
    AuthBearerIssuer $iss
    AuthBearerJWKS $jwks
    AuthBearerResource $id
    AuthBearerResourceName "SDK example MCP server"
$extra    AuthBearerPassToken Off
    AuthBearerClaimHeader client_id X-MCP-Client
    Require scope mcp:tools
    # allow-list: every JSON-RPC POST that is not a listed harmless method or a free tool's
    # call also needs items:delete, so a client that omits or changes the header gains nothing
    <If "%{REQUEST_METHOD} == 'POST' && !(%{HTTP:Mcp-Method} in {'initialize', 'notifications/initialized', 'ping', 'tools/list'} || (%{HTTP:Mcp-Method} == 'tools/call' && %{HTTP:Mcp-Name} in {'greet'}))">
        AuthMerging And
        Require scope items:delete
    </If>
    ProxyPass http://127.0.0.1:$mcp_port/mcp
</Location>
CONF
};
{
    open my $fh, '>>', $h->dir . '/httpd.conf' or die;
    print $fh "LoadModule proxy_module $mods/mod_proxy.so\n"
        . "LoadModule proxy_http_module $mods/mod_proxy_http.so\n"
        . $section->('/mcp', $mcp, '')
        . $section->('/mcp-off', $off, "    AuthBearerResourceMetadata Off\n");
    close $fh;
}
ok($h->start, 'httpd starts') or do { diag $h->{start_output}; done_testing(); exit };

sub client {
    my @args = @_;
    my $cmd = join ' ', map { quotemeta } $node, "$mcp_dir/client.mjs", @args;
    my $out = `cd \Q$mcp_dir\E && timeout 60 $cmd 2>$tmp/client.err`;
    my $res = eval { $json->decode($out) };
    diag "client said: $out\n" . (MAB::Process::slurp("$tmp/client.err") // '') unless $res;
    return $res // { trace => [] };
}

# --- with the module's metadata ----------------------------------------------------------------
my $r = client($mcp, 'greet:{"name":"httpd"}', 'multi-greet:{"name":"httpd"}');
my @t = @{ $r->{trace} };
is($r->{error}, undef, 'the SDK client connects') or diag explain \@t;
ok($r->{connected}, 'connected');
is($t[0]{status}, 401, 'first request: 401');
is($t[0]{www_authenticate},
    qq{Bearer realm="mcp", scope="mcp:tools", resource_metadata="http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp"},
    '401: scope and resource_metadata');
my ($md) = grep { $_->{url} =~ m{/\.well-known/oauth-protected-resource/mcp$} } @t;
is($md && $md->{status}, 200, 'the client fetched the resource metadata (200, no token)');
ok(!($md && $md->{token}), 'metadata fetched without a token');
ok((grep { $_->{url} eq "$iss/reg" && $_->{status} == 201 } @t), 'registered at the authorization server the metadata named');
ok((grep { $_->{url} =~ m{^\Q$iss\E/token$} && $_->{status} == 200 } @t), 'obtained a token there');
is($r->{token_scope}, 'mcp:tools', 'the token carries the scope the challenge asked for');
ok((grep { $_ eq 'greet' } @{ $r->{tools} }), 'tools/list through httpd: greet listed') or diag explain $r->{tools};
my ($greet, $multi) = @{ $r->{calls} };
ok($greet && $greet->{ok}, 'tools/call greet: answered') or diag explain $greet;
like($greet->{text} // '', qr/httpd/, 'greet greets');
ok($multi && !$multi->{ok}, 'tools/call multi-greet (needs items:delete): refused') or diag explain $multi;
my ($denied) = grep { ($_->{mcp_name} // '') eq 'multi-greet' && $_->{status} == 403 } @t;
ok($denied, 'multi-greet: 403');
is($denied && $denied->{www_authenticate},
    qq{Bearer realm="mcp", error="insufficient_scope", scope="mcp:tools items:delete", resource_metadata="http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp"},
    '403 insufficient_scope names the tool\'s scope, with resource_metadata');
like($h->error_log, qr/MAB00100: denied 403 \/mcp: insufficient scope: requires items:delete /,
    'the 403 is logged');
ok(!(grep { $_->{token} && $_->{status} == 401 } @t), 'no token the client obtained was refused');
like(MAB::Process::slurp("$tmp/server.log") // '', qr/listening/i, 'the MCP server served it');

# --- without the module's metadata ---------------------------------------------------------
$r = client($off);
ok(!$r->{connected}, 'AuthBearerResourceMetadata Off: the same client fails') or diag explain $r;
@t = @{ $r->{trace} };
is($t[0] && $t[0]{www_authenticate}, 'Bearer realm="mcp", scope="mcp:tools"', 'Off: no resource_metadata');
ok(!(grep { $_->{url} =~ m{^\Q$iss\E} } @t), 'Off: the client never found the authorization server')
    or diag explain \@t;

$server->stop;
done_testing();
