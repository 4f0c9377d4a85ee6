# JOSE hardening: tokens built to attack a JWT library, each refused with its exact reason.
#   malformed token, token too large, algorithm not allowed, unsupported critical header,
#   no matching key (incl. the keys a key set publishes that must be skipped), signature
#   verification failed, invalid claim type.
# Tokens are signed with CryptX (Crypt::PK::*) or Crypt::JWT, or assembled by hand; never by the
# module under test.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Crypt::PK::RSA;
use Crypt::PK::ECC;
use Crypt::Mac::HMAC qw(hmac);
use MIME::Base64 qw(encode_base64 decode_base64);
use Apache::Test ();
use MAB::Test;

sub deny {
    my $reason = shift;
    return (status => 401, reason => $reason, challenge => challenge_invalid_token($reason));
}
sub slurp { open my $fh, '<:raw', $_[0] or die "$_[0]: $!"; local $/; <$fh> }

my %PK;
sub pk {
    my $name = shift;
    my $class = $name eq 'ec' ? 'Crypt::PK::ECC' : 'Crypt::PK::RSA';
    return $PK{$name} //= $class->new(keyfile("$name.pem"));
}

# sign(header, payload, key => 'issuer', alg => 'RS256'): a compact JWS signed by hand.
# header / payload: hashref (compact JSON) or string (used as the JSON text as is).
sub sign_input {
    my ($input, %o) = @_;
    my $key = $o{key} // 'issuer';
    my $alg = $o{alg} // 'RS256';
    my ($fam, $bits) = $alg =~ /^([A-Z]{2})(\d+)$/ or die "alg $alg";
    my $sha = "SHA$bits";
    return pk($key)->sign_message($input, $sha, 'v1.5')            if $fam eq 'RS';
    return pk($key)->sign_message($input, $sha, 'pss', $bits / 8)  if $fam eq 'PS';
    return pk($key)->sign_message_rfc7518($input, $sha)            if $fam eq 'ES';
    die "alg $alg";
}
sub sign {
    my ($h, $p, %o) = @_;
    my $input = join '.', (split /\./, mint_parts($h, $p, ''))[0, 1];
    return "$input." . b64u(sign_input($input, %o));
}
sub claims {
    my $t = now();
    return { iss => ISS, aud => AUD, sub => 'auth0|alice', iat => $t, exp => $t + 300, @_ };
}
my $HDR = { alg => 'RS256', typ => 'JWT', kid => 'test-rsa-1' };
my $HDR_JSON = json($HDR);
sub claims_json {    # the default claims as compact JSON text, with $extra spliced in
    my $extra = shift;
    my $j = json(claims());
    $j =~ s/\}$/,$extra}/ if defined $extra;
    return $j;
}

my $P = '/protected/env';

# the baseline: the hand signer makes tokens the module accepts
is_granted(req($P, token => sign($HDR, claims())), 'hand-signed RS256 baseline');
is_granted(req($P, token => sign({ alg => 'ES256', kid => 'test-ec-1' }, claims(), key => 'ec',
                                 alg => 'ES256')), 'hand-signed ES256 baseline');

# ================================================================================================
# malformed token
# ================================================================================================
{
    my %m = deny('malformed token');
    my $good = sign($HDR, claims());
    my ($h, $p, $s) = split /\./, $good;

    is_denied(req($P, token => "$h.$p"), 'two parts', %m);
    is_denied(req($P, token => "$h.$p.$s.$s"), 'four parts', %m);
    my $jwe_h = b64u(json({ alg => 'RSA-OAEP', enc => 'A256GCM', kid => 'test-rsa-1' }));
    is_denied(req($P, token => join('.', $jwe_h, b64u('k' x 256), b64u('i' x 12), b64u('c' x 40),
                                    b64u('t' x 16))), 'JWE (five parts)', %m);

    # base64 with padding: a header whose JSON length is not a multiple of 3, signed as sent
    {
        my $hj = json({ %$HDR, x => 'a' });
        $hj .= ' ' until length($hj) % 3 == 1;            # -> base64 needs "=="
        my $hpad = encode_base64($hj, '');
        $hpad =~ tr{+/}{-_};
        like($hpad, qr/==$/, 'padded header really has padding');
        my $input = "$hpad.$p";
        is_denied(req($P, token => "$input." . b64u(sign_input($input))), 'header with = padding',
            %m);
        my $sig = encode_base64(sign_input("$h.$p"), '');    # 256 bytes -> "=="
        $sig =~ tr{+/}{-_};
        like($sig, qr/==$/, 'padded signature really has padding');
        is_denied(req($P, token => "$h.$p.$sig"), 'signature with = padding', %m);
    }
    # standard base64 alphabet (+ /) instead of base64url
    {
        my $pj = json(claims(sub => '???>>>~~~'));          # base64 of this holds "/" and "+"
        my $pstd = encode_base64($pj, '');
        $pstd =~ s/=+$//;
        like($pstd, qr{[+/]}, 'payload in the standard alphabet holds + or /');
        my $input = "$h.$pstd";
        is_denied(req($P, token => "$input." . b64u(sign_input($input))),
            'payload in the standard base64 alphabet', %m);
        my $sig;
        for my $i (1 .. 50) {    # a signature whose standard encoding holds + or /
            my $c = json(claims(jti => "n$i"));
            my $in = "$h." . b64u($c);
            my $raw = sign_input($in);
            my $std = encode_base64($raw, '');
            $std =~ s/=+$//;
            if ($std =~ m{[+/]}) { $sig = "$in.$std"; last }
        }
        ok(defined $sig, 'found a signature with + or / in the standard alphabet');
        is_denied(req($P, token => $sig), 'signature in the standard base64 alphabet', %m);
    }
    # whitespace inside: a space splits the header value (two tokens: 400); a tab stays inside
    is_denied(req($P, auth => 'Bearer ' . substr($good, 0, 20) . ' ' . substr($good, 20),
                  token => $good),
        'space inside the token', status => 400, reason => qr/more than one token \(kid=-, alg=-, iss=-, sub=-, token=-\)/,
        challenge => challenge_invalid_request());
    is_denied(req($P, auth => 'Bearer ' . substr($good, 0, 20) . "\t" . substr($good, 20),
                  token => $good),
        'tab inside the token', status => 400, reason => qr/more than one token \(kid=-, alg=-, iss=-, sub=-, token=-\)/,
        challenge => challenge_invalid_request());

    # header / payload not JSON objects (correctly signed)
    is_denied(req($P, token => sign('null', claims())), 'header is JSON null', %m);
    is_denied(req($P, token => sign('"RS256"', claims())), 'header is a JSON string', %m);
    is_denied(req($P, token => sign($HDR, '[]')), 'payload is a JSON array', %m);
    is_denied(req($P, token => sign($HDR, '42')), 'payload is a JSON number', %m);
    is_denied(req($P, token => sign($HDR, '"sub"')), 'payload is a JSON string', %m);
    is_denied(req($P, token => sign($HDR, claims_json() . ' {}')), 'payload: two JSON values',
        %m);

    # duplicate member names
    is_denied(req($P, token => sign('{"alg":"RS256","alg":"none","kid":"test-rsa-1"}', claims())),
        'duplicate "alg" in the header', %m);
    is_denied(req($P, token => sign('{"alg":"RS256","kid":"test-rsa-1","kid":"test-ec-1"}',
                                    claims())), 'duplicate "kid" in the header', %m);
    is_denied(req($P, token => sign($HDR, claims_json('"sub":"auth0|mallory"'))),
        'duplicate "sub" in the claims', %m);
    is_denied(req($P, token => sign($HDR, claims_json('"exp":9999999999'))),
        'duplicate "exp" in the claims', %m);

    # NUL
    is_denied(req($P, token => sign('{"alg":"RS256","kid":"test-rsa-1","x":"a\u0000b"}',
                                    claims())), 'NUL (\u0000) in the header', %m);
    is_denied(req($P, token => sign('{"alg":"RS256","kid":"test-rsa-1\u0000x"}', claims())),
        'NUL (\u0000) in the kid', %m);
    is_denied(req($P, token => sign($HDR, claims_json('"name":"alice\u0000admin"'))),
        'NUL (\u0000) in a claim', %m);
    is_denied(req($P, token => sign($HDR, json({ %{ claims() }, sub => "auth0|alice\0admin" }))),
        'NUL (\u0000) in sub', %m);
    # invalid UTF-8
    is_denied(req($P, token => sign($HDR, claims_json(qq{"name":"\xff\xfe"}))),
        'invalid UTF-8 in a claim', %m);

    # nesting: 16 levels pass, deeper is refused
    my $nest = sub { my $n = shift; '"deep":' . ('[' x $n) . (']' x $n) };
    is_granted(req($P, token => sign($HDR, claims_json($nest->(15)))),
        'payload nested 16 levels (object + 15 arrays)');
    is_denied(req($P, token => sign($HDR, claims_json($nest->(16)))),
        'payload nested 17 levels', %m);
    is_denied(req($P, token => sign($HDR, claims_json($nest->(2000)))),
        'payload nested 2001 levels', %m);
    is_denied(req($P, token => sign($HDR, claims_json('"deep":' . ('{"a":' x 40) . '1' . ('}' x 40)))),
        'payload: 41 nested objects', %m);

    # a nested JWT: the payload is itself a (valid) JWT, cty JWT
    {
        my $inner = sign($HDR, claims());
        my $hj = json({ %$HDR, cty => 'JWT' });
        my $input = b64u($hj) . '.' . b64u($inner);
        is_denied(req($P, token => "$input." . b64u(sign_input($input))),
            'nested JWT (cty JWT, payload is a JWT)', %m);
        my $input2 = b64u($hj) . '.' . b64u(json($inner));
        is_denied(req($P, token => "$input2." . b64u(sign_input($input2))),
            'nested JWT (cty JWT, payload is a JWT as a JSON string)', %m);
    }

    # b64 / zip / enc headers
    is_denied(req($P, token => sign({ %$HDR, b64 => JSON::PP::false() }, claims())),
        'b64 false header', %m);
    is_denied(req($P, token => sign({ %$HDR, b64 => JSON::PP::true() }, claims())),
        'b64 true header', %m);
    is_denied(req($P, token => sign({ %$HDR, zip => 'DEF' }, claims())), 'zip DEF header', %m);
    is_denied(req($P, token => sign({ %$HDR, enc => 'A256GCM' }, claims())),
        'enc header on a JWS', %m);

    # kid not a string
    for my $kid ([ 'number', '123' ], [ 'array', '["test-rsa-1"]' ], [ 'object', '{}' ],
                 [ 'null', 'null' ], [ 'true', 'true' ]) {
        is_denied(req($P, token => sign(qq({"alg":"RS256","typ":"JWT","kid":$kid->[1]}), claims())),
            "kid is a JSON $kid->[0]", %m);
    }

    # empty signature with a real algorithm
    is_denied(req($P, token => "$h.$p."), 'RS256 with an empty signature', %m);
    my ($eh, $ep) = split /\./, sign({ alg => 'ES256', kid => 'test-ec-1' }, claims(), key => 'ec',
                                     alg => 'ES256');
    is_denied(req($P, token => "$eh.$ep."), 'ES256 with an empty signature', %m);
}

# ================================================================================================
# token too large (AuthBearerMaxTokenSize)
# ================================================================================================
{
    my %big = deny('token too large');
    # a validly signed token of exactly $len characters (pad claim of the right length)
    my $sized = sub {
        my $len = shift;
        for my $extra ({}, { p2 => 'y' }) {    # lengths a one-byte step skips: a second claim
            my $l0 = length mint(claims => { pad => '', %$extra });
            my $n0 = int(($len - $l0) * 3 / 4) - 6;
            $n0 = 0 if $n0 < 0;
            for my $n ($n0 .. $n0 + 12) {
                my $t = mint(claims => { pad => 'x' x $n, %$extra });
                return $t if length $t == $len;
                last if length $t > $len;
            }
        }
        die "no token of length $len";
    };
    my $two_k = mint(claims => { pad => 'x' x 1100 });
    ok(length($two_k) > 1900 && length($two_k) < 2200, 'a ~2 KB token (' . length($two_k) . ')');
    is_granted(req('/protected/env', token => $two_k), '2 KB token at the default limit');
    is_denied(req('/jose/small/env', token => $two_k), '2 KB token where the limit is 1024', %big);

    my $t1024 = $sized->(1024);
    my $t1025 = $sized->(1025);
    is_granted(req('/jose/small/env', token => $t1024), 'token of 1024 chars (limit 1024)');
    is_denied(req('/jose/small/env', token => $t1025), 'token of 1025 chars (limit 1024)', %big);

    my $t8192 = $sized->(8192);
    my $t8193 = $sized->(8193);
    is_granted(req('/protected/env', token => $t8192), 'token of 8192 chars (default limit)');
    is_denied(req('/protected/env', token => $t8193), 'token of 8193 chars (default limit)', %big);
    # not even decoded: garbage over the limit is "too large", not "malformed"
    is_denied(req('/jose/small/env', token => 'x' x 1025), '1025 chars of garbage (limit 1024)',
        %big);
    is_denied(req('/protected/env', token => ('A' x 4000) . '.' . ('A' x 4000) . '.' . ('A' x 200)),
        '8202 chars of base64url (default limit)', %big);
}

# ================================================================================================
# algorithm not allowed
# ================================================================================================
{
    my %alg = deny('algorithm not allowed');
    for my $none (qw(none None NONE nOnE)) {
        my $hdr = { alg => $none, typ => 'JWT', kid => 'test-rsa-1' };
        is_denied(req($P, token => mint_parts($hdr, claims(), '')), "alg $none", %alg);
    }
    is_denied(req($P, token => mint_parts({ alg => 'none' }, claims(), 'x' x 32)),
        'alg none with a signature', %alg);
    {
        my $input = b64u(json({ %$HDR, alg => 'rs256' })) . '.' . b64u(json(claims()));
        is_denied(req($P, token => "$input." . b64u(sign_input($input))),
            'alg rs256 (case), RS256 signature', %alg);
        $input = b64u(json({ %$HDR, alg => 'XS256' })) . '.' . b64u(json(claims()));
        is_denied(req($P, token => "$input." . b64u(sign_input($input))),
            'unknown alg XS256', %alg);
        $input = b64u(json({ %$HDR, alg => 'RS256 ' })) . '.' . b64u(json(claims()));
        is_denied(req($P, token => "$input." . b64u(sign_input($input))),
            'alg "RS256 " (trailing space)', %alg);
    }
    my %pub = ('SPKI PEM' => slurp(keyfile('issuer.pub.pem')),
               'SPKI DER' => slurp(keyfile('issuer.pub.der')));
    for my $what (sort keys %pub) {
        my $input = b64u(json({ %$HDR, alg => 'HS256' })) . '.' . b64u(json(claims()));
        is_denied(req($P, token => "$input." . b64u(hmac('SHA256', $pub{$what}, $input))),
            "HS256 keyed with the RSA public key ($what), no secret here", %alg);
    }
    is_denied(req('/ps256-only/env', token => mint()), 'RS256 where the allow-list excludes it',
        %alg);
}

# ================================================================================================
# unsupported critical header
# ================================================================================================
{
    my %crit = deny('unsupported critical header');
    is_denied(req($P, token => sign({ %$HDR, crit => ['exp'] }, claims())), 'crit ["exp"]', %crit);
    is_denied(req($P, token => sign({ %$HDR, crit => ['x-custom'], 'x-custom' => 1 }, claims())),
        'crit ["x-custom"] with the member present', %crit);
    is_denied(req($P, token => sign({ %$HDR, crit => ['x-missing'] }, claims())),
        'crit ["x-missing"]', %crit);
}

# ================================================================================================
# no matching key
# ================================================================================================
{
    my %nokey = deny('no matching key');
    is_denied(req($P, token => mint(kid => '../../etc/passwd')), 'kid ../../etc/passwd', %nokey);
    is_denied(req($P, token => mint(kid => q{test-rsa-1' OR '1'='1})), 'SQL-injection kid',
        %nokey);
    is_denied(req($P, token => mint(kid => 'k' x 4000)), '4000-char kid', %nokey);
    is_denied(req($P, token => mint(kid => 'test-rsa-1/../test-rsa-1')), 'kid with /../',
        %nokey);
    is_denied(req($P, token => mint(key => 'other')), 'kid not in the key set', %nokey);
    is_denied(req($P, token => mint(key => 'ec', kid => 'test-rsa-1')),
        'ES256 token (EC key) whose kid names the RSA key', %nokey);
    {
        my $input = b64u(json({ alg => 'ES256', typ => 'JWT', kid => 'test-rsa-1' })) . '.'
            . b64u(json(claims()));
        is_denied(req($P, token => "$input." . b64u(sign_input($input))),
            'alg ES256 under the RSA kid, RSA signature bytes', %nokey);
    }
    is_denied(req($P, token => mint(alg => 'PS256')),
        'PS256 token, its kid names a JWK with alg RS256', %nokey);
    is_denied(req($P, token => mint(alg => 'RS256', key => 'noalg', kid => 'test-ec-1')),
        'RS256 token under the EC kid', %nokey);
    is_denied(req($P, token => mint(key => 'ec', kid => 'test-ed-1')),
        'ES256 token under the Ed25519 kid', %nokey);

    # --- a key set publishing keys that must be skipped: htdocs/jwks-mixed.json ---
    my $M = '/jose/mixed/env';
    # key sets live 1 s in this suite (AuthBearerJWKSRefresh 1 1): wait that out so the set is
    # fetched (and its skipped keys logged) inside the window read below, whatever ran before
    select undef, undef, undef, 1.2;
    my $before = -s error_log_path() // 0;
    is_granted(req($M, token => mint()), 'mixed key set: the good key (test-rsa-1)');
    my @bad = (
        [ 'test-rsa-1024',    'RSA-1024 key (published, too weak)', mint(key => 'weak1024', kid => 'test-rsa-1024') ],
        [ 'test-rsa-evenexp', 'RSA key with an even exponent',      mint(kid => 'test-rsa-evenexp') ],
        [ 'test-rsa-enc',     'RSA key with use enc',               mint(key => 'enc', kid => 'test-rsa-enc') ],
        [ 'test-rsa-keyops',  'RSA key with key_ops [encrypt]',     mint(key => 'enc', kid => 'test-rsa-keyops') ],
        [ 'test-oct-1',       'oct key (RS256 token)',              mint(kid => 'test-oct-1') ],
    );
    my $rounds = 3;
    for my $round (1 .. $rounds) {
        for my $b (@bad) {
            is_denied(req($M, token => $b->[2]), "mixed key set: $b->[1] (round $round)", %nokey);
        }
        is_granted(req($M, token => mint()), "mixed key set: the good key (round $round)");
    }
    # HS256 keyed with the published oct key: HMAC is never keyed from a key set
    {
        my $oct = slurp(keyfile('oct.key'));
        chomp $oct;
        my $input = b64u(json({ alg => 'HS256', typ => 'JWT', kid => 'test-oct-1' })) . '.'
            . b64u(json(claims()));
        is_denied(req($M, token => "$input." . b64u(hmac('SHA256', $oct, $input))),
            'mixed key set: HS256 keyed with the published oct key', deny('algorithm not allowed'));
    }
    # the skipped keys are logged once per fetch of the key set (MAB00021), not per request.
    # With mod_watchdog the key set (AuthBearerJWKSRefresh 1 1) is refreshed off the request
    # path about once a second: wait for at least one refresh inside the window.
    sleep 2;
    my $log = do {
        open my $fh, '<:raw', error_log_path() or die $!;
        seek $fh, $before, 0;
        local $/;
        <$fh> // '';
    };
    my $src = qr{http://127\.0\.0\.1:\d+/jwks-mixed\.json};
    my $fetches = () = $log =~ /MAB00031: key set $src fetched: 1 key\(s\), 5 skipped/g;
    ok($fetches >= 1, "mixed key set fetched ($fetches time(s)), 1 key, 5 skipped")
        or diag $log;
    my $requests = 1 + $rounds * (@bad + 1) + 1;
    ok($fetches < $requests / 2, "fewer fetches ($fetches) than requests ($requests)");
    for my $b (@bad) {
        my $n = () = $log =~ /\[[\w:]*:warn\].*MAB00021: $src: skipping key #\d+ \(kid=\Q$b->[0]\E\): /g;
        is($n, $fetches, "MAB00021 'skipping key' warning for $b->[0] once per fetch ($n)")
            or diag join "\n", grep { /MAB0002|MAB0003/ } split /\n/, $log;
    }
    my $good_skips = () = $log =~ /MAB00021: [^\n]*kid=test-rsa-1\)/g;
    is($good_skips, 0, 'the good key is never skipped');
}

# ================================================================================================
# signature verification failed
# ================================================================================================
{
    my %sig = deny('signature verification failed');
    my $other = pk('other');
    my $other_jwk = $other->export_key_jwk('public', 1);

    is_denied(req($P, token => mint(key => 'other', kid => 'test-rsa-1',
                                    header => { jwk => { %$other_jwk, kid => 'test-rsa-1' } })),
        'embedded jwk (attacker key) with the real kid', %sig);
    is_denied(req($P, token => mint(key => 'other', kid => 'test-rsa-1',
                                    header => { jku => 'https://attacker.test/jwks.json' })),
        'jku pointing elsewhere', %sig);
    is_denied(req($P, token => mint(key => 'other', kid => 'test-rsa-1',
                                    header => { x5u => 'https://attacker.test/cert.pem' })),
        'x5u pointing elsewhere', %sig);
    my $crt = slurp(keyfile('other.crt.pem'));
    $crt =~ s/-----[^-]+-----//g;
    $crt =~ s/\s+//g;
    is_denied(req($P, token => mint(key => 'other', kid => 'test-rsa-1', header => { x5c => [$crt] })),
        'x5c carrying the attacker certificate', %sig);
    is_denied(req($P, token => mint(key => 'other', kid => 'test-rsa-1',
                                    header => { jwk => $other_jwk,
                                                jku => 'http://127.0.0.1/evil.json',
                                                x5c => [$crt] })),
        'jwk + jku + x5c together', %sig);

    # ECDSA
    my $eh = { alg => 'ES256', typ => 'JWT', kid => 'test-ec-1' };
    my $e_input = b64u(json($eh)) . '.' . b64u(json(claims()));
    my $der = pk('ec')->sign_message($e_input, 'SHA256');
    like(unpack('H2', $der), qr/^30$/, 'the ES256 signature is DER (a SEQUENCE)');
    is_denied(req($P, token => "$e_input." . b64u($der)), 'ES256 signature in DER form', %sig);
    is_denied(req($P, token => "$e_input." . b64u("\0" x 64)), 'ES256 r = s = 0', %sig);
    my $n = pack 'H*', 'FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551';
    is_denied(req($P, token => "$e_input." . b64u($n . $n)), 'ES256 r = s = group order', %sig);
    my $raw = pk('ec')->sign_message_rfc7518($e_input, 'SHA256');
    is_granted(req($P, token => "$e_input." . b64u($raw)), 'ES256 raw R||S (control)');
    is_denied(req($P, token => "$e_input." . b64u(substr($raw, 0, 63))), 'ES256 signature 63 bytes',
        %sig);
    is_denied(req($P, token => "$e_input." . b64u($raw . "\0")), 'ES256 signature 65 bytes', %sig);

    # RSA
    my $good = sign($HDR, claims());
    my ($h, $p, $s) = split /\./, $good;
    my $sbytes = MIME::Base64::decode_base64url($s);
    is_denied(req($P, token => "$h.$p." . b64u(substr($sbytes, 0, -1))),
        'RS256 signature one byte short', %sig);
    is_denied(req($P, token => "$h.$p." . b64u("\0" . $sbytes)), 'RS256 signature one byte long',
        %sig);
    my (undef, undef, $s2) = split /\./, sign($HDR, claims(sub => 'auth0|mallory'));
    is_denied(req($P, token => "$h.$p.$s2"), 'signature of another token', %sig);
    is_denied(req($P, token => "$h.$p." . b64u("\0" x 256)), 'RS256 signature all zero', %sig);
}

# ================================================================================================
# invalid claim type
# ================================================================================================
{
    my %type = deny('invalid claim type');
    my $t = now();
    my $with = sub {    # claims JSON with one member replaced by raw JSON text
        my ($name, $raw) = @_;
        my %c = %{ claims() };
        delete $c{$name};
        my $j = json(\%c);
        $j =~ s/\}$/,"$name":$raw}/;
        return sign($HDR, $j);
    };
    is_denied(req($P, token => $with->('exp', '"9999999999"')), 'exp as a string', %type);
    is_denied(req($P, token => $with->('exp', 'true')), 'exp true', %type);
    is_denied(req($P, token => $with->('exp', '1e300')), 'exp 1e300', %type);
    is_denied(req($P, token => $with->('exp', '253402300800')), 'exp 253402300800 (after 9999)',
        %type);
    is_granted(req($P, token => $with->('exp', '253402300799')),
        'exp 253402300799 (end of 9999) is a valid NumericDate');
    is_denied(req($P, token => $with->('exp', 'null')), 'exp null', %type);
    is_denied(req($P, token => $with->('exp', '[' . ($t + 300) . ']')), 'exp as an array', %type);
    is_denied(req($P, token => $with->('nbf', '-1')), 'negative nbf', %type);
    is_denied(req($P, token => $with->('iat', '"' . $t . '"')), 'iat as a string', %type);
    is_denied(req($P, token => $with->('iss', '123')), 'iss as a number', %type);
    is_denied(req($P, token => $with->('iss', json([ISS]))), 'iss as an array', %type);
    is_denied(req($P, token => $with->('aud', '123')), 'aud as a number', %type);
    is_denied(req($P, token => $with->('aud', '[' . json(AUD) . ',123]')),
        'aud array with a number', %type);
    is_denied(req($P, token => $with->('aud', '{"aud":' . json(AUD) . '}')), 'aud as an object',
        %type);
}

sub error_log_path { Apache::Test::vars('t_logs') . '/error_log' }

done_testing();
