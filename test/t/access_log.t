# Logging: %{BEARER_CLAIM_SUB}e in a LogFormat (CustomLog logs/mab_claims_log in
# conf/handoff.conf.in), and the error-log denial line naming issuer, kid, sub and reason.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use MAB::Test;

my $log = Apache::Test::vars('t_logs') . '/mab_claims_log';
my $mark = "/protected/env";

my $tag = 'log' . $$ . int(rand(1e6));
is_granted(req("/protected/$tag/env", token => mint(claims => { sub => 'auth0|bob', email => 'bob@example.com' })),
    'access log: valid token');
is_denied(req("/protected/$tag-denied/env", token => mint(claims => { sub => 'auth0|eve', aud => 'x' })),
    'access log: bad token', status => 401, reason => 'audience mismatch',
    challenge => challenge_invalid_token('audience mismatch'));

# a client's X-Auth-Subject on /app (AuthBearerClaimHeader sub X-Auth-Subject): removed before
# anything could use it, also when the request is refused
my $spoof = { 'X-Auth-Subject' => 'spoofed' };
is_denied(req("/app/$tag-401", headers => $spoof), 'spoof on a 401', status => 401,
    challenge => challenge_401());
is_denied(req("/app/$tag-403", token => mint(claims => { scope => 'x' }), headers => $spoof),
    'spoof on a 403', status => 403, challenge => challenge_scope('read:messages'));
is_granted(req("/app/$tag-200", token => mint(claims => { scope => 'read:messages' }), headers => $spoof),
    'spoof on a 200');

# the access log line is written after the response: wait for it briefly
my @lines;
for (1 .. 40) {
    open my $fh, '<', $log or last;
    # the front end's lines only (the backend vhost logs its proxied requests there too)
    @lines = grep { m{^/(?:protected|app)/\Q$tag\E} } <$fh>;
    close $fh;
    last if @lines >= 5;
    select undef, undef, undef, 0.05;
}
my ($ok)  = grep { m{^/protected/\Q$tag\E/env } } @lines;
my ($bad) = grep { m{^/protected/\Q$tag\E-denied/env } } @lines;
like($ok // '', qr{ 200 user=auth0\|bob sub=auth0\|bob email=bob\@example\.com xsub=-$},
    'access log: %u and %{BEARER_CLAIM_SUB}e / %{BEARER_CLAIM_EMAIL}e') or diag @lines;
like($bad // '', qr{ 401 user=- sub=- email=- xsub=-$}, 'access log: a denied request exports no claims')
    or diag @lines;
my ($l401) = grep { m{^/app/\Q$tag\E-401 } } @lines;
my ($l403) = grep { m{^/app/\Q$tag\E-403 } } @lines;
my ($l200) = grep { m{^/app/\Q$tag\E-200 } } @lines;
like($l401 // '', qr{ 401 .* xsub=-$}, 'spoofed X-Auth-Subject gone on the 401') or diag @lines;
like($l403 // '', qr{ 403 .* xsub=-$}, 'spoofed X-Auth-Subject gone on the 403') or diag @lines;
like($l200 // '', qr{ 200 .* xsub=auth0\|alice$}, 'X-Auth-Subject is the verified sub on the 200')
    or diag @lines;

# the denial line: issuer, kid, sub (signature checked, so the sub is known) and the reason
my $r = req('/protected/env', token => mint(claims => { sub => 'auth0|eve', exp => now() - 3600 }));
my ($line) = log_lines($r, qr/MAB00100: denied/);
like($line // '', qr{MAB00100: denied 401 /protected/env: token expired: .*\(kid=test-rsa-1, alg=RS256, iss=https://issuer\.test/, sub=auth0\|eve, token=[0-9a-f]{8}\)},
    'denial line: reason, kid, alg, iss and sub') or diag $r->{mab_log};
# a forged signature: nothing in the payload is trusted, so no iss and no sub
$r = req('/protected/env', token => mint(key => 'other', kid => 'test-rsa-1'));
($line) = log_lines($r, qr/MAB00100: denied/);
like($line // '', qr{\(kid=test-rsa-1, alg=RS256, iss=-, sub=-, token=[0-9a-f]{8}\)},
    'denial line: no sub or iss from an unverified payload') or diag $r->{mab_log};

done_testing();
