# What a CGI program behind the module sees.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use MAB::Test;

my $t = now();
my $payload = {
    iss   => ISS,
    aud   => [ AUD, 'https://other/api' ],
    sub   => 'auth0|alice',
    iat   => $t,
    exp   => $t + 300,
    email => 'alice@example.com',
    name  => 'Zoë Ünïcødé 東京 🚀',
    scope => 'read:messages write:messages',
    'https://example.com/roles' => [ 'admin', 'user' ],
    nested => { org => { id => 7, name => 'acme' } },
    email_verified => JSON::PP::true,
    level  => 5,
    nothing => undef,
    'x-dashed.name' => 'dashes',
};
my $tok = mint(payload => $payload);
my $r = is_granted(req('/protected/env', token => $tok), 'env: valid token');
my $env = env_of($r);

is($env->{REMOTE_USER}, 'auth0|alice', 'REMOTE_USER');
is($env->{AUTH_TYPE}, 'Bearer', 'AUTH_TYPE');
is($env->{BEARER_CLAIM_SUB}, 'auth0|alice', 'BEARER_CLAIM_SUB');
is($env->{BEARER_CLAIM_ISS}, ISS, 'BEARER_CLAIM_ISS');
is($env->{BEARER_CLAIM_AUD}, '["https://quickstarts/api","https://other/api"]',
    'BEARER_CLAIM_AUD: array as compact JSON');
is($env->{BEARER_CLAIM_EXP}, $t + 300, 'BEARER_CLAIM_EXP: number')
    and like($env->{BEARER_CLAIM_EXP}, qr/^\d+$/, 'BEARER_CLAIM_EXP: plain integer');
is($env->{BEARER_CLAIM_IAT}, "$t", 'BEARER_CLAIM_IAT');
is($env->{BEARER_CLAIM_SCOPE}, 'read:messages write:messages', 'BEARER_CLAIM_SCOPE: string as is');
is($env->{BEARER_CLAIM_HTTPS___EXAMPLE_COM_ROLES}, '["admin","user"]',
    'URL-named claim -> BEARER_CLAIM_HTTPS___EXAMPLE_COM_ROLES');
is($env->{BEARER_CLAIM_X_DASHED_NAME}, 'dashes', 'x-dashed.name -> BEARER_CLAIM_X_DASHED_NAME');
is($env->{BEARER_CLAIM_NAME}, 'Zoë Ünïcødé 東京 🚀', 'unicode string claim, UTF-8 as is');
is($env->{BEARER_CLAIM_EMAIL_VERIFIED}, 'true', 'boolean claim as JSON');
is($env->{BEARER_CLAIM_LEVEL}, '5', 'number claim as JSON');
is($env->{BEARER_CLAIM_NOTHING}, 'null', 'null claim as JSON');

my $nested = $env->{BEARER_CLAIM_NESTED} // '';
unlike($nested, qr/\s/, 'nested object: compact JSON (no blanks)');
is_deeply(eval { JSON::PP->new->decode($nested) }, $payload->{nested},
    'nested object: JSON of the object') or diag "BEARER_CLAIM_NESTED=$nested";
ok($nested eq '{"org":{"id":7,"name":"acme"}}' || $nested eq '{"org":{"name":"acme","id":7}}',
    'nested object: exact compact text') or diag $nested;

my $all = $env->{BEARER_CLAIMS} // '';
unlike($all, qr/[\n\t]|": |, "/, 'BEARER_CLAIMS: compact JSON');
# env_of already turned the UTF-8 bytes into characters
my $decoded = eval { JSON::PP->new->decode($all) };
is_deeply($decoded, $payload, 'BEARER_CLAIMS: the whole payload') or diag "BEARER_CLAIMS=$all";

# every top-level claim has its variable
for my $c (sort keys %$payload) {
    (my $n = uc $c) =~ s/[^A-Z0-9_]/_/g;
    ok(exists $env->{"BEARER_CLAIM_$n"}, "BEARER_CLAIM_$n exported");
}

# the token itself is not handed to the CGI program
my @leak = grep { index($env->{$_} // '', $tok) >= 0 } keys %$env;
ok(!@leak, 'token not in the CGI environment') or diag "in: @leak";

# claims whose names fold to one variable never override each other: "sub" wins BEARER_CLAIM_SUB
# over "SUB", whichever comes first; without the lower-case one, none is exported
for my $order ([ 'sub', 'SUB' ], [ 'SUB', 'sub' ]) {
    my %v = (sub => 'alice', SUB => 'admin');
    my $text = json({ iss => ISS, aud => AUD, iat => $t, exp => $t + 300 });
    $text =~ s/\}\z/,"$order->[0]":"$v{$order->[0]}","$order->[1]":"$v{$order->[1]}"}/;
    $r = is_granted(req('/protected/env', token => mint(payload => $text)),
        "env: token with $order->[0] then $order->[1]");
    $env = env_of($r);
    is($env->{REMOTE_USER}, 'alice', "$order->[0] then $order->[1]: REMOTE_USER");
    is($env->{BEARER_CLAIM_SUB}, 'alice', "$order->[0] then $order->[1]: BEARER_CLAIM_SUB is sub's");
}
$r = is_granted(req('/protected/env',
        token => mint(claims => { 'x-role' => 'admin', 'x.role' => 'user' })),
    'env: token with x-role and x.role');
$env = env_of($r);
ok(!exists $env->{BEARER_CLAIM_X_ROLE}, 'x-role and x.role, no x_role: BEARER_CLAIM_X_ROLE not set');
is($env->{REMOTE_USER}, 'auth0|alice', 'x-role and x.role: the other claims still exported')
    and is($env->{BEARER_CLAIM_SUB}, 'auth0|alice', 'x-role and x.role: BEARER_CLAIM_SUB set');

# nothing left over from a previous request with other claims (same connection)
$r = is_granted(req('/protected/env', token => mint()), 'env: second, plain token');
$env = env_of($r);
ok(!exists $env->{BEARER_CLAIM_EMAIL}, 'no stale BEARER_CLAIM_EMAIL on the next request');

done_testing();
