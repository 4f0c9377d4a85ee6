# Opaque tokens by introspection (RFC 7662) against a real authorization server: npm
# oidc-provider (test/as), which issues opaque client-credentials tokens for a resource
# indicator, answers introspection, and revokes (RFC 7009). Claims, scopes, inactive, expired
# and wrong-audience tokens, revocation within the cache time, the endpoint failing, the client
# authentication methods, the discovered endpoint, and the startup checks.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use MAB::Httpd;
use MAB::OIDCProvider;

my $API = 'https://api.test/';
my $as = MAB::OIDCProvider->new(
    clients => [
        { client_id => 'app', auth => 'client_secret_basic' },
        { client_id => 'rs', auth => 'client_secret_basic', grant => 0 },
        { client_id => 'rspost', auth => 'client_secret_post', grant => 0 },
        { client_id => 'rsjwt', auth => 'private_key_jwt', grant => 0 },
    ],
    resources => {
        $API => { scope => 'read write' },
        'https://short.test/' => { scope => 'read', ttl => 2 },
        'https://other.test/' => { scope => 'read' },
    },
);
my $ISS = $as->issuer;
my $mods = MAB::Httpd::_modules_dir();

# A server whose /api accepts the issuer's opaque tokens.
sub server {
    my (%o) = @_;
    my $auth = $o{auth} // 'client_secret_basic rs file:' . $as->secret_file('rs');
    my $endpoint = exists $o{endpoint} ? $o{endpoint} : $as->introspection_endpoint;
    my $cache = $o{cache} // 60;
    my $h = MAB::Httpd->new(paths => [qw(api api/write)], mpm => $o{mpm}, conf => <<"C");
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
AuthBearerFetchTimeout 2
LogFormat "%u %>s %U %{BEARER_CLAIM_SCOPE}e %{BEARER_CLAIM_CLIENT_ID}e" userlog
CustomLog "logs/user_log" userlog
<AuthBearerIssuer $ISS>
@{[ defined $endpoint ? "    AuthBearerIntrospection $endpoint" : '' ]}
    AuthBearerIntrospectionAuth $auth
    AuthBearerAudience $API https://short.test/
    AuthBearerIntrospectionCache $cache
@{[ $o{box} // '' ]}
</AuthBearerIssuer>
<Location /api>
    AuthType Bearer
    AuthName "api"
    AuthBearerIssuer $ISS
    Require valid-user
</Location>
<Location /api/write>
    Require scope write
</Location>
<Location /metrics>
    SetHandler auth-bearer-metrics
    Require ip 127.0.0.1
</Location>
<Location /status>
    SetHandler auth-bearer-status
    Require ip 127.0.0.1
</Location>
C
    ok($h->start, 'httpd starts' . ($o{what} ? " ($o{what})" : '')) or diag $h->{start_output};
    return $h;
}

# httpd writes the access log after the response: wait (up to 5 s) for the line looked for
sub user_log {
    my ($h, $want) = @_;
    my $read = sub { MAB::Httpd::_slurp($h->dir . '/logs/user_log') // '' };
    for (1 .. 50) { my $l = $read->(); return $l if !$want || $l =~ $want; sleep 0.1 }
    return $read->();
}
sub www { $_[0]->header('WWW-Authenticate') // '' }
sub calls { $as->count('/token/introspection') }
sub token { $as->token(client_id => 'app', scope => 'read', resource => $API, @_) }
sub random_opaque { join '', map { ('A' .. 'Z', 'a' .. 'z', 0 .. 9, '-', '_')[ rand 64 ] } 1 .. 43 }

my $h = server(cache => 3, what => 'client_secret_basic, cache 3 s');

# --- a valid opaque token ------------------------------------------------------------------------
$as->reset_stats;
my $t = token();
unlike($t, qr/\./, 'the authorization server issues an opaque token (no dots)');
my $r = $h->get('/api/ok.txt', token => $t);
is($r->code, 200, 'an opaque token the endpoint calls active: 200') or diag $h->error_log;
like(user_log($h, qr{^app 200 /api/ok\.txt}m), qr{^app 200 /api/ok\.txt read app$}m,
     'REMOTE_USER falls back to client_id (no sub); the answer\'s scope and client_id are claims');
is(calls(), 1, 'one introspection call');
$r = $h->get('/api/ok.txt', token => $t);
is($r->code, 200, 'the same token again: 200');
is(calls(), 1, '... from the cache, no second call');
my $seen = ($as->calls('introspection'))->[0] // {};
is($seen->{client_id}, 'rs', 'the module introspected as its own client (rs)');

# --- Require scope against the answer's scope --------------------------------------------------
$r = $h->get('/api/write/ok.txt', token => $t);
is($r->code, 403, 'Require scope write with a read token: 403');
like(www($r), qr/error="insufficient_scope"/, '... insufficient_scope');
like(www($r), qr/scope="write"/, '... naming the scope');
$r = $h->get('/api/write/ok.txt', token => token(scope => 'read write'));
is($r->code, 200, 'a token with write passes Require scope write');

# --- refusals ------------------------------------------------------------------------------------
$r = $h->get('/api/ok.txt', token => random_opaque());
is($r->code, 401, 'an unknown opaque token (active: false): 401');
like(www($r), qr/error="invalid_token", error_description="token is not active"/, '... not active');
$r = $h->get('/api/ok.txt', token => $as->token(client_id => 'app', scope => 'read', resource => 'https://other.test/'));
is($r->code, 401, 'a token for another resource: 401');
like(www($r), qr/audience mismatch/, '... audience mismatch');
{
    my $short = $as->token(client_id => 'app', scope => 'read', resource => 'https://short.test/');
    is($h->get('/api/ok.txt', token => $short)->code, 200, 'a short-lived token, fresh: 200');
    sleep 3.2;
    $r = $h->get('/api/ok.txt', token => $short);
    is($r->code, 401, '... once expired: 401 (the cache never outlives the answer\'s exp)');
}

# --- revocation within the cache time, not before ----------------------------------------------
{
    my $rt = token();
    is($h->get('/api/ok.txt', token => $rt)->code, 200, 'a token before revocation: 200');
    my $at = time;
    $as->revoke($rt, client_id => 'app');
    is($as->introspect($rt)->{active} ? 1 : 0, 0, 'the authorization server now calls it inactive');
    $r = $h->get('/api/ok.txt', token => $rt);
    is($r->code, 200, 'right after revocation: still 200 (the cached answer, AuthBearerIntrospectionCache 3)')
        if time - $at < 2.5;
    sleep 3.2 - (time - $at) if time - $at < 3.2;
    $r = $h->get('/api/ok.txt', token => $rt);
    is($r->code, 401, 'after the cache time: 401');
    like(www($r), qr/token is not active/, '... not active');
}

$h->stop;

# --- the endpoint failing: never 200, never 500 -------------------------------------------------
# A server of its own with the default cache (60 s), so the token answered before the outage
# stays cached however slow this machine is.
$h = server(what => 'failures, cache 60 s');
my $kept = token();
is($h->get('/api/ok.txt', token => $kept)->code, 200, 'a token answered before the outage');
for my $mode (qw(500 garbage close hang)) {
    $as->mode('/token/introspection', $mode);
    my $t0 = time;
    $r = $h->get('/api/ok.txt', token => token());
    my $took = time - $t0;
    is($r->code, 503, "endpoint $mode: 503");
    is($r->header('Retry-After'), '5', "... with Retry-After");
    ok(!$r->header('WWW-Authenticate'), '... and no challenge (nothing is known against the token)');
    cmp_ok($took, '<', 6, "... within the timeout (AuthBearerFetchTimeout 2, took @{[sprintf '%.1f', $took]} s)");
    is($h->get('/api/ok.txt', token => $kept)->code, 200, "... while a cached token still works");
}
$as->mode('/token/introspection', 'ok');
like($h->error_log, qr/MAB00907: introspection at \S+ failed \(http_status\)/, 'a failed call is logged (MAB00907)');

# --- the counters: metrics and the status page --------------------------------------------
{
    my $ep = $as->introspection_endpoint;
    my $m = $h->get('/metrics')->decoded_content // '';
    note join "\n", grep { /introspection|503/ && !/^#/ } split /\n/, $m;
    my ($calls) = $m =~ /^mod_auth_bearer_introspection_calls_total\{endpoint="\Q$ep\E"\} (\d+)$/m;
    my ($hits) = $m =~ /^mod_auth_bearer_introspection_cache_hits_total\{endpoint="\Q$ep\E"\} (\d+)$/m;
    is($calls // 0, 5, "metrics: introspection calls counted for the endpoint (the kept token's and four failed)");
    is($hits // 0, 4, "metrics: cache hits counted (the kept token, four times)");
    like($m, qr/^mod_auth_bearer_introspection_failures_total\{endpoint="\Q$ep\E",kind="http_status"\} 1$/m,
         'metrics: the 500 counted as http_status');
    like($m, qr/^mod_auth_bearer_introspection_failures_total\{endpoint="\Q$ep\E",kind="timeout"\} 1$/m,
         'metrics: the hang counted as timeout');
    like($m, qr/^mod_auth_bearer_introspection_duration_seconds_count\{endpoint="\Q$ep\E"\} \d+$/m,
         'metrics: call latency histogram');
    like($m, qr/^mod_auth_bearer_requests_refused_total\{status="503",reason="introspection_unavailable"\} 4$/m,
         'metrics: the four 503s as introspection_unavailable');
    my $st = $h->get('/status?json')->decoded_content // '';
    like($st, qr/"introspection"\s*:\s*\[/, 'status page: an introspection section');
    like($st, qr/"last_error"\s*:\s*"timeout: /, 'status page: the last error (the hang: timeout)');
    SKIP: {
        skip 'promtool not installed', 1 unless -x '/usr/bin/promtool' || $ENV{CI};
        open my $fh, '|-', 'promtool check metrics >/dev/null 2>&1' or die;
        print $fh $m;
        close $fh;
        is($? >> 8, 0, 'promtool check metrics accepts the output with introspection series');
    }
}
unlike($h->error_log, qr/\Q$kept\E/, 'no token in the error log');
$h->stop;

# --- client authentication: each method against the real endpoint -------------------------------
for my $m (
    ['client_secret_post', 'client_secret_post rspost file:' . $as->secret_file('rspost'), 'rspost'],
    ['private_key_jwt', 'private_key_jwt rsjwt ' . $as->key_file('rsjwt'), 'rsjwt'],
) {
    my ($name, $line, $client) = @$m;
    my $s = server(auth => $line, what => $name);
    $as->reset_stats;
    is($s->get('/api/ok.txt', token => token())->code, 200, "$name: 200");
    my $c = ($as->calls('introspection'))->[0] // {};
    is($c->{client_id}, $client, "$name: the endpoint saw client $client");
    is($c->{auth}, $name, "$name: authenticated with $name");
    $s->stop;
}
{
    my $bad = $as->dir . '/wrong-secret';
    open my $fh, '>', $bad or die;
    print $fh "not-the-secret\n";
    close $fh;
    chmod 0644, $bad;
    my $s = server(auth => "client_secret_basic rs file:$bad", what => 'a wrong secret');
    $r = $s->get('/api/ok.txt', token => token());
    is($r->code, 503, 'our own credentials refused by the endpoint: 503, not a grant');
    like($s->error_log, qr/\[auth_bearer:error\].*MAB00906: introspection endpoint \S+ refused the module's own credentials \(HTTP 401\): check AuthBearerIntrospectionAuth/,
         '... and an [error] line naming AuthBearerIntrospectionAuth');
    unlike($s->error_log, qr/not-the-secret/, '... never the secret');
    $s->stop;
}

# --- the discovered endpoint --------------------------------------------------------------------
{
    my $s = server(endpoint => undef, box => '    AuthBearerIntrospect Opaque', what => 'discovered endpoint');
    $as->reset_stats;
    is($s->get('/api/ok.txt', token => token())->code, 200,
       'AuthBearerIntrospect Opaque without an endpoint: discovery\'s introspection_endpoint is used')
        or diag $s->error_log;
    is(calls(), 1, '... one call to it');
    $s->stop;
}

# --- startup ----------------------------------------------------------------------------------
sub configtest { my $c = MAB::Httpd->new(conf => $_[0]); return $c->configtest }
my ($rc, $out) = configtest(<<"C");
AuthBearerSOCache memcache:127.0.0.1:11211
<AuthBearerIssuer $ISS>
    AuthBearerIntrospection $ISS/token/introspection
    AuthBearerIntrospectionAuth client_secret_basic rs file:@{[ $as->secret_file('rs') ]}
</AuthBearerIssuer>
<Location /x>
    AuthType Bearer
    AuthBearerIssuer $ISS
    AuthBearerAudience $API
    Require valid-user
</Location>
C
isnt($rc, 0, 'AuthBearerSOCache memcache without mod_socache_memcache: refused at startup');
like($out, qr/MAB00900: .*LoadModule socache_memcache_module/, '... naming the LoadModule line');
($rc, $out) = configtest(<<"C");
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
<Location /x>
    AuthType Bearer
    AuthBearerIssuer https://as.example.com/
    AuthBearerAudience $API
    AuthBearerIntrospection http://as.example.com/introspect
    AuthBearerIntrospectionAuth client_secret_basic rs file:@{[ $as->secret_file('rs') ]}
    Require valid-user
</Location>
C
isnt($rc, 0, 'a plain-http endpoint that is not loopback: refused at startup');
like($out, qr/MAB00040: AuthBearerIntrospection http:\/\/as\.example\.com\/introspect/, '... naming it');
($rc, $out) = configtest(<<"C");
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
<AuthBearerIssuer urn:a>
    AuthBearerIntrospection $ISS/token/introspection
    AuthBearerIntrospectionAuth client_secret_basic rs file:@{[ $as->secret_file('rs') ]}
    AuthBearerAudience $API
</AuthBearerIssuer>
<AuthBearerIssuer urn:b>
    AuthBearerIntrospection http://127.0.0.1:1/other
    AuthBearerIntrospectionAuth client_secret_basic rs file:@{[ $as->secret_file('rs') ]}
    AuthBearerAudience $API
</AuthBearerIssuer>
<Location /x>
    AuthType Bearer
    AuthBearerIssuer urn:a urn:b
    Require valid-user
</Location>
C
isnt($rc, 0, 'two issuers introspecting opaque tokens in one section: refused at startup');
like($out, qr/MAB00061: <Location \/x> accepts opaque tokens of two introspecting issuers \(urn:a and urn:b\)/,
     '... saying why');
($rc, $out) = configtest(<<"C");
<Location /x>
    AuthType Bearer
    AuthBearerIssuer $ISS
    AuthBearerIntrospectionAuth client_secret_basic rs file:/nonexistent/secret
</Location>
C
isnt($rc, 0, 'an unreadable secret file: refused at startup');
like($out, qr/AuthBearerIntrospectionAuth/, '... naming the directive');
($rc, $out) = configtest(<<"C");
<Location /x>
    AuthBearerIntrospect Sometimes
</Location>
C
like($out, qr/AuthBearerIntrospect needs Opaque/, 'AuthBearerIntrospect with an unknown word: refused');

done_testing();
