# DPoP (RFC 9449, issue 14) at a resource server: AuthBearerDPoP On, Required and Off, with
# DPoP-bound JWT access tokens from the real oidc-provider (features.dPoP; ES256 and Ed25519
# proof keys) and, for an RSA proof key (which oidc-provider does not bind by default), a token
# minted by Crypt::JWT with that key's cnf.jkt; proofs made by Crypt::JWT. Each refusal is
# checked by status, the challenge of the scheme the client used and the MAB00100 line.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(sha256 sha256_hex);
use MIME::Base64 qw(encode_base64url);
use Crypt::JWT qw(encode_jwt);
use MAB::Test qw(mint keyfile);
use MAB::DPoP qw(new_key jkt token proof request challenges challenge granted denied
                 jwt_payload RESOURCE OPAQUE);

my $as = MAB::DPoP::provider();
my $ISS = $as->issuer;
my $LOCAL = 'https://issuer.test/';    # MAB::Test::mint's issuer and keys
my $LOCAL_AUD = 'https://quickstarts/api';

my $ec = new_key('ec');
my $ec2 = new_key('ec');
my $ed = new_key('ed');
my $rsa = new_key('rsa');

# the test's own RFC 7638 thumbprint: RFC 7638 §3.1's vector, and what oidc-provider binds
{
    my $k = Crypt::PK::RSA->new({ kty => 'RSA', e => 'AQAB', alg => 'RS256', kid => '2011-04-29',
        n => '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw' });
    is(jkt($k), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs', "the test's thumbprint: RFC 7638 §3.1 vector");
}
my $t_ec = token($as, $ec);
my $t_ed = token($as, $ed);
my $t_plain = token($as, undef);
is(jwt_payload($t_ec)->{cnf}{jkt}, jkt($ec), "oidc-provider's cnf.jkt is the EC proof key's thumbprint");
is(jwt_payload($t_ed)->{cnf}{jkt}, jkt($ed), '... and the Ed25519 one');
ok(!jwt_payload($t_plain)->{cnf}, 'a token requested without a proof carries no cnf');
my $t_rsa = mint(claims => { cnf => { jkt => jkt($rsa) }, scope => 'read', jti => 'rsa-bound' });

my @dirs = qw(on on/scoped on/t~x req off default es256 young pub intro);
my $h = MAB::DPoP::server($as, paths => \@dirs, server_name => 'localhost', conf => sub {
    my $jwks = keyfile('jwks.json');
    my $sec = sub {
        my ($path, $realm, $extra) = @_;
        return <<"C";
<Location /$path>
    AuthType Bearer
    AuthName "$realm"
    AuthBearerIssuer $ISS $LOCAL
$extra    Require valid-user
</Location>
C
    };
    # MAB00110 (a token cache hit) is a debug line; header fields up to 16 KiB, so that the
    # module's own bound on a proof (8 KiB) is what refuses a longer one
    return "LogLevel info auth_bearer:debug\nLimitRequestFieldSize 16384\n"
        . "<AuthBearerIssuer $LOCAL>\n    AuthBearerJWKS $jwks\n    AuthBearerAudience $LOCAL_AUD\n"
        . "</AuthBearerIssuer>\n"
        . $sec->('on', 'dpop-on', "    AuthBearerDPoP On\n")
        . "<Location /on/scoped>\n    Require scope write\n</Location>\n"
        . $sec->('req', 'dpop-req', "    AuthBearerDPoP Required\n")
        . $sec->('off', 'dpop-off', "    AuthBearerDPoP Off\n")
        . $sec->('default', 'dpop-default', '')
        . $sec->('es256', 'dpop-es256', "    AuthBearerDPoP On\n    AuthBearerDPoPAlgorithms ES256\n")
        . $sec->('young', 'dpop-young', "    AuthBearerDPoP On\n    AuthBearerDPoPProofAge 10\n")
        . $sec->('pub', 'dpop-pub', "    AuthBearerDPoP On\n    AuthBearerPublicURL https://api.example.test\n")
        . "<Location /intro>\n    AuthType Bearer\n    AuthName \"dpop-intro\"\n    AuthBearerIssuer $ISS\n"
        . "    AuthBearerDPoP On\n    AuthBearerAudience " . OPAQUE . "\n"
        . '    AuthBearerIntrospection ' . $as->introspection_endpoint . "\n"
        . '    AuthBearerIntrospectionAuth client_secret_basic rs file:' . $as->secret_file('rs') . "\n"
        . "    Require valid-user\n</Location>\n";
});
for my $f ('on/a b.txt', 'on/a;b.txt') {
    open my $fh, '>', $h->dir . "/htdocs/$f" or die;
    print $fh "ok\n";
    close $fh;
}
ok($h->start, 'httpd starts with DPoP On, Required and Off') or do {
    diag $h->{start_output}; done_testing(); exit };
my $O = MAB::DPoP::origin($h);    # http://localhost:PORT, the ServerName

# call($path, key => proof key, token => access token (undef: none), method =>, htm =>,
#      htu => (default: origin + path without query), ath => token for ath (undef: no ath),
#      p => { more dpop_proof options }, proof => given proof(s), scheme => 'DPoP', headers => [])
sub call {
    my ($path, %o) = @_;
    my $tok = exists $o{token} ? $o{token} : $t_ec;
    my $method = $o{method} // 'GET';
    (my $plain = $path) =~ s/\?.*//s;
    my $proof = exists $o{proof} ? $o{proof} : proof(
        key => $o{key} // $ec, htm => $o{htm} // $method, htu => $o{htu} // "$O$plain",
        token => exists $o{ath} ? $o{ath} : $tok, %{ $o{p} // {} });
    return request($h, path => $path, method => $method, token => $tok,
                   scheme => $o{scheme} // 'DPoP', proof => $proof, headers => $o{headers});
}

my $BAD_PROOF = 'invalid DPoP proof';
my $BINDING = 'Invalid DPoP key binding';

# --- challenges without credentials ---------------------------------------------------------------
{
    my $r = request($h, path => '/on/ok.txt');
    denied($r, 'On, no credentials', error => undef, realm => 'dpop-on', fp => 0);
    my $b = challenge($r, 'Bearer');
    my $d = challenge($r, 'DPoP');
    ok($b, 'On, no credentials: a Bearer challenge') or diag $r->header('WWW-Authenticate');
    ok($d, 'On, no credentials: a DPoP challenge') or diag $r->header('WWW-Authenticate');
    my %algs = map { $_ => 1 } split ' ', ($d && $d->{params}{algs}) // '';
    ok($algs{$_}, "On: the DPoP challenge's algs lists $_") for qw(ES256 PS256 RS256 EdDSA);
    ok(!grep({ /^(?:HS|none)/i } keys %algs), 'On: algs names no HMAC and no none')
        or diag $d->{params}{algs};
    is(scalar(challenges($r)), 2, 'On: exactly the two challenges');

    $r = request($h, path => '/es256/ok.txt');
    $d = challenge($r, 'DPoP');
    is($d && $d->{params}{algs}, 'ES256', 'AuthBearerDPoPAlgorithms ES256: algs="ES256"')
        or diag $r->header('WWW-Authenticate');

    $r = request($h, path => '/req/ok.txt');
    denied($r, 'Required, no credentials', error => undef, realm => 'dpop-req', fp => 0);
    ok(challenge($r, 'DPoP') && challenge($r, 'DPoP')->{params}{algs},
       'Required, no credentials: a DPoP challenge with algs') or diag $r->header('WWW-Authenticate');
    is(scalar(challenges($r)), 1, 'Required, no credentials: only the DPoP challenge')
        or diag $r->header('WWW-Authenticate');

    for my $p (['off', 'dpop-off', 'Off'], ['default', 'dpop-default', 'unset (Off)']) {
        $r = request($h, path => "/$p->[0]/ok.txt");
        is($r->code, 401, "$p->[2], no credentials: 401");
        is(join(' | ', $r->header('WWW-Authenticate')), qq{Bearer realm="$p->[1]"},
           "$p->[2]: the round-one challenge exactly, no DPoP one");
    }
}

# --- valid proofs ------------------------------------------------------------------------------------
granted(call('/on/ok.txt'), 'On: EC-bound token, ES256 proof');
granted(call('/on/ok.txt', key => $ed, token => $t_ed), 'On: Ed25519-bound token, EdDSA proof');
granted(call('/on/ok.txt', key => $rsa, token => $t_rsa, p => { alg => 'PS256' }),
        'On: RSA-bound token, PS256 proof');
granted(call('/on/ok.txt', key => $rsa, token => $t_rsa, p => { alg => 'RS256' }),
        'On: RSA-bound token, RS256 proof');
granted(call('/req/ok.txt'), 'Required: EC-bound token, ES256 proof');
granted(call('/es256/ok.txt'), 'AuthBearerDPoPAlgorithms ES256: an ES256 proof');
granted(call('/on/ok.txt', method => 'HEAD'), 'On: HEAD with htm HEAD');
granted(request($h, path => '/on/ok.txt', token => $t_plain, scheme => 'Bearer'),
        'On: an unbound token as Bearer still works');
granted(call('/on/ok.txt', scheme => 'dpop'), 'On: the scheme name is case-insensitive (dpop)');
granted(call('/on/ok.txt', p => { iat => time - 30 }), 'On: a proof 30 s old (AuthBearerDPoPProofAge 60)');
granted(call('/on/ok.txt', p => { iat => time + 10 }), 'On: iat 10 s ahead (within the 30 s skew)');

# --- replay ------------------------------------------------------------------------------------------
{
    my $p = proof(key => $ec, htm => 'GET', htu => "$O/on/ok.txt", token => $t_ec);
    granted(call('/on/ok.txt', proof => $p), 'replay: first use');
    denied(call('/on/ok.txt', proof => $p), 'replay: the same proof again',
           error => 'invalid_dpop_proof', reason => 'DPoP proof replayed', realm => 'dpop-on');
    denied(call('/on/ok.txt', proof => $p), 'replay: and a third time',
           error => 'invalid_dpop_proof', reason => 'DPoP proof replayed');
}

# --- proofs that do not fit the request --------------------------------------------------------------
my %bad = (
    'htu of another path'      => [ '/on/ok.txt', htu => "$O/on/other.txt" ],
    'htu of another port'      => [ '/on/ok.txt', htu => 'http://localhost:' . ($h->port + 1) . '/on/ok.txt' ],
    'htu with https'           => [ '/on/ok.txt', htu => "https://localhost:${\ $h->port}/on/ok.txt" ],
    'htu of another host'      => [ '/on/ok.txt', htu => "http://127.0.0.1:${\ $h->port}/on/ok.txt" ],
    'htm POST for a GET'       => [ '/on/ok.txt', htm => 'POST' ],
    'htm in lower case'        => [ '/on/ok.txt', htm => 'get' ],
    'HEAD with htm GET'        => [ '/on/ok.txt', method => 'HEAD', htm => 'GET' ],
    'ath of another token'     => [ '/on/ok.txt', ath => $t_ed ],
    'no ath'                   => [ '/on/ok.txt', ath => undef ],
    'iat 120 s old'            => [ '/on/ok.txt', p => { iat => time - 120 } ],
    'iat 300 s ahead'          => [ '/on/ok.txt', p => { iat => time + 300 } ],
    'iat 30 s old at ProofAge 10' => [ '/young/ok.txt', p => { iat => time - 30 } ],
    'typ JWT'                  => [ '/on/ok.txt', p => { header => { typ => 'JWT' } } ],
    'jwk with the private key' => [ '/on/ok.txt', p => { header => { jwk => $ec->export_key_jwk('private', 1) } } ],
    'no jti'                   => [ '/on/ok.txt', p => { claims => { jti => undef } } ],
    'PS256 at AuthBearerDPoPAlgorithms ES256' =>
        [ '/es256/ok.txt', key => $rsa, token => $t_rsa, p => { alg => 'PS256' } ],
    'EdDSA at AuthBearerDPoPAlgorithms ES256' => [ '/es256/ok.txt', key => $ed, token => $t_ed ],
    'not a JWS'                => [ '/on/ok.txt', proof => 'not-a-proof' ],
    'iat as a string'          => [ '/on/ok.txt', p => { iat => '' . time } ],
    'no htu'                   => [ '/on/ok.txt', p => { claims => { htu => undef } } ],
    'a jti of 300 characters'  => [ '/on/ok.txt', p => { jti => 'j' x 300 } ],
    'a proof over 8 KiB'       => [ '/on/ok.txt', p => { claims => { pad => 'x' x 9000 } } ],
    # the token's own public key in the header, signed by another key: the signature fails
    "the token key's jwk, signed by another EC key" =>
        [ '/on/ok.txt', key => $ec2, p => { header => { jwk => $ec->export_key_jwk('public', 1) } } ],
    "the token key's jwk (EC), signed PS256 by an RSA key" =>
        [ '/on/ok.txt', key => $rsa, p => { alg => 'PS256', header => { jwk => $ec->export_key_jwk('public', 1) } } ],
);
for my $name (sort keys %bad) {
    my ($path, @o) = @{ $bad{$name} };
    (my $realm = $path) =~ s{^/([^/]+)/.*}{dpop-$1};
    denied(call($path, @o), "proof: $name", error => 'invalid_dpop_proof', reason => $BAD_PROOF,
           realm => $realm);
}
# a proof signed with HMAC, its jwk header an EC public key
{
    my $hs = encode_jwt(alg => 'HS256', key => 'an-hmac-secret-that-is-long-enough!!',
        payload => { jti => 'hs256-proof', htm => 'GET', htu => "$O/on/ok.txt", iat => time,
                     ath => encode_base64url(sha256($t_ec)) },
        extra_headers => { typ => 'dpop+jwt', jwk => $ec->export_key_jwk('public', 1) });
    denied(call('/on/ok.txt', proof => $hs), 'proof: HS256', error => 'invalid_dpop_proof',
           reason => $BAD_PROOF);
}

# two DPoP header fields (httpd joins them with ","): refused, though each is valid
denied(call('/on/ok.txt', proof => [ map { proof(key => $ec, htu => "$O/on/ok.txt", token => $t_ec) } 1, 2 ]),
       'two DPoP header fields', error => 'invalid_dpop_proof', reason => $BAD_PROOF);

# the binding: a valid proof by another key than the token's cnf.jkt
for my $c (['another EC key', $ec2, $t_ec], ['the EC key for an Ed25519-bound token', $ec, $t_ed],
           ['the Ed25519 key for an EC-bound token', $ed, $t_ec],
           ['an EC key for an RSA-bound token', $ec, $t_rsa]) {
    denied(call('/on/ok.txt', key => $c->[1], token => $c->[2]), "binding: proof by $c->[0]",
           error => 'invalid_token', desc => $BINDING, reason => $BINDING, realm => 'dpop-on');
}
denied(call('/req/ok.txt', key => $ec2), 'Required, binding: proof by another key',
       error => 'invalid_token', desc => $BINDING, reason => $BINDING);

# --- the credential itself ------------------------------------------------------------------------------
denied(call('/on/ok.txt', proof => undef), 'DPoP scheme without a DPoP header', status => 400,
       error => 'invalid_request', reason => 'DPoP scheme without one DPoP proof', realm => 'dpop-on');
{
    my $r = request($h, path => '/on/ok.txt', auth => [ "Bearer $t_plain", "DPoP $t_ec" ],
                    proof => proof(key => $ec, htu => "$O/on/ok.txt", token => $t_ec));
    is($r->code, 400, 'two schemes at once (two Authorization fields): 400');
    ok(grep({ ($_->{params}{error} // '') eq 'invalid_request' } challenges($r)),
       '... invalid_request') or diag join ' | ', $r->header('WWW-Authenticate');
}

# --- a bound token as Bearer, an unbound one where binding is required ---------------------------------
for my $p (['on', 'On'], ['req', 'Required']) {
    denied(request($h, path => "/$p->[0]/ok.txt", token => $t_ec, scheme => 'Bearer'),
           "$p->[1]: a DPoP-bound token as Bearer", scheme => 'Bearer', error => 'invalid_token',
           reason => 'DPoP-bound token sent as a Bearer token', realm => "dpop-$p->[0]");
}
for my $p (['off', 'Off'], ['default', 'unset (Off)']) {
    my $r = request($h, path => "/$p->[0]/ok.txt", token => $t_ec, scheme => 'Bearer');
    denied($r, "$p->[1]: a DPoP-bound token as Bearer is refused (fail closed)",
           scheme => 'Bearer', error => 'invalid_token', realm => "dpop-$p->[0]");
    ok(!challenge($r, 'DPoP'), "$p->[1]: ... with no DPoP challenge");
    like($r->{mab_log}, qr/AuthBearerDPoP On/, "$p->[1]: ... and the log tells the admin to turn AuthBearerDPoP On");
    granted(request($h, path => "/$p->[0]/ok.txt", token => $t_plain, scheme => 'Bearer'),
            "$p->[1]: an unbound token as Bearer");
    # not recognised: like any other scheme, a bare challenge
    $r = call("/$p->[0]/ok.txt");
    denied($r, "$p->[1]: the DPoP scheme is not recognised", error => undef,
           reason => 'Authorization is not a Bearer credential', fp => 0);
    is(join(' | ', $r->header('WWW-Authenticate')), qq{Bearer realm="dpop-$p->[0]"},
       "$p->[1]: ... a bare Bearer challenge, no DPoP one");
}
denied(request($h, path => '/req/ok.txt', token => $t_plain, scheme => 'Bearer'),
       'Required: an unbound token as Bearer', scheme => 'Bearer', error => 'invalid_token',
       reason => 'token is not sender-constrained', realm => 'dpop-req');
for my $p (['on', 'On'], ['req', 'Required']) {
    denied(call("/$p->[0]/ok.txt", token => $t_plain), "$p->[1]: an unbound token with the DPoP scheme and a proof",
           error => 'invalid_token', reason => 'token is not sender-constrained', realm => "dpop-$p->[0]");
}

# --- 403 with the DPoP scheme ---------------------------------------------------------------------------
denied(call('/on/scoped/ok.txt'), 'Require scope write, DPoP token with read', status => 403,
       error => 'insufficient_scope', scope => 'write', reason => 'insufficient scope', realm => 'dpop-on');
denied(request($h, path => '/on/scoped/ok.txt', token => $t_plain, scheme => 'Bearer'),
       'Require scope write, Bearer token with read', status => 403, scheme => 'Bearer',
       error => 'insufficient_scope', scope => 'write', reason => 'insufficient scope');
granted(call('/on/scoped/ok.txt', token => token($as, $ec, scope => 'read write')),
        'Require scope write, DPoP token with write');

# --- htu: RFC 3986 §6.2.2 normalisation, from the raw request line ----------------------------------------
my $port = $h->port;
granted(call('/on/ok.txt', htu => "http://LocalHost:$port/on/ok.txt"), 'htu: host in another case');
granted(call('/on/ok.txt', htu => "HTTP://localhost:$port/on/ok.txt"), 'htu: scheme in upper case');
granted(call('/on/ok.txt', htu => "$O/on/ok.txt?x=1#frag"), "htu: the proof's query and fragment are ignored");
granted(call('/on/ok.txt?a=b'), "htu: the request's query is ignored");
granted(call('/on/t~x/ok.txt', htu => "$O/on/t%7Ex/ok.txt"), 'htu: %7E in the proof, ~ in the request');
granted(call('/on/t~x/ok.txt', htu => "$O/on/t%7ex/ok.txt"), 'htu: %7e (lower case) in the proof');
granted(call('/on/t%7Ex/ok.txt', htu => "$O/on/t~x/ok.txt"), 'htu: %7E in the request line, ~ in the proof');
granted(call('/on/%6Fk.txt', htu => "$O/on/ok.txt"), 'htu: an unreserved letter %-encoded in the request line');
granted(call('/on/x/../ok.txt', htu => "$O/on/ok.txt"), 'htu: dot segments in the request line');
granted(call('/on/./x/../ok.txt', htu => "$O/on/x/../ok.txt"), 'htu: dot segments on both sides');
denied(call('/on/x/../ok.txt', htu => "$O/on/x/ok.txt"), 'htu: dot segments resolve to another path',
       error => 'invalid_dpop_proof', reason => $BAD_PROOF, uri => '/on/ok.txt');
granted(call('/on/a%20b.txt', htu => "$O/on/a%20b.txt"), 'htu: %20 on both sides');
granted(call('/on/a%3Bb.txt', htu => "$O/on/a%3bb.txt"), 'htu: %3B against %3b (hex case)');
# a reserved character and its escape are different URIs (RFC 3986 §2.2); httpd's r->uri has
# both as ';', only the raw request line tells them apart
denied(call('/on/a%3Bb.txt', htu => "$O/on/a;b.txt"), 'htu: %3B in the request line, ; in the proof',
       error => 'invalid_dpop_proof', reason => $BAD_PROOF, uri => '/on/a;b.txt');
denied(call('/on/a;b.txt', htu => "$O/on/a%3Bb.txt"), 'htu: ; in the request line, %3B in the proof',
       error => 'invalid_dpop_proof', reason => $BAD_PROOF, uri => '/on/a;b.txt');
# AuthBearerPublicURL https://api.example.test: the default port either way, host case
granted(call('/pub/ok.txt', htu => 'https://API.Example.TEST:443/pub/ok.txt'), 'PublicURL: :443 and host case');
granted(call('/pub/ok.txt', htu => 'https://api.example.test/pub/ok.txt'), 'PublicURL: its origin');
denied(call('/pub/ok.txt'), "PublicURL: a proof for the server's own origin", error => 'invalid_dpop_proof',
       reason => $BAD_PROOF, realm => 'dpop-pub');
denied(call('/pub/ok.txt', htu => 'https://api.example.test:8443/pub/ok.txt'), 'PublicURL: another port',
       error => 'invalid_dpop_proof', reason => $BAD_PROOF);

# --- the verified-token cache serves the token, never the proof ----------------------------------------------
{
    my $t = token($as, $ec);
    my $fp = substr sha256_hex($t), 0, 8;
    my ($ok, $hits) = (0, 0);
    my $n = 12;
    for (1 .. $n) {
        my $r = call('/on/ok.txt', token => $t);
        $ok++ if $r->code == 200;
        $hits++ if $r->{mab_log} =~ /MAB00110: token \Q$fp\E: signature verified earlier/;
    }
    is($ok, $n, "token cache: $n requests with one token and fresh proofs: all 200");
    my $procs = scalar($h->children) || 1;
    cmp_ok($hits, '>=', $n - $procs, "token cache: ... at least $n - $procs of them from the cache");
    my $p = proof(key => $ec, htu => "$O/on/ok.txt", token => $t);
    granted(call('/on/ok.txt', token => $t, proof => $p), 'token cache: a fresh proof');
    denied(call('/on/ok.txt', token => $t, proof => $p), 'token cache: that proof replayed',
           error => 'invalid_dpop_proof', reason => 'DPoP proof replayed');
    denied(call('/on/ok.txt', token => $t, key => $ec2), 'token cache: a proof by another key',
           error => 'invalid_token', desc => $BINDING, reason => $BINDING);
    denied(call('/on/ok.txt', token => $t, htu => "$O/on/other.txt"), 'token cache: a proof for another URL',
           error => 'invalid_dpop_proof', reason => $BAD_PROOF);
    denied(call('/on/ok.txt', token => $t, ath => $t_ec), 'token cache: a proof for another token',
           error => 'invalid_dpop_proof', reason => $BAD_PROOF);
    denied(call('/on/ok.txt', token => $t, proof => undef), 'token cache: no proof', status => 400,
           error => 'invalid_request');
    denied(request($h, path => '/on/ok.txt', token => $t, scheme => 'Bearer'), 'token cache: as Bearer',
           scheme => 'Bearer', error => 'invalid_token', reason => 'DPoP-bound token sent as a Bearer token');
    denied(request($h, path => '/off/ok.txt', token => $t, scheme => 'Bearer'), 'token cache: as Bearer at Off',
           scheme => 'Bearer', error => 'invalid_token');
    granted(call('/on/ok.txt', token => $t), 'token cache: a fresh proof after the refusals');
}

# --- an opaque DPoP-bound token: bound by the introspection answer's cnf.jkt ----------------------------------
{
    my $t = token($as, $ec, resource => OPAQUE);
    unlike($t, qr/\./, 'an opaque token from oidc-provider');
    is($as->introspect($t)->{cnf}{jkt}, jkt($ec), "... whose introspection answer's cnf.jkt is the proof key's");
    granted(call('/intro/ok.txt', token => $t), 'introspected: the bound opaque token with its proof');
    my $p = proof(key => $ec, htu => "$O/intro/ok.txt", token => $t);
    granted(call('/intro/ok.txt', token => $t, proof => $p), 'introspected: another proof (the answer cached)');
    denied(call('/intro/ok.txt', token => $t, proof => $p), 'introspected: that proof replayed',
           error => 'invalid_dpop_proof', reason => 'DPoP proof replayed', realm => 'dpop-intro');
    denied(call('/intro/ok.txt', token => $t, key => $ec2), 'introspected: a proof by another key',
           error => 'invalid_token', desc => $BINDING, reason => $BINDING);
    denied(request($h, path => '/intro/ok.txt', token => $t, scheme => 'Bearer'), 'introspected: as Bearer',
           scheme => 'Bearer', error => 'invalid_token', reason => 'DPoP-bound token sent as a Bearer token');
    granted(request($h, path => '/intro/ok.txt', token => token($as, undef, resource => OPAQUE), scheme => 'Bearer'),
            'introspected: an unbound opaque token as Bearer');
}

$h->stop;
done_testing();
