# AuthBearerAllowPreflight On (conf/handoff.conf.in): a CORS preflight passes without a token;
# any other OPTIONS request, and every preflight where the directive is off, needs one.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Test;

my %pre = (Origin => 'https://spa.example', 'Access-Control-Request-Method' => 'POST',
           'Access-Control-Request-Headers' => 'authorization');

my $r = is_granted(req('/cors/env', method => 'OPTIONS', headers => {%pre}), 'preflight: passes');
my $env = env_of($r);
is($env->{REQUEST_METHOD}, 'OPTIONS', 'preflight: reached the application');
ok(!exists $env->{REMOTE_USER}, 'preflight: anonymous');

is_denied(req('/cors/env', method => 'OPTIONS',
        headers => { 'Access-Control-Request-Method' => 'POST' }),
    'OPTIONS without Origin', status => 401, challenge => challenge_401());
is_denied(req('/cors/env', method => 'OPTIONS', headers => { Origin => 'https://spa.example' }),
    'OPTIONS without Access-Control-Request-Method', status => 401, challenge => challenge_401());
is_denied(req('/cors/env', method => 'OPTIONS'), 'plain OPTIONS', status => 401,
    challenge => challenge_401());
is_granted(req('/cors/env', method => 'OPTIONS', token => mint()), 'plain OPTIONS with a token');
is_denied(req('/cors/env', headers => {%pre}), 'GET with preflight headers', status => 401,
    challenge => challenge_401());
is_denied(req('/cors/env', method => 'POST', headers => {%pre}), 'POST with preflight headers',
    status => 401, challenge => challenge_401());

is_denied(req('/cors-off/env', method => 'OPTIONS', headers => {%pre}),
    'AllowPreflight off: preflight needs a token', status => 401, challenge => challenge_401());

done_testing();
