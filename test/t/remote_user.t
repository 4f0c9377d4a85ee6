# AuthBearerRemoteUserClaim: which claim becomes REMOTE_USER.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Test;

my %missing = (status => 401, reason => 'missing user claim',
               challenge => challenge_invalid_token('missing user claim'));

my $r = is_granted(req('/protected/env', token => mint(claims => { sub => 'auth0|bob' })),
    'default claim sub');
is(env_of($r)->{REMOTE_USER}, 'auth0|bob', 'REMOTE_USER = sub');

$r = is_granted(req('/email/env', token => mint(claims => { email => 'alice@example.com' })),
    'RemoteUserClaim email');
is(env_of($r)->{REMOTE_USER}, 'alice@example.com', 'REMOTE_USER = email');
is(env_of($r)->{BEARER_CLAIM_SUB}, 'auth0|alice', 'sub still exported');

is_denied(req('/email/env', token => mint()), 'RemoteUserClaim email, no email claim', %missing);
is_denied(req('/email/env', token => mint(claims => { email => [ 'a@example.com' ] })),
    'RemoteUserClaim email, email is an array', %missing);
is_denied(req('/email/env', token => mint(claims => { email => 42 })),
    'RemoteUserClaim email, email is a number', %missing);
is_denied(req('/protected/env', token => mint(claims => { sub => undef })), 'no sub claim',
    %missing);

done_testing();
