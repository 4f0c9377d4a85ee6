# The DPoP replay record (RFC 9449 §11.1, issue 14) in AuthBearerSOCache: within one httpd
# (prefork, many children, the default shmcb) a proof is accepted once, also when many clients
# race it at once; across two httpd instances sharing one real memcached or one real
# redis-server (and one AuthBearerPublicURL, as a fleet behind one name) a proof accepted by one
# is refused by the other. The store down: DPoP requests are refused (503, an [error] line),
# never let through unchecked, while plain bearer tokens, which need no record, still pass.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Httpd;
use MAB::Memcached;
use MAB::Redis;
use MAB::DPoP qw(new_key token proof request challenge granted denied);

my $as = MAB::DPoP::provider();
my $ISS = $as->issuer;
my $ec = new_key('ec');
my $t = token($as, $ec);
my $t_plain = token($as, undef);
my $PUBLIC = 'https://api.fleet.test';

sub server {
    my (%o) = @_;
    my $h = MAB::DPoP::server($as, name => $o{name}, mpm => $o{mpm}, paths => ['api'], conf => <<"C");
@{[ $o{socache} ? "AuthBearerSOCache $o{socache}" : '' ]}
<Location /api>
    AuthType Bearer
    AuthName "api"
    AuthBearerIssuer $ISS
    AuthBearerDPoP On
@{[ $o{public} ? "    AuthBearerPublicURL $o{public}\n" : '' ]}    Require valid-user
</Location>
C
    ok($h->start, "httpd starts ($o{what})") or diag $h->{start_output};
    return $h;
}

sub call {
    my ($h, %o) = @_;
    my $p = $o{proof} // proof(key => $ec, htu => ($o{origin} // MAB::DPoP::origin($h)) . '/api/ok.txt',
                               token => $t);
    return request($h, path => '/api/ok.txt', token => $t, proof => $p);
}

my @replayed = (error => 'invalid_dpop_proof', reason => 'DPoP proof replayed', realm => 'api');

# --- one httpd, prefork, shmcb: one proof raced by 16 clients ---------------------------------------
{
    my $h = server(mpm => 'prefork', what => 'prefork, the default shmcb');
    granted(call($h), 'a fresh proof');
    my $p = proof(key => $ec, htu => MAB::DPoP::origin($h) . '/api/ok.txt', token => $t);
    my $n = 200;
    my $codes = $h->load($n, 16, sub { ('/api/ok.txt', headers => { Authorization => "DPoP $t", DPoP => $p }) });
    is($codes->{200}, 1, "one proof sent $n times by 16 concurrent clients: accepted exactly once")
        or diag explain $codes;
    is($codes->{401}, $n - 1, '... and refused every other time') or diag explain $codes;
    # which child answered what (the access log: "%P %>s %U"); it is written after the response
    my @lines;
    for (1 .. 100) {
        @lines = grep { m{ /api/ok\.txt$} } split /\n/, $h->access_log;
        last if @lines >= $n + 1;
        select undef, undef, undef, 0.05;
    }
    my %by;
    for (@lines[1 .. $#lines]) { my ($pid, $code) = split / /; $by{$code}{$pid}++ }
    my ($winner) = keys %{ $by{200} // {} };
    my @others = grep { !defined $winner || $_ ne $winner } keys %{ $by{401} // {} };
    cmp_ok(scalar @others, '>=', 1, 'the proof was refused by children other than the one that accepted it')
        or diag explain \%by;
    my $replays = () = $h->error_log =~ /MAB00100: denied 401 \/api\/ok\.txt: DPoP proof replayed/g;
    is($replays, $n - 1, "$n - 1 denial lines name the replay");
    $h->stop;
}

# --- two instances, one memcached / one redis-server --------------------------------------------------
for my $store (['memcache', MAB::Memcached->new], ['redis', MAB::Redis->new]) {
    my ($kind, $srv) = @$store;
    my $spec = "$kind:" . $srv->addr;
    my @h = map { server(socache => $spec, public => $PUBLIC, name => "$kind$_", what => "$kind, instance $_") } 1, 2;
    my $stored = sub { $kind eq 'redis' ? $srv->dbsize : $srv->items };
    my $before = $stored->();

    my $p = proof(key => $ec, htu => "$PUBLIC/api/ok.txt", token => $t);
    granted(call($h[0], proof => $p), "$kind: instance 1 accepts a proof");
    cmp_ok($stored->(), '>', $before, "$kind: ... recorded in the shared store");
    denied(call($h[1], proof => $p), "$kind: instance 2 refuses the same proof", @replayed);
    denied(call($h[0], proof => $p), "$kind: instance 1 refuses it too", @replayed);
    $p = proof(key => $ec, htu => "$PUBLIC/api/ok.txt", token => $t);
    granted(call($h[1], proof => $p), "$kind: instance 2 accepts another proof");
    denied(call($h[0], proof => $p), "$kind: ... which instance 1 then refuses", @replayed);
    granted(call($h[0], origin => $PUBLIC), "$kind: a fresh proof at instance 1");

    # the store down: refused, never unchecked
    $srv->kill;
    for my $i (0, 1) {
        my $r = call($h[$i], origin => $PUBLIC);
        is($r->code, 503, "$kind down: instance " . ($i + 1) . ' refuses a fresh proof with 503')
            or diag $r->status_line . "\n" . $r->{mab_log};
        is($r->header('Retry-After'), '5', "$kind down: ... with Retry-After: 5");
        like($r->{mab_log}, qr/\[auth_bearer:error\].*MAB00961: /, "$kind down: ... and the [error] line MAB00961")
            or diag $r->{mab_log};
        unlike($r->{mab_log}, qr/\Q$t\E/, "$kind down: ... the token not logged");
    }
    granted(request($h[0], path => '/api/ok.txt', token => $t_plain, scheme => 'Bearer'),
            "$kind down: a plain bearer token, which needs no replay record");

    # the store back: DPoP works again (the provider reconnects in its own time: asked until it has)
    $srv->start;
    my $r;
    for (1 .. 100) {
        $r = call($h[0], origin => $PUBLIC);
        last if $r->code == 200;
        select undef, undef, undef, 0.2;
    }
    is($r->code, 200, "$kind back: a fresh proof is accepted again") or diag $r->{mab_log};
    $_->stop for @h;
    $srv->stop;
}

done_testing();
