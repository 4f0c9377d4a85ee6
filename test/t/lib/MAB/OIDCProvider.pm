package MAB::OIDCProvider;
# A real authorization server for the tests: npm oidc-provider 8.8.1 (pinned by
# test/as/package-lock.json, installed by scripts/install-deps with `npm ci`), run by
# test/as/server.mjs on a free loopback port, one fresh instance per new(), gone with the test.
#
# SYNOPSIS
#   my $as = MAB::OIDCProvider->new(
#       clients => [
#           { client_id => 'app',  auth => 'client_secret_basic' },      # secret generated
#           { client_id => 'post', auth => 'client_secret_post', secret => 'chosen-secret' },
#           { client_id => 'jwt',  auth => 'private_key_jwt' },          # EC P-256 key generated
#           { client_id => 'rsa',  auth => 'private_key_jwt', key => 'rsa.pem' },   # RS256
#           { client_id => 'rs',   auth => 'client_secret_basic', grant => 0 },     # only introspects
#           { client_id => 'tls',  auth => 'tls_client_auth' },   # tls => 1; cert CN=tls generated
#           # also: scope => 'a b' (the client's allow-list), cert_bound => 1, dpop_bound => 1,
#           #       subject_dn => 'CN=…', metadata => { any other client metadata }
#       ],
#       resources => {
#           'https://api.test/'    => { scope => 'read write', ttl => 30 },          # opaque
#           'https://mcp.test/mcp' => { scope => 'tools', format => 'jwt', alg => 'ES256' },
#       },
#       ttl  => 60,    # default token lifetime (s), for resources without their own ttl (300)
#       dpop => 1,     # features.dPoP (RFC 9449)
#       tls  => 1,     # https with a test CA; features.mTLS (tls_client_auth, RFC 8705 bound tokens)
#       registration => 1,   # RFC 7591 dynamic client registration at /reg (open)
#   );
#   $as->issuer;                  # "http://127.0.0.1:PORT" (no trailing slash; tokens' iss)
#   $as->discovery_url;           # issuer . "/.well-known/openid-configuration"
#   $as->token_endpoint; $as->introspection_endpoint; $as->revocation_endpoint; $as->jwks_uri;
#   my $t = $as->token(client_id => 'app', scope => 'read', resource => 'https://api.test/');
#   #   also secret => 'wrong', auth => 'client_secret_post' (override), cert => [$pem, $key],
#   #   dpop => $crypt_pk_key (a DPoP proof for the token request: a DPoP-bound token)
#   #   token() dies unless 200; token_answer(...) gives the whole answer (a hashref),
#   #   token_response(...) the HTTP::Response (never dies); last_token_response
#   my $info = $as->introspect($t);             # hashref; client_id => … to ask as another client
#   $as->revoke($t);                            # by the client that obtained it (RFC 7009 demands)
#   $as->secret_file('rs');                     # file holding the secret (no newline), for file:
#   $as->key_file('jwt');                       # PEM private key of a private_key_jwt client
#   $as->cert_files('tls');                     # (cert PEM, key PEM) of a TLS client
#   $as->client_cert('CN=other');               # a new client cert from the test CA: (cert, key)
#   $as->ca_file;                               # the test CA (tls => 1): AuthBearerCAFile
#   $as->count('/token/introspection');         # requests that path got
#   $as->max_inflight('/token/introspection');  # most concurrent requests on it
#   $as->calls('introspection');                # [{client_id, auth, status, active, t}, …]
#   $as->reset_stats;
#   $as->mode('/token/introspection', 'hang');  # ok | 500 | garbage | hang | close | slow<N>
#   $as->stop;                                  # also on DESTROY / at the end of the test
#   $as->log;                                   # what node printed
#   MAB::OIDCProvider::dpop_proof(key => $pk, htm => 'GET', htu => $url, token => $at);
#
# WHAT IT ISSUES AND ANSWERS (oidc-provider 8.8.1, as seen by t/testinfra.t)
# Client credentials grant, POST /token, grant_type=client_credentials&scope=…&resource=…:
#   {"access_token":"<43 chars base64url>","expires_in":60,"token_type":"Bearer","scope":"read write"}
#   - token_type is "DPoP" for a DPoP-bound token.
#   - Requested scopes the resource does not list are dropped silently (no error); "scope" is
#     absent from the answer when none is left. A client registered with scope => '…' may ask
#     only for those (another scope a resource or client names: 400 invalid_scope); a client
#     without one may ask for any.
#   - One resource per request (several: invalid_target); an unknown one: 400 invalid_target.
#   - No resource parameter: an opaque token without aud (and any scope requested kept as asked).
# Opaque tokens: 43 base64url characters, no dots. Introspection (RFC 7662), POST
# /token/introspection with token=…, the caller authenticated like at the token endpoint; any
# authenticated client may introspect any token:
#   {"active":true,"client_id":"app","exp":1796187701,"iat":1796187641,
#    "iss":"http://127.0.0.1:PORT","aud":"https://api.test/","scope":"read write",
#    "token_type":"Bearer"}
#   - members in that order; "aud" is a plain string (the resource's audience, by default the
#     resource indicator itself), never an array; "scope" absent when the token has none;
#   - NO "sub", no "username", no "jti" (for client credentials there is no account; jti would
#     be the token itself and is left out), no "nbf". A module that wants REMOTE_USER falls back
#     to client_id;
#   - a bound token adds "cnf":{"jkt":"…"} (DPoP, with "token_type":"DPoP") or
#     "cnf":{"x5t#S256":"…"} (certificate-bound);
#   - unknown, expired, revoked tokens and JWT access tokens: {"active":false} (only that member;
#     oidc-provider 8 does not answer unsupported_token_type for its JWTs, it says inactive);
#   - wrong client credentials: 401 {"error":"invalid_client","error_description":"client
#     authentication failed"} (with WWW-Authenticate: Basic … for Basic); no token parameter: 400
#     invalid_request. Answers carry Cache-Control: no-store.
# Revocation (RFC 7009), POST /token/revocation: 200 with an empty body, also for unknown tokens;
#   only the client the token was issued to may revoke it (another: 400 invalid_request "this
#   token does not belong to you"). JWT access tokens cannot be revoked (200, still valid).
# JWT access tokens (resources with format => 'jwt'): RFC 9068,
#   header {"alg":"RS256","typ":"at+jwt","kid":"…"} (alg per resource: RS256 or ES256),
#   payload {"jti":"…","sub":"<client_id>","iat":…,"exp":…,"scope":"tools","client_id":"<client_id>",
#            "iss":"http://127.0.0.1:PORT","aud":"https://mcp.test/mcp"} (aud a string; "cnf" when
#   bound), signed with a key of jwks_uri (fresh RSA-2048 and P-256 keys per start).
# Discovery: /.well-known/openid-configuration with issuer, token_endpoint, jwks_uri,
#   introspection_endpoint, revocation_endpoint, token_endpoint_auth_methods_supported, …; the
#   same document at /.well-known/oauth-authorization-server (RFC 8414), which server.mjs adds:
#   oidc-provider 8 serves only the OpenID one.
# Plain http on loopback needs no setting; tls => 1 serves https with a server certificate for
#   127.0.0.1 from a test CA made here (ca_file), asks every client for a certificate (never
#   requires one) and verifies tls_client_auth certificates against that CA.
use strict;
use warnings;
use File::Temp ();
use File::Basename qw(dirname);
use File::Spec;
use Cwd qw(abs_path);
use JSON::PP ();
use LWP::UserAgent;
use HTTP::Request::Common qw(POST);
use MIME::Base64 qw(encode_base64 encode_base64url);
use Digest::SHA qw(sha256);
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::ECC;
use Crypt::PK::RSA;
use Crypt::PRNG qw(random_string_from random_bytes);
use MAB::Process;

my $JSON = JSON::PP->new->canonical->utf8;
my $HERE = dirname(abs_path(__FILE__));

# test/as, wherever the suite runs from: MAB_TEST_AS_DIR, or the clone test/run-apache-tests
# exports as MAB_REPO (the suite may run from a copy of test/t elsewhere), or beside test/t
sub as_dir {
    my @c = grep { defined } $ENV{MAB_TEST_AS_DIR},
        (defined $ENV{MAB_REPO} ? "$ENV{MAB_REPO}/test/as" : undef),
        File::Spec->catdir($HERE, '..', '..', '..', 'as');
    for my $d (@c) { return abs_path($d) if -f "$d/server.mjs" }
    die "test/as/server.mjs not found (tried @c)\n";
}

sub _node {
    my $node = $ENV{MAB_NODE};
    if (!$node) {
        for my $d (split(/:/, $ENV{PATH}), '/usr/bin', '/usr/local/bin') {
            if (-x "$d/node") { $node = "$d/node"; last }
        }
    }
    die "node not found (Debian: apt-get install nodejs; scripts/install-deps)\n" unless $node;
    return $node;
}

sub _write {
    my ($file, $text, $mode) = @_;
    open my $fh, '>:raw', $file or die "$file: $!";
    print $fh $text;
    close $fh or die "$file: $!";
    chmod $mode // 0644, $file;
    return $file;
}

sub _random { random_string_from(join('', 'A' .. 'Z', 'a' .. 'z', 0 .. 9, '-', '_'), $_[0] // 43) }

sub _openssl {
    my @args = @_;
    my $out = `openssl @args 2>&1`;
    die "openssl @args failed:\n$out" if $?;
    return $out;
}

sub new {
    my ($class, %o) = @_;
    my $as = as_dir();
    -d "$as/node_modules/oidc-provider"
        or die "$as/node_modules/oidc-provider missing: run scripts/install-deps (npm ci in test/as)\n";
    my $dir = File::Temp::tempdir('mab-as-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;    # httpd serving as nobody reads secret, key and CA files from here
    my $self = bless { dir => $dir, clients => {}, order => [], issued => {}, tls => $o{tls} ? 1 : 0 },
        $class;

    $self->_make_ca if $self->{tls};

    my @meta;
    my @clients = @{ $o{clients} // [] };
    # the wrapper's own client, for introspect() without client_id
    push @clients, { client_id => 'mab-wrapper', auth => 'client_secret_basic', grant => 0,
                     internal => 1 };
    for my $c (@clients) {
        push @meta, $self->_register($c);
    }

    my %res;
    for my $r (keys %{ $o{resources} // {} }) {
        my $s = $o{resources}{$r};
        $res{$r} = { map { defined $s->{$_} ? ($_ => $s->{$_}) : () } qw(scope format ttl audience alg) };
    }
    my %cfg = (host => '127.0.0.1', port => $o{port} // 0, ready => "$dir/ready.json",
               clients => \@meta, resources => \%res, ttl => $o{ttl} // 300,
               dpop => $o{dpop} ? JSON::PP::true : JSON::PP::false,
               registration => $o{registration} ? JSON::PP::true : JSON::PP::false);
    $cfg{tls} = { cert => "$dir/server.pem", key => "$dir/server.key", ca => "$dir/ca.pem" }
        if $self->{tls};
    _write("$dir/config.json", $JSON->encode(\%cfg), 0600);

    $self->{proc} = MAB::Process->spawn(name => 'oidc-provider', dir => $as, log => "$dir/node.log",
                                        cmd => [ _node(), "$as/server.mjs", "$dir/config.json" ]);
    my $ok = MAB::Process::wait_until($o{start_timeout} // 30, sub { -s "$dir/ready.json" },
                                      $self->{proc});
    if (!$ok) {
        my $log = $self->log;
        $self->stop;
        die "oidc-provider did not start:\n$log\n";
    }
    my $ready = $JSON->decode(MAB::Process::slurp("$dir/ready.json"));
    @$self{qw(port issuer)} = ($ready->{port}, $ready->{issuer});
    my $r = $self->_ua->get($self->discovery_url);
    die "discovery: " . $r->status_line . "\n" . $r->decoded_content . "\n" . $self->log
        unless $r->is_success;
    $self->{discovery} = $JSON->decode($r->decoded_content);
    return $self;
}

# --- clients ---------------------------------------------------------------------------------
sub _register {
    my ($self, $c) = @_;
    my $id = $c->{client_id} // die "client without client_id\n";
    die "client $id twice\n" if $self->{clients}{$id};
    my $auth = $c->{auth} // 'client_secret_basic';
    my %c = (%$c, auth => $auth);
    my %m = (client_id => $id, token_endpoint_auth_method => $auth,
             grant_types => ($c->{grant} // 1) ? ['client_credentials'] : [],
             response_types => [], redirect_uris => []);
    if ($auth =~ /^client_secret_/) {
        $c{secret} //= _random(43);
        $m{client_secret} = $c{secret};
        $c{secret_file} = _write("$self->{dir}/$id.secret", $c{secret});
    }
    if ($auth eq 'private_key_jwt') {
        my $pk;
        if ($c->{key}) {
            $pk = eval { Crypt::PK::ECC->new($c->{key}) } || Crypt::PK::RSA->new($c->{key});
            $c{key_file} = $c->{key};
        }
        else {
            $pk = Crypt::PK::ECC->new;
            $pk->generate_key('secp256r1');
            $c{key_file} = _write("$self->{dir}/$id.key.pem", $pk->export_key_pem('private'));
        }
        $c{pk} = $pk;
        $c{alg} //= ref $pk eq 'Crypt::PK::RSA' ? 'RS256' : 'ES256';
        my $jwk = $pk->export_key_jwk('public', 1);
        $jwk->{kid} = $id;
        $jwk->{use} = 'sig';
        $m{jwks} = { keys => [$jwk] };
        $m{token_endpoint_auth_signing_alg} = $c{alg};
    }
    if ($auth eq 'tls_client_auth') {
        die "client $id: tls_client_auth needs tls => 1\n" unless $self->{tls};
        $c{subject_dn} //= "CN=$id";
        $m{tls_client_auth_subject_dn} = $c{subject_dn};
    }
    if ($c->{cert_bound}) {
        die "client $id: cert_bound needs tls => 1\n" unless $self->{tls};
        $m{tls_client_certificate_bound_access_tokens} = JSON::PP::true;
    }
    $m{dpop_bound_access_tokens} = JSON::PP::true if $c->{dpop_bound};
    $m{scope} = $c->{scope} if defined $c->{scope};
    if ($self->{tls} && ($auth eq 'tls_client_auth' || $c->{cert_bound}) && !$c->{cert}) {
        $c{cert} = [ $self->client_cert($c{subject_dn} // "CN=$id", name => $id) ];
    }
    %m = (%m, %{ $c->{metadata} // {} });
    $self->{clients}{$id} = \%c;
    push @{ $self->{order} }, $id unless $c->{internal};
    return \%m;
}

sub _client {
    my ($self, $id) = @_;
    $id //= $self->{order}[0] // die "no clients registered\n";
    return $self->{clients}{$id} // die "no client $id\n";
}

sub secret_file { $_[0]->_client($_[1])->{secret_file} // die "client $_[1] has no secret\n" }
sub secret      { $_[0]->_client($_[1])->{secret} }
sub key_file    { $_[0]->_client($_[1])->{key_file} // die "client $_[1] has no key\n" }
sub cert_files  { @{ $_[0]->_client($_[1])->{cert} // die "client $_[1] has no certificate\n" } }
sub clients     { @{ $_[0]{order} } }

# --- TLS: a test CA, the server's certificate, client certificates ---------------------------------
sub _make_ca {
    my $self = shift;
    my $d = $self->{dir};
    my $ec = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
    _openssl("req -x509 $ec -keyout $d/ca.key -out $d/ca.pem -days 3 -subj /CN=mab-test-ca"
        . " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
    _write("$d/server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        . "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");
    _openssl("req -new $ec -keyout $d/server.key -out $d/server.csr -subj /CN=127.0.0.1");
    _openssl("x509 -req -in $d/server.csr -CA $d/ca.pem -CAkey $d/ca.key -CAcreateserial"
        . " -days 3 -extfile $d/server.ext -out $d/server.pem");
    chmod 0644, map { "$d/$_" } qw(ca.pem server.pem);
}

sub ca_file { $_[0]{tls} ? "$_[0]{dir}/ca.pem" : die "no CA without tls => 1\n" }

# client_cert('CN=x,O=y', self_signed => 1, name => 'file stem'): (cert PEM file, key PEM file)
sub client_cert {
    my ($self, $dn, %o) = @_;
    die "no CA without tls => 1\n" unless $self->{tls} || $o{self_signed};
    my $d = $self->{dir};
    my $n = $o{name} // 'cert-' . ++$self->{certs};
    my $subj = '/' . join '/', reverse map { s/^\s+|\s+$//gr } split /,/, $dn;
    my $ec = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
    _write("$d/$n.ext", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
    if ($o{self_signed}) {
        _openssl("req -x509 $ec -keyout $d/$n.key -out $d/$n.pem -days 3 -subj '$subj'"
            . " -addext extendedKeyUsage=clientAuth");
    }
    else {
        _openssl("req -new $ec -keyout $d/$n.key -out $d/$n.csr -subj '$subj'");
        _openssl("x509 -req -in $d/$n.csr -CA $d/ca.pem -CAkey $d/ca.key -CAcreateserial -days 3"
            . " -extfile $d/$n.ext -out $d/$n.pem");
    }
    chmod 0644, "$d/$n.pem", "$d/$n.key";    # httpd serving as nobody may need them
    return ("$d/$n.pem", "$d/$n.key");
}

# base64url(SHA-256(DER)) of a PEM certificate file: its cnf "x5t#S256"
sub cert_thumbprint {
    my ($file) = @_;
    my $der = `openssl x509 -in '$file' -outform DER 2>/dev/null`;
    die "openssl x509 $file failed\n" if $? || !length $der;
    return encode_base64url(sha256($der));
}

# --- endpoints -----------------------------------------------------------------------------------
sub issuer        { $_[0]{issuer} }
sub port          { $_[0]{port} }
sub dir           { $_[0]{dir} }
sub url           { $_[0]{issuer} . ($_[1] // '') }
sub discovery_url { $_[0]{issuer} . '/.well-known/openid-configuration' }
sub discovery     { $_[0]{discovery} }
sub token_endpoint         { $_[0]{discovery}{token_endpoint} }
sub introspection_endpoint { $_[0]{discovery}{introspection_endpoint} }
sub revocation_endpoint    { $_[0]{discovery}{revocation_endpoint} }
sub jwks_uri               { $_[0]{discovery}{jwks_uri} }
sub jwks {
    my $self = shift;
    my $r = $self->_ua->get($self->jwks_uri);
    die "jwks: " . $r->status_line . "\n" unless $r->is_success;
    return $JSON->decode($r->decoded_content);
}

sub _ua {
    my ($self, %o) = @_;
    my %ssl;
    if ($self->{tls}) {
        %ssl = (SSL_ca_file => $self->ca_file, verify_hostname => 1);
        @ssl{qw(SSL_cert_file SSL_key_file)} = @{ $o{cert} } if $o{cert};
    }
    my $ua = LWP::UserAgent->new(timeout => $o{timeout} // 30, keep_alive => 0,
                                 ssl_opts => \%ssl, env_proxy => 0);
    $ua->no_proxy('127.0.0.1', 'localhost');
    $ua->proxy([qw(http https)], undef);
    return $ua;
}

sub _form_urlencode {
    my $s = shift;
    $s =~ s/([^A-Za-z0-9\-._~ ])/sprintf '%%%02X', ord $1/ge;
    $s =~ tr/ /+/;
    return $s;
}

# the client's authentication, added to the form and the headers of a request to $aud
sub _authenticate {
    my ($self, $c, $form, $hdr, $aud, %o) = @_;
    my $auth = $o{auth} // $c->{auth};
    my $secret = exists $o{secret} ? $o{secret} : $c->{secret};
    my $id = $c->{client_id};
    if ($auth eq 'client_secret_basic') {
        push @$hdr, Authorization => 'Basic '
            . encode_base64(_form_urlencode($id) . ':' . _form_urlencode($secret // ''), '');
    }
    elsif ($auth eq 'client_secret_post') {
        @$form{qw(client_id client_secret)} = ($id, $secret // '');
    }
    elsif ($auth eq 'private_key_jwt' || $auth eq 'client_secret_jwt') {
        my $t = time;
        my $claims = { iss => $id, sub => $id, aud => $o{assertion_aud} // $aud, jti => _random(22),
                       iat => $t, exp => $t + 60 };
        my $jwt = $auth eq 'private_key_jwt'
            ? encode_jwt(payload => $claims, alg => $o{alg} // $c->{alg},
                         key => $o{key} // $c->{pk}, extra_headers => { kid => $id })
            : encode_jwt(payload => $claims, alg => $o{alg} // 'HS256', key => $secret);
        @$form{qw(client_id client_assertion_type client_assertion)} =
            ($id, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', $jwt);
    }
    elsif ($auth eq 'tls_client_auth' || $auth eq 'self_signed_tls_client_auth' || $auth eq 'none') {
        $form->{client_id} = $id;
    }
    else {
        die "unknown client authentication $auth\n";
    }
}

sub _post {
    my ($self, $url, $form, $hdr, %o) = @_;
    my $req = POST $url, [%$form], Accept => 'application/json', @$hdr;
    return $self->_ua(cert => $o{cert}, timeout => $o{timeout})->request($req);
}

sub _decode {
    my ($what, $r) = @_;
    my $body = eval { $JSON->decode($r->decoded_content) };
    die "$what: " . $r->status_line . "\n" . $r->decoded_content . "\n" unless $r->is_success && $body;
    return $body;
}

# token_response(client_id => …, scope => …, resource => …, secret/auth/alg/key => overrides,
#                cert => [pem, key], dpop => Crypt::PK key, grant_type => …): HTTP::Response
sub token_response {
    my ($self, %o) = @_;
    my $c = $self->_client($o{client_id});
    my %form = (grant_type => $o{grant_type} // 'client_credentials');
    $form{scope} = $o{scope} if defined $o{scope};
    $form{resource} = $o{resource} if defined $o{resource};
    my @hdr;
    $self->_authenticate($c, \%form, \@hdr, $self->token_endpoint, %o);
    push @hdr, DPoP => dpop_proof(key => $o{dpop}, htm => 'POST', htu => $self->token_endpoint)
        if $o{dpop};
    my $r = $self->_post($self->token_endpoint, \%form, \@hdr,
                         cert => exists $o{cert} ? $o{cert} : $c->{cert});
    $self->{last_token_response} = $r;
    if ($r->is_success) {
        my $b = eval { $JSON->decode($r->decoded_content) };
        $self->{issued}{ $b->{access_token} } = $c->{client_id} if $b && $b->{access_token};
    }
    return $r;
}

sub last_token_response { $_[0]{last_token_response} }

# token_answer(...): the token endpoint's answer as a hashref (dies unless 200)
sub token_answer {
    my ($self, %o) = @_;
    return _decode('token request', $self->token_response(%o));
}

# token(...): the access token alone (dies unless 200), a scalar in any context, so
# req($path, token => $as->token(...)) works
sub token { scalar $_[0]->token_answer(@_[1 .. $#_])->{access_token} }

# introspect_response($token, client_id => …, hint => …, secret/auth overrides): HTTP::Response
sub introspect_response {
    my ($self, $token, %o) = @_;
    my $c = $self->_client($o{client_id} // 'mab-wrapper');
    my %form = (token => $token);
    $form{token_type_hint} = $o{hint} if defined $o{hint};
    my @hdr;
    $self->_authenticate($c, \%form, \@hdr, $self->introspection_endpoint, %o);
    return $self->_post($self->introspection_endpoint, \%form, \@hdr,
                        cert => exists $o{cert} ? $o{cert} : $c->{cert});
}

# introspect($token, …): the answer as a hashref (dies unless 200 with JSON)
sub introspect { _decode('introspection', introspect_response(@_)) }

# revoke_response($token, client_id => … (default: the client that obtained it), hint => …)
sub revoke_response {
    my ($self, $token, %o) = @_;
    my $c = $self->_client($o{client_id} // $self->{issued}{$token} // 'mab-wrapper');
    my %form = (token => $token);
    $form{token_type_hint} = $o{hint} if defined $o{hint};
    my @hdr;
    $self->_authenticate($c, \%form, \@hdr, $self->revocation_endpoint, %o);
    return $self->_post($self->revocation_endpoint, \%form, \@hdr,
                        cert => exists $o{cert} ? $o{cert} : $c->{cert});
}

# revoke($token, …): 1 (dies unless 200)
sub revoke {
    my $r = revoke_response(@_);
    die "revocation: " . $r->status_line . "\n" . $r->decoded_content . "\n" unless $r->is_success;
    return 1;
}

# dpop_proof(key => Crypt::PK::ECC|RSA|Ed25519, htm => 'POST', htu => URL, token => access token
#            (adds ath), iat => …, jti => …, nonce => …, alg => …, header => {…}, claims => {…})
sub dpop_proof {
    my %o = @_;
    my $pk = $o{key} // die "dpop_proof: key\n";
    my $alg = $o{alg} // (ref $pk eq 'Crypt::PK::RSA' ? 'RS256'
                        : ref $pk eq 'Crypt::PK::Ed25519' ? 'EdDSA' : 'ES256');
    my %claims = (jti => $o{jti} // _random(22), htm => $o{htm} // 'GET', htu => $o{htu},
                  iat => $o{iat} // time);
    $claims{ath} = encode_base64url(sha256($o{token})) if defined $o{token};
    $claims{nonce} = $o{nonce} if defined $o{nonce};
    %claims = (%claims, %{ $o{claims} // {} });
    return encode_jwt(payload => \%claims, alg => $alg, key => $pk,
                      extra_headers => { typ => 'dpop+jwt', jwk => $pk->export_key_jwk('public', 1),
                                         %{ $o{header} // {} } });
}

# --- what the server saw ---------------------------------------------------------------------------
sub stats {
    my $self = shift;
    my $r = $self->_ua->get($self->url('/_mab/stats'));
    die "stats: " . $r->status_line . "\n" unless $r->is_success;
    return $JSON->decode($r->decoded_content);
}
sub count        { my ($s, $p) = @_; ($s->stats->{paths}{$p} // {})->{count} // 0 }
sub max_inflight { my ($s, $p) = @_; ($s->stats->{paths}{$p} // {})->{max_inflight} // 0 }
sub calls {
    my ($s, $route) = @_;
    return [ grep { !defined $route || $_->{route} eq $route } @{ $s->stats->{calls} } ];
}
sub reset_stats {
    my $self = shift;
    my $r = $self->_ua->request(POST $self->url('/_mab/reset'));
    die "reset: " . $r->status_line . "\n" unless $r->is_success;
}

# mode($path, 'ok' | '500' | 'garbage' | 'hang' | 'close' | 'slow<seconds>')
sub mode {
    my ($self, $path, $mode) = @_;
    my $u = URI->new($self->url('/_mab/mode'));
    $u->query_form(path => $path, mode => $mode);
    my $r = $self->_ua->request(POST $u);
    die "mode: " . $r->status_line . "\n" unless $r->is_success;
}

sub log { MAB::Process::slurp("$_[0]{dir}/node.log") // '' }
sub running { $_[0]{proc} && $_[0]{proc}->alive ? 1 : 0 }

sub stop {
    my $self = shift;
    $self->{proc}->stop if $self->{proc};
    delete $self->{proc};
}
sub DESTROY { local ($?, $@); $_[0]->stop }

use URI ();
1;
