# A self-test of MAB::IntrospectServer, the RFC 7662 endpoint the introspection tests run
# against: it only talks to that server (LWP), never to httpd, so a failure here is the test
# server's and not the module's. Keys and certificates are made here with the openssl CLI;
# assertions and tokens are signed with Crypt::JWT. Also runs on its own:
#   perl -Itest/t/lib test/t/introspect_server.t
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp ();
use Time::HiRes ();
use POSIX ();
use JSON::PP ();
use LWP::UserAgent;
use MIME::Base64 qw(encode_base64);
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::ECC;
use Crypt::PK::RSA;
use MAB::IntrospectServer;

my $JSON = JSON::PP->new->canonical;
my $tmp = File::Temp::tempdir(CLEANUP => 1);
sub run { system(@_) == 0 or die "'@_' failed" }
for my $k (qw(client other)) {
    run('openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', "$tmp/$k.key");
    run('openssl', 'pkey', '-in', "$tmp/$k.key", '-pubout', '-out', "$tmp/$k.pub");
    run('openssl', 'req', '-x509', '-new', '-key', "$tmp/$k.key", '-days', '1', '-subj', "/CN=$k-cn",
        '-out', "$tmp/$k.pem");
}
run("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
    . "-addext subjectAltName=IP:127.0.0.1 -keyout $tmp/server.key -out $tmp/server.pem 2>/dev/null");
run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $tmp/issuer.key 2>/dev/null");
my $issuer_key = Crypt::PK::RSA->new("$tmp/issuer.key");
{
    open my $fh, '>', "$tmp/jwks.json" or die;
    print $fh $JSON->encode({ keys => [ { %{ $issuer_key->export_key_jwk('public', 1) },
                                          kid => 'k1', alg => 'RS256', use => 'sig' } ] });
    close $fh;
}

my $ua = LWP::UserAgent->new(keep_alive => 1, timeout => 5);

sub form {
    my %f = @_;
    return join '&', map {
        my $v = $f{$_};
        $v =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge;
        "$_=$v";
    } sort keys %f;
}

# post($server, token => …, form => {…}, headers => {…}, path => '/introspect', ua => …)
sub post {
    my ($s, %o) = @_;
    my %f = (token_type_hint => 'access_token', %{ $o{form} // {} });
    $f{token} = $o{token} if defined $o{token};
    return ($o{ua} // $ua)->post($s->url($o{path} // '/introspect'), %{ $o{headers} // {} },
                                 'Content-Type' => 'application/x-www-form-urlencoded',
                                 Content => form(%f));
}
sub body { my $r = shift; my $b = eval { $JSON->decode($r->decoded_content) }; $b // {} }
sub active { my $r = shift; $r->code == 200 && body($r)->{active} ? 1 : 0 }

# --- no client authentication: the table, the default, _status and _delay, the log ---------------
{
    my $s = MAB::IntrospectServer->new;
    my $r = post($s, token => 'unknown');
    is($r->code, 200, 'an unknown token: 200');
    is_deeply(body($r), { active => JSON::PP::false }, '... active false');
    $s->answer('opaque-1', { active => JSON::PP::true, sub => 'alice', scope => 'read' });
    $r = post($s, token => 'opaque-1');
    is_deeply(body($r), { active => JSON::PP::true, sub => 'alice', scope => 'read' },
              'a token in the table: its answer');
    like($r->header('Content-Type'), qr{^application/json}, '... as application/json');
    $s->forget('opaque-1');
    ok(!active(post($s, token => 'opaque-1')), 'forgotten: inactive again');
    $s->answer('odd', { active => JSON::PP::true, _status => 503, _delay => 0.3 });
    my $t0 = Time::HiRes::time();
    $r = post($s, token => 'odd');
    is($r->code, 503, '_status: that status');
    ok(Time::HiRes::time() - $t0 >= 0.3, '_delay: answered that late');
    ok(!exists body($r)->{_status} && !exists body($r)->{_delay}, 'the underscore members are not sent');
    is(post($s, token => 'x', path => '/nope')->code, 404, 'another path: 404');
    is(post($s, form => {})->code, 400, 'no token: 400 invalid_request');

    my $calls = $s->calls(path => '/introspect');
    is(scalar @$calls, 5, 'the log has each call to /introspect');
    is($calls->[0]{token}, 'unknown', '... with the token');
    is($calls->[0]{hint}, 'access_token', '... the hint');
    is($calls->[0]{auth}, 'none', '... the client authentication seen');
    is($s->count(token => 'opaque-1'), 2, 'count(token => …)');
    ok($s->connections >= 1 && $s->connections <= 3, 'keep-alive: the calls shared connections ('
       . $s->connections . ')');
    $s->clear_log;
    is($s->count, 0, 'clear_log');
}

# --- client_secret_basic, client_secret_post, bearer --------------------------------------------------
{
    my $s = MAB::IntrospectServer->new(auth => 'client_secret_basic', client_id => 'rs:1',
                                       secret => 'p@ss w+rd');
    $s->answer('t', { active => JSON::PP::true });
    my $basic = sub { 'Basic ' . encode_base64(join(':', map { my $v = $_; $v =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge; $v } @_), '') };
    my $r = post($s, token => 't', headers => { Authorization => $basic->('rs:1', 'p@ss w+rd') });
    ok(active($r), 'basic: the right id and secret (form-encoded, RFC 6749 2.3.1)');
    $r = post($s, token => 't', headers => { Authorization => $basic->('rs:1', 'wrong') });
    is($r->code, 401, 'basic: a wrong secret: 401');
    is(body($r)->{error}, 'invalid_client', '... invalid_client');
    like($r->header('WWW-Authenticate') // '', qr/^Basic /, '... with a Basic challenge');
    is(post($s, token => 't')->code, 401, 'basic: no credentials: 401');
    is(post($s, token => 't', form => { client_id => 'rs:1', client_secret => 'p@ss w+rd' })->code, 401,
       'basic expected, post sent: 401');
    is($s->count(client_ok => 1), 1, 'the log tells accepted from refused calls');
    is($s->count(auth => 'post'), 1, 'the log names the method a call used');

    $s->configure(auth => 'client_secret_post');
    ok(active(post($s, token => 't', form => { client_id => 'rs:1', client_secret => 'p@ss w+rd' })),
       'post: right');
    is(post($s, token => 't', form => { client_id => 'rs:2', client_secret => 'p@ss w+rd' })->code, 401,
       'post: another client_id: 401');
    is(post($s, token => 't', form => { client_id => 'rs:1', client_secret => 'p@ss' })->code, 401,
       'post: a wrong secret: 401');

    $s->configure(auth => 'bearer', secret => 'tok-123');
    ok(active(post($s, token => 't', headers => { Authorization => 'Bearer tok-123' })), 'bearer: right');
    is(post($s, token => 't', headers => { Authorization => 'Bearer tok-124' })->code, 401,
       'bearer: wrong: 401');
}

# --- private_key_jwt ------------------------------------------------------------------------------------
{
    my $s = MAB::IntrospectServer->new(auth => 'private_key_jwt', client_id => 'rs',
                                       client_key => "$tmp/client.pub");
    $s->answer('t', { active => JSON::PP::true });
    my $key = Crypt::PK::ECC->new("$tmp/client.key");
    my $n = 0;
    my $assertion = sub {
        my %c = (iss => 'rs', sub => 'rs', aud => $s->url('/introspect'), iat => time,
                 exp => time + 60, jti => 'j' . ++$n . "-$$", @_);
        delete @c{ grep { !defined $c{$_} } keys %c };
        my $k = delete $c{_key} // $key;
        return encode_jwt(payload => \%c, alg => 'ES256', key => $k);
    };
    my $with = sub {
        my ($jwt, %extra) = @_;
        return post($s, token => 't', form => { client_assertion_type =>
            'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion => $jwt,
            client_id => 'rs', %extra });
    };
    ok(active($with->($assertion->())), 'private_key_jwt: a good assertion');
    ok(active($with->($assertion->(aud => $s->url('/')))), '... aud the issuer (the server URL) too');
    my $once = $assertion->();
    ok(active($with->($once)), 'a fresh jti');
    is($with->($once)->code, 401, 'the same assertion again (jti replayed): 401');
    is($with->($assertion->(_key => Crypt::PK::ECC->new("$tmp/other.key")))->code, 401,
       'signed with another key: 401');
    is($with->($assertion->(aud => 'https://elsewhere/'))->code, 401, 'another aud: 401');
    is($with->($assertion->(exp => time - 100))->code, 401, 'expired: 401');
    is($with->($assertion->(exp => undef))->code, 401, 'no exp: 401');
    is($with->($assertion->(jti => undef))->code, 401, 'no jti: 401');
    is($with->($assertion->(iss => 'mallory'))->code, 401, 'iss another client: 401');
    is($with->($assertion->(sub => 'mallory'))->code, 401, 'sub another client: 401');
    is($with->($assertion->(), client_id => 'mallory')->code, 401, 'client_id in the body another: 401');
    is($with->($assertion->(), client_assertion_type => 'urn:other')->code, 401,
       'another client_assertion_type: 401');
    like(body($with->($assertion->(aud => 'x')))->{error_description}, qr/aud/,
         'error_description says why (for the test log)');
    $s->configure(assertion_aud => ['https://as.example/token']);
    ok(active($with->($assertion->(aud => 'https://as.example/token'))), 'assertion_aud configured: taken');
    is($with->($assertion->())->code, 401, '... and the endpoint URL no longer');
}

# --- modes ------------------------------------------------------------------------------------------------
{
    my $s = MAB::IntrospectServer->new;
    $s->answer('t', { active => JSON::PP::true });
    $s->mode('500');
    is(post($s, token => 't')->code, 500, 'mode 500');
    $s->mode('garbage');
    my $r = post($s, token => 't');
    ok($r->code == 200 && !eval { $JSON->decode($r->decoded_content) }, 'mode garbage: 200, not JSON');
    $s->mode('slow1');
    my $t0 = Time::HiRes::time();
    ok(active(post($s, token => 't')), 'mode slow1: answered');
    ok(Time::HiRes::time() - $t0 >= 1, '... after a second');
    $s->mode('hang');
    $t0 = Time::HiRes::time();
    $r = post($s, token => 't', ua => LWP::UserAgent->new(timeout => 1));
    ok(!$r->is_success && Time::HiRes::time() - $t0 < 5, 'mode hang: no answer (client timed out)');
    $s->mode('down');
    $r = post($s, token => 't', ua => LWP::UserAgent->new(timeout => 2));
    like($r->status_line . ($r->header('X-Died') // '') . $r->decoded_content,
         qr/refused|Can't connect/i, 'mode down: connection refused');
    $s->mode('ok');
    ok(active(post($s, token => 't', ua => LWP::UserAgent->new(timeout => 5))),
       'mode ok: listening again on the same port');
    is($s->in_flight, 0, 'the handlers down killed are not counted as in flight');
}

# --- concurrency ---------------------------------------------------------------------------------------------
{
    my $s = MAB::IntrospectServer->new;
    $s->mode('slow1');
    my @pids;
    for (1 .. 5) {
        my $pid = fork // die;
        if (!$pid) {
            my $r = post($s, token => "c$_", ua => LWP::UserAgent->new(timeout => 10));
            POSIX::_exit($r->code == 200 ? 0 : 1);
        }
        push @pids, $pid;
    }
    my $bad = 0;
    for (@pids) { waitpid $_, 0; $bad++ if $? }
    is($bad, 0, 'five calls at once: all answered');
    is($s->max_concurrent, 5, 'max_concurrent: five at once');
    is($s->in_flight, 0, 'none in flight afterwards');
    $s->reset_max;
    is($s->max_concurrent, 0, 'reset_max');
    $s->mode('ok');
    post($s, token => 'one');
    is($s->max_concurrent, 1, 'one call: max 1');
}

# --- JWT mode: AuthBearerIntrospect All, revocation ----------------------------------------------------------------
{
    my $s = MAB::IntrospectServer->new(jwks => "$tmp/jwks.json", issuer => 'https://as.test/');
    my $mint = sub {
        my %c = (iss => 'https://as.test/', sub => 'alice', aud => 'api', iat => time,
                 exp => time + 300, jti => 'jti-' . rand(), @_);
        return encode_jwt(payload => \%c, alg => 'RS256', key => $issuer_key,
                          extra_headers => { kid => 'k1' });
    };
    my $jwt = $mint->(jti => 'jti-a', scope => 'read');
    my $r = post($s, token => $jwt);
    ok(active($r), 'JWT mode: a good JWT is active');
    is(body($r)->{sub}, 'alice', '... with its claims');
    is(body($r)->{scope}, 'read', '... all of them');
    is(body($r)->{token_type}, 'Bearer', '... and token_type Bearer');
    ok(!active(post($s, token => $mint->(exp => time - 10))), 'an expired JWT: inactive');
    ok(!active(post($s, token => $mint->(iss => 'https://other/'))), 'another issuer: inactive');
    ok(!active(post($s, token => $jwt . 'x')), 'a bad signature: inactive');
    ok(!active(post($s, token => 'opaque')), 'not a JWT: inactive');
    is(post($s, path => '/revoke', token => $jwt)->code, 200, 'RFC 7009 /revoke: 200');
    ok(!active(post($s, token => $jwt)), 'revoked at /revoke: inactive');
    my $other = $mint->(jti => 'jti-b');
    ok(active(post($s, token => $other)), 'another JWT still active');
    $s->revoke(jti => 'jti-b');
    ok(!active(post($s, token => $other)), 'revoke(jti => …): inactive');
    my $third = $mint->();
    $s->revoke($third);
    ok(!active(post($s, token => $third)), 'revoke($token): inactive');
    $s->answer($third, { active => JSON::PP::true, sub => 'table' });
    is(body(post($s, token => $third))->{sub}, 'table', 'the table wins over JWT mode');

    $r = $ua->get($s->url('/.well-known/openid-configuration'));
    is(body($r)->{introspection_endpoint}, $s->url('/introspect'), 'discovery: introspection_endpoint');
    is(body($r)->{issuer}, 'https://as.test/', 'discovery: issuer');
    is(body($r)->{jwks_uri}, $s->url('/jwks.json'), 'discovery: jwks_uri');
    is(body($ua->get($s->url('/jwks.json')))->{keys}[0]{kid}, 'k1', 'the key set is served');
    my $k = MAB::IntrospectServer->new(jwt_keys => ["$tmp/client.pub"]);
    my $ec = encode_jwt(payload => { sub => 'bob', exp => time + 60 }, alg => 'ES256',
                        key => Crypt::PK::ECC->new("$tmp/client.key"));
    is(body(post($k, token => $ec))->{sub}, 'bob', 'jwt_keys: a PEM public key instead of a key set');
}

# --- tls_client_auth over https ---------------------------------------------------------------------------------------
{
    my $s = MAB::IntrospectServer->new(tls => [ "$tmp/server.pem", "$tmp/server.key" ],
                                       auth => 'tls_client_auth', client_id => 'rs',
                                       client_cn => 'client-cn');
    $s->answer('t', { active => JSON::PP::true });
    like($s->url, qr{^https://}, 'an https server');
    my $tls_ua = sub {
        my ($cert, $key) = @_;
        return LWP::UserAgent->new(timeout => 5, ssl_opts => {
            SSL_ca_file => "$tmp/server.pem", verify_hostname => 1,
            $cert ? (SSL_cert_file => $cert, SSL_key_file => $key) : () });
    };
    my $client = $tls_ua->("$tmp/client.pem", "$tmp/client.key");
    ok(active(post($s, token => 't', form => { client_id => 'rs' }, ua => $client)),
       'tls_client_auth: the right certificate');
    is($s->calls->[-1]{auth}, 'tls_client_auth', '... logged as tls_client_auth');
    is(post($s, token => 't', form => { client_id => 'other' }, ua => $client)->code, 401,
       'the right certificate, another client_id: 401');
    is(post($s, token => 't', form => { client_id => 'rs' }, ua => $tls_ua->())->code, 401,
       'no certificate: 401');
    is(post($s, token => 't', form => { client_id => 'rs' },
            ua => $tls_ua->("$tmp/other.pem", "$tmp/other.key"))->code, 401,
       'another certificate: 401');
    my $fp = `openssl x509 -in $tmp/client.pem -noout -fingerprint -sha256`;
    $fp =~ s/.*=//s;
    chomp $fp;
    $s->configure(client_cn => undef, client_fingerprint => $fp);
    ok(active(post($s, token => 't', form => { client_id => 'rs' }, ua => $client)),
       'client_fingerprint: the right certificate');
    is(post($s, token => 't', form => { client_id => 'rs' },
            ua => $tls_ua->("$tmp/other.pem", "$tmp/other.key"))->code, 401,
       'client_fingerprint: another certificate: 401');
}

done_testing();
