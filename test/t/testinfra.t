# The test's own third-party servers work as the introspection, socache, DPoP and MCP tests
# (issues 13-15) rely on, before any of those tests trusts them:
#  - npm oidc-provider (MAB::OIDCProvider): opaque tokens by client credentials with
#    client_secret_basic, client_secret_post and private_key_jwt; RFC 7662 introspection
#    (active, aud, scope, and the members MAB/OIDCProvider.pm documents); RFC 7009 revocation;
#    JWT access tokens for another resource; wrong credentials refused; the request counters;
#    DPoP-bound and certificate-bound tokens and tls_client_auth over https;
#  - redis-server (MAB::Redis) and memcached (MAB::Memcached): set/get, flush, kill and restart;
#  - httpd's own mod_socache_redis and mod_socache_memcache (Debian's) against them, through
#    mod_authn_socache: what AuthBearerSOCache redis:/memcache: will use.
# No mod_auth_bearer directive is involved; nothing is left running whatever happens.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use MIME::Base64 qw(decode_base64url encode_base64);
use Time::HiRes qw(time sleep);
use Crypt::PK::ECC;
use LWP::UserAgent;
use MAB::OIDCProvider;
use MAB::Redis;
use MAB::Memcached;
use MAB::Httpd;

my $J = JSON::PP->new->canonical;
my $API = 'https://api.test/orders';
my $MCP = 'https://mcp.test/mcp';

sub jwt_parts {
    my @p = split /\./, shift, -1;
    return () unless @p == 3;
    return map { eval { $J->decode(decode_base64url($_)) } } @p[0, 1];
}

# --- oidc-provider over http ------------------------------------------------------------------
my $t0 = time;
my $as = MAB::OIDCProvider->new(
    clients => [
        { client_id => 'app-basic', auth => 'client_secret_basic' },
        { client_id => 'app-post',  auth => 'client_secret_post' },
        { client_id => 'app-jwt',   auth => 'private_key_jwt' },
        { client_id => 'app-narrow', auth => 'client_secret_basic', scope => 'read' },
        { client_id => 'rs',        auth => 'client_secret_basic', grant => 0 },
    ],
    resources => {
        $API => { scope => 'read write', ttl => 30 },
        $MCP => { scope => 'tools:list tools:call', format => 'jwt' },
    },
    ttl => 60, dpop => 1, registration => 1);
my $started = time - $t0;
ok($started < 15, sprintf 'oidc-provider answers %.2f s after the start', $started);
my $iss = $as->issuer;
like($iss, qr{^http://127\.0\.0\.1:\d+$}, "issuer $iss");
my $d = $as->discovery;
is($d->{issuer}, $iss, 'discovery: issuer');
is($d->{introspection_endpoint}, "$iss/token/introspection", 'discovery: introspection_endpoint');
is($d->{revocation_endpoint}, "$iss/token/revocation", 'discovery: revocation_endpoint');
is($d->{jwks_uri}, "$iss/jwks", 'discovery: jwks_uri');
{
    my $r = LWP::UserAgent->new->get("$iss/.well-known/oauth-authorization-server");
    is($r->code, 200, 'RFC 8414 metadata: 200');
    is_deeply(eval { $J->decode($r->decoded_content) }, $d, 'RFC 8414 metadata: the discovery document');
}
ok(-r $as->secret_file('rs') && -s _ == length $as->secret('rs'), 'secret_file holds the secret, no newline');

for my $c (qw(app-basic app-post app-jwt)) {
    my $ans = $as->token_answer(client_id => $c, scope => 'read', resource => $API);
    my $tok = $ans->{access_token};
    like($tok, qr/^[A-Za-z0-9_-]{43}$/, "$c: an opaque token (43 base64url characters)");
    is($ans->{token_type}, 'Bearer', "$c: token_type Bearer");
    is($ans->{scope}, 'read', "$c: scope read");
    is($ans->{expires_in}, 30, "$c: expires_in the resource's ttl");
    my $now = time;
    my $i = $as->introspect($tok, client_id => 'rs');
    is_deeply([ sort keys %$i ], [qw(active aud client_id exp iat iss scope token_type)],
              "$c: introspection members") or diag $J->encode($i);
    ok($i->{active} && JSON::PP::is_bool($i->{active}), "$c: active true");
    is($i->{aud}, $API, "$c: aud is the resource, a string");
    is($i->{scope}, 'read', "$c: scope");
    is($i->{client_id}, $c, "$c: client_id");
    is($i->{iss}, $iss, "$c: iss");
    is($i->{token_type}, 'Bearer', "$c: token_type");
    ok(abs($i->{iat} - $now) < 10 && $i->{exp} - $i->{iat} == 30, "$c: iat now, exp iat+30");
    ok(!exists $i->{sub}, "$c: no sub for client credentials");

    ok($as->revoke($tok), "$c: revoked");
    is_deeply($as->introspect($tok, client_id => 'rs'), { active => JSON::PP::false },
              "$c: after revocation {\"active\":false}");
}

# scopes: the resource's only, others dropped; the client's allow-list; no resource
{
    my $ans = $as->token_answer(client_id => 'app-post', scope => 'read write admin', resource => $API);
    my $tok = $ans->{access_token};
    is($ans->{scope}, 'read write', 'a scope the resource does not list is dropped');
    $ans = $as->token_answer(client_id => 'app-post', scope => 'admin', resource => $API);
    $tok = $ans->{access_token};
    ok(!exists $ans->{scope}, 'no scope left: no scope member');
    ok(!exists $as->introspect($tok)->{scope}, 'no scope left: introspection has no scope');
    my $r = $as->token_response(client_id => 'app-narrow', scope => 'read write', resource => $API);
    is($r->code, 400, "a scope beyond the client's allow-list: 400");
    like($r->decoded_content, qr/"invalid_scope"/, "... invalid_scope");
    $ans = $as->token_answer(client_id => 'app-narrow', scope => 'read', resource => $API);
    $tok = $ans->{access_token};
    is($ans->{scope}, 'read', "within the client's allow-list: granted");
    $r = $as->token_response(client_id => 'app-basic', resource => 'https://nowhere.test/');
    is($r->code, 400, 'unknown resource: 400');
    like($r->decoded_content, qr/"invalid_target"/, 'unknown resource: invalid_target');
    ($tok) = $as->token(client_id => 'app-basic');
    my $i = $as->introspect($tok);
    ok($i->{active} && !exists $i->{aud}, 'no resource: active, no aud');
}

# wrong credentials
{
    my $r = $as->token_response(client_id => 'app-basic', secret => 'wrong', resource => $API);
    is($r->code, 401, 'token, wrong secret (basic): 401');
    like($r->decoded_content, qr/"invalid_client"/, 'token, wrong secret: invalid_client');
    $r = $as->token_response(client_id => 'app-post', secret => 'wrong', resource => $API);
    is($r->code, 401, 'token, wrong secret (post): 401');
    my $other = Crypt::PK::ECC->new;
    $other->generate_key('secp256r1');
    $r = $as->token_response(client_id => 'app-jwt', key => $other, resource => $API);
    is($r->code, 401, 'token, assertion signed with another key: 401');
    $r = $as->introspect_response('anything', client_id => 'rs', secret => 'wrong');
    is($r->code, 401, 'introspection, wrong secret: 401');
    like($r->decoded_content, qr/"invalid_client"/, 'introspection, wrong secret: invalid_client');
    like($r->header('WWW-Authenticate') // '', qr/^Basic /, 'introspection, wrong Basic secret: a Basic challenge');
    is_deeply($as->introspect('no-such-token', client_id => 'rs'), { active => JSON::PP::false },
              'introspection, unknown token: {"active":false}');
    my ($tok) = $as->token(client_id => 'app-basic', resource => $API);
    $r = $as->revoke_response($tok, client_id => 'app-post');
    is($r->code, 400, "revocation by another client: 400");
    ok($as->introspect($tok)->{active}, '... and the token stays active');
}

# dynamic client registration (RFC 7591), as an MCP client may use it
{
    my $r = LWP::UserAgent->new->post("$iss/reg", Content_Type => 'application/json',
        Content => $J->encode({ grant_types => ['client_credentials'], response_types => [],
                                redirect_uris => [], token_endpoint_auth_method => 'client_secret_basic' }));
    is($r->code, 201, 'registration: 201');
    my $c = eval { $J->decode($r->decoded_content) } // {};
    ok($c->{client_id} && $c->{client_secret}, 'registration: client_id and client_secret');
    my $t = LWP::UserAgent->new->post($as->token_endpoint,
        [ grant_type => 'client_credentials', resource => $MCP, scope => 'tools:list' ],
        Authorization => 'Basic ' . encode_base64("$c->{client_id}:$c->{client_secret}", ''));
    is($t->code, 200, 'registered client: a token') or diag $t->decoded_content;
}

# JWT access tokens for the other resource
{
    my $ans = $as->token_answer(client_id => 'app-basic', scope => 'tools:list', resource => $MCP);
    my $tok = $ans->{access_token};
    my ($h, $p) = jwt_parts($tok);
    ok($h && $p, 'MCP resource: a JWT');
    is($h->{typ}, 'at+jwt', 'JWT: typ at+jwt');
    is($h->{alg}, 'RS256', 'JWT: alg RS256');
    ok(grep({ $_->{kid} eq $h->{kid} } @{ $as->jwks->{keys} }), 'JWT: kid in jwks_uri');
    is($p->{aud}, $MCP, 'JWT: aud is the MCP resource');
    is($p->{iss}, $iss, 'JWT: iss');
    is($p->{sub}, 'app-basic', 'JWT: sub is the client_id');
    is($p->{client_id}, 'app-basic', 'JWT: client_id');
    is($p->{scope}, 'tools:list', 'JWT: scope');
    ok($p->{jti} && $p->{exp} > $p->{iat}, 'JWT: jti, iat, exp');
    is_deeply($as->introspect($tok), { active => JSON::PP::false },
              'JWT: oidc-provider 8 introspects its own JWTs as inactive');
    is($as->revoke_response($tok)->code, 200, 'JWT: revocation answers 200 (and changes nothing)');
}

# DPoP-bound tokens
{
    my $key = Crypt::PK::ECC->new;
    $key->generate_key('secp256r1');
    my $ans = $as->token_answer(client_id => 'app-basic', scope => 'read', resource => $API, dpop => $key);
    my $tok = $ans->{access_token};
    is($ans->{token_type}, 'DPoP', 'DPoP proof at the token endpoint: token_type DPoP');
    my $i = $as->introspect($tok);
    is($i->{token_type}, 'DPoP', 'DPoP: introspection token_type DPoP');
    like($i->{cnf}{jkt} // '', qr/^[A-Za-z0-9_-]{43}$/, 'DPoP: introspection cnf.jkt');
    ($tok) = $as->token(client_id => 'app-basic', resource => $MCP, dpop => $key);
    my (undef, $p) = jwt_parts($tok);
    is($p->{cnf}{jkt}, $i->{cnf}{jkt}, 'DPoP: the JWT carries the same cnf.jkt');
}

# the counters and the failure modes the introspection tests use
{
    $as->reset_stats;
    my ($tok) = $as->token(client_id => 'app-basic', resource => $API);
    $as->introspect($tok, client_id => 'rs') for 1 .. 3;
    is($as->count('/token/introspection'), 3, 'count: 3 introspections');
    is($as->count('/token'), 1, 'count: 1 token request');
    my $calls = $as->calls('introspection');
    is(scalar @$calls, 3, 'calls: 3 introspection records');
    is_deeply([ map { "$_->{client_id} $_->{auth} $_->{status}" } @$calls ],
              [ ('rs client_secret_basic 200') x 3 ], 'calls: client, method, status');
    ok($calls->[0]{active}, 'calls: the answer was active');
    is($as->max_inflight('/token/introspection'), 1, 'max_inflight: 1');
    $as->mode('/token/introspection', '500');
    is($as->introspect_response($tok)->code, 500, 'mode 500');
    $as->mode('/token/introspection', 'garbage');
    my $r = $as->introspect_response($tok);
    ok($r->code == 200 && $r->decoded_content !~ /^\{/, 'mode garbage: 200, not JSON');
    $as->mode('/token/introspection', 'slow1');
    my $t1 = time;
    $r = $as->introspect_response($tok);
    ok($r->code == 200 && time - $t1 >= 0.9, sprintf 'mode slow1: answered in %.2f s', time - $t1);
    $as->mode('/token/introspection', 'hang');
    $t1 = time;
    my $ua = LWP::UserAgent->new(timeout => 1);
    $r = $ua->post($as->introspection_endpoint, [ token => $tok ]);
    ok(!$r->is_success && time - $t1 < 3, 'mode hang: no answer (client timeout)');
    $as->mode('/token/introspection', 'ok');
    ok($as->introspect($tok)->{active}, 'mode ok: oidc-provider answers again');
}

my $pid = $as->{proc}->pid;
$as->stop;
ok(!kill(0, $pid), 'oidc-provider stopped');

# --- oidc-provider over https: tls_client_auth and certificate-bound tokens --------------------
{
    my $tls = MAB::OIDCProvider->new(
        tls => 1,
        clients => [ { client_id => 'app-tls', auth => 'tls_client_auth' },
                     { client_id => 'app-bound', auth => 'client_secret_basic', cert_bound => 1 } ],
        resources => { $API => { scope => 'read' }, $MCP => { scope => 'tools:list', format => 'jwt' } });
    like($tls->issuer, qr{^https://127\.0\.0\.1:\d+$}, 'tls: https issuer');
    ok(-r $tls->ca_file, 'tls: CA file');
    my ($tok) = $tls->token(client_id => 'app-tls', scope => 'read', resource => $API);
    ok($tls->introspect($tok)->{active}, 'tls_client_auth with the registered certificate: a token');
    my @other = $tls->client_cert('CN=intruder');
    is($tls->token_response(client_id => 'app-tls', cert => \@other, resource => $API)->code, 401,
       'tls_client_auth with another subject: 401');
    my @self = $tls->client_cert('CN=app-tls', self_signed => 1);
    is($tls->token_response(client_id => 'app-tls', cert => \@self, resource => $API)->code, 401,
       'tls_client_auth with a self-signed certificate of that subject: 401');
    ($tok) = $tls->token(client_id => 'app-bound', scope => 'read', resource => $API);
    my $x5t = MAB::OIDCProvider::cert_thumbprint(($tls->cert_files('app-bound'))[0]);
    is($tls->introspect($tok)->{cnf}{'x5t#S256'}, $x5t, 'certificate-bound opaque token: cnf x5t#S256');
    ($tok) = $tls->token(client_id => 'app-bound', resource => $MCP);
    my (undef, $p) = jwt_parts($tok);
    is($p->{cnf}{'x5t#S256'}, $x5t, 'certificate-bound JWT: cnf x5t#S256');
}

# --- redis-server and memcached ------------------------------------------------------------------
my $redis = MAB::Redis->new;
like($redis->addr, qr/^127\.0\.0\.1:\d+$/, 'redis: ' . $redis->addr);
is($redis->command('SET', 'mab:k', "v\r\n1"), 'OK', 'redis: SET');
is($redis->command('GET', 'mab:k'), "v\r\n1", 'redis: GET');
is($redis->dbsize, 1, 'redis: one key');
$redis->flush;
is($redis->dbsize, 0, 'redis: flushed');
is($redis->command('CONFIG', 'GET', 'save')->[1], '', 'redis: no RDB snapshots');
is($redis->command('CONFIG', 'GET', 'appendonly')->[1], 'no', 'redis: no AOF');

my $mc = MAB::Memcached->new;
like($mc->addr, qr/^127\.0\.0\.1:\d+$/, 'memcached: ' . $mc->addr);
ok($mc->set('mab:k', "v\r\n1", 60), 'memcached: set');
is($mc->get('mab:k'), "v\r\n1", 'memcached: get');
is($mc->items, 1, 'memcached: one item');
ok($mc->flush, 'memcached: flush_all');
is($mc->get('mab:k'), undef, 'memcached: flushed');

# --- httpd's mod_socache_redis / mod_socache_memcache against them ---------------------------------
my $mods = MAB::Httpd::_modules_dir();
SKIP: {
    my @need = map { "$mods/mod_$_.so" } qw(socache_redis socache_memcache authn_socache auth_basic authn_file);
    my @missing = grep { !-f } @need;
    skip "httpd modules missing: @missing", 8 if @missing;
    my $h = MAB::Httpd->new(mpm => 'event', paths => [qw(redis memcache)], conf => <<"CONF");
LoadModule auth_basic_module $mods/mod_auth_basic.so
LoadModule authn_file_module $mods/mod_authn_file.so
LoadModule authn_socache_module $mods/mod_authn_socache.so
LoadModule socache_redis_module $mods/mod_socache_redis.so
LoadModule socache_memcache_module $mods/mod_socache_memcache.so
AuthnCacheSOCache redis:${\ $redis->addr }
<Location /redis>
    AuthType Basic
    AuthName cache
    AuthBasicProvider socache file
    AuthUserFile PASSWD
    AuthnCacheProvideFor file
    AuthnCacheContext redis
    Require valid-user
</Location>
CONF
    # one socache per server for mod_authn_socache: a second httpd for memcache
    my $h2 = MAB::Httpd->new(mpm => 'event', paths => [qw(memcache)], conf => <<"CONF");
LoadModule auth_basic_module $mods/mod_auth_basic.so
LoadModule authn_file_module $mods/mod_authn_file.so
LoadModule authn_socache_module $mods/mod_authn_socache.so
LoadModule socache_memcache_module $mods/mod_socache_memcache.so
AuthnCacheSOCache memcache:${\ $mc->addr }
<Location /memcache>
    AuthType Basic
    AuthName cache
    AuthBasicProvider socache file
    AuthUserFile PASSWD
    AuthnCacheProvideFor file
    AuthnCacheContext memcache
    Require valid-user
</Location>
CONF
    for my $s ($h, $h2) {
        my $pw = "$s->{dir}/passwd";
        system("htpasswd -bcB -C 4 '$pw' alice wonderland >/dev/null 2>&1") == 0
            or die "htpasswd failed (Debian: apache2-utils)";
        chmod 0644, $pw;
        my $conf = MAB::Process::slurp("$s->{dir}/httpd.conf");
        $conf =~ s/AuthUserFile PASSWD/AuthUserFile "$pw"/;
        open my $fh, '>', "$s->{dir}/httpd.conf" or die;
        print $fh $conf;
        close $fh;
        ok($s->start, 'httpd with a socache on ' . ($s == $h ? 'redis' : 'memcached') . ' starts')
            or diag $s->{start_output};
    }
    my $basic = { Authorization => 'Basic ' . encode_base64('alice:wonderland', '') };
    is($h->get('/redis/ok.txt', headers => $basic)->code, 200, 'redis socache: Basic login 200');
    ok(MAB::Process::wait_until(5, sub { $redis->dbsize >= 1 }), 'redis socache: the login is cached in redis')
        or diag $h->error_log;
    is($h2->get('/memcache/ok.txt', headers => $basic)->code, 200, 'memcache socache: Basic login 200');
    ok(MAB::Process::wait_until(5, sub { $mc->items >= 1 }), 'memcache socache: the login is cached in memcached')
        or diag $h2->error_log;
    # the store down: mod_authn_socache falls back to the file (a cache, not a source of truth)
    $redis->kill;
    $mc->kill;
    is($h->get('/redis/ok.txt', headers => $basic)->code, 200, 'redis killed: httpd still answers');
    is($h2->get('/memcache/ok.txt', headers => $basic)->code, 200, 'memcached killed: httpd still answers');
    like($h->error_log . $h2->error_log, qr/socache|redis|memcache/i, 'the stores being down is logged');
    $h->stop;
    $h2->stop;
}

# kill, then start again on the same port, empty
{
    my $port = $redis->port;
    ok(!$redis->running, 'redis: killed');
    $redis->start;
    is($redis->port, $port, 'redis: restarted on its port');
    is($redis->dbsize, 0, 'redis: empty after the restart');
    $port = $mc->port;
    $mc->start;
    is($mc->port, $port, 'memcached: restarted on its port');
    is($mc->items, 0, 'memcached: empty after the restart');
}
my @pids = ($redis->pid, $mc->pid);
$redis->stop;
$mc->stop;
ok(!grep({ kill 0, $_ } @pids), 'redis and memcached stopped');

done_testing();
