# Issuer and key source merge as one unit (issue 12, item 6): an inner section that names
# another issuer never inherits the outer issuer's key set or secret. Before the fix a token
# claiming the inner issuer, signed with the outer issuer's key, was accepted (200).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Test qw(mint keyfile);
use MAB::Httpd;
use MAB::Lifecycle;

my $h = MAB::Httpd->new(paths => [qw(outer outer/other outer/same outer/url outer/own)]);
my $jwks = $h->dir . '/jwks.json';
publish_jwks($jwks, jwk('issuer'));
my $other_jwks = $h->dir . '/other-jwks.json';
publish_jwks($other_jwks, jwk('other'));
{
    open my $fh, '>>', $h->dir . '/httpd.conf' or die;
    print $fh <<"CONF";
<Location /outer>
    AuthType Bearer
    AuthName "merge"
    AuthBearerIssuer   https://issuer.test/
    AuthBearerAudience https://quickstarts/api
    AuthBearerJWKS     $jwks
    Require valid-user
</Location>
# another issuer, no key source of its own (not a URL: no discovery either)
<Location /outer/other>
    AuthBearerIssuer urn:example:other-issuer
</Location>
# the same issuer named again keeps its keys
<Location /outer/same>
    AuthBearerIssuer https://issuer.test/
</Location>
# another issuer with a URL: its own discovery, never the outer key set
<Location /outer/url>
    AuthBearerIssuer https://other-issuer.invalid/
</Location>
# another issuer with its own key set
<Location /outer/own>
    AuthBearerIssuer urn:example:own
    AuthBearerJWKS   $other_jwks
</Location>
CONF
}
ok($h->start, 'httpd starts') or diag $h->{start_output};

my $r = $h->get('/outer/ok.txt', token => mint());
is($r->code, 200, 'outer issuer, its key: 200');
$r = $h->get('/outer/same/ok.txt', token => mint());
is($r->code, 200, 'the same issuer named again keeps its keys: 200');

$r = $h->get('/outer/other/ok.txt', token => mint(claims => { iss => 'urn:example:other-issuer' }));
is($r->code, 500, "another issuer without keys: never the outer issuer's key set (500)");
like($h->error_log, qr/MAB00010: AuthBearerJWKS is not configured for \/outer\/other/,
    'another issuer without keys: the log names AuthBearerJWKS');

$r = $h->get('/outer/url/ok.txt', token => mint(claims => { iss => 'https://other-issuer.invalid/' }));
is($r->code, 401, "another issuer with a URL: its own discovery, not the outer key set (401)");
like($r->header('WWW-Authenticate') // '', qr/no keys available/, 'another issuer with a URL: no keys available');

$r = $h->get('/outer/own/ok.txt', token => mint(claims => { iss => 'urn:example:own' }));
is($r->code, 401, "another issuer with its own key set: the outer issuer's key does not verify");
$r = $h->get('/outer/own/ok.txt', token => mint(key => 'other', claims => { iss => 'urn:example:own' }));
is($r->code, 200, 'another issuer with its own key set: its own key verifies') or diag $r->as_string;

$h->stop;
done_testing();
