# The metrics (issue 16, part 2): a prefork httpd of its own with several children and
# mod_status, known requests sent over fresh connections (so several children answer),
# then the exact change of every counter in all three views: auth-bearer-metrics
# (Prometheus text, checked by the real promtool), server-status?auto and the
# auth-bearer-status JSON; the server-status HTML table; label values never taken from a
# token (forged kid and iss); the fetch-time histogram of a slow refetch.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp ();
use JSON::PP ();
use Time::HiRes qw(sleep time);
use MAB::Test qw(mint);
use MAB::Httpd;
use MAB::JWKSServer;
use MAB::Lifecycle;

my $REFETCH = 4;    # AuthBearerJWKSRefetchInterval: one refetch in the forged-kid burst

my $srv = MAB::JWKSServer->new;
$srv->publish('/jwks.json', jwks_json(jwk('issuer')));
$srv->publish('/other.json', jwks_json(jwk('other')));
my $jwks  = $srv->url('/jwks.json');
my $other = $srv->url('/other.json');
my $gone  = $srv->url('/gone.json');    # never published: every fetch fails

my $mods = MAB::Httpd::_modules_dir();
my $loc = sub {
    my ($path, $require, %o) = @_;
    my $iss = $o{issuer} // 'https://issuer.test/';
    my $src = $o{jwks} // $jwks;
    return "<Location /$path>\n    AuthType Bearer\n    AuthName \"metrics\"\n"
        . "    AuthBearerIssuer   $iss\n    AuthBearerAudience https://quickstarts/api\n"
        . "    AuthBearerJWKS     $src\n$require\n</Location>\n";
};
my $conf = "LoadModule status_module $mods/mod_status.so\n"
    . "AuthBearerJWKSRefetchInterval $REFETCH\n"
    . "LogFormat \"%P %U%q\" metricslog\nCustomLog logs/metrics_log metricslog\n"
    . "<Location /server-status>\n    SetHandler server-status\n</Location>\n"
    . "<Location /metrics>\n    SetHandler auth-bearer-metrics\n</Location>\n"
    . "<Location /auth-bearer-status>\n    SetHandler auth-bearer-status\n</Location>\n"
    . $loc->('p', '    Require valid-user')
    . $loc->('s', '    Require scope read:messages')
    . $loc->('c', '    Require claim role admin')
    . $loc->('n', "    <RequireAll>\n        Require valid-user\n        Require not claim role guest\n"
                . "    </RequireAll>")
    . $loc->('o', '    Require valid-user', issuer => 'https://other.test/', jwks => $other)
    . $loc->('g', '    Require valid-user', jwks => $gone);
my $h = MAB::Httpd->new(mpm => 'prefork', paths => [qw(p s c n o g)], conf => $conf);
ok($h->start, 'httpd starts (prefork, mod_status)') or do { diag $h->{start_output}; done_testing(); exit };

# --- the three views, parsed ---------------------------------------------------------------
sub prom {
    my $r = $h->get('/metrics');
    my %v;
    for (split /\n/, $r->decoded_content // '') {
        next if /^#/ || !/\S/;
        /^(\S+) (\S+)$/ or next;
        $v{$1} = $2;
    }
    return (\%v, $r);
}
sub auto {
    my $r = $h->get('/server-status?auto');
    my %v = map { /^(AuthBearer\S+): (.*)$/ ? ($1 => $2) : () } split /\n/, $r->decoded_content // '';
    return \%v;
}
sub json_key {
    my ($name, $labels) = @_;
    return join '|', $name, map { "$_=$labels->{$_}" } sort keys %$labels;
}
sub json_view {
    my $r = $h->get('/auth-bearer-status?json');
    my $doc = eval { JSON::PP->new->decode($r->decoded_content) } // {};
    my %v;
    for my $s (@{ $doc->{metrics} // [] }) {
        $v{ json_key($s->{name}, $s->{labels}) } = $s->{type} eq 'histogram' ? $s->{count} : $s->{value};
    }
    return \%v;
}
# "name{a=\"x\",b=\"y\"}" -> the JSON view's key
sub prom_to_json {
    my $k = shift;
    my ($name, $l) = $k =~ /^([^{]+)(?:\{(.*)\})?$/;
    my %labels = map { /^(\w+)="(.*)"$/ ? ($1 => $2) : () } split /,(?=\w+=")/, $l // '';
    $name =~ s/_count$// if $name =~ /_seconds_count$/;
    return json_key($name, \%labels);
}

# Startup: the watchdog fetches every source in use once; wait for all three to be tried.
my $auto0;
ok(wait_for(10, sub {
    $auto0 = auto();
    my @src = grep { /^AuthBearerSource\[\d+\]$/ } keys %$auto0;
    my $tried = grep { ($auto0->{ "AuthBearerJWKSFetches[" . ($_ =~ /(\d+)/)[0] . "]" } // 0) >= 1 } @src;
    @src == 3 && $tried == 3;
}), 'startup: the three key sources in use were fetched once') or diag explain $auto0;
my $startup_done = time;
my %src = map { $auto0->{$_} => ($_ =~ /(\d+)/)[0] } grep { /^AuthBearerSource\[\d+\]$/ } keys %$auto0;
my %iss = map { $auto0->{$_} => ($_ =~ /(\d+)/)[0] } grep { /^AuthBearerIssuer\[\d+\]$/ } keys %$auto0;
ok(defined $src{$jwks} && defined $src{$other} && defined $src{$gone}, 'the sources by index')
    or diag explain \%src;
ok(defined $iss{'https://issuer.test/'} && defined $iss{'https://other.test/'} && defined $iss{other},
    'the issuers by index, and "other"') or diag explain \%iss;
ok(!grep({ /^AuthBearerSource\[\d+\]Kind$/ && $auto0->{$_} eq 'discovery' } keys %$auto0),
    'discovery sources nobody uses are not shown');

my ($p0) = prom();
my $j0 = json_view();
$auto0 = auto();

# --- known requests ------------------------------------------------------------------------
my $n = 0;
my (%sent, @lookups);    # $sent{"path code"}; @lookups: [n, token, storable]
sub send_req {
    my ($path, $want, %o) = @_;
    $n++;
    my $r = $h->get("$path?n=$n", %o);
    is($r->code, $want, "request $n: $path answers $want") or diag $r->status_line;
    push @lookups, [$n, $o{token}, $o{storable} // 0] if $o{lookup};
    return $r;
}
sub tok { mint(claims => { jti => rand(), %{ $_[0] // {} } }, @_[1 .. $#_]) }

my $valid = tok({ scope => 'read:messages' });
send_req('/p/ok.txt', 200, token => $valid, lookup => 1, storable => 1) for 1 .. 12;
my $expired = tok({ exp => time - 3600, iat => time - 7200 });
send_req('/p/ok.txt', 401, token => $expired, lookup => 1) for 1 .. 3;
my @parts = split /\./, tok();
substr($parts[2], 5, 1) = substr($parts[2], 5, 1) eq 'A' ? 'B' : 'A';
my $badsig = join '.', @parts;
send_req('/p/ok.txt', 401, token => $badsig, lookup => 1) for 1 .. 2;
send_req('/p/ok.txt', 401) for 1 .. 2;
send_req('/p/ok.txt', 400, headers => { Authorization => 'Bearer a b' });
send_req('/p/ok.txt', 401, token => 'not.a-token', lookup => 1);
my $evil = tok({ iss => 'https://evil.test/forged-iss' });
send_req('/p/ok.txt', 401, token => $evil, lookup => 1, storable => 1);
my $noscope = tok();
send_req('/s/ok.txt', 403, token => $noscope, lookup => 1, storable => 1) for 1 .. 2;
send_req('/c/ok.txt', 403, token => tok({ role => 'user' }), lookup => 1, storable => 1);
send_req('/n/ok.txt', 403, token => tok({ role => 'guest' }), lookup => 1, storable => 1);
send_req('/n/ok.txt', 200, token => tok({ role => 'user' }), lookup => 1, storable => 1);
send_req('/o/ok.txt', 200, token => tok({ iss => 'https://other.test/' }, key => 'other'),
    lookup => 1, storable => 1);

# unknown kids: one refetch (a slow one, for the histogram) for the whole burst. A refetch
# is allowed once more than the interval has passed in whole seconds since the last fetch.
sleep 0.1 while time < $startup_done + $REFETCH + 1.5;
$srv->mode('slow1');
send_req('/p/ok.txt', 401, token => tok({}, kid => "forged-kid-$_"), lookup => 1) for 1 .. 3;
$srv->mode('ok');

my ($p1, $pres) = prom();
my $j1 = json_view();
my $auto1 = auto();

# --- which child answered what: the token cache's hits and misses follow from it ----------
my %pid_of;
ok(wait_for(5, sub {
    %pid_of = map { /^(\d+) \S*\?n=(\d+)$/ ? ($2 => $1) : () } split /\n/,
        (MAB::Httpd::_slurp($h->dir . '/logs/metrics_log') // '');
    keys %pid_of >= $n;
}), "every request is in the access log");
my %pids = map { $_ => 1 } values %pid_of;
ok(keys %pids >= 2, 'several children answered (' . scalar(keys %pids) . ')');
my %seen;
my ($hits, $misses) = (0, 0);
for my $l (@lookups) {
    my ($i, $t, $storable) = @$l;
    if ($storable && $seen{"$t $pid_of{$i}"}++) { $hits++ } else { $misses++ }
}

# --- the expected changes --------------------------------------------------------------------
my $P = 'mod_auth_bearer_';
my $refused = sub { my ($s, $r) = @_; "${P}requests_refused_total{status=\"$s\",reason=\"$r\"}" };
my $srcl = sub { my $u = shift; "source=\"$u\",kind=\"jwks\"" };
my @expect = (
    # [Prometheus series, ?auto key, change]
    ["${P}tokens_accepted_total{issuer=\"https://issuer.test/\"}",
        "AuthBearerTokensAccepted[$iss{'https://issuer.test/'}]", 12 + 2 + 1 + 2],
    ["${P}tokens_accepted_total{issuer=\"https://other.test/\"}",
        "AuthBearerTokensAccepted[$iss{'https://other.test/'}]", 1],
    ["${P}tokens_accepted_total{issuer=\"other\"}", "AuthBearerTokensAccepted[$iss{other}]", 0],
    [undef, 'AuthBearerTokensAccepted', 18],
    [$refused->(401, 'expired'), 'AuthBearerRefused401Expired', 3],
    [$refused->(401, 'signature'), 'AuthBearerRefused401Signature', 2],
    [$refused->(401, 'no_credential'), 'AuthBearerRefused401NoCredential', 2],
    [$refused->(400, 'several_tokens'), 'AuthBearerRefused400SeveralTokens', 1],
    [$refused->(401, 'malformed'), 'AuthBearerRefused401Malformed', 1],
    [$refused->(401, 'issuer'), 'AuthBearerRefused401Issuer', 1],
    [$refused->(401, 'no_matching_key'), 'AuthBearerRefused401NoMatchingKey', 3],
    [$refused->(403, 'insufficient_scope'), 'AuthBearerRefused403InsufficientScope', 2],
    [$refused->(403, 'claim_not_met'), 'AuthBearerRefused403ClaimNotMet', 1],
    [$refused->(403, 'negated_rule'), 'AuthBearerRefused403NegatedRule', 1],
    [$refused->(401, 'audience'), 'AuthBearerRefused401Audience', 0],
    [$refused->(500, 'config'), 'AuthBearerRefused500Config', 0],
    [undef, 'AuthBearerRefused', 3 + 2 + 2 + 1 + 1 + 1 + 3 + 2 + 1 + 1],
    ["${P}token_cache_hits_total", 'AuthBearerTokenCacheHits', $hits],
    ["${P}token_cache_misses_total", 'AuthBearerTokenCacheMisses', $misses],
    ["${P}jwks_fetches_total{" . $srcl->($jwks) . "}", "AuthBearerJWKSFetches[$src{$jwks}]", 1],
    ["${P}jwks_refetches_total{" . $srcl->($jwks) . "}", "AuthBearerJWKSRefetches[$src{$jwks}]", 1],
    ["${P}jwks_fetch_failures_total{" . $srcl->($jwks) . "}",
        "AuthBearerJWKSFetchFailures[$src{$jwks}]", 0],
    ["${P}jwks_fetch_duration_seconds_count{" . $srcl->($jwks) . "}",
        "AuthBearerJWKSFetchDurationCount[$src{$jwks}]", 1],
    ["${P}jwks_fetches_total{" . $srcl->($other) . "}", "AuthBearerJWKSFetches[$src{$other}]", 0],
    ["${P}jwks_refetches_total{" . $srcl->($other) . "}", "AuthBearerJWKSRefetches[$src{$other}]", 0],
);
diag "token cache: $hits hits, $misses misses over " . scalar(@lookups) . " lookups in "
    . scalar(keys %pids) . " children";
for my $e (@expect) {
    my ($pk, $ak, $d) = @$e;
    if (defined $pk) {
        ok(defined $p1->{$pk}, "prometheus: $pk is there") or next;
        is($p1->{$pk} - ($p0->{$pk} // 0), $d, "prometheus: $pk +$d");
        my $jk = prom_to_json($pk);
        is(($j1->{$jk} // -1) - ($j0->{$jk} // 0), $d, "json: $jk +$d");
    }
    is(($auto1->{$ak} // -1) - ($auto0->{$ak} // 0), $d, "server-status?auto: $ak +$d");
}

# the slow refetch (slow1: at least a second) in the histogram
my $b = sub { "${P}jwks_fetch_duration_seconds_bucket{" . $srcl->($jwks) . ",le=\"$_[0]\"}" };
is($p1->{ $b->('1') } - $p0->{ $b->('1') }, 0, 'histogram: the slow refetch is not in le=1');
is($p1->{ $b->('2.5') } - $p0->{ $b->('2.5') }, 1, 'histogram: it is in le=2.5');
is($p1->{ $b->('+Inf') } - $p0->{ $b->('+Inf') }, 1, 'histogram: and in le=+Inf');
my $sumk = "${P}jwks_fetch_duration_seconds_sum{" . $srcl->($jwks) . "}";
ok($p1->{$sumk} - $p0->{$sumk} >= 1, 'histogram: its sum grew by a second or more');

# the source that never answers: every attempt a failure (one may be under way: counted as
# a fetch when it starts, as a failure when it ends)
my $gk = "{source=\"$gone\",kind=\"jwks\"}";
my ($gf, $gn) = ($p1->{"${P}jwks_fetch_failures_total$gk"}, $p1->{"${P}jwks_fetches_total$gk"});
ok($gf >= 1 && $gn - $gf <= 1, "a missing key set: every fetch counted as failed ($gf of $gn)");

# nothing a token says becomes a label value
my $text = $pres->decoded_content;
ok($text !~ /forged|evil\.test/, 'no forged kid or iss in any series');
like($pres->header('Content-Type'), qr{^text/plain; version=0\.0\.4}, 'exposition content type');
like($text, qr/^# TYPE ${P}jwks_fetch_duration_seconds histogram$/m, 'histogram TYPE line');
like($text, qr/^${P}start_time_seconds \d+$/m, 'start time gauge');

# promtool, the reference checker (CI installs it: scripts/install-deps)
SKIP: {
    my $promtool = `command -v promtool 2>/dev/null`;
    chomp $promtool;
    if (!$promtool) {
        fail('promtool is installed (scripts/install-deps)') if $ENV{CI};
        skip 'promtool not installed', 2;
    }
    my $f = File::Temp->new(SUFFIX => '.prom');
    print $f $text;
    close $f;
    my $out = `$promtool check metrics < $f 2>&1`;
    is($? >> 8, 0, 'promtool check metrics: exit 0') or diag $out;
    is($out, '', 'promtool check metrics: no complaint') or diag $out;
    diag "promtool check metrics: " . ($out eq '' ? 'clean' : $out);
}

# mod_status's HTML page: the auth_bearer table
my $html = $h->get('/server-status')->decoded_content // '';
like($html, qr{<h2>auth_bearer</h2>}, 'server-status: the auth_bearer section');
like($html, qr{<tr><td>${P}tokens_accepted_total</td><td>issuer=https://issuer\.test/</td><td>\d+</td></tr>},
    'server-status: a row of the table');

# nothing else went wrong (the missing key set's MAB00030 is this test's own doing, and
# mod_authz_core logs every 403 it answers as AH01630)
my @bad = grep {
    /\[[\w:]*:(?:error|crit|alert|emerg)\]|exit signal/ && !/MAB00030: .*gone\.json/ && !/AH01630:/
} split /\n/, $h->error_log;
ok(!@bad, 'no unexpected error in error_log') or diag join "\n", @bad;

$h->stop;
$srv->stop;
done_testing();
