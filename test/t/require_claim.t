# Require claim <name> <value> …: strings, array membership, numbers, booleans, URL-named claims.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use MAB::Test;

sub claim_denied {
    my ($path, $claims, $name) = @_;
    is_denied(req($path, token => mint(claims => $claims)), $name, status => 403, challenge => undef);
}
sub claim_ok {
    my ($path, $claims, $name) = @_;
    is_granted(req($path, token => mint(claims => $claims)), $name);
}

# Require claim role admin
claim_ok('/claim/string/env',     { role => 'admin' },  'string claim matches');
claim_denied('/claim/string/env', { role => 'user' },   'string claim differs');
claim_denied('/claim/string/env', { role => 'Admin' },  'string claim differs in case');
claim_denied('/claim/string/env', {},                   'claim missing');
claim_ok('/claim/string/env',     { role => [ 'user', 'admin' ] }, 'array claim contains it');
claim_denied('/claim/string/env', { role => [ 'user', 'guest' ] }, 'array claim lacks it');

# Require claim role admin editor  (one of)
claim_ok('/claim/oneof/env',     { role => 'editor' }, 'one of two values (2nd)');
claim_ok('/claim/oneof/env',     { role => 'admin' },  'one of two values (1st)');
claim_denied('/claim/oneof/env', { role => 'viewer' }, 'none of two values');

# Require claim groups editors
claim_ok('/claim/array/env',     { groups => [ 'readers', 'editors' ] }, 'array membership');
claim_denied('/claim/array/env', { groups => [ 'readers' ] },            'array non-membership');
claim_denied('/claim/array/env', { groups => [] },                       'empty array');

# Require claim level 5
claim_ok('/claim/number/env',     { level => 5 },   'number claim 5');
claim_denied('/claim/number/env', { level => 6 },   'number claim 6');
claim_ok('/claim/number/env',     { level => [ 1, 5 ] }, 'number in an array');

# Require claim email_verified true
claim_ok('/claim/bool/env',     { email_verified => JSON::PP::true },  'boolean true');
claim_denied('/claim/bool/env', { email_verified => JSON::PP::false }, 'boolean false');

# Require claim https://example.com/roles admin
claim_ok('/claim/url/env',     { 'https://example.com/roles' => [ 'admin', 'user' ] },
    'URL-named claim contains admin');
claim_ok('/claim/url/env',     { 'https://example.com/roles' => 'admin' },
    'URL-named string claim');
claim_denied('/claim/url/env', { 'https://example.com/roles' => [ 'user' ] },
    'URL-named claim without admin');
claim_denied('/claim/url/env', { roles => [ 'admin' ] }, 'a different claim name');

# a bad token is still a 401 there
is_denied(req('/claim/string/env', token => mint(claims => { role => 'admin', iss => 'x' })),
    'Require claim, wrong iss', status => 401, reason => 'issuer mismatch',
    challenge => challenge_invalid_token('issuer mismatch'));
is_denied(req('/claim/string/env'), 'Require claim, no token', status => 401,
    challenge => challenge_401());

done_testing();
