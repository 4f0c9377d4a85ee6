# exp / nbf / iat, with the default clock skew (30 s) and with AuthBearerClockSkew 0.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Test;

my $t = now();
my %inv = (status => 401);

is_denied(req('/protected/env', token => mint(claims => { iat => $t - 600, exp => $t - 120 })),
    'expired 2 min ago', %inv, reason => 'token expired',
    challenge => challenge_invalid_token('token expired'));
is_denied(req('/protected/env', token => mint(claims => { exp => undef })),
    'no exp', %inv, reason => 'missing exp claim',
    challenge => challenge_invalid_token('missing exp claim'));
is_denied(req('/protected/env', token => mint(claims => { nbf => $t + 300 })),
    'nbf in 5 min', %inv, reason => 'token not yet valid',
    challenge => challenge_invalid_token('token not yet valid'));
is_denied(req('/protected/env', token => mint(claims => { iat => $t + 300, exp => $t + 600 })),
    'iat in 5 min', %inv, reason => 'token issued in the future',
    challenge => challenge_invalid_token('token issued in the future'));

is_granted(req('/protected/env', token => mint(claims => { nbf => $t - 10 })), 'nbf in the past');
is_granted(req('/protected/env', token => mint(claims => { iat => undef })), 'no iat is fine');

# clock skew: default 30 s
is_granted(req('/protected/env', token => mint(claims => { iat => $t - 300, exp => $t - 10 })),
    'exp 10 s ago, default skew 30 s');
is_granted(req('/protected/env', token => mint(claims => { nbf => $t + 10 })),
    'nbf in 10 s, default skew');
is_granted(req('/protected/env', token => mint(claims => { iat => $t + 10 })),
    'iat in 10 s, default skew');
is_denied(req('/protected/env', token => mint(claims => { iat => $t - 300, exp => $t - 60 })),
    'exp 60 s ago, default skew', %inv, reason => 'token expired',
    challenge => challenge_invalid_token('token expired'));

# AuthBearerClockSkew 0
is_granted(req('/noskew/env', token => mint()), 'noskew: valid token');
is_denied(req('/noskew/env', token => mint(claims => { iat => $t - 300, exp => $t - 10 })),
    'noskew: exp 10 s ago', %inv, reason => 'token expired',
    challenge => challenge_invalid_token('token expired'));
is_denied(req('/noskew/env', token => mint(claims => { nbf => $t + 10 })),
    'noskew: nbf in 10 s', %inv, reason => 'token not yet valid',
    challenge => challenge_invalid_token('token not yet valid'));
is_denied(req('/noskew/env', token => mint(claims => { iat => $t + 10 })),
    'noskew: iat in 10 s', %inv, reason => 'token issued in the future',
    challenge => challenge_invalid_token('token issued in the future'));

done_testing();
