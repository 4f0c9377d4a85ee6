# Settings merge down the URL space: /merge sets issuer/audience/JWKS, /merge/sub only adds
# "Require scope x", /merge/other-aud only overrides the audience.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Test;

is_granted(req('/merge/env', token => mint()), 'parent: valid token');
is_denied(req('/merge/env'), 'parent: no token', status => 401, challenge => challenge_401());

is_granted(req('/merge/sub/env', token => mint(claims => { scope => 'x' })),
    'sub: inherited settings, scope x');
is_denied(req('/merge/sub/env', token => mint(claims => { scope => 'y' })),
    'sub: inherited settings, no scope x', status => 403, challenge => challenge_scope('x'));
is_denied(req('/merge/sub/env', token => mint(claims => { scope => 'x', iss => 'https://evil/' })),
    'sub: inherited issuer is enforced', status => 401, reason => 'issuer mismatch',
    challenge => challenge_invalid_token('issuer mismatch'));
is_denied(req('/merge/sub/env', token => mint(claims => { scope => 'x', aud => 'https://other/' })),
    'sub: inherited audience is enforced', status => 401, reason => 'audience mismatch',
    challenge => challenge_invalid_token('audience mismatch'));
is_denied(req('/merge/sub/env'), 'sub: no token', status => 401, challenge => challenge_401());

is_granted(req('/merge/other-aud/env', token => mint(claims => { aud => 'https://other.test/api' })),
    'other-aud: overridden audience');
is_denied(req('/merge/other-aud/env', token => mint()), 'other-aud: parent audience no longer ok',
    status => 401, reason => 'audience mismatch',
    challenge => challenge_invalid_token('audience mismatch'));
is_denied(req('/merge/other-aud/env', token => mint(claims => { aud => 'https://other.test/api', iss => 'x' })),
    'other-aud: inherited issuer', status => 401, reason => 'issuer mismatch',
    challenge => challenge_invalid_token('issuer mismatch'));

done_testing();
