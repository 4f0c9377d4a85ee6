# Load on the authorization server is bounded (issue 13): one introspection call per token per
# cache period for a whole httpd (prefork, 8+ children, shmcb) and for two httpd instances
# sharing one real memcached or one real redis-server; a flood of random opaque tokens never has
# more calls in flight than the per-process bound, while a cached token keeps getting 200; the
# shared store down means 503, never a call around it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX ();
use MAB::Httpd;
use MAB::OIDCProvider;
use MAB::Memcached;
use MAB::Redis;

my $API = 'https://api.test/';
my $BOUND = 8;    # MAB_INTROSPECT_MAX_INFLIGHT, per process (README)
my $as = MAB::OIDCProvider->new(
    clients => [
        { client_id => 'app', auth => 'client_secret_basic' },
        { client_id => 'rs', auth => 'client_secret_basic', grant => 0 },
    ],
    resources => { $API => { scope => 'read' } },
);
my $ISS = $as->issuer;
my $mods = MAB::Httpd::_modules_dir();

sub server {
    my (%o) = @_;
    my $h = MAB::Httpd->new(paths => ['api'], mpm => $o{mpm}, name => $o{name}, conf => <<"C");
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
LoadModule socache_memcache_module $mods/mod_socache_memcache.so
LoadModule socache_redis_module $mods/mod_socache_redis.so
AuthBearerFetchTimeout 3
@{[ $o{socache} ? "AuthBearerSOCache $o{socache}" : '' ]}
<Location /api>
    AuthType Bearer
    AuthName "api"
    AuthBearerIssuer $ISS
    AuthBearerAudience $API
    AuthBearerIntrospection @{[ $as->introspection_endpoint ]}
    AuthBearerIntrospectionAuth client_secret_basic rs file:@{[ $as->secret_file('rs') ]}
    Require valid-user
</Location>
C
    ok($h->start, "httpd starts ($o{what})") or diag $h->{start_output};
    return $h;
}

sub calls { $as->count('/token/introspection') }
sub token { $as->token(client_id => 'app', scope => 'read', resource => $API) }

sub children_served { my %p = map { (split / /)[0] => 1 } grep { / 200 / } split /\n/, $_[0]->access_log; scalar keys %p }

# --- one httpd, prefork, shmcb: 500 requests, one call -------------------------------------------
{
    my $h = server(mpm => 'prefork', what => 'prefork, shmcb');
    my $t = token();
    $as->reset_stats;
    my $codes = $h->load(500, 16, sub { ('/api/ok.txt', token => $t) });
    is($codes->{200}, 500, '500 requests with one opaque token over 16 clients: all 200')
        or diag explain $codes;
    cmp_ok(scalar($h->children), '>=', 8, 'prefork with at least 8 children');
    cmp_ok(children_served($h), '>=', 4, '... and several of them served the token');
    is(calls(), 1, 'exactly one introspection call for the whole httpd');
    $h->stop;
}

# --- two httpd instances, one memcached / one redis: one call for both ---------------------------
for my $store (['memcache', MAB::Memcached->new], ['redis', MAB::Redis->new]) {
    my ($kind, $srv) = @$store;
    my $spec = "$kind:" . $srv->addr;
    my @h = map { server(socache => $spec, name => "h$_", what => "$kind, instance $_") } 1, 2;
    my $t = token();
    $as->reset_stats;
    my $c1 = $h[0]->load(100, 8, sub { ('/api/ok.txt', token => $t) });
    my $c2 = $h[1]->load(100, 8, sub { ('/api/ok.txt', token => $t) });
    is(($c1->{200} // 0) + ($c2->{200} // 0), 200, "$kind: 200 requests on two instances: all 200");
    is(calls(), 1, "$kind: one introspection call for both instances");
    # the store down: refused (503), never a call around it
    $srv->kill;
    $as->reset_stats;
    my $r = $h[0]->get('/api/ok.txt', token => token());
    is($r->code, 503, "$kind down: a new token gets 503");
    is(calls(), 0, "$kind down: the endpoint is not asked around the shared cache");
    like($h[0]->error_log, qr/MAB00908: AuthBearerSOCache \Q$spec\E failed/, "$kind down: logged (MAB00908)");
    $_->stop for @h;
    $srv->stop;
}

# --- a flood of random opaque tokens -------------------------------------------------------------
{
    my $h = server(what => 'event MPM, the flood');
    my $good = token();
    is($h->get('/api/ok.txt', token => $good)->code, 200, 'a valid token before the flood');
    $as->reset_stats;
    $as->mode('/token/introspection', 'slow1');
    my $pid = fork // die;
    if (!$pid) {
        # distinct by request number (forked clients share rand's state)
        my $codes = $h->load(2000, 48, sub { ('/api/ok.txt', token => sprintf('flood%038d', $_[0])) });
        open my $fh, '>', $h->dir . '/flood' or die;
        print $fh join(' ', map { "$_=$codes->{$_}" } sort keys %$codes), "\n";
        close $fh;
        POSIX::_exit(0);
    }
    my ($ok, $n) = (0, 0);
    while (waitpid($pid, POSIX::WNOHANG()) == 0) {
        $n++;
        $ok++ if $h->get('/api/ok.txt', token => $good)->code == 200;
        select undef, undef, undef, 0.05;
    }
    $as->mode('/token/introspection', 'ok');
    my $flood = MAB::Httpd::_slurp($h->dir . '/flood') // '';
    chomp $flood;
    note "flood: $flood; the cached token: $ok of $n";
    my %why;
    $why{$1}++ for $h->error_log =~ /MAB00100: denied \d+ \S+: ([^(:]+)/g;
    note "denials: " . join(', ', map { "$_ x$why{$_}" } sort keys %why);
    cmp_ok($n, '>', 0, 'the cached token was asked during the flood');
    is($ok, $n, 'the cached token got 200 every time during the flood');
    like($flood, qr/503=\d+/, 'the flood got fast 503s over the bound');
    unlike($flood, qr/(?:^| )200=/, 'no random token was granted');
    my $procs = scalar($h->children) || 1;
    cmp_ok($as->max_inflight('/token/introspection'), '<=', $BOUND * 4,
           "the endpoint never saw more than $BOUND calls in flight per process (ServerLimit 4)");
    cmp_ok($as->max_inflight('/token/introspection'), '>', 0, '... and did see calls');
    note "most concurrent introspection calls: " . $as->max_inflight('/token/introspection') . " ($procs children)";
    $h->stop;
}

done_testing();
