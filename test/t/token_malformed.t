# Things that are not a JWS compact JWT -> 401 "malformed token".
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Crypt::PK::RSA;
use MAB::Test;

my %bad = (status => 401, reason => 'malformed token',
           challenge => challenge_invalid_token('malformed token'));
my $good = mint();
my ($h, $p, $s) = split /\./, $good;

# a correctly signed token whose payload is not JSON
my $pk = Crypt::PK::RSA->new(keyfile('issuer.pem'));
my $h1 = b64u(json({ alg => 'RS256', typ => 'JWT', kid => 'test-rsa-1' }));
my $p1 = b64u('this is not json');
my $not_json = "$h1.$p1." . b64u($pk->sign_message("$h1.$p1", 'SHA256', 'v1.5'));

my @cases = (
    [ 'garbage'                    => 'garbage' ],
    [ 'two parts'                  => "$h.$p" ],
    [ 'four parts'                 => "$h.$p.$s.$s" ],
    [ 'five parts (JWE shape)'     => "$h.$p.$s.$s.$s" ],
    [ 'header not base64url'       => "\$\$\$.$p.$s" ],
    [ 'payload not base64url'      => "$h.p*a*y.$s" ],
    [ 'signature not base64url'    => "$h.$p.\%\%" ],
    [ 'header not JSON'            => b64u('not json') . ".$p.$s" ],
    [ 'header JSON not an object'  => b64u('["RS256"]') . ".$p.$s" ],
    [ 'payload not JSON (signed)'  => $not_json ],
    [ 'only dots'                  => '..' ],
    [ 'empty header'               => ".$p.$s" ],
);
for my $c (@cases) {
    is_denied(req('/protected/env', token => $c->[1]), $c->[0], %bad);
}

done_testing();
