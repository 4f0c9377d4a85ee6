# The DPoP and certificate-binding directives: what a configuration may say is checked at
# startup (httpd -t), each refusal naming the directive.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp ();
use MAB::Httpd;

my $mods = MAB::Httpd::_modules_dir();
my $shmcb = "LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so";
sub configtest { my $c = MAB::Httpd->new(conf => $_[0]); return $c->configtest }
sub section {
    my ($lines, %o) = @_;
    return <<"C";
$shmcb
@{[ $o{server} // '' ]}
<Location /x>
    AuthType Bearer
    AuthBearerIssuer https://as.example.com/
    AuthBearerAudience https://api.example.com
    AuthBearerJWKS https://as.example.com/jwks
$lines
    Require valid-user
</Location>
C
}

my $dir = File::Temp::tempdir(CLEANUP => 1);
sub secret_file {
    my ($name, $text) = @_;
    open my $fh, '>', "$dir/$name" or die;
    print $fh $text;
    close $fh;
    return "$dir/$name";
}
my $good = secret_file('good', "0123456789abcdef0123456789abcdef\n");
my $short = secret_file('short', "tooshort\n");

my ($rc, $out) = configtest(section(<<'L', server => "AuthBearerDPoPNonceSecret file:$good"));
    AuthBearerDPoP On
    AuthBearerDPoPAlgorithms ES256 EdDSA PS256
    AuthBearerDPoPProofAge 120
    AuthBearerDPoPNonce On
    AuthBearerCertBound Required
    AuthBearerClientCertHeader X-SSL-Client-Cert 127.0.0.1 10.0.0.0/8 ::1
L
is($rc, 0, 'every directive with good values: accepted') or diag $out;

my @bad = (
    [ "AuthBearerDPoP Sometimes", qr/AuthBearerDPoP: 'Sometimes' is not Off, On or Required/,
      'AuthBearerDPoP with an unknown word' ],
    [ "AuthBearerDPoPAlgorithms HS256", qr/AuthBearerDPoPAlgorithms: 'HS256' is not an asymmetric/,
      'an HMAC proof algorithm' ],
    [ "AuthBearerDPoPAlgorithms none", qr/AuthBearerDPoPAlgorithms: 'none'/, 'alg none' ],
    [ "AuthBearerDPoPAlgorithms es256", qr/AuthBearerDPoPAlgorithms: 'es256'.*case-sensitive/,
      'a misspelt (lower case) algorithm' ],
    [ "AuthBearerDPoPProofAge 0", qr/AuthBearerDPoPProofAge: '0' is not a number of seconds/,
      'a proof age of 0' ],
    [ "AuthBearerDPoPProofAge 10s", qr/AuthBearerDPoPProofAge: '10s'/, 'a proof age with a unit' ],
    [ "AuthBearerDPoPNonce maybe", qr/AuthBearerDPoPNonce/, 'AuthBearerDPoPNonce not On/Off' ],
    [ "AuthBearerCertBound Always", qr/AuthBearerCertBound: 'Always' is not Off, On or Required/,
      'AuthBearerCertBound with an unknown word' ],
    [ "AuthBearerClientCertHeader X-SSL-Client-Cert", qr/AuthBearerClientCertHeader needs a header name and at least one address/,
      'a cert header without a proxy address' ],
    [ "AuthBearerClientCertHeader X-SSL-Client-Cert *", qr/AuthBearerClientCertHeader: '\*' is not an IP address/,
      'a cert header trusted from anywhere' ],
    [ "AuthBearerClientCertHeader X-SSL-Client-Cert proxy.example.com", qr/AuthBearerClientCertHeader: 'proxy.example.com' is not an IP address/,
      'a cert header trusted by host name' ],
    [ "AuthBearerClientCertHeader Bad:Name 127.0.0.1", qr/AuthBearerClientCertHeader: 'Bad:Name' is not a header name/,
      'a bad header name' ],
    [ "AuthBearerDPoPNonceSecret file:$good", qr/AuthBearerDPoPNonceSecret not allowed here|not allowed/,
      'the nonce secret inside a section (it is server-wide)' ],
);
for my $b (@bad) {
    my ($line, $re, $what) = @$b;
    ($rc, $out) = configtest(section("    $line\n"));
    isnt($rc, 0, "$what: refused at startup");
    like($out, $re, '... naming the directive') or diag $out;
}

for my $s ([ "AuthBearerDPoPNonceSecret file:$short", qr/AuthBearerDPoPNonceSecret: the secret is 8 bytes; at least 16/,
             'a short nonce secret' ],
           [ "AuthBearerDPoPNonceSecret file:$dir/missing", qr/AuthBearerDPoPNonceSecret: cannot open/,
             'a missing nonce secret file' ],
           [ "AuthBearerDPoPNonceSecret env:MAB_NO_SUCH_VARIABLE", qr/AuthBearerDPoPNonceSecret: environment variable MAB_NO_SUCH_VARIABLE is not set/,
             'an unset variable' ],
           [ "AuthBearerDPoPNonceSecret literal-secret", qr/AuthBearerDPoPNonceSecret needs file:/,
             'a secret written in the configuration' ],
           [ "<VirtualHost 127.0.0.1:9>\n  AuthBearerDPoPNonceSecret file:$good\n</VirtualHost>",
             qr/AuthBearerDPoPNonceSecret is server-wide/, 'the nonce secret in a virtual host' ]) {
    my ($line, $re, $what) = @$s;
    ($rc, $out) = configtest(section("    AuthBearerDPoP On\n", server => $line));
    isnt($rc, 0, "$what: refused at startup");
    like($out, $re, '... saying why') or diag $out;
}

# DPoP keeps its replay record in AuthBearerSOCache: the provider must be there
($rc, $out) = configtest(<<'C');
<Location /x>
    AuthType Bearer
    AuthBearerIssuer https://as.example.com/
    AuthBearerAudience https://api.example.com
    AuthBearerJWKS https://as.example.com/jwks
    AuthBearerDPoP On
    Require valid-user
</Location>
C
isnt($rc, 0, 'AuthBearerDPoP On without the default socache provider loaded: refused');
like($out, qr/MAB00900: AuthBearerSOCache shmcb \(the default\).*LoadModule socache_shmcb_module/,
     '... naming the LoadModule line');

done_testing();
