# Transport and size rules, each with its own real httpd:
#  - a plain http:// key source to a host that is not loopback is a startup error naming
#    the directive (AuthBearerJWKS, or AuthBearerIssuer for discovery), accepted with
#    AuthBearerAllowInsecureHTTP On;
#  - https key sources are verified: a self-signed server is refused with the system
#    store and accepted with AuthBearerCAFile;
#  - AuthBearerCacheSize: a key set that does not fit is refused with the size it needs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp ();
use MAB::Test qw(mint);
use MAB::Httpd;
use MAB::JWKSServer;
use MAB::Lifecycle;

sub section { bearer_location('p', issuer => $_[0], jwks => $_[1]) }

# --- http to a non-loopback host ---
{
    my $h = MAB::Httpd->new(paths => ['p'], conf => "AuthBearerFetchTimeout 1\n"
        . section('https://issuer.test/', 'http://192.0.2.1/jwks.json'));
    my ($rc, $out) = $h->configtest;
    ok($rc != 0, 'http JWKS on 192.0.2.1: httpd -t fails');
    like($out, qr{MAB00040: AuthBearerJWKS http://192\.0\.2\.1/jwks\.json: plain http://}, 'httpd -t names the directive')
        or diag $out;
    ok(!$h->start, 'http JWKS on 192.0.2.1: httpd refuses to start');
    like($h->{start_output}, qr{MAB00040: AuthBearerJWKS http://192\.0\.2\.1/jwks\.json: plain http:// to a host that is not loopback.*AuthBearerAllowInsecureHTTP On},
        'the startup error names the directive, the URL and the opt-in') or diag $h->{start_output};
}
{
    my $h = MAB::Httpd->new(paths => ['p'], conf => "AuthBearerFetchTimeout 1\n"
        . "AuthBearerAllowInsecureHTTP On\n" . section('https://issuer.test/', 'http://192.0.2.1/jwks.json'));
    is(($h->configtest)[0], 0, 'with AuthBearerAllowInsecureHTTP On: httpd -t passes');
    ok($h->start, 'http JWKS on 192.0.2.1 with AuthBearerAllowInsecureHTTP On: starts')
        or diag $h->{start_output};
    $h->stop;
}
{
    my $h = MAB::Httpd->new(paths => ['p'], conf => section('http://192.0.2.1/'));
    ok(!$h->start, 'discovery from an http issuer on 192.0.2.1: httpd refuses to start');
    like($h->{start_output}, qr{MAB00040: AuthBearerIssuer http://192\.0\.2\.1/ \(discovery, in <Location /p>\): plain http://},
        'the startup error names AuthBearerIssuer and the section') or diag $h->{start_output};
}
{
    my $h = MAB::Httpd->new(paths => ['p'], conf => "AuthBearerCacheSize 12X\n" . section('https://issuer.test/', 'http://127.0.0.1:1/x.json'));
    ok(!$h->start, 'AuthBearerCacheSize 12X: refused');
    like($h->{start_output}, qr/AuthBearerCacheSize: '12X' is not a size/, '... with the reason');
}

# --- https: system store vs AuthBearerCAFile ---
my $tmp = File::Temp::tempdir(CLEANUP => 1);
chmod 0755, $tmp;
system('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj',
       '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', "$tmp/key.pem",
       '-out', "$tmp/cert.pem", '-loglevel', 'error') == 0
    or system('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj',
       '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', "$tmp/key.pem",
       '-out', "$tmp/cert.pem") == 0 or die 'openssl req failed';
chmod 0644, "$tmp/cert.pem", "$tmp/key.pem";
my $tls = MAB::JWKSServer->new(tls => [ "$tmp/cert.pem", "$tmp/key.pem" ]);
$tls->publish('/jwks.json', jwks_json(jwk('issuer')));
{
    my $h = MAB::Httpd->new(paths => ['p'], conf => "AuthBearerFetchTimeout 2\n"
        . section('https://issuer.test/', $tls->url('/jwks.json')));
    ok($h->start, 'https key source, system CA store: starts') or diag $h->{start_output};
    my $r = $h->get('/p/ok.txt', token => mint());
    is($r->code, 401, 'self-signed https key source not trusted by the system store: 401');
    like($h->error_log, qr/MAB00030: fetching key set \Q${\ $tls->url('\/jwks.json')}\E failed: .*(?:certificate|SSL)/i,
        'the TLS verification failure is logged') or diag $h->error_log;
    $h->stop;
}
{
    my $h = MAB::Httpd->new(paths => ['p'], conf => "AuthBearerFetchTimeout 2\n"
        . "AuthBearerCAFile $tmp/cert.pem\n" . section('https://issuer.test/', $tls->url('/jwks.json')));
    ok($h->start, 'AuthBearerCAFile: starts') or diag $h->{start_output};
    ok(wait_for(12, sub { $h->get('/p/ok.txt', token => mint())->code == 200 }),
        'AuthBearerCAFile: the https key source is trusted, token accepted') or diag $h->error_log;
    $h->stop;
}
# --- redirects: https to https only, plain http never ---
{
    my $plain = MAB::JWKSServer->new;
    $plain->publish('/jwks.json', jwks_json(jwk('issuer')));
    $plain->redirect('/moved.json', $plain->url('/jwks.json'));
    $tls->redirect('/to-http.json', $plain->url('/jwks.json'));
    $tls->redirect('/to-https.json', $tls->url('/jwks.json'));
    my $conf = "AuthBearerFetchTimeout 4\nAuthBearerCAFile $tmp/cert.pem\n";
    for my $case ([ 'http', $plain->url('/moved.json') ], [ 'tohttp', $tls->url('/to-http.json') ],
                  [ 'tohttps', $tls->url('/to-https.json') ]) {
        $conf .= section('https://issuer.test/', $case->[1]) =~ s{/p>}{/$case->[0]>}r;
    }
    my $h = MAB::Httpd->new(paths => [qw(http tohttp tohttps)], conf => $conf);
    ok($h->start, 'redirecting key sources: starts') or diag $h->{start_output};
    # (two TLS handshakes: on a loaded machine the first try may time out; retried after 5 s)
    ok(wait_for(12, sub { $h->get('/tohttps/ok.txt', token => mint())->code == 200 }),
        'https redirected to https: followed') or diag $h->error_log;
    is($h->get('/tohttp/ok.txt', token => mint())->code, 401, 'https redirected to http: refused');
    is($h->get('/http/ok.txt', token => mint())->code, 401, 'plain http redirect: not followed');
    is($plain->count('/jwks.json'), 0, 'the http target of a redirect was never fetched');
    like($h->error_log, qr/MAB00030: fetching key set \Q${\ $plain->url('\/moved.json')}\E failed: HTTP status 302/,
        'plain http redirect: logged as a 302') or diag $h->error_log;
    $h->stop;
    $plain->stop;
}
$tls->stop;

# --- AuthBearerCacheSize ---
my $srv = MAB::JWKSServer->new;
my @many = map { jwk($_ % 2 ? 'other' : 'issuer', kid => sprintf 'entra-%02d', $_) } 0 .. 29;
push @many, jwk('issuer');
my $big = jwks_json(@many);
$srv->publish('/big.json', $big);
diag sprintf 'large key set: %d keys, %d bytes', scalar @many, length $big;
ok(length $big > 10 * 1024, 'the large key set is over 10 KiB');
{
    my $h = MAB::Httpd->new(paths => ['p'], conf => "AuthBearerCacheSize 8K\n"
        . section('https://issuer.test/', $srv->url('/big.json')));
    ok($h->start, 'AuthBearerCacheSize 8K: starts') or diag $h->{start_output};
    ok(wait_for(5, sub { $h->error_log =~ /MAB00030/ }), 'the warm-up at startup reports the size');
    my $need = int((length($big) + 1023) / 1024);
    like($h->error_log, qr/key set is \d+ bytes, more than AuthBearerCacheSize \(8192 bytes\): set AuthBearerCacheSize ${need}K or more/,
        "the error names the directive and the size needed (${need}K)") or diag $h->error_log;
    is($h->get('/p/ok.txt', token => mint())->code, 401, 'a key set that does not fit: 401');
    $h->stop;
}
{
    my $h = MAB::Httpd->new(paths => ['p'], conf => "AuthBearerCacheSize 64K\n"
        . section('https://issuer.test/', $srv->url('/big.json')));
    ok($h->start, 'AuthBearerCacheSize 64K: starts') or diag $h->{start_output};
    is($h->get('/p/ok.txt', token => mint())->code, 200, 'large key set (31 RSA keys) works');
    is($h->get('/p/ok.txt', token => mint(key => 'other', kid => 'entra-29'))->code, 200,
        'the last key of the large set works');
    $h->stop;
}
$srv->stop;
done_testing();
