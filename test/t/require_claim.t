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

# Numbers are compared exactly: the claims go in as JSON text, so the literals are the token's.
sub raw_claims {
    my $extra = shift;
    my $text = json(MAB::Test::default_claims());
    $text =~ s/\}\z/,$extra}/;
    return mint(payload => $text);
}
sub raw_ok     { is_granted(req($_[0], token => raw_claims($_[1])), $_[2]) }
sub raw_denied {
    is_denied(req($_[0], token => raw_claims($_[1])), $_[2], status => 403, challenge => undef);
}

# Require claim /org/id 1234567890123456789
raw_ok('/claim/bigid/env',     '"org":{"id":1234567890123456789}', '64-bit id: equal');
raw_denied('/claim/bigid/env', '"org":{"id":1234567890123456790}', '64-bit id: the next id');
raw_denied('/claim/bigid/env', '"org":{"id":1234567890123456768}', '64-bit id: its double');
raw_denied('/claim/bigid/env', '"org":{"id":[1234567890123456700]}', '64-bit id in an array: neighbour');
raw_denied('/claim/bigid/env', '"org":{"id":1234567890123456789.0}', '64-bit id as a real');
raw_denied('/claim/bigid/env', '"org":{"id":"1234567890123456789x"}', '64-bit id: other text');

# Require claim ratio 1.5
raw_ok('/claim/decimal/env',     '"ratio":1.5',   'decimal claim: equal');
raw_ok('/claim/decimal/env',     '"ratio":15e-1', 'decimal claim: the same number written otherwise');
raw_denied('/claim/decimal/env', '"ratio":1.25',  'decimal claim: differs');

# a bad token is still a 401 there
is_denied(req('/claim/string/env', token => mint(claims => { role => 'admin', iss => 'x' })),
    'Require claim, wrong iss', status => 401, reason => 'issuer mismatch',
    challenge => challenge_invalid_token('issuer mismatch'));
is_denied(req('/claim/string/env'), 'Require claim, no token', status => 401,
    challenge => challenge_401());

done_testing();
