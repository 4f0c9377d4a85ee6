# Several issuers on one <Location> (issue 13): each token's iss picks its issuer, and only
# that issuer's keys verify it, even when both key sets hold the same kid. Per-issuer settings
# come from <AuthBearerIssuer> containers; a section's own explicit setting beats them. One
# issuer is found by discovery, the other has an explicit JWKS file in its container.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use MAB::Test qw(mint);
use MAB::Httpd;
use MAB::JWKSServer;
use MAB::Lifecycle;

my $srv = MAB::JWKSServer->new;
my $A = $srv->url('/');
my $B = 'https://b.issuer.test/';
$srv->publish('/.well-known/openid-configuration',
    JSON::PP->new->canonical->encode({ issuer => $A, jwks_uri => $srv->url('/a-keys.json') }));
# The same kid in both sets, with different keys.
$srv->publish('/a-keys.json', jwks_json(jwk('issuer', kid => 'shared')));

my $h = MAB::Httpd->new(paths => [qw(both both/scoped narrow onlyb onlyb/own)]);
my $bjwks = $h->dir . '/b-jwks.json';
publish_jwks($bjwks, jwk('other', kid => 'shared'));
my $common = qq{    AuthType Bearer\n    AuthName "multi"\n};
my $conf = <<"CONF";
LogFormat "%u %>s %U" userlog
CustomLog "logs/user_log" userlog
<AuthBearerIssuer $A>
    AuthBearerAudience https://api-a.test
    AuthBearerScopeClaim scp
</AuthBearerIssuer>
<AuthBearerIssuer $B>
    AuthBearerJWKS $bjwks
    AuthBearerAudience https://api-b.test
    AuthBearerRemoteUserClaim email
    AuthBearerAlgorithms RS256
</AuthBearerIssuer>
<Location /both>
$common    AuthBearerIssuer $A $B
    Require valid-user
</Location>
<Location /both/scoped>
    Require scope read:items
</Location>
<Location /narrow>
$common    AuthBearerIssuer $A $B
    AuthBearerAudience https://narrow.test
    Require valid-user
</Location>
<Location /onlyb>
$common    AuthBearerIssuer $B
    Require valid-user
</Location>
<Location /onlyb/own>
    AuthBearerJWKS $h->{dir}/own-jwks.json
</Location>
CONF
publish_jwks($h->dir . '/own-jwks.json', jwk('issuer', kid => 'shared'));
open my $fh, '>>', $h->dir . '/httpd.conf' or die;
print $fh $conf;
close $fh;
ok($h->start, 'httpd starts with two issuers on one location') or do {
    diag $h->{start_output}; done_testing(); exit };

sub tok_a { mint(key => 'issuer', kid => 'shared', claims => { iss => $A, aud => 'https://api-a.test', @_ }) }
sub tok_b { mint(key => 'other', kid => 'shared',
                 claims => { iss => $B, aud => 'https://api-b.test', email => 'bob@b.test', @_ }) }
# httpd writes the access log after the response: wait (up to 5 s) for the line looked for
sub user_log {
    my ($want) = @_;
    my $read = sub { MAB::Httpd::_slurp($h->dir . '/logs/user_log') // '' };
    for (1 .. 50) { my $l = $read->(); return $l if !$want || $l =~ $want; select undef, undef, undef, 0.1 }
    return $read->();
}
sub www { $_[0]->header('WWW-Authenticate') // '' }

my $r = $h->get('/both/ok.txt', token => tok_a());
is($r->code, 200, "issuer A's token (discovered keys) passes") or diag $h->error_log;
$r = $h->get('/both/ok.txt', token => tok_b());
is($r->code, 200, "issuer B's token (its container's JWKS, same kid) passes") or diag $h->error_log;
like(user_log(qr{^bob\@b\.test 200}m), qr{^bob\@b\.test 200 /both/ok\.txt$}m, "B's REMOTE_USER from its container's claim (email)");
like(user_log(qr{^auth0\|alice 200}m), qr{^auth0\|alice 200 /both/ok\.txt$}m, "A's REMOTE_USER is sub (default)");

# Cross-issuer key confusion: the token names one issuer but is signed with the other's key.
$r = $h->get('/both/ok.txt', token => mint(key => 'other', kid => 'shared',
    claims => { iss => $A, aud => 'https://api-a.test' }));
is($r->code, 401, "a token naming A signed with B's key (same kid) is refused");
like(www($r), qr/error="invalid_token"/, '... as invalid_token');
$r = $h->get('/both/ok.txt', token => mint(key => 'issuer', kid => 'shared',
    claims => { iss => $B, aud => 'https://api-b.test', email => 'x@b.test' }));
is($r->code, 401, "a token naming B signed with A's key (same kid) is refused");
$r = $h->get('/both/ok.txt', token => mint(claims => { iss => 'https://c.issuer.test/', aud => 'https://api-a.test' }));
is($r->code, 401, 'a token from neither issuer is refused');
like(www($r), qr/error_description="issuer mismatch"/, '... with issuer mismatch');

# Per-issuer audience from the containers.
$r = $h->get('/both/ok.txt', token => tok_a(aud => 'https://api-b.test'));
is($r->code, 401, "A's token with B's audience is refused (A's container says api-a)");
like(www($r), qr/audience/, '... for its audience');
$r = $h->get('/both/ok.txt', token => tok_b(aud => 'https://api-a.test'));
is($r->code, 401, "B's token with A's audience is refused");
# Per-issuer algorithms: B allows RS256 only.
$r = $h->get('/both/ok.txt', token => mint(key => 'other', kid => 'shared', alg => 'RS384',
    claims => { iss => $B, aud => 'https://api-b.test', email => 'b@b.test' }));
is($r->code, 401, "B's container allows RS256 only: RS384 is refused");
like($h->error_log, qr/denied 401 .*alg is not in the allow-list \(kid=shared, alg=RS384, iss=\Q$B\E/,
     '... by its allow-list');
# A has no such limit: its RS384 token gets past the allow-list (and then fails only because
# A's JWK says alg RS256).
$r = $h->get('/both/ok.txt', token => mint(key => 'issuer', kid => 'shared', alg => 'RS384',
    claims => { iss => $A, aud => 'https://api-a.test' }));
like($h->error_log, qr/denied 401 .*no key with this kid fits the alg \(kid=shared, alg=RS384, iss=\Q$A\E/,
     "A's allow-list admits RS384 (only its key's own alg refuses it)");

# Per-issuer scope claim: A reads scopes only from scp, B from the defaults.
$r = $h->get('/both/scoped/ok.txt', token => tok_a(scp => ['read:items']));
is($r->code, 200, "A's token with scp read:items passes Require scope (A's AuthBearerScopeClaim scp)");
$r = $h->get('/both/scoped/ok.txt', token => tok_a(scope => 'read:items'));
is($r->code, 403, "A's token with the scope only in 'scope' is refused: A reads scp");
like(www($r), qr/error="insufficient_scope"/, '... insufficient_scope');
$r = $h->get('/both/scoped/ok.txt', token => tok_b(scope => 'read:items'));
is($r->code, 200, "B's token with scope read:items passes (B reads the default claims)");
$r = $h->get('/both/scoped/ok.txt', token => tok_b(scp => ['read:items']));
is($r->code, 200, "B's token with scp passes too (scp is one of the defaults)");

# A section's explicit audience beats the containers'.
$r = $h->get('/narrow/ok.txt', token => tok_a());
is($r->code, 401, "the section's AuthBearerAudience beats A's container: api-a refused");
$r = $h->get('/narrow/ok.txt', token => tok_a(aud => 'https://narrow.test'));
is($r->code, 200, "... and the section's audience passes for A");
$r = $h->get('/narrow/ok.txt', token => tok_b(aud => 'https://narrow.test'));
is($r->code, 200, "... and for B");

# One issuer: the container's key set and audience apply; the section's own JWKS beats it.
$r = $h->get('/onlyb/ok.txt', token => tok_b());
is($r->code, 200, "a one-issuer section uses the container's JWKS and audience") or diag $h->error_log;
$r = $h->get('/onlyb/own/ok.txt', token => tok_b());
is($r->code, 401, "its subsection's own AuthBearerJWKS beats the container's: B's key refused");
$r = $h->get('/onlyb/own/ok.txt', token => mint(key => 'issuer', kid => 'shared',
    claims => { iss => $B, aud => 'https://api-b.test', email => 'o@b.test' }));
is($r->code, 200, '... and the key in its own set passes') or diag $h->error_log;
$h->stop;

# --- startup errors and warnings ----------------------------------------------------------------
sub configtest {
    my ($body) = @_;
    my $t = MAB::Httpd->new(conf => $body);
    return $t->configtest;
}
my $jwks_file = $h->dir . '/b-jwks.json';
my ($rc, $out) = configtest(<<"C");
<Location /x>
$common    AuthBearerIssuer $A $B
    AuthBearerJWKS $jwks_file
    Require valid-user
</Location>
C
isnt($rc, 0, 'AuthBearerJWKS in a section with two issuers: startup error');
like($out, qr/AuthBearerJWKS cannot be used in a section that accepts several issuers/, '... naming the directive');
($rc, $out) = configtest(<<"C");
<Location /x>
$common    AuthBearerJWKS $jwks_file
    AuthBearerIssuer $A $B
    Require valid-user
</Location>
C
isnt($rc, 0, '... also when AuthBearerJWKS comes first');
($rc, $out) = configtest(<<"C");
<Location /x>
$common    AuthBearerIssuer $A $B
    AuthBearerSharedSecret file:/dev/null
    Require valid-user
</Location>
C
like($out, qr/AuthBearerSharedSecret cannot be used in a section that accepts several issuers/,
     'AuthBearerSharedSecret likewise');
($rc, $out) = configtest(<<"C");
<AuthBearerIssuer $B>
    AuthBearerAudience https://one
</AuthBearerIssuer>
<AuthBearerIssuer $B>
    AuthBearerAudience https://two
</AuthBearerIssuer>
C
isnt($rc, 0, 'two containers for one issuer: startup error');
like($out, qr/<AuthBearerIssuer \Q$B\E> appears twice/, '... saying so');
($rc, $out) = configtest(<<"C");
<AuthBearerIssuer $B>
    AuthBearerOptional On
</AuthBearerIssuer>
C
isnt($rc, 0, 'a directive that is not an issuer setting inside the container: startup error');
like($out, qr/AuthBearerOptional is not allowed inside <AuthBearerIssuer/, '... naming it');
($rc, $out) = configtest(<<"C");
<Location /x>
    <AuthBearerIssuer $B>
    </AuthBearerIssuer>
</Location>
C
isnt($rc, 0, 'the container inside a <Location>: startup error');
($rc, $out) = configtest(<<"C");
<Location /x>
$common    AuthBearerIssuer $B $B
</Location>
C
like($out, qr/named twice/, 'the same issuer twice on one line: startup error');

# A container no section uses: a warning at startup (the server still starts).
my $w = MAB::Httpd->new(paths => ['x'], conf => <<"C");
<AuthBearerIssuer https://typo.issuer.test/>
    AuthBearerAudience https://api
</AuthBearerIssuer>
<Location /x>
$common    AuthBearerIssuer $B
    AuthBearerAudience https://api-b.test
    AuthBearerJWKS $jwks_file
    Require valid-user
</Location>
C
ok($w->start, 'httpd starts with an unused container') or diag $w->{start_output};
like($w->error_log, qr/MAB00060: <AuthBearerIssuer https:\/\/typo\.issuer\.test\/> is used by no section/,
     '... and warns about it');
unlike($w->error_log, qr/MAB00060: <AuthBearerIssuer \Q$B\E>/, '... not about a used one');
$w->stop;

# Two issuers, one of them without any key source: startup names the issuer.
my $m = MAB::Httpd->new(paths => ['x'], conf => <<"C");
<AuthBearerIssuer urn:no-keys>
    AuthBearerAudience https://api
</AuthBearerIssuer>
<Location /x>
$common    AuthBearerIssuer $B urn:no-keys
    AuthBearerAudience https://api
    Require valid-user
</Location>
C
ok($m->start, 'httpd starts with an issuer that has no key source');
like($m->error_log, qr/MAB00007: .*AuthBearerJWKS \(for issuer urn:no-keys/, '... and names that issuer');
$m->stop;

done_testing();
