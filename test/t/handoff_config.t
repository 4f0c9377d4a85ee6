# Configuration-time checks of the hand-off directives: httpd refuses to start, naming the problem.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempfile);
use Apache::Test ();
use MAB::ApacheTestDebian;    # Apache::Test on Debian's httpd

my $vars = Apache::Test::vars();
my $so   = "$vars->{serverroot}/../../.libs/mod_auth_bearer.so";
my $httpd = $vars->{httpd};
# httpd -t needs an MPM: a shared one (Debian) from apxs' LIBEXECDIR unless one is built in
my $mpm = '';
if (`$httpd -l 2>&1` !~ /(?:prefork|worker|event)\.c/) {
    chomp(my $libexec = `$vars->{apxs} -q LIBEXECDIR`);
    $mpm = "LoadModule mpm_prefork_module $libexec/mod_mpm_prefork.so\n";
}

# httpd -t on a configuration with one <Location> holding @lines; returns (exit code, output)
sub check {
    my @lines = @_;
    my ($fh, $file) = tempfile(SUFFIX => '.conf', UNLINK => 1, TMPDIR => 1);
    print $fh "ServerRoot $vars->{serverroot}\n${mpm}LoadModule auth_bearer_module $so\n"
        . "<Location /x>\n" . join("\n", @lines) . "\n</Location>\n";
    close $fh;
    my $out = `$httpd -t -f $file 2>&1`;
    return ($? >> 8, $out);
}

sub refused {
    my ($line, $re, $name) = @_;
    my ($rc, $out) = check($line);
    like($out, $re, "$name: message") or diag $out;
    unlike($out, qr/Syntax OK/, "$name: not accepted");
}

refused('AuthBearerClaimHeader sub X_User', qr/AuthBearerClaimHeader: header name 'X_User' contains '_'/,
    'underscore in a header name');
refused('AuthBearerClaimHeader sub "X User"', qr/'X User' is not a valid header name/, 'blank in a header name');
refused('AuthBearerClaimHeader sub X-Üser', qr/is not a valid header name/, 'non-ASCII header name');
refused('AuthBearerClaimHeader sub Authorization', qr/header Authorization is reserved/, 'Authorization');
refused('AuthBearerClaimHeader sub host', qr/header host is reserved/, 'Host, any case');
refused('AuthBearerClaimHeader /a~2b X-A', qr/AuthBearerClaimHeader: claim '\/a~2b': '~' must be followed by 0 or 1/,
    'bad JSON Pointer escape');
refused('AuthBearerClaimHeader sub', qr/AuthBearerClaimHeader takes two arguments/, 'one argument');
refused('AuthBearerPayloadHeader X_Payload', qr/AuthBearerPayloadHeader: header name 'X_Payload' contains '_'/,
    'payload header with underscore');
refused('AuthBearerClaimEnv sub 1ST', qr/AuthBearerClaimEnv: '1ST' is not a variable name/, 'env name with a digit first');
refused('AuthBearerClaimEnv sub A-B', qr/AuthBearerClaimEnv: 'A-B' is not a variable name/, 'env name with a dash');
refused('AuthBearerClaimEnv email REMOTE_USER', qr/AuthBearerClaimEnv: REMOTE_USER is set by httpd/, 'REMOTE_USER');
refused('AuthBearerClaimEnv sub HTTP_X_USER', qr/AuthBearerClaimEnv: HTTP_X_USER is set by httpd/, 'HTTP_ prefix');
refused('AuthBearerClaimEnv sub BEARER_CLAIM_X', qr/AuthBearerClaimEnv: BEARER_CLAIM_X is set by/, 'BEARER_CLAIM prefix');
refused('AuthBearerClaimEnv /a~ X', qr/AuthBearerClaimEnv: claim '\/a~'/, 'env claim pointer');
refused('AuthBearerPassToken maybe', qr/AuthBearerPassToken must be On or Off/, 'PassToken value');
refused('AuthBearerScopeClaim /x~', qr/AuthBearerScopeClaim: '\/x~'/, 'scope claim pointer');
refused('AuthBearerRemoteUserClaim /p~3', qr/AuthBearerRemoteUserClaim: '\/p~3'/, 'REMOTE_USER claim pointer');

# Startup refusals added after an outside review (issue 12, item 13): each of these was accepted.
refused("AuthBearerJWKS htps://issuer.test/jwks.json", qr/AuthBearerJWKS: unsupported source 'htps:/,
    'JWKS with a misspelt scheme');
refused("AuthBearerJWKS file:///etc/jwks.json", qr/AuthBearerJWKS: unsupported source 'file:/,
    'JWKS as a file: URL');
for my $h (qw(Via Content-Encoding Content-Range Transfer-Encoding TE Trailer Upgrade Forwarded
              Proxy-Connection X-Forwarded-Proto)) {
    refused("AuthBearerClaimHeader sub $h", qr/header \Q$h\E is reserved/, "claim header $h");
}
for my $v (qw(PATH LD_PRELOAD LD_LIBRARY_PATH IFS BASH_ENV PERL5LIB PERL5OPT PYTHONPATH
              PYTHONSTARTUP NODE_OPTIONS GCONV_PATH PATH_INFO SERVER_NAME)) {
    refused("AuthBearerClaimEnv sub $v", qr/AuthBearerClaimEnv: \Q$v\E is set by/, "claim variable $v");
}
refused("AuthBearerClaimEnv sub path", qr/AuthBearerClaimEnv: path is set by/, 'claim variable path, any case');
refused('AuthBearerClaimHeaderEncoding utf-8',
    qr/AuthBearerClaimHeaderEncoding: 'utf-8' is not raw, base64url or latin1/, 'unknown header encoding');
refused('AuthBearerClaimHeaderEncoding base64', qr/AuthBearerClaimHeaderEncoding: 'base64' is not/,
    'base64 is not base64url');
refused('AuthBearerClaimHeaderEncoding raw latin1', qr/AuthBearerClaimHeaderEncoding takes one argument/,
    'one encoding per section');
{
    my ($rc, $out) = check('AuthBearerClaimHeader sub X-User', 'AuthBearerPayloadHeader x-user');
    like($out, qr/AuthBearerPayloadHeader: x-user already carries claim sub/, 'payload header = claim header')
        or diag $out;
    unlike($out, qr/Syntax OK/, 'payload header = claim header: not accepted');
    ($rc, $out) = check('AuthBearerPayloadHeader X-User', 'AuthBearerClaimHeader sub X_User');
    unlike($out, qr/Syntax OK/, 'claim header = payload header: not accepted');
    ($rc, $out) = check('AuthBearerPayloadHeader X-User', 'AuthBearerClaimHeader sub X-USER');
    like($out, qr/X-USER is already this section's AuthBearerPayloadHeader/, 'claim header = payload header')
        or diag $out;
}

my ($rc, $out) = check('AuthBearerClaimHeader https://example.com/roles X-Roles',
    'AuthBearerClaimHeader /realm_access/roles X-Realm-Roles', 'AuthBearerPayloadHeader X-Payload',
    'AuthBearerPassToken Off', 'AuthBearerOptional On', 'AuthBearerAllowPreflight On',
    'AuthBearerScopeClaim /ext/perms', 'AuthBearerClaimEnv /org/id ORG_ID',
    'AuthBearerClaimHeaderEncoding Base64URL');
like($out, qr/Syntax OK/, 'a valid hand-off configuration is accepted') or diag $out;

done_testing();
