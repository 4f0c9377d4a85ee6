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

# the access log line is written after the response: wait for it briefly
my @lines;
for (1 .. 40) {
    open my $fh, '<', $log or last;
    @lines = grep { /\Q$tag\E/ } <$fh>;
    close $fh;
    last if @lines >= 2;
    select undef, undef, undef, 0.05;
}
my ($ok)  = grep { m{^/protected/\Q$tag\E/env } } @lines;
my ($bad) = grep { m{^/protected/\Q$tag\E-denied/env } } @lines;
like($ok // '', qr{ 200 user=auth0\|bob sub=auth0\|bob email=bob\@example\.com$},
    'access log: %u and %{BEARER_CLAIM_SUB}e / %{BEARER_CLAIM_EMAIL}e') or diag @lines;
like($bad // '', qr{ 401 user=- sub=- email=-$}, 'access log: a denied request exports no claims')
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
