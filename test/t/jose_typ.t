# AuthBearerTokenType at+jwt (RFC 9068): only JWT access tokens are accepted there — typ at+jwt or
# application/at+jwt (any case) and the claims sub, client_id, iat, jti, aud — so an ID token cannot
# be replayed as an access token. Elsewhere (the default, "any") an ID-token-like JWT still passes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::RSA;
use MAB::Test;

my $AT = '/jose/at-jwt/env';
sub deny {
    my $reason = shift;
    return (status => 401, reason => $reason, challenge => challenge_invalid_token($reason));
}
my $pk = Crypt::PK::RSA->new(keyfile('issuer.pem'));

# an RFC 9068 access token's claims; (name => undef) deletes one
sub at_claims {
    my %o = @_;
    my $t = now();
    my %c = (iss => ISS, aud => AUD, sub => 'auth0|alice', client_id => 's6BhdRkqt3', iat => $t,
             exp => $t + 300, jti => 'jti-' . rand(), scope => 'read:messages');
    for my $k (keys %o) { if (defined $o{$k}) { $c{$k} = $o{$k} } else { delete $c{$k} } }
    return \%c;
}
# token(typ => 'at+jwt' | undef (no typ header), claims => {...})
sub token {
    my %o = @_;
    my %hdr = (kid => 'test-rsa-1');
    $hdr{typ} = $o{typ} if defined $o{typ};
    return encode_jwt(payload => $o{claims} // at_claims(), alg => 'RS256', key => $pk,
                      extra_headers => \%hdr);
}
sub typ_of { my $h = (split /\./, shift)[0]; JSON::PP->new->decode(MIME::Base64::decode_base64url($h))->{typ} }

# --- accepted: typ at+jwt in its spellings, with every required claim ---
for my $typ ('at+jwt', 'AT+JWT', 'At+Jwt', 'application/at+jwt', 'Application/AT+JWT') {
    my $tok = token(typ => $typ);
    is(typ_of($tok), $typ, "the token carries typ $typ");
    my $res = is_granted(req($AT, token => $tok), "at+jwt location: typ $typ");
    is(env_of($res)->{REMOTE_USER}, 'auth0|alice', "typ $typ: REMOTE_USER is sub");
}

# --- wrong token type ---
my %wrong = deny('wrong token type');
is_denied(req($AT, token => token(typ => 'JWT')), 'typ JWT (an ID token)', %wrong);
is_denied(req($AT, token => token(typ => undef)), 'no typ header', %wrong);
is(typ_of(token(typ => undef)), undef, 'the no-typ token really has no typ');
is_denied(req($AT, token => token(typ => 'jwt')), 'typ jwt', %wrong);
is_denied(req($AT, token => token(typ => 'application/jwt')), 'typ application/jwt', %wrong);
is_denied(req($AT, token => token(typ => 'at+jwt2')), 'typ at+jwt2', %wrong);
is_denied(req($AT, token => token(typ => 'application/at+jwt+x')), 'typ application/at+jwt+x',
    %wrong);
is_denied(req($AT, token => token(typ => 'dpop+jwt')), 'typ dpop+jwt', %wrong);
# an OIDC ID token: typ JWT, nonce, azp, no client_id / jti
my $t = now();
my $id_token = token(typ => 'JWT', claims => {
    iss => ISS, aud => AUD, sub => 'auth0|alice', iat => $t, exp => $t + 300,
    nonce => 'n-0S6_WzA2Mj', azp => 's6BhdRkqt3', auth_time => $t - 10, email => 'alice@example.com' });
is_denied(req($AT, token => $id_token), 'an ID token at the at+jwt location', %wrong);

# --- missing required claim (typ is right) ---
my %missing = deny('missing required claim');
for my $claim (qw(client_id jti sub iat)) {
    is_denied(req($AT, token => token(typ => 'at+jwt', claims => at_claims($claim => undef))),
        "at+jwt without $claim", %missing);
}
# without aud: RFC 9068 requires it, so it is a missing claim wherever at+jwt is on
is_denied(req($AT, token => token(typ => 'at+jwt', claims => at_claims(aud => undef))),
    'at+jwt without aud (audience configured)', %missing);
is_denied(req('/jose/at-jwt-any-aud/env',
              token => token(typ => 'at+jwt', claims => at_claims(aud => undef))),
    'at+jwt without aud (AuthBearerAudience *)', %missing);
is_granted(req('/jose/at-jwt-any-aud/env', token => token(typ => 'at+jwt')),
    'at+jwt with aud (AuthBearerAudience *)');
is_denied(req('/jose/at-jwt-any-aud/env', token => token(typ => 'JWT')),
    'typ JWT (AuthBearerAudience *)', %wrong);

# --- wrong claim types ---
my %type = deny('invalid claim type');
is_denied(req($AT, token => token(typ => 'at+jwt', claims => at_claims(jti => 12345))),
    'jti as a number', %type);
is_denied(req($AT, token => token(typ => 'at+jwt', claims => at_claims(client_id => 42))),
    'client_id as a number', %type);

# --- the default location (AuthBearerTokenType any): an ID-token-like JWT is still accepted ---
is_granted(req('/protected/env', token => $id_token), 'default location: ID-token-like JWT (typ JWT)');
is_granted(req('/protected/env', token => token(typ => undef, claims => {
    iss => ISS, aud => AUD, sub => 'auth0|alice', iat => $t, exp => $t + 300 })),
    'default location: no typ, no client_id / jti');
is_granted(req('/protected/env', token => token(typ => 'at+jwt')), 'default location: at+jwt');

done_testing();
