# Signatures and keys: tampering, unknown kid, the wrong key under the right kid.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64 qw(encode_base64url decode_base64url);
use MAB::Test;

my %sig = (status => 401, reason => 'signature verification failed',
           challenge => challenge_invalid_token('signature verification failed'));
my %kid = (status => 401, reason => 'no matching key',
           challenge => challenge_invalid_token('no matching key'));

my $tok = mint();
my ($h, $p, $s) = split /\./, $tok;

# payload swapped for another one (more privileges), signature kept
my $evil = decode_base64url($p);
$evil =~ s/"sub":"auth0\|alice"/"sub":"auth0|admin"/ or die "cannot tamper with $evil";
is_denied(req('/protected/env', token => join('.', $h, encode_base64url($evil), $s)),
    'tampered payload', %sig);

# one signature byte flipped
my $raw = decode_base64url($s);
substr($raw, 100, 1) = chr(ord(substr($raw, 100, 1)) ^ 0x01);
is_denied(req('/protected/env', token => join('.', $h, $p, encode_base64url($raw))),
    'tampered signature', %sig);

# the signature of another token
my (undef, undef, $s2) = split /\./, mint(claims => { sub => 'bob' });
is_denied(req('/protected/env', token => join('.', $h, $p, $s2)), 'signature of another token', %sig);

# truncated signature
is_denied(req('/protected/env', token => join('.', $h, $p, substr($s, 0, 100))),
    'truncated signature', status => 401,
    reason => qr/signature verification failed|malformed token/,
    challenge => qr/^Bearer realm="messages-api", error="invalid_token", error_description="(?:signature verification failed|malformed token)"$/);

# signed by a key that is not in the key set
is_denied(req('/protected/env', token => mint(key => 'other')), 'unknown kid (other key)', %kid);
is_denied(req('/protected/env', token => mint(kid => 'no-such-kid')),
    'unknown kid (issuer key)', %kid);

# the other key, but claiming the issuer key's kid
is_denied(req('/protected/env', token => mint(key => 'other', kid => 'test-rsa-1')),
    'other key under the real kid', %sig);

# the right key, valid token, sanity
is_granted(req('/protected/env', token => $tok), 'untouched token');

done_testing();
