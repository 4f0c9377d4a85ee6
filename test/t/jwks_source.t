# Where the key set comes from: HTTP (the other tests), a file relative to ServerRoot, an absolute
# file path; and a key set that cannot be obtained -> 401 "no keys available".
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Test;

for my $loc ('/jwks-file', '/jwks-file-abs') {
    my $r = is_granted(req("$loc/env", token => mint()), "$loc: valid token");
    is(env_of($r)->{REMOTE_USER}, 'auth0|alice', "$loc: REMOTE_USER");
    is_granted(req("$loc/env", token => mint(key => 'ec')), "$loc: EC key from the file");
    is_granted(req("$loc/env", token => mint(key => 'ed')), "$loc: Ed25519 key from the file");
    is_denied(req("$loc/env", token => mint(key => 'other')), "$loc: unknown kid", status => 401,
        reason => 'no matching key', challenge => challenge_invalid_token('no matching key'));
    is_denied(req("$loc/env", token => mint(claims => { exp => now() - 3600 })),
        "$loc: expired", status => 401, reason => 'token expired',
        challenge => challenge_invalid_token('token expired'));
}

# the JWKS URL answers 404: the module may log that fetch failure at error level
my $r = req('/jwks-missing/env', token => mint());
is($r->code, 401, 'JWKS 404: 401');
is(scalar(my @h = $r->header('WWW-Authenticate')), 1, 'JWKS 404: one challenge');
is($r->header('WWW-Authenticate'), challenge_invalid_token('no keys available'),
    'JWKS 404: challenge');
my @l = log_lines($r, qr/\[auth_bearer:info\].*MAB00100: denied 401 \/jwks-missing\/env: no keys available(?:: .*?)? \(kid=/);
is(scalar @l, 1, 'JWKS 404: denial logged') or diag $r->{mab_log};
unlike($r->{mab_log}, qr/\Q$r->{mab_token}\E/, 'JWKS 404: token not logged');

done_testing();
