# Client copies of claim headers are removed before any other module reads them (issue 12,
# item 5): server-context SetEnvIf (post_read_request) and RewriteCond (translate_name) used
# to see a client's X-Auth-Subject, because the removal ran only in header_parser. Every name
# configured in the virtual host now goes in post_read_request, for every URL a section naming
# it may apply to (also when the request line is encoded so that it only decodes into one).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Test qw(mint);
use MAB::Httpd;
use MAB::Lifecycle;

my $mods = MAB::Httpd::_modules_dir();
my $h = MAB::Httpd->new(paths => [qw(p p/pub)]);
my $jwks = $h->dir . '/jwks.json';
publish_jwks($jwks, jwk('issuer'));
my $dir = $h->dir;
{
    open my $fh, '>>', "$dir/httpd.conf" or die;
    print $fh <<"CONF";
LoadModule setenvif_module $mods/mod_setenvif.so
LoadModule rewrite_module $mods/mod_rewrite.so
SetEnvIf X-Auth-Subject "(.+)" SETENVIF_SAW=\$1
SetEnvIf X-Auth-Payload "(.+)" SETENVIF_SAW_PAYLOAD=\$1
RewriteEngine On
RewriteCond %{HTTP:X-Auth-Subject} (.+)
RewriteRule ^ - [E=REWRITE_SAW:%1]
CustomLog "$dir/logs/env_log" "%{X-Case}i %{SETENVIF_SAW}e %{SETENVIF_SAW_PAYLOAD}e %{REWRITE_SAW}e"
<Location /p>
    AuthType Bearer
    AuthName "early"
    AuthBearerIssuer   https://issuer.test/
    AuthBearerAudience https://quickstarts/api
    AuthBearerJWKS     $jwks
    AuthBearerClaimHeader sub X-Auth-Subject
    AuthBearerPayloadHeader X-Auth-Payload
    Require valid-user
</Location>
CONF
}
ok($h->start, 'httpd starts') or diag $h->{start_output};

my %spoof = ('X-Auth-Subject' => 'admin', 'X_Auth_Payload' => 'eyJzdWIiOiJhZG1pbiJ9');
is($h->get('/p/ok.txt', token => mint(), headers => { %spoof, 'X-Case' => 'plain' })->code, 200,
    'protected URL with a token: 200');
is($h->get('/%70/ok.txt', token => mint(), headers => { %spoof, 'X-Case' => 'encoded' })->code, 200,
    'encoded protected URL: 200');
is($h->get('/p/ok.txt', headers => { %spoof, 'X-Case' => 'plain' })->code, 401,
    'protected URL without a token: 401');

my $log;
for (1 .. 20) {    # the access log is written after the response
    open my $fh, '<', "$dir/logs/env_log" or die;
    $log = do { local $/; <$fh> };
    last if ($log =~ tr/\n//) >= 3;
    select undef, undef, undef, 0.1;
}
for my $u ('plain', 'encoded') {
    my @l = grep { /^\Q$u\E / } split /\n/, $log;
    ok(@l >= 1, "$u was logged") or diag $log;
    is_deeply([ grep { !/^\Q$u\E - - -$/ } @l ], [], "$u: SetEnvIf and RewriteCond never saw the client's headers")
        or diag $log;
}
like($h->error_log, qr/MAB00300: removed client-sent request header X-Auth-Subject from \/p\/ok.txt/,
    'the removal is logged (MAB00300)');
$h->stop;
done_testing();
