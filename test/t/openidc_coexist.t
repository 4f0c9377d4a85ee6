# mod_auth_openidc registers the authz provider "claim" too, and httpd keeps the last
# registration (issue 16, part 3). With the real Debian mod_auth_openidc loaded before and
# after ours, in one server: its AuthType oauth20 section keeps its "Require claim sub:alice"
# and our AuthType Bearer section keeps "Require claim sub alice"; "Require bearer-claim" and
# "bearer-scope" are always ours. A line whose own section's AuthType makes it the other
# module's syntax is refused at startup; one whose AuthType is inherited is refused per request.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Crypt::PK::RSA;
use MAB::Test qw(mint keyfile);
use MAB::Httpd;
use MAB::Lifecycle;

my $mods = MAB::Httpd::_modules_dir();
plan skip_all => "mod_auth_openidc is not installed (Debian: libapache2-mod-auth-openidc)"
    unless -e "$mods/mod_auth_openidc.so";
my $openidc = "LoadModule auth_openidc_module $mods/mod_auth_openidc.so\n";

my $alice   = mint(claims => { sub => 'alice', scope => 'read:messages' });
my $bob     = mint(claims => { sub => 'bob' });
my $expired = mint(claims => { sub => 'alice', exp => time - 3600, iat => time - 7200 });

# The sections both servers share; $dir is the server's own directory.
sub sections {
    my ($dir) = @_;
    my $bearer = <<"B";
    AuthType Bearer
    AuthName "bearer"
    AuthBearerIssuer   https://issuer.test/
    AuthBearerAudience https://quickstarts/api
    AuthBearerJWKS     $dir/jwks.json
B
    return <<"CONF";
# mod_auth_openidc as an OAuth 2.0 resource server: its directives are server-wide; the
# token is verified locally against the issuer's public key (no introspection, no JWKS URL)
OIDCCryptoPassphrase coexist-test-passphrase-0123456789
OIDCOAuthVerifyCertFiles test-rsa-1#$dir/issuer-public.pem
OIDCOAuthRemoteUserClaim sub
# its syntax: claim:value
<Location /oidc>
    AuthType oauth20
    AuthName "oidc"
    AuthzSendForbiddenOnFailure On
    Require claim sub:alice
</Location>
# ours written under its AuthType: read as its expression "sub alice" (two specs without a
# colon), which matches nothing for it
<Location /oidc-ours>
    AuthType oauth20
    AuthName "oidc"
    AuthzSendForbiddenOnFailure On
    Require claim sub alice
</Location>
# ours
<Location /bearer>
$bearer    Require claim sub alice
</Location>
<Location /bearer-scope>
$bearer    Require scope read:messages
</Location>
<Location /alias-claim>
$bearer    Require bearer-claim sub alice
</Location>
<Location /alias-scope>
$bearer    Require bearer-scope read:messages
</Location>
# AuthType inherited: which module a line belongs to is known per request only
<Location /inherit>
$bearer    Require valid-user
</Location>
<Location /inherit/theirs>
    Require claim sub:alice
</Location>
<Location /inherit/negated>
    <RequireAll>
        Require valid-user
        Require not claim sub:mallory
    </RequireAll>
</Location>
CONF
}

sub server {
    my ($order) = @_;
    my $h = MAB::Httpd->new(name => $order,
        paths => [qw(oidc oidc-ours bearer bearer-scope alias-claim alias-scope inherit
                     inherit/theirs inherit/negated)],
        $order eq 'before' ? (before => $openidc) : ());
    my $dir = $h->dir;
    publish_jwks("$dir/jwks.json", jwk('issuer'));
    open my $fh, '>', "$dir/issuer-public.pem" or die;
    print $fh Crypt::PK::RSA->new(keyfile('issuer.pem'))->export_key_pem('public');
    close $fh;
    open $fh, '>>', "$dir/httpd.conf" or die;
    print $fh $openidc if $order eq 'after';
    print $fh "LogLevel info auth_bearer:debug\n", sections($dir);
    close $fh;
    return $h;
}

for my $order (qw(before after)) {
    my $h = server($order);
    my $what = "mod_auth_openidc loaded $order mod_auth_bearer";
    ok($h->start, "$what: httpd starts") or diag $h->{start_output};
    like($h->error_log, qr/MAB00600: Require claim is also mod_auth_openidc\.so's/,
        "$what: the startup log says Require claim is shared (MAB00600)");

    # mod_auth_openidc's section, its own syntax and answers
    my $r = $h->get('/oidc/ok.txt', token => $alice);
    is($r->code, 200, "$what: openidc, claim sub:alice met: 200") or diag $r->as_string;
    $r = $h->get('/oidc/ok.txt', token => $bob);
    is($r->code, 403, "$what: openidc, sub bob: 403 (AuthzSendForbiddenOnFailure)");
    $r = $h->get('/oidc/ok.txt');
    is($r->code, 401, "$what: openidc, no token: 401");
    like($r->header('WWW-Authenticate') // '', qr/^Bearer realm="oidc"/,
        "$what: openidc's own challenge");
    $r = $h->get('/oidc/ok.txt', token => $expired);
    is($r->code, 401, "$what: openidc, expired token: 401");
    $r = $h->get('/oidc-ours/ok.txt', token => $alice);
    is($r->code, 403, "$what: our syntax under AuthType oauth20 means what openidc makes of it: 403");

    # ours
    $r = $h->get('/bearer/ok.txt', token => $alice);
    is($r->code, 200, "$what: Bearer, claim sub alice met: 200") or diag $r->as_string;
    $r = $h->get('/bearer/ok.txt', token => $bob);
    is($r->code, 403, "$what: Bearer, sub bob: 403");
    $r = $h->get('/bearer/ok.txt');
    is($r->code, 401, "$what: Bearer, no token: 401");
    is($r->header('WWW-Authenticate'), 'Bearer realm="bearer"', "$what: our challenge");
    $r = $h->get('/bearer/ok.txt', token => $expired);
    is($r->header('WWW-Authenticate') // '',
        'Bearer realm="bearer", error="invalid_token", error_description="token expired"',
        "$what: Bearer, expired token: our invalid_token");
    $r = $h->get('/bearer-scope/ok.txt', token => $alice);
    is($r->code, 200, "$what: Bearer, scope met: 200");
    $r = $h->get('/bearer-scope/ok.txt', token => $bob);
    is($r->code, 403, "$what: Bearer, scope missing: 403");
    is($r->header('WWW-Authenticate') // '',
        'Bearer realm="bearer", error="insufficient_scope", scope="read:messages"',
        "$what: Bearer, scope missing: insufficient_scope");

    # the aliases
    is($h->get('/alias-claim/ok.txt', token => $alice)->code, 200, "$what: bearer-claim met: 200");
    is($h->get('/alias-claim/ok.txt', token => $bob)->code, 403, "$what: bearer-claim not met: 403");
    is($h->get('/alias-scope/ok.txt', token => $alice)->code, 200, "$what: bearer-scope met: 200");
    is($h->get('/alias-scope/ok.txt', token => $bob)->code, 403, "$what: bearer-scope missing: 403");

    # openidc's syntax where AuthType Bearer is inherited: refused, never openidc's meaning
    $r = $h->get('/inherit/theirs/ok.txt', token => $alice);
    is($r->code, 403, "$what: openidc syntax under inherited AuthType Bearer: 403");
    like($h->error_log, qr/MAB00602: Require claim sub:alice \(\S+:\d+\) is mod_auth_openidc\.so's syntax, not mod_auth_bearer's/,
        "$what: ... and the log says why (MAB00602)");
    $r = $h->get('/inherit/negated/ok.txt', token => $alice);
    is($r->code, 403, "$what: ... also when negated (fails closed, not neutral)");
    is($h->get('/inherit/ok.txt', token => $alice)->code, 200, "$what: the enclosing section works");
    # (its one error is the expired token's)
    my @errors = grep { /\[auth_openidc:error\]/ && !/"exp" validation failure/ } split /\n/,
        $h->error_log;
    ok(!@errors, "$what: mod_auth_openidc logged no other error") or diag join "\n", @errors;

    # a graceful restart registers everything again, in the same order
    my $gen = () = $h->error_log =~ /MAB00600: Require claim/g;
    $h->graceful;
    ok(wait_for(10, sub { (() = $h->error_log =~ /MAB00600: Require claim/g) > $gen
                          && $h->get('/bearer/ok.txt', token => $alice)->code == 200 }),
        "$what: after a graceful restart, Require claim is still shared");
    is($h->get('/bearer/ok.txt', token => $bob)->code, 403, "$what: restarted, Bearer sub bob: 403");
    is($h->get('/oidc/ok.txt', token => $alice)->code, 200, "$what: restarted, openidc sub:alice: 200");
    is($h->get('/oidc/ok.txt', token => $bob)->code, 403, "$what: restarted, openidc sub bob: 403");
    $h->stop;
}

# A line whose own section says AuthType Bearer but is only mod_auth_openidc's syntax: refused
# at startup (apachectl -t too), naming the line and the module whose syntax it is not.
for my $order (qw(before after)) {
    my $h = MAB::Httpd->new(name => "bad-$order", $order eq 'before' ? (before => $openidc) : ());
    my $dir = $h->dir;
    publish_jwks("$dir/jwks.json", jwk('issuer'));
    open my $fh, '>>', "$dir/httpd.conf" or die;
    print $fh $openidc if $order eq 'after';
    print $fh <<"CONF";
<Location /bad>
    Require claim sub:alice
    AuthType Bearer
    AuthBearerIssuer   https://issuer.test/
    AuthBearerAudience https://quickstarts/api
    AuthBearerJWKS     $dir/jwks.json
</Location>
CONF
    close $fh;
    my ($rc, $out) = $h->configtest;
    isnt($rc, 0, "openidc $order: Require claim sub:alice in an AuthType Bearer section: refused");
    like($out, qr/MAB00601: Require claim sub:alice \(\S+httpd\.conf:\d+\): its section says AuthType Bearer, which makes it mod_auth_bearer's line, but it is not that module's syntax: Require claim needs a claim name and at least one value/,
        "openidc $order: ... and the message names the line and why") or diag $out;
}

# A line neither module can read: refused, with both reasons.
{
    my $h = MAB::Httpd->new(name => 'neither', before => $openidc);
    open my $fh, '>>', $h->dir . '/httpd.conf' or die;
    print $fh "<Location /x>\n    Require claim %{unclosed\n</Location>\n";
    close $fh;
    my ($rc, $out) = $h->configtest;
    isnt($rc, 0, 'neither syntax: refused');
    like($out, qr/Require claim %\{unclosed: neither mod_auth_bearer's syntax \(Require claim needs a claim name and at least one value\) nor mod_auth_openidc\.so's \(/,
        'neither syntax: both reasons') or diag $out;
}

# Without mod_auth_openidc nothing is shared and the line is refused as before.
{
    my $h = MAB::Httpd->new(name => 'alone');
    open my $fh, '>>', $h->dir . '/httpd.conf' or die;
    print $fh "<Location /x>\n    Require claim sub:alice\n</Location>\n";
    close $fh;
    my ($rc, $out) = $h->configtest;
    isnt($rc, 0, 'alone: Require claim sub:alice is refused');
    like($out, qr/Require claim needs a claim name and at least one value/, 'alone: ... with our reason');
    unlike($out, qr/MAB00600/, 'alone: nothing is shared');
}

done_testing();
