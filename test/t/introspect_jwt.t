# AuthBearerIntrospect All: a JWT that verifies locally is also asked about at the issuer's
# RFC 7662 endpoint (revocation checking, FAPI 2.0). oidc-provider calls its own JWTs inactive,
# so the endpoint here is MAB::IntrospectServer in JWT mode: it verifies the JWT with the
# issuer's keys and answers from its RFC 7009 revocation list. Also: the bearer client
# authentication, and a wrong bearer secret.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use MAB::Test qw(mint keyfile);
use MAB::Httpd;
use MAB::IntrospectServer;

my $mods = MAB::Httpd::_modules_dir();
my $secret = 'introspection-bearer-' . join '', map { ('a' .. 'z')[ rand 26 ] } 1 .. 24;
my $is = MAB::IntrospectServer->new(auth => 'bearer', secret => $secret,
                                    jwks => keyfile('jwks.json'));

sub server {
    my ($secret_text, $what) = @_;
    my $h = MAB::Httpd->new(paths => ['all', 'local']);
    my $sf = $h->dir . '/introspection-secret';
    open my $fh, '>', $sf or die;
    print $fh "$secret_text\n";
    close $fh;
    chmod 0644, $sf;
    my $jwks = keyfile('jwks.json');
    open $fh, '>>', $h->dir . '/httpd.conf' or die;
    print $fh <<"C";
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
AuthBearerFetchTimeout 2
<AuthBearerIssuer https://issuer.test/>
    AuthBearerJWKS $jwks
    AuthBearerAudience https://quickstarts/api
    AuthBearerIntrospection @{[ $is->url('/introspect') ]}
    AuthBearerIntrospectionAuth bearer file:$sf
    AuthBearerIntrospectionCache 2
</AuthBearerIssuer>
<Location /all>
    AuthType Bearer
    AuthName "all"
    AuthBearerIssuer https://issuer.test/
    AuthBearerIntrospect All
    Require valid-user
</Location>
<Location /local>
    AuthType Bearer
    AuthName "local"
    AuthBearerIssuer https://issuer.test/
    AuthBearerIntrospect Off
    Require valid-user
</Location>
C
    close $fh;
    ok($h->start, "httpd starts ($what)") or diag $h->{start_output};
    return $h;
}

sub calls { $is->count(path => '/introspect') }

my $h = server($secret, 'the right bearer secret');
my $jwt = mint(claims => { jti => 'jwt-1' });
my $n0 = calls();
my $r = $h->get('/all/ok.txt', token => $jwt);
is($r->code, 200, 'All: a valid JWT the endpoint calls active: 200') or diag $h->error_log;
is(calls() - $n0, 1, '... after one introspection call');
my $c = $is->calls(path => '/introspect')->[-1] // {};
is($c->{auth}, 'bearer', '... authenticated with the bearer secret');
ok($c->{client_ok}, '... which the endpoint accepted');
is($h->get('/all/ok.txt', token => $jwt)->code, 200, 'the same JWT again: 200');
is(calls() - $n0, 1, '... from the cache');
is($h->get('/local/ok.txt', token => $jwt)->code, 200, 'AuthBearerIntrospect Off: verified locally only');
is(calls() - $n0, 1, '... no call');

# A bad signature is refused before anything is asked.
$r = $h->get('/all/ok.txt', token => mint(key => 'other', claims => { jti => 'forged' }));
is($r->code, 401, 'a forged JWT: 401');
is(calls() - $n0, 1, '... without an introspection call');

# Revocation: within the cache time, not before.
my $t0 = time;
$is->revoke($jwt);
is($h->get('/all/ok.txt', token => $jwt)->code, 200, 'revoked at the server: still 200 from the cache')
    if time - $t0 < 1.5;
sleep 2.2 - (time - $t0) if time - $t0 < 2.2;
$r = $h->get('/all/ok.txt', token => $jwt);
is($r->code, 401, 'after the cache time: the revoked JWT is refused');
like($r->header('WWW-Authenticate') // '', qr/error="invalid_token", error_description="token is not active"/,
     '... as not active');
is($h->get('/local/ok.txt', token => $jwt)->code, 200, 'where nothing introspects it is still valid (by design)');

# The answer's exp is honoured too.
my $short = mint(claims => { jti => 'jwt-short' });
$is->answer($short, { active => JSON::PP::true(), exp => time - 120 });
$r = $h->get('/all/ok.txt', token => $short);
is($r->code, 401, 'an answer whose exp has passed refuses the JWT');
like($r->header('WWW-Authenticate') // '', qr/token expired/, '... as expired');

# The endpoint down: 503, never 200.
$is->mode('down');
$r = $h->get('/all/ok.txt', token => mint(claims => { jti => 'jwt-down' }));
is($r->code, 503, 'endpoint down: a JWT under All gets 503');
$is->mode('ok');
$h->stop;

# A wrong bearer secret: the endpoint refuses us.
my $bad = server('not-the-secret', 'a wrong bearer secret');
$r = $bad->get('/all/ok.txt', token => mint(claims => { jti => 'jwt-2' }));
is($r->code, 503, 'a wrong bearer secret: 503, not a grant');
like($bad->error_log, qr/MAB00906: .*check AuthBearerIntrospectionAuth/, '... and the [error] line');
unlike($bad->error_log, qr/not-the-secret|\Q$secret\E/, '... never a secret in the log');
$bad->stop;

done_testing();
