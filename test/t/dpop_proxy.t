# DPoP behind a reverse proxy (issue 14): httpd A (mod_proxy_http, no authentication) forwards
# to httpd B, whose AuthBearerPublicURL is A's origin. A client's proof names the URL it used
# (A's): accepted through A; a proof for B's own URL is refused. The origin a proof must name
# never comes from the request: a client-sent Host, X-Forwarded-Host or X-Forwarded-Proto, a
# Host that A preserves, or an absolute-form request-target cannot make another htu acceptable,
# behind the proxy or without one (there B's ServerName is the origin).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::DPoP qw(new_key token proof request challenge granted denied);

my $as = MAB::DPoP::provider();
my $ISS = $as->issuer;
my $ec = new_key('ec');
my $t = token($as, $ec);
my $mods = MAB::Httpd::_modules_dir();

my ($A, $B);
$B = MAB::DPoP::server($as, name => 'backend', paths => [qw(api pres direct)], conf => sub {
    my $sec = sub {
        my ($path, $extra) = @_;
        return <<"C";
<Location /$path>
    AuthType Bearer
    AuthName "api"
    AuthBearerIssuer $ISS
    AuthBearerDPoP On
$extra    Require valid-user
</Location>
C
    };
    # A's port is known once A exists: filled in below
    return $sec->('api', "    AuthBearerPublicURL http://127.0.0.1:\@APORT\@\n")
        . $sec->('pres', "    AuthBearerPublicURL http://127.0.0.1:\@APORT\@\n")
        . $sec->('direct', '');
});
my $bport = $B->port;
$A = MAB::DPoP::server($as, name => 'front', conf => <<"C");
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_http_module $mods/mod_proxy_http.so
ProxyPass /api http://127.0.0.1:$bport/api
<Location /pres>
    ProxyPreserveHost On
    ProxyPass http://127.0.0.1:$bport/pres
</Location>
C
my $aport = $A->port;
{
    my $f = $B->dir . '/httpd.conf';
    open my $fh, '<', $f or die;
    my $c = do { local $/; <$fh> };
    close $fh;
    $c =~ s/\@APORT\@/$aport/g;
    open $fh, '>', $f or die;
    print $fh $c;
    close $fh;
}
ok($B->start, 'backend B starts (AuthBearerPublicURL: the front)') or diag $B->{start_output};
ok($A->start, 'front A starts (mod_proxy_http)') or diag $A->{start_output};

my $AO = "http://127.0.0.1:$aport";
my $BO = "http://127.0.0.1:$bport";

# via($path, htu => the proof's URL, to => $A | $B, host => …, headers => [...], target => …)
sub via {
    my ($path, %o) = @_;
    my $to = $o{to} // $A;
    my $p = proof(key => $ec, htu => $o{htu}, token => $t);
    return request($to, path => $o{target} // $path, token => $t, proof => $p, log => $B,
                   host => $o{host}, headers => $o{headers});
}
my $BAD = 'invalid DPoP proof';
my @refused = (error => 'invalid_dpop_proof', reason => $BAD, realm => 'api');

# --- the client's URL is the front's ----------------------------------------------------------------
granted(via('/api/ok.txt', htu => "$AO/api/ok.txt"), "through A: a proof for A's URL");
denied(via('/api/ok.txt', htu => "$BO/api/ok.txt"), "through A: a proof for B's own URL", @refused);
denied(via('/api/ok.txt', htu => "$BO/api/ok.txt", to => $B), "at B directly: a proof for B's own URL", @refused);
granted(via('/api/ok.txt', htu => "$AO/api/ok.txt", to => $B), "at B directly: a proof for the public URL");
denied(via('/api/ok.txt', htu => "https://127.0.0.1:$aport/api/ok.txt"), 'through A: https instead of http',
       @refused);

# --- what the client says about the host changes nothing ----------------------------------------------
my $EVIL = "evil.test:$aport";
denied(via('/api/ok.txt', htu => "http://$EVIL/api/ok.txt", host => $EVIL),
       'through A, Host: evil.test: a proof for evil.test', @refused);
granted(via('/api/ok.txt', htu => "$AO/api/ok.txt", host => $EVIL),
        "through A, Host: evil.test: a proof for A's URL");
denied(via('/api/ok.txt', htu => 'http://evil.test/api/ok.txt', headers => [ 'X-Forwarded-Host' => 'evil.test' ]),
       'through A, X-Forwarded-Host: evil.test: a proof for evil.test', @refused);
denied(via('/api/ok.txt', htu => "https://127.0.0.1:$aport/api/ok.txt",
           headers => [ 'X-Forwarded-Proto' => 'https' ]),
       'through A, X-Forwarded-Proto: https: a proof for https', @refused);
granted(via('/api/ok.txt', htu => "$AO/api/ok.txt",
            headers => [ 'X-Forwarded-Host' => 'evil.test', 'X-Forwarded-Proto' => 'https' ]),
        "through A, forged X-Forwarded-*: a proof for A's URL");
# ProxyPreserveHost On: B itself sees Host: evil.test
denied(via('/pres/ok.txt', htu => "http://$EVIL/pres/ok.txt", host => $EVIL),
       'ProxyPreserveHost On, Host: evil.test: a proof for evil.test', @refused);
granted(via('/pres/ok.txt', htu => "$AO/pres/ok.txt", host => $EVIL),
        "ProxyPreserveHost On, Host: evil.test: a proof for A's URL");

# --- no proxy, no AuthBearerPublicURL: B's ServerName and port --------------------------------------------
my $BEVIL = "evil.test:$bport";
granted(via('/direct/ok.txt', htu => "$BO/direct/ok.txt", to => $B), "B without PublicURL: its own URL");
denied(via('/direct/ok.txt', htu => "http://$BEVIL/direct/ok.txt", to => $B, host => $BEVIL),
       'B without PublicURL, Host: evil.test: a proof for evil.test', @refused);
granted(via('/direct/ok.txt', htu => "$BO/direct/ok.txt", to => $B, host => $BEVIL),
        'B without PublicURL, Host: evil.test: a proof for its ServerName');
denied(via('/direct/ok.txt', htu => 'http://evil.test/direct/ok.txt', to => $B,
           headers => [ 'X-Forwarded-Host' => 'evil.test' ]),
       'B without PublicURL, X-Forwarded-Host: evil.test: a proof for evil.test', @refused);
denied(via('/direct/ok.txt', htu => "http://$BEVIL/direct/ok.txt", to => $B,
           target => "http://$BEVIL/direct/ok.txt"),
       'B, absolute-form request-target naming evil.test: a proof for evil.test', @refused,
       uri => '/direct/ok.txt');
granted(via('/direct/ok.txt', htu => "$BO/direct/ok.txt", to => $B, target => "http://$BEVIL/direct/ok.txt"),
        'B, absolute-form request-target naming evil.test: a proof for its ServerName');
granted(via('/direct/ok.txt', htu => "$BO/direct/ok.txt", to => $B, target => "$BO/direct/ok.txt"),
        'B, absolute-form request-target of its own URL');

$A->stop;
$B->stop;
done_testing();
