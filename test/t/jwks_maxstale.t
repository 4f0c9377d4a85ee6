# Issue 12 item 3: stale keys do not live forever.
#  - AuthBearerJWKSMaxStale 10: with the issuer failing, the last good keys (max-age 1) are
#    kept for a while, then refused with 401 "no keys available" once they are 10 s past
#    their expiry; they work again when the issuer is back.
#  - An issuer answering 200 with {"keys":[]} withdraws its keys: tokens are refused at once
#    (logged as MAB00034), and accepted again once it publishes keys.
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
my $emp = MAB::JWKSServer->new;
$srv->publish('/stale.json', jwks_json(jwk('issuer')));
$srv->max_age('/stale.json', 1);
$emp->publish('/empty.json', jwks_json(jwk('issuer')));
$emp->max_age('/empty.json', 1);
my $h = MAB::Httpd->new(paths => [qw(stale empty)],
    conf => "AuthBearerJWKSRefresh 1 3600\nAuthBearerFetchTimeout 1\nAuthBearerJWKSMaxStale 10\n"
        . bearer_location('stale', jwks => $srv->url('/stale.json'))
        . bearer_location('empty', jwks => $emp->url('/empty.json')));
ok($h->start, 'httpd starts with AuthBearerJWKSMaxStale 10') or do { diag $h->{start_output}; done_testing(); exit };
my $tok = mint(claims => { exp => time + 600 });
ok(wait_for(10, sub { $h->get('/stale/ok.txt', token => $tok)->code == 200 }), 'max-stale: keys fetched, token accepted');

# --- max-stale ---
$srv->mode('500');
my $broken = time;
sleep 3;
is($h->get('/stale/ok.txt', token => $tok)->code, 200, 'issuer failing, keys expired 2 s ago: still 200 (stale-if-error)');
my $refused;
ok(wait_for(25, sub { $refused = $h->get('/stale/ok.txt', token => $tok); $refused->code == 401 }),
    sprintf('keys refused once past max-stale (after %.1f s of failures; expiry 1 s + 10 s)', time - $broken));
like($refused->header('WWW-Authenticate') // '', qr/no keys available/, 'max-stale: "no keys available"');
ok(time - $broken >= 9, sprintf('max-stale: not refused before the 10 s had passed (%.1f s)', time - $broken));
like($h->error_log, qr/MAB00030: .*AuthBearerJWKSMaxStale, 10 s, ago: tokens are refused/, 'max-stale: the log says so');
$srv->mode('ok');
ok(wait_for(15, sub { $h->get('/stale/ok.txt', token => $tok)->code == 200 }), 'max-stale: accepted again once the issuer is back');

# --- the empty key set ---
ok(wait_for(10, sub { $h->get('/empty/ok.txt', token => $tok)->code == 200 }), 'empty set: keys fetched, token accepted');
$emp->publish('/empty.json', '{"keys":[]}');
my $t0 = time;
my $r;
ok(wait_for(10, sub { $r = $h->get('/empty/ok.txt', token => $tok); $r->code == 401 }),
    sprintf('empty key set: refused after %.1f s (the keys lived 1 s)', time - $t0));
like($r->header('WWW-Authenticate') // '', qr/no keys available/, 'empty key set: "no keys available"');
like($h->error_log, qr/MAB00034: key set \S+ is empty: the issuer has withdrawn its keys/, 'empty key set: logged');
$emp->publish('/empty.json', jwks_json(jwk('issuer')));
ok(wait_for(20, sub { $h->get('/empty/ok.txt', token => $tok)->code == 200 }), 'empty set: keys published again are used');

my @bad = grep { /\[[\w:]*:(?:crit|alert|emerg)\]|Segmentation|exit signal|MAB00100: denied 500/ } split /\n/, $h->error_log;
ok(!@bad, 'no crash, no 500') or diag join "\n", @bad;
$h->stop;
$srv->stop;
$emp->stop;
done_testing();
