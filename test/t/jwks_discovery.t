# Discovery: a section with AuthBearerIssuer and no AuthBearerJWKS reads the issuer's
# metadata (OpenID Connect first, RFC 8414 as the fallback), requires its "issuer" to be the
# configured one exactly and uses its jwks_uri. Several issuers on different <Location>s
# share the cache. The status handler shows every key source, as HTML and JSON, escaped.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use MAB::Test qw(mint);
use MAB::Httpd;
use MAB::JWKSServer;
use MAB::Lifecycle;

my $srv = MAB::JWKSServer->new;
my $json = JSON::PP->new->canonical;
my ($A, $B, $C) = map { $srv->url($_) } '/', '/tenant-b/', '/evil/';

# A: OpenID Connect metadata at <issuer>/.well-known/openid-configuration (trailing '/' dropped)
$srv->publish('/.well-known/openid-configuration', $json->encode({ issuer => $A,
    jwks_uri => $srv->url('/a-keys.json'), id_token_signing_alg_values_supported => ['HS256'] }));
$srv->publish('/a-keys.json', jwks_json(jwk('issuer')));
# B: no OIDC document; RFC 8414 metadata at /.well-known/oauth-authorization-server/tenant-b
$srv->publish('/.well-known/oauth-authorization-server/tenant-b',
    $json->encode({ issuer => $B, jwks_uri => $srv->url('/b-keys.json') }));
$srv->publish('/b-keys.json', jwks_json(jwk('other')));
# C: metadata that names another issuer
$srv->publish('/evil/.well-known/openid-configuration',
    $json->encode({ issuer => $srv->url('/other/'), jwks_uri => $srv->url('/a-keys.json') }));
# D: short-lived metadata (max-age 1) and keys (max-age 2), for stale-if-error of the metadata
my $D = $srv->url('/tenant-d/');
$srv->publish('/tenant-d/.well-known/openid-configuration',
    $json->encode({ issuer => $D, jwks_uri => $srv->url('/d-keys.json') }));
$srv->max_age('/tenant-d/.well-known/openid-configuration', 1);
$srv->publish('/d-keys.json', jwks_json(jwk('issuer')));
$srv->max_age('/d-keys.json', 2);
# a static key set whose kid needs escaping on the status page
my $odd_kid = q{<b>kid</b>&"'};
$srv->publish('/static.json', jwks_json(jwk('issuer'), jwk('other', kid => $odd_kid)));

my $loc = sub { bearer_location($_[0], issuer => $_[1], jwks => $_[2]) };
my $h = MAB::Httpd->new(paths => [qw(a b c d static status status-denied)],
    conf => "AuthBearerFetchTimeout 2\nAuthBearerJWKSRefresh 1 3600\n"
        . $loc->('a', $A) . $loc->('b', $B) . $loc->('c', $C) . $loc->('d', $D)
        . $loc->('static', 'https://issuer.test/', $srv->url('/static.json')) . <<'S');
<Location /status>
    SetHandler auth-bearer-status
    Require ip 127.0.0.1
</Location>
<Location /status-denied>
    SetHandler auth-bearer-status
    Require ip 192.0.2.1
</Location>
S
ok($h->start, 'httpd starts with issuers and no AuthBearerJWKS') or do { diag $h->{start_output}; done_testing(); exit };

my $tok_a = mint(claims => { iss => $A });
my $r = $h->get('/a/ok.txt', token => $tok_a);
is($r->code, 200, 'OIDC discovery: token of issuer A accepted') or diag $h->error_log;
is($srv->count('/.well-known/openid-configuration'), 1, 'OIDC metadata fetched once');
is($srv->count('/a-keys.json'), 1, "A's jwks_uri fetched once");
is($h->get('/a/ok.txt', token => $tok_a)->code, 200, 'again, from the cache');
is($srv->count('/a-keys.json') + $srv->count('/.well-known/openid-configuration'), 2,
    'no fetch for the second request');
is($h->get('/a/ok.txt', token => mint(key => 'other', claims => { iss => $A }))->code, 401,
    "issuer A: a key that is not in A's key set is refused");

my $tok_b = mint(key => 'other', claims => { iss => $B });
is($h->get('/b/ok.txt', token => $tok_b)->code, 200, 'RFC 8414 fallback: token of issuer B accepted')
    or diag $h->error_log;
is($srv->count('/tenant-b/.well-known/openid-configuration'), 1, 'B: the OIDC location was tried first');
is($srv->count('/.well-known/oauth-authorization-server/tenant-b'), 1, 'B: then RFC 8414');
is($h->get('/b/ok.txt', token => mint(claims => { iss => $B }))->code, 401,
    "issuers do not share keys: A's key refused for B");

my $off = length $h->error_log;
$r = $h->get('/c/ok.txt', token => mint(claims => { iss => $C }));
is($r->code, 401, 'metadata naming another issuer: 401');
like($r->header('WWW-Authenticate') // '', qr/error="invalid_token"/, '... invalid_token');
my $log = substr $h->error_log, $off;
like($log, qr/MAB00030: fetching key set of issuer \Q$C\E \(discovery\) failed: .*metadata names issuer "\Q${\ $srv->url('\/other\/')}\E", not the configured "\Q$C\E"/,
    'metadata naming another issuer: refused with a clear log line') or diag $log;
is($srv->count('/a-keys.json'), 1, "the other issuer's jwks_uri was never fetched");

# several issuers, one cache: a static key source next to the discovered ones
is($h->get('/static/ok.txt', token => mint())->code, 200, 'static AuthBearerJWKS next to discovery');
is($h->get('/a/ok.txt', token => $tok_a)->code, 200, 'issuer A still fine');
is($h->get('/b/ok.txt', token => $tok_b)->code, 200, 'issuer B still fine');

# the metadata goes away: the key set keeps being refreshed from the last good jwks_uri
my $tok_d = mint(claims => { iss => $D });
is($h->get('/d/ok.txt', token => $tok_d)->code, 200, 'issuer D: discovered');
$srv->unpublish('/tenant-d/.well-known/openid-configuration');
my $dk = $srv->count('/d-keys.json');
my ($d_ok, $d_all) = (0, 0);
wait_for(12, sub {
    $d_all++;
    $d_ok++ if $h->get('/d/ok.txt', token => $tok_d)->code == 200;
    $srv->count('/d-keys.json') > $dk && $h->error_log =~ /MAB00033: metadata of issuer \Q$D\E could not be refreshed/;
});
like($h->error_log, qr/MAB00033: metadata of issuer \Q$D\E could not be refreshed: .*\(keeping jwks_uri \Q${\ $srv->url('\/d-keys.json')}\E\)/,
    'metadata gone: logged, the last good jwks_uri kept');
ok($srv->count('/d-keys.json') > $dk, 'metadata gone: the key set is still refreshed');
is($d_ok, $d_all, "metadata gone: $d_all requests meanwhile, all 200");

# --- the status page ---
is($h->get('/status-denied')->code, 403, 'status: protected by Require like any handler');
$r = $h->get('/status');
is($r->code, 200, 'status: HTML');
like($r->header('Content-Type'), qr{^text/html}, 'status: text/html');
my $html = $r->decoded_content;
for my $s ($A, $B, $srv->url('/a-keys.json'), $srv->url('/b-keys.json'), $srv->url('/static.json'),
           $srv->url('/.well-known/openid-configuration'), 'test-rsa-1', 'test-other-1') {
    ok(index($html, $s) >= 0, "status HTML shows $s");
}
ok(index($html, '&lt;b&gt;kid&lt;/b&gt;&amp;&quot;') >= 0, 'status HTML: kid escaped');
ok(index($html, '<b>kid</b>') < 0, 'status HTML: no raw markup from a kid');
like($html, qr/metadata names issuer/, 'status HTML: last error of the refused issuer');
unlike($html, qr{<h2>https://issuer\.test/</h2>},
    'status HTML: the unused discovery source of a section with AuthBearerJWKS is not listed');
like($html, qr{<h2>\Q$A\E</h2>}, 'status HTML: a used discovery source is listed');

for my $how ([ '/status?json', {} ], [ '/status', { Accept => 'application/json' } ]) {
    $r = $h->get($how->[0], headers => $how->[1]);
    is($r->code, 200, "status JSON ($how->[0]): 200");
    like($r->header('Content-Type'), qr{^application/json}, "status JSON ($how->[0]): type");
    my $doc = eval { JSON::PP->new->decode($r->decoded_content) } // {};
    my %by = map { $_->{source} => $_ } @{ $doc->{sources} // [] };
    my $a = $by{$A} // {};
    ok($a->{discovery}, 'status JSON: A is a discovery source');
    is($a->{metadata_url}, $srv->url('/.well-known/openid-configuration'), 'status JSON: A metadata URL');
    is($a->{jwks_uri}, $srv->url('/a-keys.json'), 'status JSON: A jwks_uri');
    is_deeply($a->{kids}, ['test-rsa-1'], 'status JSON: A kids');
    is($a->{fetches}, 1, 'status JSON: A fetched once');
    ok($a->{fetched_at} && $a->{expires_at} > $a->{fetched_at}, 'status JSON: fetched/expires');
    is($a->{last_error}, '', 'status JSON: A has no error');
    my $s = $by{ $srv->url('/static.json') } // {};
    is_deeply($s->{kids}, ['test-rsa-1', $odd_kid], 'status JSON: kids round-trip unescaped');
    my $c = $by{$C} // {};
    ok($c->{failures} >= 1, 'status JSON: C failure counted');
    like($c->{last_error} // '', qr/metadata names issuer/, 'status JSON: C last error');
    ok(defined $c->{refetches}, 'status JSON: refetch count present');
    diag "status: A fetches=$a->{fetches} refetches=$a->{refetches}; C failures=$c->{failures}"
        if $how->[0] =~ /json/;
}

$h->stop;
$srv->stop;
done_testing();
