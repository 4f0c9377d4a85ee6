# Graceful restarts (apachectl -k graceful) while clients keep sending valid tokens: not one
# request may fail, and neither the parent's memory nor its mappings (the key cache's shared
# memory is re-created per configuration generation) may grow from restart to restart.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp ();
use Time::HiRes qw(sleep time);
use MAB::Test qw(mint);
use MAB::Httpd;
use MAB::JWKSServer;
use MAB::Lifecycle;

my $RESTARTS = 4;

my $srv = MAB::JWKSServer->new;
$srv->publish('/jwks.json', jwks_json(jwk('issuer')));
for my $mpm (qw(event prefork)) {
    my $h = MAB::Httpd->new(mpm => $mpm, paths => ['p'],
        conf => "AuthBearerFetchTimeout 2\n" . bearer_location('p', jwks => $srv->url('/jwks.json')));
    ok($h->start, "$mpm: httpd starts") or do { diag $h->{start_output}; next };
    my $ppid = $h->pid;
    my $c0 = $srv->count('/jwks.json');

    # clients: loop until the stop file appears, then report "ok fail"
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    my $tok = mint(claims => { exp => time + 600 });
    my @kids;
    for my $c (1 .. 4) {
        my $pid = fork // die;
        if (!$pid) {
            my ($ok, $fail, @why) = (0, 0);
            until (-e "$dir/stop") {
                my $r = $h->get('/p/ok.txt', token => $tok);
                if ($r->code == 200) { $ok++ } else { $fail++; push @why, $r->status_line }
            }
            open my $fh, '>', "$dir/$c" or die;
            print $fh "$ok $fail @why[0 .. ($#why < 4 ? $#why : 4)]\n";
            close $fh;
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    my @mem;
    for my $i (1 .. $RESTARTS) {
        sleep 1;
        $h->graceful;
        sleep 1;
        push @mem, [ _rss($ppid), _maps($ppid) ];
    }
    open my $fh, '>', "$dir/stop" or die;
    close $fh;
    waitpid $_, 0 for @kids;
    my ($ok, $fail, @why) = (0, 0);
    for my $c (1 .. 4) {
        open my $in, '<', "$dir/$c" or die;
        my ($o, $f, @w) = split ' ', scalar <$in>;
        $ok += $o;
        $fail += $f;
        push @why, @w;
    }
    ok($ok > 100, "$mpm: $ok valid-token requests during $RESTARTS graceful restarts");
    is($fail, 0, "$mpm: none failed") or diag "@why";
    is($h->pid, $ppid, "$mpm: same parent process throughout");
    # the first restarts warm allocators up; from the second on nothing may grow
    my ($rss1, $maps1) = @{ $mem[1] };
    my ($rssN, $mapsN) = @{ $mem[-1] };
    ok($mapsN <= $maps1, "$mpm: parent mappings do not grow ($maps1 after restart 2, $mapsN after restart $RESTARTS)");
    ok($rssN - $rss1 <= 512, "$mpm: parent RSS does not grow (${rss1} KiB after restart 2, ${rssN} KiB after restart $RESTARTS)");
    diag "$mpm: $ok requests, $fail failed, across $RESTARTS graceful restarts; parent RSS KiB / mappings per restart: "
        . join(' ', map { "$_->[0]/$_->[1]" } @mem) . "; JWKS fetches: " . ($srv->count('/jwks.json') - $c0);
    my @bad = grep { /\[[\w:]*:(?:error|crit|alert|emerg)\]|exit signal/ } split /\n/, $h->error_log;
    ok(!@bad, "$mpm: no error in error_log") or diag join "\n", @bad;
    $h->stop;
}
$srv->stop;

sub _rss {
    open my $fh, '<', "/proc/$_[0]/status" or return 0;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ }
    return 0;
}
sub _maps {
    open my $fh, '<', "/proc/$_[0]/maps" or return 0;
    my @l = <$fh>;
    return scalar @l;
}
use POSIX ();
done_testing();
