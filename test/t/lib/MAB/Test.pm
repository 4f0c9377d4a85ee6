package MAB::Test;
# Helpers for mod_auth_bearer's Apache::Test suite.
#
# Tokens are minted here with Crypt::JWT / CryptX (Debian's libcrypt-jwt-perl), or assembled by
# hand for the broken ones — an implementation independent of the module under test.
# Every request helper remembers where logs/error_log ended before the request, so a test can
# check exactly the lines that request produced.
use strict;
use warnings;
use Exporter 'import';
use Test::More;
use Apache::Test ();
use MAB::ApacheTestDebian;    # Apache::Test on Debian's httpd
use Apache::TestRequest ();
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::RSA;
use Crypt::PK::ECC;
use Crypt::PK::Ed25519;
use Crypt::Mac::HMAC qw(hmac);
use Digest::SHA qw(sha256_hex);
use MIME::Base64 qw(encode_base64url decode_base64url);
use JSON::PP ();

our @EXPORT = qw(
    ISS AUD REALM now mint mint_parts b64u json keyfile
    req env_of is_granted is_denied is_config_error log_lines
    challenge_401 challenge_invalid_token challenge_invalid_request challenge_scope
);

use constant ISS   => 'https://issuer.test/';
use constant AUD   => 'https://quickstarts/api';
use constant REALM => 'messages-api';

# the JSON we put into hand-made tokens: compact, stable key order
my $JSON = JSON::PP->new->canonical->utf8;
sub json { $JSON->encode($_[0]) }
sub b64u { encode_base64url($_[0]) }
sub now  { time() }

sub t_dir   { Apache::Test::vars('t_dir') }
sub keyfile { t_dir() . "/keys/$_[0]" }

my %KIDS = (issuer => 'test-rsa-1', noalg => 'test-rsa-noalg', ec => 'test-ec-1',
            ed => 'test-ed-1', other => 'test-other-1');
my %ALG  = (ec => 'ES256', ed => 'EdDSA');
my %KEYS;
sub _key {
    my $name = shift;
    my $class = { ec => 'Crypt::PK::ECC', ed => 'Crypt::PK::Ed25519' }->{$name} // 'Crypt::PK::RSA';
    return $KEYS{$name} //= $class->new(keyfile("$name.pem"));
}

# default claims of a valid token
sub default_claims {
    my $t = now();
    return { iss => ISS, aud => AUD, sub => 'auth0|alice', iat => $t, exp => $t + 300 };
}

# mint(%o): a signed compact JWS.
#   claims => {…}   merged over default_claims (a value of undef deletes that claim)
#   payload => {…}  used as is (no defaults)
#   key => 'issuer' | 'noalg' | 'ec' | 'ed' | 'other'   (default issuer)
#   alg => 'RS256' …                             (default RS256; ES256 for ec, EdDSA for ed)
#   kid => '…'  (default: the key's kid; undef = no kid header)
#   header => {…} extra protected header fields
sub mint {
    my %o = @_;
    my $payload = $o{payload} // do {
        my $c = default_claims();
        my $extra = $o{claims} // {};
        for my $k (keys %$extra) {
            if (defined $extra->{$k}) { $c->{$k} = $extra->{$k} } else { delete $c->{$k} }
        }
        $c;
    };
    my $key = $o{key} // 'issuer';
    my $alg = $o{alg} // $ALG{$key} // 'RS256';
    my %hdr = (typ => 'JWT', %{ $o{header} // {} });
    my $kid = exists $o{kid} ? $o{kid} : $KIDS{$key};
    $hdr{kid} = $kid if defined $kid;
    return encode_jwt(payload => $payload, alg => $alg, key => _key($key),
                      extra_headers => \%hdr);
}

# mint_parts($header, $payload, $sig_bytes): assemble a compact JWS by hand (no signing).
# $header / $payload: hashref (JSON-encoded here) or string (used as the JSON text).
sub mint_parts {
    my ($h, $p, $sig) = @_;
    $h = json($h) if ref $h;
    $p = json($p) if ref $p;
    return join '.', b64u($h), b64u($p), b64u($sig // '');
}

# --- challenges ----------------------------------------------------------------------------------
sub challenge_401 { sprintf 'Bearer realm="%s"', $_[0] // REALM }
sub challenge_invalid_token {
    my ($desc, $realm) = @_;
    sprintf 'Bearer realm="%s", error="invalid_token", error_description="%s"', $realm // REALM,
        $desc;
}
sub challenge_invalid_request {    # the reason is not fixed by the contract
    my $realm = shift // REALM;
    qr/^\QBearer realm="$realm", error="invalid_request", error_description="\E[^"]+"$/;
}
sub challenge_scope {
    my ($scope, $realm) = @_;
    sprintf 'Bearer realm="%s", error="insufficient_scope", scope="%s"', $realm // REALM, $scope;
}

# --- requests --------------------------------------------------------------------------------------
sub error_log { Apache::Test::vars('t_logs') . '/error_log' }

sub _log_size { my $f = error_log(); -e $f ? -s $f : 0 }

sub _log_from {
    my $off = shift;
    open my $fh, '<:raw', error_log() or return '';
    seek $fh, $off, 0;
    local $/;
    my $s = <$fh>;
    return $s // '';
}

# req($path, token => $t, auth => 'raw Authorization value', method => 'GET', headers => {…})
# returns the HTTP::Response, with ->{mab_log} = the error_log text this request produced and
# ->{mab_token} = the token sent (for the "never logged" checks).
sub req {
    my ($path, %o) = @_;
    my %h = %{ $o{headers} // {} };
    $h{Authorization} = "Bearer $o{token}" if defined $o{token};
    $h{Authorization} = $o{auth} if defined $o{auth};
    my $method = $o{method} // 'GET';
    my $before = _log_size();
    no strict 'refs';
    my $res = &{"Apache::TestRequest::$method"}($path, %h);
    # the log line is written before the response is sent; give a slow disk a moment anyway
    my $log = _log_from($before);
    for (1 .. 10) {
        last if $res->code == 200 || $log =~ /MAB\d+:/;
        select undef, undef, undef, 0.05;
        $log = _log_from($before);
    }
    $res->{mab_log}   = $log;
    $res->{mab_token} = $o{token};
    $res->{mab_secrets} = [ grep { defined } $o{token}, @{ $o{secrets} // [] } ];
    return $res;
}

sub log_lines {
    my ($res, $re) = @_;
    return grep { $_ =~ $re } split /\n/, $res->{mab_log} // '';
}

# The parts of a token that must never reach the log: the whole token, its payload and signature.
sub _secret_parts {
    my $t = shift;
    return () unless defined $t && length $t;
    my @p = ($t);
    my @seg = split /\./, $t, -1;
    push @p, grep { length($_) >= 16 } @seg[1 .. $#seg] if @seg > 1;
    return @p;
}

sub _no_secrets_logged {
    my ($res, $name) = @_;
    my $log = $res->{mab_log} // '';
    my @leaks = grep { index($log, $_) >= 0 } map { _secret_parts($_) } @{ $res->{mab_secrets} };
    ok(!@leaks, "$name: token not in error_log") or diag "leaked: @leaks";
}

# The deliberately missing key set of /jwks-missing (t/jwks_source.t) is also fetched by the
# startup warm-up, in a fetcher thread, at a moment no test chooses: its 404 may land in any
# request's window and is not that request's error.
my $WARMUP_404 = qr{MAB00030: fetching key set http://127\.0\.0\.1:\d+/no-such-jwks\.json failed: HTTP status 404};

# [error] and worse in the lines of this request, except those matching $allow
sub _no_unexpected_errors {
    my ($res, $name, $allow) = @_;
    my @bad = grep { /\[[\w:]*:(?:error|crit|alert|emerg)\]/ && !($allow && $_ =~ $allow) && $_ !~ $WARMUP_404 }
        split /\n/, $res->{mab_log} // '';
    ok(!@bad, "$name: no unexpected [error] in error_log") or diag join "\n", @bad;
}

sub _www_auth {
    my $res = shift;
    my @h = $res->header('WWW-Authenticate');
    return @h;
}

sub _path_only { my $u = shift; $u =~ s/\?.*//s; $u }

# is_granted($res, $name, status => 200): the request passed; no denial logged
sub is_granted {
    my ($res, $name, %o) = @_;
    my $want = $o{status} // 200;
    is($res->code, $want, "$name: status $want")
        or diag $res->status_line . "\nWWW-Authenticate: "
            . join(' | ', _www_auth($res)) . "\n" . $res->{mab_log};
    my @denied = log_lines($res, qr/MAB00100: denied/);
    ok(!@denied, "$name: no denial logged") or diag join "\n", @denied;
    _no_secrets_logged($res, $name);
    _no_unexpected_errors($res, $name);
    return $res;
}

# is_denied($res, $name, status => 401, challenge => 'exact' | qr//, reason => 'text' | qr// | undef,
#           uri => '/path')
#   checks the status, the one WWW-Authenticate header (challenge => undef: must be absent or
#   carry no error), exactly one "MAB00100: denied <status> <uri>: <reason> (kid=…, alg=…, iss=…,
#   token=<8 hex of sha256(token)>)" line at info level, the token kept out of the log, and no
#   unexpected [error]. The module may add a detail after the reason ("<reason>: <detail> (kid=…").
sub is_denied {
    my ($res, $name, %o) = @_;
    my $status = $o{status};
    is($res->code, $status, "$name: status $status")
        or diag $res->status_line . "\n" . $res->{mab_log};

    my @wa = _www_auth($res);
    if (exists $o{challenge} && !defined $o{challenge}) {
        ok(!grep({ /error=/ } @wa), "$name: no error in WWW-Authenticate")
            or diag "WWW-Authenticate: @wa";
    }
    else {
        is(scalar @wa, 1, "$name: one WWW-Authenticate header") or diag "got: @wa";
        my $c = $o{challenge};
        if (ref $c eq 'Regexp') { like($wa[0] // '', $c, "$name: WWW-Authenticate") }
        else                    { is($wa[0], $c, "$name: WWW-Authenticate") }
    }

    my $uri = _path_only($o{uri} // $o{path} // $res->request->uri->path);
    my $reason = $o{reason};
    my $reason_re = !defined $reason ? qr/.+?/
                  : ref $reason eq 'Regexp' ? $reason : qr/\Q$reason\E/;
    my $token = $res->{mab_token};
    my $tail = qr/\s*$/;
    if (defined $token && length $token && $status != 400) {
        my $h8 = substr sha256_hex($token), 0, 8;
        $tail = qr/ \(kid=[^,]*, alg=[^,]*, iss=.*, token=\Q$h8\E\)\s*$/;
    }
    my @lines = log_lines($res, qr/MAB00100: denied/);
    my @match = grep { /\[auth_bearer:info\].*MAB00100: denied \Q$status\E \Q$uri\E: (?:$reason_re)(?:: .*?)?$tail/ }
        @lines;
    is(scalar @match, 1, "$name: one 'MAB00100: denied $status $uri: "
        . (defined $reason ? $reason : '<reason>') . " (…)' line at info")
        or diag "denial lines:\n" . join("\n", @lines) . "\nwhole log of the request:\n"
            . $res->{mab_log};
    is(scalar @lines, 1, "$name: exactly one denial line") or diag join "\n", @lines;

    _no_secrets_logged($res, $name);
    # mod_authz_core logs every 403 it answers at [authz_core:error] (AH01630); that is httpd's own
    _no_unexpected_errors($res, $name,
        $status == 403 ? qr/\[authz_core:error\].*AH01630: client denied by server configuration/
                       : undef);
    return $res;
}

# is_config_error($res, $name, $directive): 500 and "MAB…: <directive> is not configured for <uri>"
sub is_config_error {
    my ($res, $name, $directive) = @_;
    is($res->code, 500, "$name: status 500") or diag $res->status_line . "\n" . $res->{mab_log};
    my $uri = _path_only($res->request->uri->path);
    my @l = log_lines($res, qr/MAB\d+: \Q$directive\E is not configured for \Q$uri\E/);
    ok(scalar @l, "$name: error_log names $directive") or diag $res->{mab_log};
    _no_secrets_logged($res, $name);
    _no_unexpected_errors($res, $name, qr/MAB\d+: \Q$directive\E is not configured/);
}

# env_of($res): the CGI environment env.cgi printed; values decoded from UTF-8 when they are UTF-8
sub env_of {
    my $res = shift;
    my $env = eval { JSON::PP->new->decode($res->content) } or return {};
    for my $v (values %$env) {
        my $copy = $v;
        utf8::downgrade($copy, 1) or next;    # code points are bytes
        $v = $copy if utf8::decode($copy);
    }
    return $env;
}

1;
