# Require scope: all listed scopes; 403 without AuthzSendForbiddenOnFailure, also inside
# <RequireAll> and <RequireAny>.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Test;

sub tok { mint(claims => { scope => $_[0] }) }

# Require scope a b
is_granted(req('/scope/both/env', token => tok('a b')), 'scope a b: both present');
is_granted(req('/scope/both/env', token => tok('b c a')), 'scope a b: both among others');
is_denied(req('/scope/both/env', token => tok('a')), 'scope a b: only a',
    status => 403, challenge => challenge_scope('a b'));
is_denied(req('/scope/both/env', token => tok('b')), 'scope a b: only b',
    status => 403, challenge => challenge_scope('a b'));
is_denied(req('/scope/both/env', token => mint()), 'scope a b: no scope claim',
    status => 403, challenge => challenge_scope('a b'));
is_granted(req('/scope/both/env', token => mint(claims => { scp => [ 'a', 'b' ] })),
    'scope a b: scp array');
is_granted(req('/scope/both/env', token => mint(claims => { permissions => [ 'b', 'a' ] })),
    'scope a b: permissions array');
# only the shapes the README promises: scope is a string, permissions an array
is_denied(req('/scope/both/env', token => mint(claims => { scope => [ 'a', 'b' ] })),
    'scope a b: scope as an array grants nothing', status => 403,
    challenge => challenge_scope('a b'));
is_denied(req('/scope/both/env', token => mint(claims => { permissions => 'a b' })),
    'scope a b: permissions as a string grants nothing', status => 403,
    challenge => challenge_scope('a b'));
is_denied(req('/scope/both/env'), 'scope a b: no token', status => 401,
    challenge => challenge_401());

# <RequireAll> valid-user + scope
is_granted(req('/scope/all/env', token => tok('read:messages')), 'RequireAll: scope present');
is_denied(req('/scope/all/env', token => tok('write:messages')), 'RequireAll: scope missing',
    status => 403, challenge => challenge_scope('read:messages'));
is_denied(req('/scope/all/env'), 'RequireAll: no token', status => 401, challenge => challenge_401());
is_denied(req('/scope/all/env', token => mint(claims => { aud => 'x', scope => 'read:messages' })),
    'RequireAll: bad token', status => 401, reason => 'audience mismatch',
    challenge => challenge_invalid_token('audience mismatch'));

# <RequireAny> scope a | scope b
is_granted(req('/scope/any/env', token => tok('a')), 'RequireAny: a');
is_granted(req('/scope/any/env', token => tok('b')), 'RequireAny: b');
# which scope(s) the challenge names when two alternatives fail is not fixed by the contract
is_denied(req('/scope/any/env', token => tok('c')), 'RequireAny: neither',
    status => 403,
    challenge => qr/^Bearer realm="messages-api", error="insufficient_scope", scope="(?:a|b|a b|b a)"$/);
is_denied(req('/scope/any/env'), 'RequireAny: no token', status => 401, challenge => challenge_401());

# <RequireAny> ip 127.0.0.1 | scope a: mod_authz_core grants on the ip before authentication,
# so no token is needed from loopback (the test client is on loopback).
my $r = is_granted(req('/scope/any-ip/env'), 'RequireAny ip: no token from 127.0.0.1');
is(env_of($r)->{REMOTE_USER}, undef, 'RequireAny ip: no REMOTE_USER without authentication');
is_granted(req('/scope/any-ip/env', token => tok('a')), 'RequireAny ip: token with scope a');

done_testing();
