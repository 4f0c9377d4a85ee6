# AuthBearerPassToken Off withholds the token also where a forward proxy's client sends it, in
# Proxy-Authorization (issue 12, item 17): with Proxy-Chain-Auth mod_proxy used to pass it on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use LWP::UserAgent;
use MAB::Test qw(mint);
use MAB::Httpd;
use MAB::Lifecycle;

my $mods = MAB::Httpd::_modules_dir();
my $h = MAB::Httpd->new(paths => ['echo']);
my $jwks = $h->dir . '/jwks.json';
publish_jwks($jwks, jwk('issuer'));
my $port = $h->port;
{
    open my $fh, '>>', $h->dir . '/httpd.conf' or die;
    print $fh <<"CONF";
LoadModule headers_module $mods/mod_headers.so
LoadModule env_module $mods/mod_env.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_http_module $mods/mod_proxy_http.so
# the origin: echoes every request header it got back as a response header
<Location /echo>
    Header always echo .
</Location>
ProxyRequests On
<Proxy "*">
    AuthType Bearer
    AuthName "forward"
    AuthBearerIssuer   https://issuer.test/
    AuthBearerAudience https://quickstarts/api
    AuthBearerJWKS     $jwks
    AuthBearerPassToken Off
    SetEnv Proxy-Chain-Auth On
    Require valid-user
</Proxy>
CONF
}
ok($h->start, 'httpd starts') or diag $h->{start_output};

my $ua = LWP::UserAgent->new(timeout => 10);
$ua->proxy(http => "http://127.0.0.1:$port");
my $tok = mint();
my $r = $ua->get("http://localhost:$port/echo/ok.txt", 'Proxy-Authorization' => "Bearer $tok");
is($r->code, 200, 'forward proxy request with a token: 200') or diag $r->as_string, $h->error_log;
ok(!defined $r->header('Proxy-Authorization'), 'the token did not reach the origin');
$r = $ua->get("http://localhost:$port/echo/ok.txt");
is($r->code, 407, 'without a token: 407');
like($r->header('Proxy-Authenticate') // '', qr/^Bearer realm="forward"/, 'Proxy-Authenticate challenge');
$h->stop;
done_testing();
