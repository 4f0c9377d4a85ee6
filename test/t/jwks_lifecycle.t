# The shared key cache under load, in prefork (8+ children) and event, against a real
# JWKS endpoint on loopback that counts its requests (MAB::JWKSServer):
#  - N valid-token requests spread over the processes: exactly one fetch (the watchdog's
#    warm-up; no request fetches or parses a key set while it is fresh);
#  - a short-lived key set (max-age 4) is refreshed once per lifetime, never twice at once,
#    while requests keep being answered;
#  - event only: rotation (a new key accepted after one refetch, a removed key refused after
#    the refresh) and a forged-kid flood (at most one fetch per refetch interval).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use MAB::Test qw(mint mint_parts);
use MAB::Httpd;
use MAB::JWKSServer;
use MAB::Lifecycle;

my $N = 400;

sub conf_for {
    my $srv = shift;
    my $loc = sub { bearer_location($_[0], jwks => $srv->url($_[1])) };
    return "AuthBearerJWKSRefresh 1 3600\nAuthBearerJWKSRefetchInterval 2\n"
        . "AuthBearerFetchTimeout 2\n" . $loc->('long', '/long.json') . $loc->('short', '/short.json');
}

for my $mpm (qw(prefork event)) {
    my $srv = MAB::JWKSServer->new;
    $srv->publish($_, jwks_json(jwk('issuer'))) for '/long.json', '/short.json';
    $srv->max_age('/long.json', 3600);
    $srv->max_age('/short.json', 4);
    my $h = MAB::Httpd->new(mpm => $mpm, paths => [qw(long short)], conf => conf_for($srv));
    ok($h->start, "$mpm: httpd starts") or do { diag $h->{start_output}; next };

    ok(wait_for(10, sub { $srv->count('/long.json') >= 1 && $srv->count('/short.json') >= 1 }),
        "$mpm: key sets fetched at startup (watchdog warm-up)");
    if ($mpm eq 'prefork') {
        my @c = $h->children;
        ok(@c >= 8, "prefork: " . scalar(@c) . " children (>= 8)");
    }

    # --- N requests, one fetch ---
    my $tok = mint();
    my $res = $h->load($N, 8, sub { ('/long/ok.txt', token => $tok) });
    is($res->{200} // 0, $N, "$mpm: $N valid-token requests, all 200")
        or diag explain $res;
    my $fetches = $srv->count('/long.json');
    is($fetches, 1, "$mpm: $N requests -> exactly one fetch of the key set");
    my %pids = map { /^(\d+) 200 \/long\/ok\.txt$/ ? ($1 => 1) : () } split /\n/, $h->access_log;
    diag "$mpm: $N requests served by " . scalar(keys %pids) . " process(es); JWKS fetches: $fetches";
    ok(keys %pids >= 2, "$mpm: the requests were spread over several processes")
        if $mpm eq 'prefork';

    # --- refresh before expiry, once per lifetime ---
    my $before = () = $srv->times_of('/short.json');
    my $t0 = time;
    my ($ok, $all) = (0, 0);
    while (time - $t0 < 6) {
        my $r = $h->load(40, 4, sub { ('/short/ok.txt', token => $tok) });
        $ok += $r->{200} // 0;
        $all += $_ for values %$r;
    }
    is($ok, $all, "$mpm: $all requests during refreshes of a max-age=4 key set, all 200");
    my @t = $srv->times_of('/short.json');
    my $new = @t - $before;
    my @gaps = map { $t[$_] - $t[ $_ - 1 ] } 1 .. $#t;
    ok($new >= 1 && $new <= 4, "$mpm: $new refresh(es) in 6 s of a key set living 4 s");
    my $min = (sort { $a <=> $b } @gaps)[0] // 99;
    ok($min >= 1.5, sprintf("%s: never two fetches in one lifetime (shortest gap %.2f s)", $mpm, $min))
        or diag "fetch times: @t";
    diag sprintf("%s: max-age=4 key set: %d fetch(es) in %.1f s, gaps %s", $mpm, $new, time - $t0,
        join(' ', map { sprintf '%.2f', $_ } @gaps));

    if ($mpm eq 'event') {
        # --- rotation: a new key is accepted after one refetch ---
        $srv->publish('/long.json', jwks_json(jwk('issuer'), jwk('other')));
        my $c0 = $srv->count('/long.json');
        my $new_tok = mint(key => 'other', kid => 'test-other-1');
        my $r = $h->get('/long/ok.txt', token => $new_tok);
        is($r->code, 200, 'rotation: token with the newly published key accepted');
        is($srv->count('/long.json') - $c0, 1, 'rotation: after exactly one refetch');
        $r = $h->get('/long/ok.txt', token => $new_tok);
        is($r->code, 200, 'rotation: accepted again');
        is($srv->count('/long.json') - $c0, 1, 'rotation: without another fetch');
        is($h->get('/long/ok.txt', token => $tok)->code, 200, 'rotation: the old key still works');

        # the old key is retired: refused once the key set is refreshed (max-age 4)
        $srv->publish('/short.json', jwks_json(jwk('other')));
        ok(wait_for(8, sub { $h->get('/short/ok.txt', token => $tok)->code == 401 }),
            'rotation: old-key token refused after the refresh');
        is($h->get('/short/ok.txt', token => $new_tok)->code, 200, 'rotation: new key accepted');

        # --- forged-kid flood ---
        sleep 2.1;    # one refetch interval since the rotation refetch
        my $f0 = $srv->count('/long.json');
        my $t1 = time;
        my $n = 2000;
        # forged: a random kid and a signature nobody made (no key is ever tried with it)
        my $claims = { iss => 'https://issuer.test/', aud => 'https://quickstarts/api',
                       sub => 'mallory', exp => time + 300 };
        my $forged = sub {
            mint_parts({ alg => 'RS256', typ => 'JWT', kid => random_kid() }, $claims, 'x' x 256);
        };
        my $fr = $h->load($n, 8, sub { ('/long/ok.txt', token => $forged->()) });
        my $elapsed = time - $t1;
        is($fr->{401} // 0, $n, "flood: $n random-kid tokens, all 401");
        my $ff = $srv->count('/long.json') - $f0;
        my $max = 1 + int($elapsed / 2);
        ok($ff <= $max, sprintf('flood: %d fetch(es) in %.1f s with a 2 s refetch interval (<= %d)',
            $ff, $elapsed, $max));
        my @ft = grep { $_ >= $t1 - 0.5 } $srv->times_of('/long.json');
        my @fg = map { $ft[$_] - $ft[ $_ - 1 ] } 1 .. $#ft;
        my $fmin = (sort { $a <=> $b } @fg)[0];
        ok(!defined $fmin || $fmin >= 1.9,
            sprintf('flood: fetches at least one refetch interval apart (shortest gap %s)',
                defined $fmin ? sprintf('%.2f s', $fmin) : 'n/a'));
        diag sprintf('flood: %d requests with random kids in %.1f s -> %d JWKS fetch(es)', $n,
            $elapsed, $ff);
        is($h->get('/long/ok.txt', token => $tok)->code, 200, 'flood: valid tokens still accepted');
    }

    my @errors = grep { /\[[\w:]*:(?:error|crit|alert|emerg)\]/ } split /\n/, $h->error_log;
    ok(!@errors, "$mpm: no error in error_log") or diag join "\n", @errors;
    $h->stop;
    $srv->stop;
}

done_testing();
