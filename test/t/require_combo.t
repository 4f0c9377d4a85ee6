# Require composition: <RequireAll>, <RequireAny>, <RequireNone> and "Require not" with scope,
# claim, ip, method and valid-user (conf/handoff.conf.in, no AuthzSendForbiddenOnFailure).
# A valid token that the rules refuse: 403. A missing or bad token where a token decides: 401.
# A rule that no token could satisfy (a foreign ip) refuses before any token is looked at: 403.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use MAB::Test;

sub tok { mint(claims => { @_ }) }
my $bad = mint(claims => { scope => 'a b read write admin', iss => 'https://evil.test/' });

sub no_token_401 {
    my ($path, $name, %o) = @_;
    is_denied(req($path, %o), "$name: no token", status => 401, challenge => challenge_401());
    is_denied(req($path, token => $bad, %o), "$name: bad token", status => 401,
        reason => 'issuer mismatch', challenge => challenge_invalid_token('issuer mismatch'));
}

# a 403 that a non-token rule decided (ip, a negated rule): no RFC 6750 error, no token denial
sub forbidden_by_rule {
    my ($res, $name) = @_;
    is($res->code, 403, "$name: status 403") or diag $res->status_line . "\n" . $res->{mab_log};
    ok(!grep({ /error=/ } $res->header('WWW-Authenticate')), "$name: no error challenge");
    ok(scalar log_lines($res, qr/AH01630: client denied by server configuration/),
        "$name: mod_authz_core logged the refusal");
}

# <RequireAll> ip 127.0.0.1 + scope a
is_granted(req('/combo/all-ip/env', token => tok(scope => 'a')), 'all-ip: scope a');
is_denied(req('/combo/all-ip/env', token => tok(scope => 'b')), 'all-ip: scope b',
    status => 403, challenge => challenge_scope('a'));
no_token_401('/combo/all-ip/env', 'all-ip');

# <RequireAll> ip 192.0.2.1 + scope a: the ip rule refuses first, whatever the token
forbidden_by_rule(req('/combo/all-foreign-ip/env'), 'all-foreign-ip: no token');
forbidden_by_rule(req('/combo/all-foreign-ip/env', token => tok(scope => 'a')), 'all-foreign-ip: scope a');

# <RequireAny> scope admin | claim role editor
is_granted(req('/combo/any-scope-claim/env', token => tok(scope => 'admin')), 'any: scope admin');
is_granted(req('/combo/any-scope-claim/env', token => tok(role => 'editor')), 'any: role editor');
is_granted(req('/combo/any-scope-claim/env', token => tok(role => [ 'x', 'editor' ])), 'any: role array');
is_denied(req('/combo/any-scope-claim/env', token => tok(scope => 'read', role => 'viewer')),
    'any: neither', status => 403, challenge => challenge_scope('admin'));
no_token_401('/combo/any-scope-claim/env', 'any');

# <RequireAll> valid-user + <RequireNone> scope banned | claim role guest
my $r = is_granted(req('/combo/none/env', token => tok(scope => 'read', role => 'member')), 'none: clean token');
is(env_of($r)->{REMOTE_USER}, 'auth0|alice', 'none: REMOTE_USER');
# a negated rule the token meets: 403, logged with the rule, and no insufficient_scope (asking the
# client for scope "banned" would be nonsense)
sub negated_403 {
    my ($path, $token, $rule, $name) = @_;
    is_denied(req($path, token => $token), $name, status => 403, challenge => undef,
        reason => qr/\Qtoken meets a negated requirement: $rule\E/);
}
negated_403('/combo/none/env', tok(scope => 'read banned'), 'scope banned', 'none: scope banned');
negated_403('/combo/none/env', tok(role => [ 'member', 'guest' ]), 'claim role is guest', 'none: role guest');
negated_403('/combo/none/env', tok(scope => 'banned', role => 'guest'), 'scope banned', 'none: both');
no_token_401('/combo/none/env', 'none');

# <RequireAll> scope a + Require not claim /org/name blocked
is_granted(req('/combo/not-claim/env', token => tok(scope => 'a', org => { name => 'ok' })), 'not-claim: allowed org');
is_granted(req('/combo/not-claim/env', token => tok(scope => 'a')), 'not-claim: no org at all');
negated_403('/combo/not-claim/env', tok(scope => 'a', org => { name => 'blocked' }),
    'claim /org/name is blocked', 'not-claim: blocked org');
is_denied(req('/combo/not-claim/env', token => tok(scope => 'b', org => { name => 'ok' })),
    'not-claim: no scope a', status => 403, challenge => challenge_scope('a'));
no_token_401('/combo/not-claim/env', 'not-claim');

# <RequireAll> scope read + <RequireAny> method GET HEAD | scope write
is_granted(req('/combo/method/env', token => tok(scope => 'read')), 'method: GET with read');
is_granted(req('/combo/method/env', method => 'POST', token => tok(scope => 'read write')),
    'method: POST with read write');
is_denied(req('/combo/method/env', method => 'POST', token => tok(scope => 'read')),
    'method: POST with read only', status => 403, challenge => challenge_scope('write'));
is_denied(req('/combo/method/env', token => tok(scope => 'write')), 'method: GET with write only',
    status => 403, challenge => challenge_scope('read'));
no_token_401('/combo/method/env', 'method GET');
no_token_401('/combo/method/env', 'method POST', method => 'POST');

# <RequireAny> (scope a + claim /org/id 7) | (scope b + claim email_verified true)
is_granted(req('/combo/nested/env', token => tok(scope => 'a', org => { id => 7 })), 'nested: branch 1');
is_granted(req('/combo/nested/env', token => tok(scope => 'b', email_verified => JSON::PP::true)),
    'nested: branch 2');
is_denied(req('/combo/nested/env', token => tok(scope => 'a', org => { id => 8 })), 'nested: neither',
    status => 403, challenge => qr/^Bearer realm="messages-api", error="insufficient_scope", scope="[ab ]+"$/);
no_token_401('/combo/nested/env', 'nested');

done_testing();
