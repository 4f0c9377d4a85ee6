# DPoP server nonces (RFC 9449 §9, issue 14): AuthBearerDPoPNonce On answers a proof without
# the current nonce with 401 use_dpop_nonce and a DPoP-Nonce header; the retry with it passes.
# Nonces are stateless: two httpd instances given the same AuthBearerDPoPNonceSecret (one from a
# file with a trailing newline, the other from the environment without it) accept each other's;
# an instance that makes its own secret at start accepts neither theirs nor, after a restart,
# its own old one.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp ();
use MAB::DPoP qw(new_key token proof request challenge granted denied);

my $as = MAB::DPoP::provider();
my $ISS = $as->issuer;
my $ec = new_key('ec');
my $t = token($as, $ec);
my $t_plain = token($as, undef);

my $dir = File::Temp::tempdir('mab-nonce-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
my $secret = 'dpop-nonce-secret-' . join '', map { ('a' .. 'z', 0 .. 9)[ rand 36 ] } 1 .. 32;
my $file = "$dir/nonce-secret";
open my $fh, '>', $file or die;
print $fh "$secret\n";    # one trailing newline: dropped
close $fh;
chmod 0644, $file;
$ENV{MAB_TEST_DPOP_NONCE_SECRET} = $secret;

sub server {
    my ($name, $secret_line) = @_;
    my $h = MAB::DPoP::server($as, name => $name, paths => [qw(n plain)], conf => <<"C");
$secret_line
<Location /n>
    AuthType Bearer
    AuthName "nonce"
    AuthBearerIssuer $ISS
    AuthBearerDPoP On
    AuthBearerDPoPNonce On
    Require valid-user
</Location>
<Location /plain>
    AuthType Bearer
    AuthName "plain"
    AuthBearerIssuer $ISS
    AuthBearerDPoP On
    Require valid-user
</Location>
C
    ok($h->start, "httpd $name starts") or diag $h->{start_output};
    return $h;
}

my $h1 = server('file', "AuthBearerDPoPNonceSecret file:$file");
my $h2 = server('env', 'AuthBearerDPoPNonceSecret env:MAB_TEST_DPOP_NONCE_SECRET');
my $h3 = server('own', '');

sub call {
    my ($h, $path, %o) = @_;
    my $p = exists $o{proof} ? $o{proof}
        : proof(key => $ec, htu => MAB::DPoP::origin($h) . $path, token => $o{ath} // $t,
                defined $o{nonce} ? (nonce => $o{nonce}) : ());
    return request($h, path => $path, token => $t, proof => $p);
}

my $NQCHAR = qr/^[\x21\x23-\x5B\x5D-\x7E]+$/;

# the challenge for a nonce: use_dpop_nonce and DPoP-Nonce; returns the nonce
sub wants_nonce {
    my ($r, $name) = @_;
    denied($r, $name, error => 'use_dpop_nonce', reason => 'DPoP nonce required', realm => 'nonce');
    my $n = $r->header('DPoP-Nonce');
    like($n // '', $NQCHAR, "$name: a DPoP-Nonce header (1*NQCHAR)");
    return $n;
}

# --- one instance: the flow -------------------------------------------------------------------------
my $n1 = wants_nonce(call($h1, '/n/ok.txt'), 'a proof without a nonce');
granted(call($h1, '/n/ok.txt', nonce => $n1), 'the retry with the DPoP-Nonce it was given');
wants_nonce(call($h1, '/n/ok.txt', nonce => 'made-up-nonce-0123456789'), 'a made-up nonce');
wants_nonce(call($h1, '/n/ok.txt', nonce => $n1 . 'x'), 'the nonce with a character appended');
{
    my $p = proof(key => $ec, htu => MAB::DPoP::origin($h1) . '/n/ok.txt', token => $t, nonce => $n1);
    granted(call($h1, '/n/ok.txt', proof => $p), 'a proof with the nonce');
    denied(call($h1, '/n/ok.txt', proof => $p), '... replayed: the nonce does not excuse a replay',
           error => 'invalid_dpop_proof', reason => 'DPoP proof replayed');
}
denied(call($h1, '/n/ok.txt', nonce => $n1, ath => $t_plain), 'a proof with the nonce, for another token',
       error => 'invalid_dpop_proof', reason => 'invalid DPoP proof');
granted(call($h1, '/plain/ok.txt'), 'AuthBearerDPoPNonce unset: a proof without a nonce passes');
granted(request($h1, path => '/n/ok.txt', token => $t_plain, scheme => 'Bearer'),
        'AuthBearerDPoPNonce On: an unbound Bearer token needs no proof and no nonce');

# --- two instances, one secret (file: with a newline, env: without) ----------------------------------
granted(call($h2, '/n/ok.txt', nonce => $n1), "instance 2 (env:) accepts instance 1's (file:) nonce");
my $n2 = wants_nonce(call($h2, '/n/ok.txt'), 'instance 2: a proof without a nonce');
granted(call($h1, '/n/ok.txt', nonce => $n2), "instance 1 accepts instance 2's nonce");

# --- a secret of its own, made at start -----------------------------------------------------------------
wants_nonce(call($h3, '/n/ok.txt', nonce => $n1), "without AuthBearerDPoPNonceSecret: another instance's nonce is refused");
my $n3 = wants_nonce(call($h3, '/n/ok.txt'), 'without AuthBearerDPoPNonceSecret: a proof without a nonce');
granted(call($h3, '/n/ok.txt', nonce => $n3), '... its own nonce passes');
wants_nonce(call($h1, '/n/ok.txt', nonce => $n3), '... and is refused by instance 1');
$h3->stop;
ok($h3->start, 'that instance restarted') or diag $h3->{start_output};
wants_nonce(call($h3, '/n/ok.txt', nonce => $n3), 'after a restart its old nonce is refused (a new secret)');
unlike($h1->error_log . $h2->error_log, qr/\Q$secret\E/, 'the secret is never logged');

$_->stop for $h1, $h2, $h3;
done_testing();
