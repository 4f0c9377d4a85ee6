# One version number: configure.ac's AC_INIT, which the build hands to the code as MAB_VERSION
# (and scripts/paths.sh exports to the tests). httpd logs it once per configuration at notice
# (MAB00050), whatever the LogLevel; the status page shows it; the Server header does not name
# the module.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use MAB::Test qw(mint keyfile);
use MAB::Httpd;

my $v = $ENV{MAB_VERSION};
ok(defined $v && $v =~ /^\d+\.\d+\.\d+/, 'MAB_VERSION is exported to the tests')
    or do { done_testing(); exit };

my $jwks = keyfile('jwks.json');
my $h = MAB::Httpd->new(paths => [qw(api)], conf => <<"CONF");
# the module's line is a notice: logged even when the server logs warnings only
LogLevel warn
<Location /api>
    AuthType Bearer
    AuthName "messages-api"
    AuthBearerIssuer   https://issuer.test/
    AuthBearerAudience https://quickstarts/api
    AuthBearerJWKS     $jwks
    Require valid-user
</Location>
<Location /status>
    SetHandler auth-bearer-status
    Require ip 127.0.0.1
</Location>
CONF
ok($h->start, 'httpd starts') or do { diag $h->{start_output}; done_testing(); exit };

my $line = qr/\[auth_bearer:notice\] .*MAB00050: mod_auth_bearer \Q$v\E configured$/m;
my @lines = $h->error_log =~ /$line/g;
is(scalar @lines, 1, "startup: one MAB00050 line naming $v at notice (not on the dry run)")
    or diag $h->error_log;

my $r = $h->get('/api/ok.txt', token => mint());
is($r->code, 200, 'a valid token is accepted');
my $server = $r->header('Server') // '';
unlike($server, qr/bearer/i, "Server header does not name the module ($server)");
$r = $h->get('/api/ok.txt');
is($r->code, 401, 'no token: 401');
unlike($r->header('Server') // '', qr/bearer/i, 'nor on a 401');

$r = $h->get('/status?json');
is($r->code, 200, 'status page as JSON');
my $doc = eval { JSON::PP->new->decode($r->decoded_content) } // {};
is($doc->{version}, $v, 'status JSON: version');
$r = $h->get('/status');
like($r->decoded_content, qr{<p>mod_auth_bearer \Q$v\E</p>}, 'status HTML: version');

$h->graceful;
for (1 .. 50) {
    @lines = $h->error_log =~ /$line/g;
    last if @lines == 2;
    select undef, undef, undef, 0.1;
}
is(scalar @lines, 2, 'a graceful restart logs it again for the new configuration')
    or diag $h->error_log;
unlike($h->error_log, qr/:(?:error|crit|alert|emerg)\]/, 'no error logged');

$h->stop;
done_testing();
