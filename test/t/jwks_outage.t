# Outages of the key set endpoint (a real server on loopback that the test breaks): 500,
# garbage and a hanging endpoint keep valid tokens working on the cached keys
# (stale-if-error, logged once per attempt); a cold cache behind a hanging endpoint answers
# 401 within about AuthBearerFetchTimeout (1 s here), never 500; recovery when it is back.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use MAB::Test qw(mint);
use MAB::Httpd;
use MAB::JWKSServer;
use MAB::Lifecycle;

my $srv = MAB::JWKSServer->new;
$srv->publish('/warm.json', jwks_json(jwk('issuer')));
$srv->max_age('/warm.json', 2);
my $loc = sub { bearer_location($_[0], jwks => $srv->url($_[1])) };
my $h = MAB::Httpd->new(paths => [qw(warm cold)],
    conf => "AuthBearerJWKSRefresh 1 3600\nAuthBearerJWKSRefetchInterval 2\n"
        . "AuthBearerFetchTimeout 1\n" . $loc->('warm', '/warm.json') . $loc->('cold', '/cold.json'));
ok($h->start, 'httpd starts') or do { diag $h->{start_output}; done_testing(); exit };
my $started = time;
ok(wait_for(10, sub { $srv->count('/warm.json') >= 1 }), 'key set fetched at startup');
my $tok = mint();
is($h->get('/warm/ok.txt', token => $tok)->code, 200, 'valid token accepted');

my $log_from = sub { my $off = shift; substr($h->error_log, $off) };
for my $mode (qw(500 garbage hang)) {
    $srv->mode($mode);
    my $off = length $h->error_log;
    my $c0 = $srv->count('/warm.json');
    my ($n, $good, $slowest) = (0, 0, 0);
    my $t0 = time;
    my $warm_re = qr/MAB00030: fetching key set \Q${\ $srv->url('\/warm.json')}\E failed: .*\(keeping the previous keys\)/;
    my $lines = 0;
    # requests go on until a refresh has failed (the key set lives 2 s, a failed attempt is
    # retried after 5 s) and a little longer; at most 9 s
    while (time - $t0 < 9 && !($lines && time - $t0 > 1.5)) {
        my $r = $h->get('/warm/ok.txt', token => $tok);
        $n++;
        $good++ if $r->code == 200;
        $slowest = $r->{elapsed} if $r->{elapsed} > $slowest;
        sleep 0.05;
        $lines = () = $log_from->($off) =~ /$warm_re/g;
    }
    is($good, $n, sprintf('endpoint %s: %d valid-token requests over %.1f s, all 200 on the cached keys', $mode, $n, time - $t0));
    # with the watchdog refreshing, no request waits for the failing fetch; bounded by the
    # 1 s fetch timeout anyway, with a generous margin for a loaded machine
    ok($slowest < 2.5, sprintf('endpoint %s: slowest request %.2f s (< 2.5 s)', $mode, $slowest));
    my $log = $log_from->($off);
    my $attempts = $srv->count('/warm.json') - $c0;
    ok($lines >= 1, "endpoint $mode: the failure is logged ($lines line(s))") or diag $log;
    ok($lines <= $attempts + 1, "endpoint $mode: logged once per attempt ($lines lines, $attempts attempts), not per request ($n)");
    diag "endpoint $mode: $n requests, $attempts fetch attempt(s), $lines MAB00030 line(s), slowest "
        . sprintf('%.2f s', $slowest);
}

# cold cache, hanging endpoint: once the retry interval (5 s) after the startup attempt (404)
# has passed, a request tries
sleep 5.5 - (time - $started) if time - $started < 5.5;
my $t0 = time;
my $r = $h->get('/cold/ok.txt', token => $tok);
my $el = time - $t0;
is($r->code, 401, 'cold cache, hanging endpoint: 401');
like($r->header('WWW-Authenticate') // '', qr/error="invalid_token"/, 'cold cache: invalid_token');
ok($el < 3, sprintf('cold cache: answered in %.2f s (fetch timeout 1 s; bound 3 s)', $el));
$r = $h->get('/cold/ok.txt', token => $tok);
is($r->code, 401, 'cold cache again: 401');
ok($r->{elapsed} < 1.5, sprintf('cold cache again: %.2f s (retry interval, no new wait)', $r->{elapsed}));
diag sprintf('cold cache behind a hanging endpoint: first 401 after %.2f s, next after %.2f s', $el,
    $r->{elapsed});

# recovery
$srv->publish('/cold.json', jwks_json(jwk('issuer')));
$srv->mode('ok');
ok(wait_for(10, sub { $h->get('/cold/ok.txt', token => $tok)->code == 200 }),
    'recovery: the cold source works once the endpoint is back');
my $c = $srv->count('/warm.json');
ok(wait_for(8, sub { $srv->count('/warm.json') > $c }), 'recovery: the warm source is refreshed again');
is($h->get('/warm/ok.txt', token => $tok)->code, 200, 'recovery: valid token accepted');

my @bad = grep { /\[[\w:]*:(?:crit|alert|emerg)\]|MAB00100: denied 500|Segmentation|exit signal/ }
    split /\n/, $h->error_log;
ok(!@bad, 'no crash, no 500') or diag join "\n", @bad;
$h->stop;
$srv->stop;
done_testing();
