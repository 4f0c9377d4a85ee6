# The verified-token cache: a hit skips the signature, never the location's own checks; a
# token differing by one byte never hits; an expired cached token is refused; a key removed
# from the key set takes its cached tokens with it; AuthBearerTokenCache 0 turns it off.
# A hit is logged at debug as "MAB00110: token <fingerprint>: signature verified earlier".
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Crypt::PK::RSA;
use Digest::SHA qw(sha256_hex);
use JSON::PP ();
use Apache::Test ();
use Apache::TestRequest ();
use MAB::Test;
use MAB::Lifecycle;

# One keep-alive connection: the same child answers, so its cache is the one we fill.
Apache::TestRequest::user_agent(keep_alive => 1, reset => 1);

sub hit { my ($res, $tok) = @_; scalar log_lines($res, qr/MAB00110: token \Q${\ substr(sha256_hex($tok), 0, 8)}\E: signature verified earlier/) }
sub tok { mint(claims => { scope => 'read:messages', jti => rand(), %{ $_[0] // {} } }) }

# --- hit and miss ----------------------------------------------------------------------------
my $t = tok();
my $r = is_granted(req('/tc/env', token => $t), 'first use');
ok(!hit($r, $t), 'first use: verified, not a cache hit');
# another child may answer a request now and then: ask until this one does
sub granted_hit {
    my ($path, $tok, $name) = @_;
    my $res;
    for (1 .. 10) {
        $res = req($path, token => $tok);
        last if $res->code != 200 || hit($res, $tok);
    }
    is_granted($res, $name);
    ok(hit($res, $tok), "$name: answered from the cache") or diag $res->{mab_log};
    return $res;
}
granted_hit('/tc/env', $t, 'second use');

# a different token, even one byte apart, never hits
my @p = split /\./, $t;
substr($p[2], 10, 1) = substr($p[2], 10, 1) eq 'A' ? 'B' : 'A';
my $forged = join '.', @p;
$r = is_denied(req('/tc/env', token => $forged), 'one byte changed in the signature',
    status => 401, reason => 'signature verification failed',
    challenge => challenge_invalid_token('signature verification failed'));
ok(!hit($r, $forged), 'one byte changed: not a cache hit');

# --- the location's own requirements still apply to a cached token --------------------------
$r = is_denied(req('/tc/other-aud/env', token => $t), 'cached token, another audience',
    status => 401, reason => 'audience mismatch',
    challenge => challenge_invalid_token('audience mismatch'));
ok(hit($r, $t), 'another audience: the refusal came after a cache hit') or diag $r->{mab_log};
is_denied(req('/tc/other-iss/env', token => $t), 'cached token, another issuer',
    status => 401, reason => 'issuer mismatch',
    challenge => challenge_invalid_token('issuer mismatch'));
is_denied(req('/tc/write/env', token => $t), 'cached token, a scope it lacks',
    status => 403, reason => 'insufficient scope',
    challenge => challenge_scope('write:messages'));
is_denied(req('/tc/ps256/env', token => $t), 'cached token, an algorithm not allowed here',
    status => 401, reason => 'algorithm not allowed',
    challenge => challenge_invalid_token('algorithm not allowed'));
granted_hit('/tc/env', $t, 'after the refusals elsewhere');

# another key source holding the same public key: that key vouches for the token there too
granted_hit('/tc/file/env', $t, 'another key source with the same key');

# --- AuthBearerTokenCache 0 ----------------------------------------------------------------
for my $n (1 .. 3) {
    $r = is_granted(req('/tc/off/env', token => $t), "cache off, request $n");
    ok(!hit($r, $t), "cache off, request $n: verified, not a cache hit");
}

# --- exp: a cached token is refused once it expires -----------------------------------------
my $exp = now() + 3;
my $short = tok({ exp => $exp });
is_granted(req('/tc/env', token => $short), 'short-lived token');
granted_hit('/tc/env', $short, 'short-lived token again') if now() < $exp - 1;
sleep 1 while now() <= $exp;
$r = is_denied(req('/tc/env', token => $short), 'cached token after its exp',
    status => 401, reason => 'token expired', challenge => challenge_invalid_token('token expired'));
ok(!hit($r, $short), 'after exp: the entry is gone, not a hit');

# --- a key removed from the key set takes its cached tokens with it ------------------------
my $file = Apache::Test::vars('documentroot') . '/jwks-tc-rotate.json';
publish_jwks($file, jwk('issuer'), jwk('other'));
sleep 2;    # past the 1 s a fetched key set is used for
my $rt = tok();
is_granted(eventually(200, '/tc/rotate/env', $rt), 'rotate: issuer key published');
granted_hit('/tc/rotate/env', $rt, 'rotate: cached');
publish_jwks($file, jwk('other'));
is_denied(eventually(401, '/tc/rotate/env', $rt), 'rotate: key removed, the cached token is refused',
    status => 401, reason => 'no matching key', challenge => challenge_invalid_token('no matching key'));
publish_jwks($file, jwk('issuer'));
is_granted(eventually(200, '/tc/rotate/env', $rt), 'rotate: key back');
# The file stays: mod_watchdog refreshes this key set every second for the rest of the run, and a
# 404 there would be an [error] line in whichever test runs next.

done_testing();
