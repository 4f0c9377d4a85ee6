package MAB::IntrospectServer;
# A real RFC 7662 introspection endpoint on loopback for the Apache::Test suite, in the style of
# MAB::JWKSServer: forked (one process per connection, HTTP/1.1 keep-alive), controlled through
# files in its state directory, so a test changes its behaviour while httpd talks to it.
#
#   my $is = MAB::IntrospectServer->new(
#       auth      => 'client_secret_basic',  # or client_secret_post | private_key_jwt |
#                                            # tls_client_auth | bearer | none (default none)
#       client_id => 'rs',                   # what basic/post/private_key_jwt/tls_client_auth expect
#       secret    => 's3cret',               # basic/post: the client secret; bearer: the token
#       client_key => 'keys/client.pub.pem', # private_key_jwt: the public key of assertions
#       assertion_aud => [ ... ],            # private_key_jwt: accepted aud values
#                                            #   (default: this endpoint's URL and issuer)
#       client_cn => 'rs-client',            # tls_client_auth: the certificate subject's CN …
#       client_fingerprint => 'ab12…',       # … or its SHA-256 fingerprint (hex, any case, ':' ok)
#       tls       => [ 'cert.pem', 'key.pem' ], # serve https (fixed at new(); tls_client_auth
#                                            #   needs it: the server then asks for a certificate)
#       issuer    => 'https://as.test/',     # discovery's issuer (default: the server's URL + '/')
#       jwks      => 'keys/jwks.json',       # JWT mode: verify unknown tokens as JWTs with this
#       jwt_keys  => [ 'keys/issuer.pub.pem' ],  #   key set or these public keys (Crypt::JWT)
#   );
#   $is->url('/introspect')   the endpoint; also /revoke (RFC 7009) and discovery (below)
#
# What it answers on POST /introspect (form body token=…&token_type_hint=…):
#   - the client authentication is checked first (configure() changes it at runtime); wrong or
#     missing → 401 {"error":"invalid_client"} (with WWW-Authenticate: Basic for basic);
#   - then the token's answer from the table: answer($token, {active => JSON::PP::true, …}). The
#     members "_status" (an HTTP status to answer instead) and "_delay" (seconds to wait first)
#     are acted on and never sent;
#   - else, in JWT mode (jwks or jwt_keys given), the token verified as a JWT: a good signature
#     and exp gives {active:true, token_type:"Bearer", <its claims>}; anything else, or its jti
#     or its SHA-256 on the revocation list, gives {active:false};
#   - else {"active":false}.
# POST /revoke (RFC 7009, same client authentication) puts the token (its SHA-256, and its jti
# when it is a JWT) on the revocation list and answers 200; revoke($token_or_jti) does that too.
# GET /.well-known/openid-configuration and /.well-known/oauth-authorization-server give issuer,
# introspection_endpoint, revocation_endpoint and, with jwks, jwks_uri (GET /jwks.json).
#
# State directory files (all written atomically by the methods below):
#   config.json        the settings above, read on every request
#   mode               ok | 500 | garbage | hang | slow<N> (N seconds, fractions allowed, then as
#                      ok) | down   (absent: ok). mode('down') also stops listening, so
#                      connections are refused; any other mode() listens again on the same port
#   tokens/<sha256>    the table: JSON answer per SHA-256 (hex) of the token
#   revoked            revocation list: one jti or token SHA-256 per line
#   log                one JSON object per request: t (epoch seconds, fractional), path, auth
#                      (the method the request used: basic | post | private_key_jwt |
#                      tls_client_auth | bearer | none), client_ok (0/1), status, token (it is a
#                      test server), token_sha256, hint
#   connections        one line per accepted connection (connections() counts them)
#   inflight           "<now> <max>": calls being answered and the most ever at once, updated
#                      under an flock on inflight.lock; max_concurrent(), reset_max()
#
# Methods: url, port, dir, answer, forget, revoke, configure, mode, calls (arrayref of the log's
# objects, filtered by calls(path => …, token => …, auth => …, client_ok => …)), count (their
# number, same filters), connections, max_concurrent, in_flight, reset_max, clear_log, stop, up.
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use Fcntl qw(:flock);
use File::Path ();
use File::Temp ();
use IO::Socket::IP;
use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use POSIX ();
use Time::HiRes ();

my $JSON = JSON::PP->new->canonical->utf8;
use constant ASSERTION_TYPE => 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

sub new {
    my ($class, %o) = @_;
    my $dir = File::Temp::tempdir('mab-introspect-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    mkdir "$dir/tokens" or die "$dir/tokens: $!";
    my $self = bless { dir => $dir, scheme => $o{tls} ? 'https' : 'http', tls => delete $o{tls} },
        $class;
    $self->_listen(0);
    $self->configure(auth => 'none', %o);
    _write("$dir/inflight", "0 0");
    $self->_fork;
    return $self;
}

sub _listen {
    my ($self, $port) = @_;
    $self->{sock} = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => $port, Listen => 128,
                                        ReuseAddr => 1, Proto => 'tcp')
        or die "cannot listen on 127.0.0.1:$port: $@";
    $self->{port} = $self->{sock}->sockport;
}

sub _fork {
    my $self = shift;
    my $sock = $self->{sock};
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        setpgrp(0, 0);            # stop() ends the server and its connection handlers together
        $SIG{CHLD} = 'IGNORE';    # handlers reap themselves
        while (1) {
            my $c = $sock->accept or next;
            my $h = fork;
            if (defined $h && $h == 0) {
                close $sock;
                _append("$self->{dir}/connections", "1\n");
                $self->_connection($c);
                POSIX::_exit(0);
            }
            close $c;
        }
    }
    close $sock;
    delete $self->{sock};
    $self->{pid} = $pid;
}

# --- one connection: TLS, then requests until the client closes ------------------------------
sub _connection {
    my ($self, $c) = @_;
    my $peer;
    if ($self->{tls}) {
        require IO::Socket::SSL;
        # Any client certificate is taken at the handshake (the test's are self-signed); which
        # one came is checked per request, so a wrong one gets 401 invalid_client, not a reset.
        IO::Socket::SSL->start_SSL($c, SSL_server => 1, SSL_cert_file => $self->{tls}[0],
                                   SSL_key_file => $self->{tls}[1],
                                   SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_PEER(),
                                   SSL_verify_callback => sub { 1 })
            or return;
        if ($c->peer_certificate) {
            my $fp = $c->get_fingerprint('sha256') // '';
            $fp =~ s/^sha256\$//;
            $fp =~ s/://g;
            $peer = { cn => scalar $c->peer_certificate('commonName'), fingerprint => lc $fp };
        }
    }
    local $SIG{ALRM} = sub { POSIX::_exit(0) };
    my $buf = '';
    while (1) {
        alarm 60;
        my $req = _read_request($c, \$buf) or return;
        my $keep = $self->_request($c, $req, $peer);
        return unless $keep;
    }
}

sub _read_request {
    my ($c, $buf) = @_;
    while ($$buf !~ /\r\n\r\n/) {
        my $n = sysread $c, $$buf, 16384, length $$buf;
        return undef unless $n;
    }
    my ($head, $rest) = split /\r\n\r\n/, $$buf, 2;
    my ($method, $path) = $head =~ m{^(\S+) (\S+) HTTP/};
    return undef unless defined $path;
    my %h;
    for my $line (split /\r\n/, $head) {
        $h{ lc $1 } = $2 if $line =~ /^([^:\s]+):\s*(.*?)\s*$/;
    }
    my $len = $h{'content-length'} // 0;
    while (length($rest) < $len) {
        my $n = sysread $c, $rest, 16384, length $rest;
        return undef unless $n;
    }
    $$buf = substr($rest, $len);
    return { method => $method, path => $path, headers => \%h, body => substr($rest, 0, $len) };
}

sub _form {
    my $s = shift;
    my %f;
    for my $pair (split /&/, $s // '') {
        my ($k, $v) = split /=/, $pair, 2;
        next unless defined $k;
        ($k, $v) = map { my $x = $_ // ''; $x =~ tr/+/ /; $x =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; $x } ($k, $v);
        $f{$k} = $v;
    }
    return \%f;
}

sub _send {
    my ($c, $status, $body, %h) = @_;
    my $close = delete $h{close};
    my $head = "HTTP/1.1 $status X\r\n" . join('', map { "$_: $h{$_}\r\n" } sort keys %h)
        . 'Content-Length: ' . length($body) . "\r\n" . ($close ? "Connection: close\r\n" : '')
        . "\r\n";
    syswrite $c, $head . $body;
}

sub _json_send {
    my ($c, $status, $obj, %h) = @_;
    _send($c, $status, $JSON->encode($obj), 'Content-Type' => 'application/json',
          'Cache-Control' => 'no-store', %h);
}

# Returns whether to keep the connection. The call is logged (and leaves the in-flight count)
# before the answer goes out, so a test that has its answer also finds the call in the log.
sub _request {
    my ($self, $c, $req, $peer) = @_;
    my $cfg = $self->_config;
    my $path = $req->{path};
    if ($req->{method} eq 'GET') {
        return $self->_get($c, $path, $cfg);
    }
    my $form = _form($req->{body});
    my $mode = _slurp("$self->{dir}/mode") // 'ok';
    $mode =~ s/\s+//g;
    $self->_enter;
    my ($status, $client_ok, $seen, @reply) = (200, 0, 'none');
    my $keep = 1;
    {
        if ($path ne '/introspect' && $path ne '/revoke') {
            ($status, @reply) = (404, json => { error => 'not_found' });
            last;
        }
        ($client_ok, $seen, my $why) = $self->_client_auth($cfg, $req, $form, $peer, $path);
        if ($mode eq 'hang') {
            sleep 30;
            ($status, $keep) = (0, 0);
            last;
        }
        if ($mode =~ /^slow([\d.]+)$/) {
            Time::HiRes::sleep($1);
            $mode = 'ok';
        }
        if ($mode eq '500') {
            ($status, @reply) = (500, text => "internal error\n", 'Content-Type' => 'text/plain');
            last;
        }
        if ($mode eq 'garbage') {
            @reply = (text => "<html>this is not an introspection answer</html>\n",
                      'Content-Type' => 'application/json');
            last;
        }
        if (!$client_ok) {
            ($status, @reply) = (401, json => { error => 'invalid_client', error_description => $why },
                                 $seen eq 'basic' || $cfg->{auth} eq 'client_secret_basic'
                                     ? ('WWW-Authenticate' => 'Basic realm="introspection"') : ());
            last;
        }
        my $token = $form->{token};
        if (!defined $token || $token eq '') {
            ($status, @reply) = (400, json => { error => 'invalid_request', error_description => 'no token' });
            last;
        }
        if ($path eq '/revoke') {
            $self->_revoke_token($token, $cfg);
            @reply = (text => '');
            last;
        }
        my $answer = $self->_answer_for($token, $cfg);
        if (defined(my $d = delete $answer->{_delay})) {
            Time::HiRes::sleep($d);
        }
        $status = delete $answer->{_status} // 200;
        @reply = (json => $answer);
    }
    $self->_leave;
    $self->_log($path, $seen, $client_ok, $status, $form);
    if (@reply) {
        my ($kind, $body, %h) = @reply;
        if ($kind eq 'json') { _json_send($c, $status, $body, %h) } else { _send($c, $status, $body, %h) }
    }
    return $keep;
}

sub _get {
    my ($self, $c, $path, $cfg) = @_;
    if ($path eq '/.well-known/openid-configuration'
        || $path eq '/.well-known/oauth-authorization-server') {
        my $iss = $cfg->{issuer} // $self->url('/');
        _json_send($c, 200, {
            issuer => $iss,
            introspection_endpoint => $self->url('/introspect'),
            revocation_endpoint => $self->url('/revoke'),
            $cfg->{jwks} ? (jwks_uri => $self->url('/jwks.json')) : (),
        });
    }
    elsif ($path eq '/jwks.json' && $cfg->{jwks} && defined(my $j = _slurp($cfg->{jwks}))) {
        _send($c, 200, $j, 'Content-Type' => 'application/json');
    }
    else {
        _json_send($c, 404, { error => 'not_found' });
    }
    return 1;
}

# --- client authentication -----------------------------------------------------------------
# Returns (ok, the method the request used, why not).
sub _client_auth {
    my ($self, $cfg, $req, $form, $peer, $path) = @_;
    my $authz = $req->{headers}{authorization} // '';
    my $seen = $authz =~ /^Basic /i ? 'basic'
             : $authz =~ /^Bearer /i ? 'bearer'
             : defined $form->{client_assertion} ? 'private_key_jwt'
             : defined $form->{client_secret} ? 'post'
             : $peer ? 'tls_client_auth'
             : 'none';
    my $want = $cfg->{auth} // 'none';
    return (1, $seen, '') if $want eq 'none';
    my $id = $cfg->{client_id} // '';
    if ($want eq 'client_secret_basic') {
        return (0, $seen, 'Basic credentials expected') unless $authz =~ /^Basic\s+(\S+)$/i;
        my ($u, $p) = split /:/, (decode_base64($1) // ''), 2;
        ($u, $p) = map { my $x = $_ // ''; $x =~ tr/+/ /; $x =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; $x } ($u, $p);
        return ($u eq $id && $p eq ($cfg->{secret} // "\0")) ? (1, $seen, '')
            : (0, $seen, 'wrong client_id or secret');
    }
    if ($want eq 'client_secret_post') {
        return (0, $seen, 'client_id and client_secret expected in the body')
            unless defined $form->{client_secret};
        return (($form->{client_id} // '') eq $id && $form->{client_secret} eq ($cfg->{secret} // "\0"))
            ? (1, $seen, '') : (0, $seen, 'wrong client_id or secret');
    }
    if ($want eq 'bearer') {
        return (0, $seen, 'Bearer credentials expected') unless $authz =~ /^Bearer\s+(\S+)$/i;
        return $1 eq ($cfg->{secret} // "\0") ? (1, $seen, '') : (0, $seen, 'wrong bearer token');
    }
    if ($want eq 'private_key_jwt') {
        my $why = $self->_check_assertion($cfg, $form, $path);
        return ($why ? 0 : 1, $seen, $why // '');
    }
    if ($want eq 'tls_client_auth') {
        return (0, $seen, 'no client certificate') unless $peer;
        return (0, $seen, 'client_id expected in the body') unless ($form->{client_id} // '') eq $id;
        if (defined(my $fp = $cfg->{client_fingerprint})) {
            (my $f = lc $fp) =~ s/://g;
            return (0, $seen, 'another certificate') unless $peer->{fingerprint} eq $f;
        }
        if (defined(my $cn = $cfg->{client_cn})) {
            return (0, $seen, 'another certificate subject') unless ($peer->{cn} // '') eq $cn;
        }
        return (1, $seen, '');
    }
    return (0, $seen, "server configured with an unknown method $want");
}

# RFC 7523 section 3: signature, iss = sub = client_id, aud, exp in the future, a jti not seen.
sub _check_assertion {
    my ($self, $cfg, $form, $path) = @_;
    require Crypt::JWT;
    require Crypt::PK::RSA;
    require Crypt::PK::ECC;
    require Crypt::PK::Ed25519;
    return 'client_assertion_type is not jwt-bearer'
        unless ($form->{client_assertion_type} // '') eq ASSERTION_TYPE;
    my $key = _public_key($cfg->{client_key}) or return 'server has no client_key';
    my $claims = eval {
        Crypt::JWT::decode_jwt(token => $form->{client_assertion}, key => $key, verify_exp => 1,
                               leeway => 5, accepted_alg => qr/^(?:RS|PS|ES)(?:256|384|512)$|^EdDSA$/)
    };
    return 'assertion does not verify: ' . ($@ =~ s/ at .*//sr) unless $claims;
    my $id = $cfg->{client_id} // '';
    return 'iss is not the client_id' unless ($claims->{iss} // '') eq $id;
    return 'sub is not the client_id' unless ($claims->{sub} // '') eq $id;
    return 'client_id in the body is another one'
        if defined $form->{client_id} && $form->{client_id} ne $id;
    return 'no exp' unless defined $claims->{exp};
    return 'no jti' unless defined $claims->{jti} && length $claims->{jti};
    my @aud = ref $claims->{aud} eq 'ARRAY' ? @{ $claims->{aud} } : ($claims->{aud} // ());
    my @ok = @{ $cfg->{assertion_aud} // [ $self->url($path), $cfg->{issuer} // $self->url('/') ] };
    my %ok = map { $_ => 1 } @ok;
    return 'aud is none of ' . join(', ', @ok) unless grep { $ok{$_} } @aud;
    # a replayed assertion is refused, as oidc-provider does
    my $seen = "$self->{dir}/jtis";
    open my $fh, '+>>', $seen or die "$seen: $!";
    flock $fh, LOCK_EX;
    seek $fh, 0, 0;
    my %jti = map { chomp; $_ => 1 } <$fh>;
    my $dup = $jti{ $claims->{jti} };
    print $fh "$claims->{jti}\n" unless $dup;
    close $fh;
    return 'jti was used before' if $dup;
    return undef;
}

sub _public_key {
    my $file = shift;
    return undef unless defined $file;
    my $pem = _slurp($file) // return undef;
    for my $class (qw(Crypt::PK::RSA Crypt::PK::ECC Crypt::PK::Ed25519)) {
        my $k = eval { $class->new(\$pem) };
        return $k if $k;
    }
    return undef;
}

# --- answers -----------------------------------------------------------------------------------
sub _answer_for {
    my ($self, $token, $cfg) = @_;
    my $text = _slurp("$self->{dir}/tokens/" . sha256_hex($token));
    if (defined $text) {
        my $a = eval { $JSON->decode($text) };
        return $a if ref $a eq 'HASH';
    }
    if ($cfg->{jwks} || $cfg->{jwt_keys}) {
        return $self->_jwt_answer($token, $cfg);
    }
    return { active => JSON::PP::false };
}

sub _jwt_claims {
    my ($token, $cfg) = @_;
    require Crypt::JWT;
    my @tries;
    if ($cfg->{jwks} && defined(my $j = _slurp($cfg->{jwks}))) {
        push @tries, [ kid_keys => $j ];
    }
    push @tries, map { [ key => $_ ] } grep { defined } map { _public_key($_) } @{ $cfg->{jwt_keys} // [] };
    for my $t (@tries) {
        my $c = eval {
            Crypt::JWT::decode_jwt(token => $token, @$t, verify_exp => 1,
                                   leeway => 0, accepted_alg => qr/^(?:RS|PS|ES)(?:256|384|512)$|^EdDSA$/)
        };
        return $c if ref $c eq 'HASH';
    }
    return undef;
}

sub _jwt_answer {
    my ($self, $token, $cfg) = @_;
    my $c = _jwt_claims($token, $cfg) or return { active => JSON::PP::false };
    return { active => JSON::PP::false } if defined $cfg->{issuer} && ($c->{iss} // '') ne $cfg->{issuer};
    my %revoked = map { $_ => 1 } split /\n/, _slurp("$self->{dir}/revoked") // '';
    return { active => JSON::PP::false }
        if $revoked{ sha256_hex($token) } || (defined $c->{jti} && $revoked{ $c->{jti} });
    return { token_type => 'Bearer', %$c, active => JSON::PP::true };
}

sub _revoke_token {
    my ($self, $token, $cfg) = @_;
    my @entries = (sha256_hex($token));
    if ($cfg->{jwks} || $cfg->{jwt_keys}) {
        my $c = _jwt_claims($token, $cfg);
        push @entries, $c->{jti} if $c && defined $c->{jti};
    }
    _append("$self->{dir}/revoked", join('', map { "$_\n" } @entries));
}

# --- bookkeeping ---------------------------------------------------------------------------------
sub _config {
    my $self = shift;
    my $c = eval { $JSON->decode(_slurp("$self->{dir}/config.json") // '{}') };
    return $c // {};
}

sub _inflight_update {
    my ($self, $delta) = @_;
    open my $lock, '>>', "$self->{dir}/inflight.lock" or die "inflight.lock: $!";
    flock $lock, LOCK_EX;
    my ($now, $max) = split / /, _slurp("$self->{dir}/inflight") // '0 0';
    $now += $delta;
    $max = $now if $now > $max;
    _write("$self->{dir}/inflight", "$now $max");
    close $lock;
}
sub _enter { $_[0]->_inflight_update(1) }
sub _leave { $_[0]->_inflight_update(-1) }

sub _log {
    my ($self, $path, $seen, $client_ok, $status, $form) = @_;
    my $t = $form->{token};
    _append("$self->{dir}/log", $JSON->encode({
        t => Time::HiRes::time() + 0, path => $path, auth => $seen, client_ok => $client_ok ? 1 : 0,
        status => $status, token => $t, token_sha256 => defined $t ? sha256_hex($t) : undef,
        hint => $form->{token_type_hint},
    }) . "\n");
}

sub _slurp {
    my $f = shift;
    open my $fh, '<:raw', $f or return undef;
    local $/;
    my $s = <$fh>;
    return $s;
}

sub _write {
    my ($file, $text) = @_;
    open my $fh, '>:raw', "$file.tmp.$$" or die "$file.tmp: $!";
    print $fh $text;
    close $fh or die "$file.tmp: $!";
    rename "$file.tmp.$$", $file or die "$file: $!";
}

# One write(2) with O_APPEND: lines from concurrent handlers never interleave.
sub _append {
    my ($file, $text) = @_;
    open my $fh, '>>:raw', $file or die "$file: $!";
    syswrite $fh, $text;
    close $fh;
}

# --- the test's side ---------------------------------------------------------------------------
sub port { $_[0]{port} }
sub dir  { $_[0]{dir} }
sub url  { my ($s, $p) = @_; "$s->{scheme}://127.0.0.1:$s->{port}" . ($p // '') }

# answer($token, { active => JSON::PP::true, sub => …, _status => …, _delay => … })
sub answer {
    my ($s, $token, $answer) = @_;
    _write("$s->{dir}/tokens/" . sha256_hex($token), $JSON->encode($answer));
}
sub forget { my ($s, $token) = @_; unlink "$s->{dir}/tokens/" . sha256_hex($token) }

# revoke($token) or revoke(jti => $jti)
sub revoke {
    my ($s, @what) = @_;
    if (@what == 2 && $what[0] eq 'jti') {
        _append("$s->{dir}/revoked", "$what[1]\n");
    }
    else {
        $s->_revoke_token($what[0], $s->_config);
    }
}

# configure(auth => …, secret => …): merged over the current settings (undef deletes one)
sub configure {
    my ($s, %o) = @_;
    my $c = -e "$s->{dir}/config.json" ? $s->_config : {};
    for my $k (keys %o) {
        if (defined $o{$k}) { $c->{$k} = $o{$k} } else { delete $c->{$k} }
    }
    _write("$s->{dir}/config.json", $JSON->encode($c));
}

sub mode {
    my ($s, $m) = @_;
    _write("$s->{dir}/mode", $m);
    if ($m eq 'down') {
        $s->stop;
    }
    elsif (!$s->{pid}) {
        $s->up;
    }
}

# listen again on the same port after mode('down') / stop()
sub up {
    my $s = shift;
    return if $s->{pid};
    for (1 .. 50) {
        last if eval { $s->_listen($s->{port}); 1 };
        Time::HiRes::sleep(0.1);
    }
    die "cannot listen on port $s->{port} again" unless $s->{sock};
    # stop() killed the handlers that were answering: they will never leave
    my (undef, $max) = $s->_inflight;
    _write("$s->{dir}/inflight", "0 $max");
    $s->_fork;
}

sub calls {
    my ($s, %f) = @_;
    my @all = map { $JSON->decode($_) } grep { length } split /\n/, _slurp("$s->{dir}/log") // '';
    for my $k (keys %f) {
        @all = grep { defined $_->{$k} && $_->{$k} eq $f{$k} } @all;
    }
    return \@all;
}
sub count { my $s = shift; scalar @{ $s->calls(@_) } }
sub clear_log { unlink "$_[0]{dir}/log"; unlink "$_[0]{dir}/connections" }

sub connections {
    my $s = shift;
    my $c = _slurp("$s->{dir}/connections") // '';
    return scalar(() = $c =~ /\n/g);
}

sub _inflight { split / /, _slurp("$_[0]{dir}/inflight") // '0 0' }
sub in_flight      { ($_[0]->_inflight)[0] }
sub max_concurrent { ($_[0]->_inflight)[1] }
sub reset_max {
    my $s = shift;
    open my $lock, '>>', "$s->{dir}/inflight.lock" or die;
    flock $lock, LOCK_EX;
    my ($now) = $s->_inflight;
    _write("$s->{dir}/inflight", "$now $now");
    close $lock;
}

sub stop {
    my $s = shift;
    return unless $s->{pid};
    kill 'TERM', -$s->{pid};
    waitpid $s->{pid}, 0;
    delete $s->{pid};
}

sub DESTROY { $_[0]->stop }

1;
