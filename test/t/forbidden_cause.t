# Only a 403 our Require providers decided carries our challenge and MAB00100 line (issue 12,
# items 7 and 8):
# - a request that authorization let through (<RequireAny> scope admin | ip 127.0.0.1, granted
#   by ip) and that something later refuses (mod_rewrite [F] in fixups) was blamed on scope;
# - a local ErrorDocument 403 answered our 403 without the insufficient_scope challenge and
#   without the denial line.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Test qw(mint);
use MAB::Httpd;
use MAB::Lifecycle;

my $mods = MAB::Httpd::_modules_dir();
my $h = MAB::Httpd->new(paths => [qw(any scoped errors plain)]);
my $jwks = $h->dir . '/jwks.json';
publish_jwks($jwks, jwk('issuer'));
my $common = "    AuthType Bearer\n    AuthName \"cause\"\n    AuthBearerIssuer https://issuer.test/\n"
    . "    AuthBearerAudience https://quickstarts/api\n    AuthBearerJWKS $jwks\n";
{
    open my $fh, '>>', $h->dir . '/httpd.conf' or die;
    print $fh <<"CONF";
LoadModule rewrite_module $mods/mod_rewrite.so
<Location /any>
$common    <RequireAny>
        Require scope admin
        Require ip 127.0.0.1
    </RequireAny>
    RewriteEngine On
    RewriteRule ^ - [F]
</Location>
<Location /scoped>
$common    Require scope admin
    ErrorDocument 403 /errors/ok.txt
</Location>
<Location /plain>
$common    Require scope admin
</Location>
CONF
}
ok($h->start, 'httpd starts') or diag $h->{start_output};
my $tok = mint(claims => { scope => 'read' });

sub new_log { my $from = shift; substr($h->error_log, $from) }

my $from = length $h->error_log;
my $r = $h->get('/any/ok.txt', token => $tok);
is($r->code, 403, 'granted by ip, refused later by mod_rewrite: 403');
unlike($r->header('WWW-Authenticate') // '', qr/insufficient_scope/, 'that 403: no insufficient_scope challenge');
unlike(new_log($from), qr/MAB00100/, 'that 403: no MAB00100 line');

$from = length $h->error_log;
$r = $h->get('/plain/ok.txt', token => $tok);
is($r->code, 403, 'scope missing: 403');
like($r->header('WWW-Authenticate') // '', qr/error="insufficient_scope", scope="admin"/,
    'scope missing: insufficient_scope challenge');
like(new_log($from), qr/MAB00100: denied 403 \/plain\/ok.txt: insufficient scope/, 'scope missing: MAB00100');

$from = length $h->error_log;
$r = $h->get('/scoped/ok.txt', token => $tok);
is($r->code, 403, 'ErrorDocument 403: still 403');
is($r->decoded_content, "ok\n", 'ErrorDocument 403: the local error document is served');
like($r->header('WWW-Authenticate') // '', qr/^Bearer realm="cause", error="insufficient_scope", scope="admin"$/,
    'ErrorDocument 403: the insufficient_scope challenge');
my @l = (new_log($from) =~ /(MAB00100: denied 403 \/scoped\/ok.txt: insufficient scope: requires admin)/g);
is(scalar @l, 1, 'ErrorDocument 403: one MAB00100 line for the original URL') or diag new_log($from);

$r = $h->get('/scoped/ok.txt', token => mint(claims => { scope => 'admin' }));
is($r->code, 200, 'ErrorDocument 403 section, scope admin: 200');

$h->stop;
done_testing();
