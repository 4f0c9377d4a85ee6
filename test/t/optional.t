# AuthBearerOptional On (conf/handoff.conf.in): no token -> anonymous where the Require lines
# allow it (valid-user included, with no REMOTE_USER shown); a present token is always verified
# (bad: 401, good: identity); scope and claim still need a token.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Test;

my $spoof = { 'X-Auth-Subject' => 'spoofed' };

# Require all granted
my $r = is_granted(req('/optional/env', headers => $spoof), 'optional: no token');
my $env = env_of($r);
ok(!exists $env->{REMOTE_USER}, 'anonymous: no REMOTE_USER');
ok(!exists $env->{AUTH_TYPE} || $env->{AUTH_TYPE} eq 'Bearer', 'anonymous: AUTH_TYPE at most the configured type');
ok(!grep({ /^BEARER_CLAIM/ } keys %$env), 'anonymous: no BEARER_CLAIM* variables');
ok(!exists $env->{HTTP_X_AUTH_SUBJECT}, 'anonymous: spoofed X-Auth-Subject removed');
ok(!$r->header('WWW-Authenticate'), 'anonymous: no challenge on the 200');

$r = is_granted(req('/optional/env', token => mint(), headers => $spoof), 'optional: valid token');
$env = env_of($r);
is($env->{REMOTE_USER}, 'auth0|alice', 'valid token: REMOTE_USER even under Require all granted');
is($env->{BEARER_CLAIM_SUB}, 'auth0|alice', 'valid token: claims exported');
is($env->{HTTP_X_AUTH_SUBJECT}, 'auth0|alice', 'valid token: claim header set');

is_denied(req('/optional/env', token => mint(claims => { exp => now() - 3600 }), headers => $spoof),
    'optional: expired token', status => 401, reason => 'token expired',
    challenge => challenge_invalid_token('token expired'));
is_denied(req('/optional/env', token => mint(key => 'other')), 'optional: unknown key',
    status => 401, reason => qr/.+/, challenge => qr/error="invalid_token"/);
is_denied(req('/optional/env', auth => 'Bearer a.b.c d.e.f'), 'optional: two tokens',
    status => 400, challenge => challenge_invalid_request());
is_denied(req('/optional/env', auth => 'Bearer '), 'optional: empty token',
    status => 400, challenge => challenge_invalid_request());
# another scheme is not a bearer token: anonymous
$env = env_of(is_granted(req('/optional/env', auth => 'Basic YWxpY2U6c2VjcmV0'), 'optional: Basic credentials'));
ok(!exists $env->{REMOTE_USER}, 'Basic credentials: anonymous');
# ... but a bearer token behind it is still a bearer token (issue 12, item 10): httpd joins two
# Authorization fields into one ("Basic …, Bearer …"), and that request carries two credentials
is_denied(req('/optional/env', auth => 'Basic YWxpY2U6c2VjcmV0, Bearer not-a-valid-token'),
    'optional: Basic and a bad Bearer token in one field', status => 400,
    challenge => challenge_invalid_request(), reason => qr/more than one token/);
{
    # two header fields, as a client (or HTTP/2) sends them
    my $res = Apache::TestRequest::GET('/optional/env', 'Authorization' => 'Basic YWxpY2U6c2VjcmV0',
        'Authorization' => 'Bearer not-a-valid-token');
    is($res->code, 400, 'optional: Basic and Bearer in two fields: 400');
}

# Require scope a: anonymity never grants a scope
is_denied(req('/optional/scoped/env'), 'optional scoped: no token', status => 401,
    challenge => challenge_401());
is_granted(req('/optional/scoped/env', token => mint(claims => { scope => 'a' })), 'optional scoped: scope a');
is_denied(req('/optional/scoped/env', token => mint(claims => { scope => 'b' })), 'optional scoped: scope b',
    status => 403, challenge => challenge_scope('a'));
is_denied(req('/optional/scoped/env', token => mint(claims => { scope => 'a', iss => 'x' })),
    'optional scoped: bad token', status => 401, reason => 'issuer mismatch',
    challenge => challenge_invalid_token('issuer mismatch'));

# Require valid-user: anonymous passes, but shows no identity to the application
$r = is_granted(req('/optional/user/env', headers => $spoof), 'optional valid-user: no token');
$env = env_of($r);
ok(!exists $env->{REMOTE_USER}, 'optional valid-user, no token: no REMOTE_USER (not even empty)');
ok(!grep({ /^BEARER_CLAIM/ } keys %$env), 'optional valid-user, no token: no BEARER_CLAIM*');
ok(!exists $env->{HTTP_X_AUTH_SUBJECT}, 'optional valid-user, no token: spoofed header removed');
ok(!$r->header('WWW-Authenticate'), 'optional valid-user, no token: no challenge');
is_denied(req('/optional/user/env', token => mint(claims => { exp => now() - 3600 })),
    'optional valid-user: expired token', status => 401, reason => 'token expired',
    challenge => challenge_invalid_token('token expired'));
# RequireAll of valid-user and a scope: the scope still needs a token
is_denied(req('/optional/user-scoped/env'), 'optional valid-user+scope: no token', status => 401,
    challenge => challenge_401());
is_granted(req('/optional/user-scoped/env', token => mint(claims => { scope => 'a' })),
    'optional valid-user+scope: scope a');
is(env_of(is_granted(req('/optional/user/env', token => mint()), 'optional valid-user: token'))->{REMOTE_USER},
    'auth0|alice', 'optional valid-user: REMOTE_USER');

# An inherited AuthBearerOptional On turns an inner Require valid-user into "anonymous allowed":
# said at startup for each such section (issue 12, item 15), not for the others
{
    open my $fh, '<', MAB::Test::error_log() or die "error_log: $!";
    my @w = grep { /MAB00009:/ } <$fh>;
    close $fh;
    is(scalar(grep { m{<Location /optional/user> has Require valid-user but inherits AuthBearerOptional On} } @w),
        1, 'startup warning for /optional/user');
    is(scalar(grep { m{<Location /optional(/scoped|/user-scoped)?>} } @w), 0,
        'no warning where Optional is set in the section itself, no valid-user is required, or a '
        . 'scope line needs the token anyway');
}

done_testing();
