# The CGI example of the README: what a CGI program behind the module sees (cgi-bin/env.cgi
# prints its whole environment as JSON).
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use MAB::Test;

my $t = now();
my $payload = {
    iss     => ISS,
    aud     => AUD,
    sub     => 'auth0|alice',
    iat     => $t,
    exp     => $t + 300,
    profile => { username => 'alice.ü', groups => [ 'a', 'b' ] },
    name    => 'Zoë Ünïcødé 東京 🚀',
    level   => 5,
    ratio   => 0.25,
    roles   => [ 'admin', 'user' ],
    email_verified => JSON::PP::true,
    'https://example.com/tenant' => 'acme',
};
my $tok = mint(payload => $payload);
my $spoof = { 'X-Auth-User' => 'mallory', 'Authorization-Extra' => 'x' };

my $r = is_granted(req('/cgi-app/env', token => $tok, headers => $spoof), 'CGI: valid token');
my $env = env_of($r);
is($env->{REMOTE_USER}, 'alice.ü', 'REMOTE_USER from AuthBearerRemoteUserClaim /profile/username');
is($env->{AUTH_TYPE}, 'Bearer', 'AUTH_TYPE Bearer');
is($env->{BEARER_CLAIM_SUB}, 'auth0|alice', 'BEARER_CLAIM_SUB');
is($env->{BEARER_CLAIM_NAME}, 'Zoë Ünïcødé 東京 🚀', 'unicode claim');
is($env->{BEARER_CLAIM_LEVEL}, '5', 'integer claim');
is($env->{BEARER_CLAIM_RATIO}, '0.25', 'real claim');
is($env->{BEARER_CLAIM_ROLES}, '["admin","user"]', 'array claim as compact JSON');
is($env->{BEARER_CLAIM_EMAIL_VERIFIED}, 'true', 'boolean claim');
is($env->{BEARER_CLAIM_HTTPS___EXAMPLE_COM_TENANT}, 'acme', 'URL-named claim');
is_deeply(eval { JSON::PP->new->decode($env->{BEARER_CLAIM_PROFILE} // '') }, $payload->{profile},
    'nested object claim as JSON');
is_deeply(eval { JSON::PP->new->decode($env->{BEARER_CLAIMS} // '') }, $payload,
    'BEARER_CLAIMS: the whole payload');
is($env->{PRIMARY_GROUP}, 'a', 'AuthBearerClaimEnv /profile/groups/0 PRIMARY_GROUP');
ok(!exists $env->{PROFILE_MISSING}, 'AuthBearerClaimEnv with an absent claim: not set');
is($env->{HTTP_X_AUTH_USER}, 'alice.ü', 'AuthBearerClaimHeader reaches CGI as HTTP_X_AUTH_USER (not the spoof)');
ok(!exists $env->{HTTP_AUTHORIZATION}, 'no HTTP_AUTHORIZATION without CGIPassAuth');
my @leak = grep { index($env->{$_} // '', $tok) >= 0 } keys %$env;
ok(!@leak, 'the token is nowhere in the CGI environment') or diag "in: @leak";

# httpd's own CGIPassAuth On hands the Authorization header over ...
$env = env_of(is_granted(req('/cgi-app/passauth/env', token => $tok), 'CGI: CGIPassAuth On'));
is($env->{HTTP_AUTHORIZATION}, "Bearer $tok", 'CGIPassAuth On: HTTP_AUTHORIZATION');
is($env->{REMOTE_USER}, 'alice.ü', 'CGIPassAuth On: REMOTE_USER');
# ... unless AuthBearerPassToken Off withholds it
$env = env_of(is_granted(req('/cgi-app/passauth-off/env', token => $tok), 'CGI: CGIPassAuth On, PassToken Off'));
ok(!exists $env->{HTTP_AUTHORIZATION}, 'PassToken Off: no HTTP_AUTHORIZATION even with CGIPassAuth On');
is($env->{REMOTE_USER}, 'alice.ü', 'PassToken Off: REMOTE_USER still set');

# a token without the REMOTE_USER claim: 401 (the claim names who the user is)
is_denied(req('/cgi-app/env', token => mint(claims => { profile => { name => 'x' } }), headers => $spoof),
    'CGI: no /profile/username', status => 401, reason => 'missing user claim',
    challenge => challenge_invalid_token('missing user claim'));

# no token: the CGI program never runs; the error log says who/why with sub unknown
$r = is_denied(req('/cgi-app/env', headers => $spoof), 'CGI: no token', status => 401,
    challenge => challenge_401());

done_testing();
