# iss must match exactly; aud (string or array) must contain the configured audience.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Test;

my %iss = (status => 401, reason => 'issuer mismatch',
           challenge => challenge_invalid_token('issuer mismatch'));
my %aud = (status => 401, reason => 'audience mismatch',
           challenge => challenge_invalid_token('audience mismatch'));

is_denied(req('/protected/env', token => mint(claims => { iss => 'https://evil.test/' })),
    'wrong iss', %iss);
is_denied(req('/protected/env', token => mint(claims => { iss => 'https://issuer.test' })),
    'iss without the trailing slash', %iss);
is_denied(req('/protected/env', token => mint(claims => { iss => 'https://ISSUER.test/' })),
    'iss in another case', %iss);
is_denied(req('/protected/env', token => mint(claims => { iss => undef })), 'no iss', %iss);

is_denied(req('/protected/env', token => mint(claims => { aud => 'https://other/api' })),
    'wrong aud string', %aud);
is_denied(req('/protected/env', token => mint(claims => { aud => 'https://quickstarts/api/' })),
    'aud with a trailing slash', %aud);
is_granted(req('/protected/env', token => mint(claims => { aud => [ 'https://other/api', AUD ] })),
    'aud array containing the audience');
is_denied(req('/protected/env', token => mint(claims => { aud => [ 'https://other/api', 'x' ] })),
    'aud array without the audience', %aud);
is_denied(req('/protected/env', token => mint(claims => { aud => [] })), 'empty aud array', %aud);
is_denied(req('/protected/env', token => mint(claims => { aud => undef })), 'no aud', %aud);

# AuthBearerAudience with two values: either one will do
is_granted(req('/config/two-audiences/env', token => mint(claims => { aud => 'https://two.test/api' })),
    'two configured audiences, token has the second');
is_denied(req('/config/two-audiences/env', token => mint()),
    'two configured audiences, token has neither', %aud);

done_testing();
