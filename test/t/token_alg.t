# Algorithms: the allow-list, alg none in any spelling, HS* keyed with the RSA public key
# (algorithm confusion), algorithms that do not fit the key, and the ones that must work.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Crypt::Mac::HMAC qw(hmac);
use Crypt::PK::RSA;
use Crypt::PK::ECC;
use MAB::Test;

my %alg = (status => 401, reason => 'algorithm not allowed',
           challenge => challenge_invalid_token('algorithm not allowed'));
my $t = now();
my $claims = { iss => ISS, aud => AUD, sub => 'auth0|alice', iat => $t, exp => $t + 300 };

# --- alg none ---
for my $none (qw(none None NONE nOnE)) {
    my $hdr = { alg => $none, typ => 'JWT', kid => 'test-rsa-1' };
    is_denied(req('/protected/env', token => mint_parts($hdr, $claims, '')),
        "alg $none, empty signature", %alg);
}
is_denied(req('/protected/env', token => mint_parts({ alg => 'none', typ => 'JWT' }, $claims, '')),
    'alg none, no kid', %alg);
is_denied(req('/protected/env',
        token => mint_parts({ alg => 'none', kid => 'test-rsa-1' }, $claims, 'x' x 32)),
    'alg none with a signature', %alg);

# --- HS256/384/512 keyed with the issuer's public key (algorithm confusion) ---
sub slurp { open my $fh, '<:raw', $_[0] or die "$_[0]: $!"; local $/; <$fh> }
my %pub = (
    'SPKI PEM'                    => slurp(keyfile('issuer.pub.pem')),
    'SPKI PEM without final \n'   => do { (my $x = slurp(keyfile('issuer.pub.pem'))) =~ s/\n\z//; $x },
    'SPKI DER'                    => slurp(keyfile('issuer.pub.der')),
    'PKCS#1 PEM'                  => Crypt::PK::RSA->new(keyfile('issuer.pem'))->export_key_pem('public'),
);
for my $what (sort keys %pub) {
    for my $hs (qw(HS256 HS384 HS512)) {
        (my $sha = $hs) =~ s/HS/SHA/;
        my $hdr = { alg => $hs, typ => 'JWT', kid => 'test-rsa-1' };
        my $input = join '.', (split /\./, mint_parts($hdr, $claims, ''))[0, 1];
        my $tok = "$input." . b64u(hmac($sha, $pub{$what}, $input));
        is_denied(req('/protected/env', token => $tok), "$hs keyed with the public key ($what)",
            %alg);
    }
}

# --- the allow-list: AuthBearerAlgorithms PS256 ---
is_denied(req('/ps256-only/env', token => mint(alg => 'RS384', key => 'noalg')),
    'RS384 where only PS256 is allowed', %alg);
is_denied(req('/ps256-only/env', token => mint(alg => 'RS384')),
    'RS384 (issuer key) where only PS256 is allowed', %alg);
is_denied(req('/ps256-only/env', token => mint()), 'RS256 where only PS256 is allowed', %alg);
is_denied(req('/ps256-only/env', token => mint(key => 'ec')), 'ES256 where only PS256 is allowed',
    %alg);
is_granted(req('/ps256-only/env', token => mint(alg => 'PS256', key => 'noalg')),
    'PS256 where only PS256 is allowed');

# --- the default list: every RSA algorithm fits a JWK without "alg"; ES256 fits the EC key ---
for my $a (qw(RS256 RS384 RS512 PS256 PS384 PS512)) {
    is_granted(req('/protected/env', token => mint(alg => $a, key => 'noalg')),
        "$a with an RSA key without alg");
}
is_granted(req('/protected/env', token => mint(key => 'ec')), 'ES256 with the P-256 key');
is_granted(req('/protected/env', token => mint(key => 'ed')), 'EdDSA with the Ed25519 key');
is_denied(req('/ps256-only/env', token => mint(key => 'ed')), 'EdDSA where only PS256 is allowed',
    %alg);

# --- algorithm that does not fit the key: JWK alg RS256 vs token RS384; EC alg on an RSA kid ---
my $nofit = qr/no matching key|algorithm not allowed|signature verification failed/;
my $nofit_c = qr/^Bearer realm="messages-api", error="invalid_token", error_description="(?:no matching key|algorithm not allowed|signature verification failed)"$/;
is_denied(req('/protected/env', token => mint(alg => 'RS384')),
    'RS384 with a JWK that says alg RS256', status => 401, reason => $nofit, challenge => $nofit_c);
is_denied(req('/protected/env', token => mint(key => 'ec', kid => 'test-rsa-1')),
    'ES256 under an RSA kid', status => 401, reason => $nofit, challenge => $nofit_c);
is_denied(req('/protected/env', token => mint(alg => 'PS256', kid => 'test-ec-1')),
    'PS256 under an EC kid', status => 401, reason => $nofit, challenge => $nofit_c);

# --- unknown critical header parameters are rejected (RFC 7515 4.1.11) ---
my $any401 = qr/^Bearer realm="messages-api", error="invalid_token", error_description="[^"]+"$/;
is_denied(req('/protected/env', token => mint(header => { crit => ['x-unknown'], 'x-unknown' => 1 })),
    'unknown crit header', status => 401, reason => qr/.+/, challenge => $any401);

# --- keys carried in the token itself are never trusted ---
my $other_jwk = Crypt::PK::RSA->new(keyfile('other.pem'))->export_key_jwk('public', 1);
is_denied(req('/protected/env',
        token => mint(key => 'other', kid => 'test-other-1', header => { jwk => $other_jwk })),
    'embedded jwk header', status => 401, reason => qr/.+/, challenge => $any401);
is_denied(req('/protected/env',
        token => mint(key => 'other', kid => 'test-other-1',
                      header => { jku => 'http://127.0.0.1/evil-jwks.json' })),
    'jku header pointing elsewhere', status => 401, reason => qr/.+/, challenge => $any401);

done_testing();
