# AuthBearerIntrospectionAuth tls_client_auth (RFC 8705 §2): the module presents its client
# certificate to a real authorization server over https (npm oidc-provider with mutual TLS,
# its certificate from a test CA given as AuthBearerCAFile). Another certificate, or none, is
# refused by the endpoint: the [error] line and 503, never a grant.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Httpd;
use MAB::OIDCProvider;

my $API = 'https://api.test/';
my $as = MAB::OIDCProvider->new(
    tls => 1,
    clients => [
        { client_id => 'app', auth => 'client_secret_basic' },
        { client_id => 'rstls', auth => 'tls_client_auth', grant => 0 },
    ],
    resources => { $API => { scope => 'read' } },
);
my $ISS = $as->issuer;
my $mods = MAB::Httpd::_modules_dir();
my ($cert, $key) = $as->cert_files('rstls');

sub server {
    my ($c, $k, $what) = @_;
    my $h = MAB::Httpd->new(paths => ['api'], conf => <<"C");
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
AuthBearerCAFile @{[ $as->ca_file ]}
AuthBearerFetchTimeout 3
<Location /api>
    AuthType Bearer
    AuthName "api"
    AuthBearerIssuer $ISS
    AuthBearerAudience $API
    AuthBearerIntrospection @{[ $as->introspection_endpoint ]}
    AuthBearerIntrospectionAuth tls_client_auth rstls $c $k
    Require valid-user
</Location>
C
    ok($h->start, "httpd starts ($what)") or diag $h->{start_output};
    return $h;
}

like($as->introspection_endpoint, qr{^https://}, 'the endpoint is https');
my $t = $as->token(client_id => 'app', scope => 'read', resource => $API);
{
    my $h = server($cert, $key, "the client's own certificate");
    $as->reset_stats;
    my $r = $h->get('/api/ok.txt', token => $t);
    is($r->code, 200, 'tls_client_auth with the registered certificate: 200') or diag $h->error_log;
    my $c = ($as->calls('introspection'))->[0] // {};
    is($c->{client_id}, 'rstls', 'the endpoint saw client rstls');
    is($c->{auth}, 'tls_client_auth', '... authenticated by its certificate');
    $h->stop;
}
{
    my ($oc, $ok) = $as->client_cert('CN=someone-else');
    my $h = server($oc, $ok, 'another certificate');
    my $r = $h->get('/api/ok.txt', token => $t);
    is($r->code, 503, 'another certificate: the endpoint refuses us, 503');
    like($h->error_log, qr/MAB00906: .*check AuthBearerIntrospectionAuth/, '... with the [error] line');
    $h->stop;
}
{
    my ($rc, $out) = MAB::Httpd->new(conf => <<"C")->configtest;
<Location /api>
    AuthBearerIntrospectionAuth tls_client_auth rstls $cert /nonexistent/key.pem
</Location>
C
    isnt($rc, 0, 'a missing key file: refused at startup');
    like($out, qr/AuthBearerIntrospectionAuth/, '... naming the directive');
}

done_testing();
