# Certificate-bound access tokens (RFC 8705 §3, issue 14): a real authorization server (npm
# oidc-provider with mutual TLS) issues JWT access tokens bound to the client certificate it saw
# (cnf "x5t#S256"); httpd with mod_ssl (SSLVerifyClient optional_no_ca: the binding is the
# check, not a chain) accepts such a token only with that certificate on the connection, under
# AuthBearerCertBound On (default), Required and Off. Then the front-proxy path
# (AuthBearerClientCertHeader): the certificate in a header, believed only from the listed
# addresses, removed before the application from every other connection; and the directives'
# refusals at startup.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use LWP::UserAgent;
use MIME::Base64 qw(encode_base64 decode_base64url);
use Digest::SHA qw(sha256_hex);
use Apache::Test ();
use MAB::Httpd;
use MAB::OIDCProvider;
use MAB::Process;

my $API = 'https://api.test/';
my $REALM = 'cert';
my $as = MAB::OIDCProvider->new(
    tls => 1,
    clients => [
        { client_id => 'bound', auth => 'client_secret_basic', cert_bound => 1 },
        { client_id => 'plain', auth => 'client_secret_basic' },
    ],
    resources => { $API => { scope => 'read', format => 'jwt' } },
);
my $ISS = $as->issuer;
my $mods = MAB::Httpd::_modules_dir();
my $cgi = Apache::Test::vars('t_dir') . '/cgi-bin/env.cgi';
my @mine = $as->cert_files('bound');                  # the certificate the token is bound to
my @other = $as->client_cert('CN=someone-else');      # same CA, another key
my @self = $as->client_cert('CN=bound', self_signed => 1);    # same subject, another key
my $json = JSON::PP->new;

sub payload { $json->decode(decode_base64url((split /\./, $_[0])[1])) }

# --- the tokens ------------------------------------------------------------------------------------
my $bound = $as->token(client_id => 'bound', scope => 'read', resource => $API);
my $plain = $as->token(client_id => 'plain', scope => 'read', resource => $API);
is(payload($bound)->{cnf}{'x5t#S256'}, MAB::OIDCProvider::cert_thumbprint($mine[0]),
   'the authorization server bound the token to the client certificate (cnf x5t#S256)');
ok(!exists payload($plain)->{cnf}, 'the other client gets an unbound token');

# --- httpd -----------------------------------------------------------------------------------------
sub section {
    my ($path, $extra) = @_;
    return <<"C";
<Location $path>
    AuthType Bearer
    AuthName "$REALM"
    AuthBearerIssuer $ISS
    AuthBearerAudience $API
    AuthBearerJWKS @{[ $as->jwks_uri ]}
    Require valid-user
$extra</Location>
C
}

# One server: plain http on its port with the sections `plain`, and, given `tls` (its sections),
# an https virtual host (mod_ssl, the test CA's server certificate).
sub server {
    my (%o) = @_;
    my $tls_port = MAB::Process::free_port();
    my $conf = "LoadModule ssl_module $mods/mod_ssl.so\n"
        . "LoadModule alias_module $mods/mod_alias.so\n"
        . "LoadModule cgid_module $mods/mod_cgid.so\n"
        . "LogLevel info auth_bearer:debug\n"
        . "AuthBearerCAFile @{[ $as->ca_file ]}\n"
        . "ScriptAliasMatch \"/env\$\" \"$cgi\"\n"
        . ($o{plain} // '');
    if ($o{tls}) {
        $conf .= <<"C" . ($o{tls} // '') . "</VirtualHost>\n";
Listen 127.0.0.1:$tls_port https
<VirtualHost 127.0.0.1:$tls_port>
    ServerName 127.0.0.1
    SSLEngine on
    SSLCertificateFile @{[ $as->dir ]}/server.pem
    SSLCertificateKeyFile @{[ $as->dir ]}/server.key
    SSLVerifyClient optional_no_ca
    Protocols h2 http/1.1
C
        $conf = "LoadModule http2_module $mods/mod_http2.so\n" . $conf;
    }
    my $h = MAB::Httpd->new(paths => $o{paths}, conf => $conf);
    $h->{tls_port} = $tls_port;
    ok($h->start, "httpd starts ($o{what})") or diag $h->{start_output};
    return $h;
}

# get($h, $path, token => …, cert => [pem, key], headers => {…}, tls => 1): the response, with
# ->{log}: what the error log gained meanwhile
sub get {
    my ($h, $path, %o) = @_;
    my %ssl = (SSL_ca_file => $as->ca_file, verify_hostname => 1);
    @ssl{qw(SSL_cert_file SSL_key_file)} = @{ $o{cert} } if $o{cert};
    my $ua = LWP::UserAgent->new(keep_alive => 0, timeout => 30, ssl_opts => \%ssl, env_proxy => 0);
    $ua->proxy([qw(http https)], undef);
    my $url = $o{tls} ? "https://127.0.0.1:$h->{tls_port}$path" : $h->url($path);
    my @hdr = %{ $o{headers} // {} };
    push @hdr, Authorization => "Bearer $o{token}" if defined $o{token};
    my $before = length $h->error_log;
    my $r = $ua->get($url, @hdr);
    $r->{log} = substr $h->error_log, $before;
    $r->{token} = $o{token};
    return $r;
}

sub no_errors {
    my ($r, $name) = @_;
    my @e = grep { /\[[a-z_]+:(?:error|crit|alert|emerg)\]/ } split /\n/, $r->{log};
    is_deeply(\@e, [], "$name: no [error] line") or diag join "\n", @e;
}

sub granted {
    my ($r, $name) = @_;
    is($r->code, 200, "$name: 200") or diag $r->status_line . "\n" . $r->{log};
    unlike($r->{log}, qr/MAB00100: denied/, "$name: no denial line");
    no_errors($r, $name);
    return $r;
}

# 401 invalid_token with this description, on the challenge and in one MAB00100 line
sub denied {
    my ($r, $name, $reason) = @_;
    my $uri = $r->request->uri->path;
    is($r->code, 401, "$name: 401") or diag $r->status_line . "\n" . $r->{log};
    is($r->header('WWW-Authenticate'),
       qq{Bearer realm="$REALM", error="invalid_token", error_description="$reason"},
       "$name: invalid_token, \"$reason\"");
    my $h8 = substr sha256_hex($r->{token} // ''), 0, 8;
    my @lines = grep { /MAB00100: denied/ } split /\n/, $r->{log};
    is(scalar(grep { /\[auth_bearer:info\].*MAB00100: denied 401 \Q$uri\E: \Q$reason\E(?:: .*?)? \(kid=.*token=\Q$h8\E\)$/ } @lines),
       1, "$name: one MAB00100 line with the reason") or diag join "\n", @lines;
    is(scalar @lines, 1, "$name: one denial line") or diag join "\n", @lines;
    unlike($r->{log}, qr/\Q$r->{token}\E/, "$name: the token is not logged") if $r->{token};
    no_errors($r, $name);
    return $r;
}

sub pem { open my $fh, '<', $_[0] or die "$_[0]: $!"; local $/; my $s = <$fh>; $s }

# nginx's $ssl_client_escaped_cert: the PEM with everything but unreserved characters escaped
sub escaped_pem { my $s = pem($_[0]); $s =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge; $s }

sub b64_der {
    my $der = `openssl x509 -in '$_[0]' -outform DER 2>/dev/null`;
    die "openssl x509 $_[0]" if $? || !length $der;
    return encode_base64($der, '');
}

my $BINDING = 'Invalid certificate binding';

# --- mod_ssl: the certificate of the TLS connection ------------------------------------------------
{
    my $h = server(what => 'mod_ssl, SSLVerifyClient optional_no_ca',
                   paths => [qw(on required off hdr)],
                   tls => section('/on', '')
                       . section('/required', "    AuthBearerCertBound Required\n")
                       . section('/off', "    AuthBearerCertBound Off\n")
                       . section('/hdr', "    AuthBearerClientCertHeader X-SSL-Client-Cert 127.0.0.1\n"),
                   plain => section('/on', ''));
    my %tls = (tls => 1);

    granted(get($h, '/on/ok.txt', %tls, token => $bound, cert => \@mine),
            'On: the bound token with its certificate');
    denied(get($h, '/on/ok.txt', %tls, token => $bound, cert => \@other),
           'On: the bound token with another certificate of the same CA', $BINDING);
    denied(get($h, '/on/ok.txt', %tls, token => $bound, cert => \@self),
           'On: the bound token with a certificate of the same subject, another key', $BINDING);
    denied(get($h, '/on/ok.txt', %tls, token => $bound),
           'On: the bound token without a certificate', $BINDING);
    denied(get($h, '/on/ok.txt', token => $bound), 'On: the bound token over plain http', $BINDING);
    denied(get($h, '/on/ok.txt', %tls, token => $bound,
               headers => { 'X-SSL-Client-Cert' => escaped_pem($mine[0]) }),
           'On: a certificate header where the section names none is not believed', $BINDING);
    granted(get($h, '/on/ok.txt', %tls, token => $plain), 'On: an unbound token, no certificate');
    granted(get($h, '/on/ok.txt', %tls, token => $plain, cert => \@other),
            'On: an unbound token, some certificate');

    denied(get($h, '/required/ok.txt', %tls, token => $plain, cert => \@mine),
           'Required: an unbound token', 'token is not sender-constrained');
    granted(get($h, '/required/ok.txt', %tls, token => $bound, cert => \@mine),
            'Required: the bound token with its certificate');
    denied(get($h, '/required/ok.txt', %tls, token => $bound, cert => \@other),
           'Required: the bound token with another certificate', $BINDING);

    denied(get($h, '/off/ok.txt', %tls, token => $bound, cert => \@mine),
           'Off: the bound token is refused, never taken as a plain bearer token',
           'sender-constrained token not accepted here');
    granted(get($h, '/off/ok.txt', %tls, token => $plain), 'Off: an unbound token');

    # HTTP/2: the request runs on a secondary connection; the certificate is the TLS
    # connection's all the same (curl: LWP speaks HTTP/1.1 only)
    my $curl = sub {
        my ($path, $token, @cert) = @_;
        my @c = @cert ? ('--cert', $cert[0], '--key', $cert[1]) : ();
        my $before = length $h->error_log;
        open my $fh, '-|', 'curl', '-s', '-o', '/dev/null', '--http2', '--cacert', $as->ca_file,
            @c, '-H', "Authorization: Bearer $token", '-w', '%{http_version} %{http_code}',
            "https://127.0.0.1:$h->{tls_port}$path" or die "curl: $!";
        my $out = do { local $/; <$fh> } // '';
        close $fh;
        return ($out, substr $h->error_log, $before);
    };
    my ($out, $log) = $curl->('/on/ok.txt', $bound, @mine);
    is($out, '2 200', 'HTTP/2: the bound token with its certificate: 200') or diag $log;
    ($out, $log) = $curl->('/on/ok.txt', $bound, @other);
    is($out, '2 401', 'HTTP/2: with another certificate: 401') or diag $log;
    like($log, qr/MAB00100: denied 401 \/on\/ok\.txt: \Q$BINDING\E/, '... Invalid certificate binding');

    # A section trusting a front proxy at 127.0.0.1: from there only the header counts, never the
    # proxy's own certificate on the connection.
    granted(get($h, '/hdr/ok.txt', %tls, token => $bound, cert => \@other,
                headers => { 'X-SSL-Client-Cert' => escaped_pem($mine[0]) }),
            'proxy section over TLS: the header\'s certificate, not the connection\'s');
    denied(get($h, '/hdr/ok.txt', %tls, token => $bound, cert => \@mine),
           'proxy section over TLS, no header: the connection\'s certificate is the proxy\'s',
           $BINDING);
    $h->stop;
}

# --- a front proxy at 127.0.0.1 passes the certificate ----------------------------------------------
{
    my $h = server(what => 'AuthBearerClientCertHeader X-SSL-Client-Cert 127.0.0.1',
                   paths => ['hdr'],
                   plain => section('/hdr', "    AuthBearerClientCertHeader X-SSL-Client-Cert 127.0.0.1\n"));
    my $hdr = sub { { 'X-SSL-Client-Cert' => $_[0] } };

    my $nginx = escaped_pem($mine[0]);
    like($nginx, qr/%0A/, 'the URL-encoded PEM escapes its line breaks');
    granted(get($h, '/hdr/ok.txt', token => $bound, headers => $hdr->($nginx)),
            'trusted proxy: URL-encoded PEM ($ssl_client_escaped_cert)');
    (my $alb = $nginx) =~ s/%(2B|3D|2F)/chr hex $1/ge;    # AWS ALB leaves + = / as they are
    granted(get($h, '/hdr/ok.txt', token => $bound, headers => $hdr->($alb)),
            'trusted proxy: URL-encoded PEM keeping + = / (AWS ALB)');
    granted(get($h, '/hdr/ok.txt', token => $bound, headers => $hdr->(b64_der($mine[0]))),
            'trusted proxy: base64 DER');
    denied(get($h, '/hdr/ok.txt', token => $bound, headers => $hdr->(escaped_pem($other[0]))),
           'trusted proxy: another certificate', $BINDING);
    denied(get($h, '/hdr/ok.txt', token => $bound), 'trusted proxy: no header', $BINDING);
    my $r = denied(get($h, '/hdr/ok.txt', token => $bound, headers => $hdr->('')),
                   'trusted proxy: an empty header (no certificate at the proxy)', $BINDING);
    unlike($r->{log}, qr/MAB00950/, '... is no malformed certificate');
    $r = denied(get($h, '/hdr/ok.txt', token => $bound, headers => $hdr->('not-a-certificate')),
                   'trusted proxy: a header that is no certificate', $BINDING);
    like($r->{log}, qr/\[auth_bearer:info\].*MAB00950: the X-SSL-Client-Cert header from front proxy 127\.0\.0\.1 is not a client certificate/,
         '... says so (MAB00950)');
    unlike($r->{log}, qr/not-a-certificate/, '... without the value');
    $r = denied(get($h, '/hdr/ok.txt', token => $bound, headers => { ':X_SSL_Client_Cert' => $nginx }),
                'trusted proxy: the name spelt with underscores is not the header', $BINDING);
    like($r->{log}, qr/MAB00952: removed request header X_SSL_Client_Cert/, '... and is removed (MAB00952)');
    granted(get($h, '/hdr/ok.txt', token => $plain), 'trusted proxy: an unbound token, no header');

    # what the application behind the proxy sees: the proxy's header, as it was sent
    $r = granted(get($h, '/hdr/env', token => $plain, headers => $hdr->($nginx)),
                 'trusted proxy: the CGI program');
    my $env = eval { $json->decode($r->decoded_content) } // {};
    is($env->{HTTP_X_SSL_CLIENT_CERT}, $nginx, '... gets the trusted proxy\'s header');
    $h->stop;
}

# --- the header from an address that is not the proxy's ---------------------------------------------
{
    my $h = server(what => 'AuthBearerClientCertHeader X-SSL-Client-Cert 192.0.2.1',
                   paths => ['hdr'],
                   plain => section('/hdr', "    AuthBearerClientCertHeader X-SSL-Client-Cert 192.0.2.1\n"));
    my %spoof = (headers => { 'X-SSL-Client-Cert' => escaped_pem($mine[0]) });

    my $r = denied(get($h, '/hdr/ok.txt', token => $bound, %spoof),
                   'untrusted address: the header is ignored', $BINDING);
    like($r->{log}, qr/\[auth_bearer:debug\].*MAB00952: removed request header X-SSL-Client-Cert: 127\.0\.0\.1 is not a front proxy/,
         '... removed on arrival (MAB00952)');
    denied(get($h, '/hdr/ok.txt', token => $bound,
               headers => { 'X-SSL-Client-Cert' => b64_der($mine[0]) }),
           'untrusted address: base64 DER ignored too', $BINDING);
    $r = granted(get($h, '/hdr/env', token => $plain, %spoof), 'untrusted address: the CGI program');
    my $env = eval { $json->decode($r->decoded_content) } // {};
    ok(exists $env->{REMOTE_USER}, '... ran (its environment came back)') or diag $r->decoded_content;
    ok(!exists $env->{HTTP_X_SSL_CLIENT_CERT}, '... never sees the client\'s certificate header')
        or diag $env->{HTTP_X_SSL_CLIENT_CERT};
    $h->stop;
}

# --- refused at startup -------------------------------------------------------------------------------
{
    my $conf = sub {
        "<Location /x>\n    AuthType Bearer\n    $_[0]\n</Location>\n";
    };
    my ($rc, $out) = MAB::Httpd->new(conf => $conf->('AuthBearerClientCertHeader X-SSL-Client-Cert 10.0.0.0/8 ::1'))->configtest;
    is($rc, 0, 'AuthBearerClientCertHeader with an address and a CIDR: accepted') or diag $out;
    for my $bad (['X-SSL-Client-Cert', 'no proxy address'],
                 ['X-SSL:Cert 127.0.0.1', 'not a header name'],
                 ['X-SSL-Client-Cert proxy.example.com', 'a host name'],
                 ['X-SSL-Client-Cert *', 'any address'],
                 ['X-SSL-Client-Cert 10.0.0.0/33', 'a bad prefix length'],
                 ['X-SSL-Client-Cert 127.0.0.1 300.1.2.3', 'one bad address among good ones']) {
        my ($args, $what) = @$bad;
        ($rc, $out) = MAB::Httpd->new(conf => $conf->("AuthBearerClientCertHeader $args"))->configtest;
        isnt($rc, 0, "AuthBearerClientCertHeader $args ($what): refused at startup");
        like($out, qr/AuthBearerClientCertHeader/, '... naming the directive');
    }
    ($rc, $out) = MAB::Httpd->new(conf => $conf->('AuthBearerCertBound Maybe'))->configtest;
    isnt($rc, 0, 'AuthBearerCertBound Maybe: refused at startup');
    like($out, qr/AuthBearerCertBound/, '... naming the directive');
    for my $v (qw(Off On Required)) {
        ($rc, $out) = MAB::Httpd->new(conf => $conf->("AuthBearerCertBound $v"))->configtest;
        is($rc, 0, "AuthBearerCertBound $v: accepted") or diag $out;
    }
}

done_testing();
