package MAB::DPoP;
# Helpers for the DPoP tests (t/dpop*.t, issue 14). Tokens come from the real authorization
# server (MAB::OIDCProvider, npm oidc-provider with features.dPoP) or, for proof key types it
# does not bind (RSA), from MAB::Test::mint; proofs are made by Perl's Crypt::JWT
# (MAB::OIDCProvider::dpop_proof), never by the module under test.
#
#   my $as  = MAB::DPoP::provider();          # oidc-provider, DPoP on, clients "app" and "rs",
#                                             # RESOURCE (JWT access tokens), OPAQUE (opaque)
#   my $key = MAB::DPoP::new_key('ec');       # 'ec' (P-256), 'rsa' (2048), 'ed' (Ed25519)
#   my $tok = MAB::DPoP::token($as, $key);    # a JWT access token with cnf.jkt of $key
#   MAB::DPoP::jkt($key);                     # RFC 7638 thumbprint, computed here
#   my $h = MAB::DPoP::server($as, name => 'x', mpm => 'event', paths => [...],
#                             conf => sub { my $h = shift; "<Location …>…" });   # not started
#   my $r = MAB::DPoP::request($h, path => '/on/ok.txt', token => $tok, proof => $p,
#                              scheme => 'DPoP', method => 'GET', host => '…', port => …,
#                              auth => 'raw Authorization' | [two fields], headers => [k => v],
#                              log => $other_httpd);
#   #   the exact request-target is sent on a raw socket (dot segments, %-escapes, a Host of
#   #   our choosing, a header field twice); ->{mab_log} is what the request added to the
#   #   error_log of `log` (default $h)
#   MAB::DPoP::challenges($r);                # [{ scheme, params => {…}, text }, …]
#   MAB::DPoP::challenge($r, 'DPoP');         # that scheme's challenge or undef
#   MAB::DPoP::granted($r, $name);            # 200, no denial line, nothing secret logged
#   MAB::DPoP::denied($r, $name, status => 401, scheme => 'DPoP', error => 'invalid_dpop_proof',
#                     desc => 'text' | qr//, reason => 'text' | qr//, realm => '…', allow => qr//);
use strict;
use warnings;
use Exporter 'import';
use Test::More;
use IO::Socket::IP;
use IO::Select;
use HTTP::Response;
use HTTP::Request;
use Time::HiRes ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64url decode_base64url);
use Digest::SHA qw(sha256 sha256_hex);
use Crypt::PK::ECC;
use Crypt::PK::RSA;
use Crypt::PK::Ed25519;
use MAB::Httpd;
use MAB::OIDCProvider;

our @EXPORT_OK = qw(new_key jkt token proof request challenges challenge granted denied
                    RESOURCE OPAQUE jwt_payload);

use constant RESOURCE => 'https://dpop-api.test/';
use constant OPAQUE   => 'https://dpop-opaque.test/';

my $JSON = JSON::PP->new->canonical->utf8;

sub new_key {
    my $type = shift // 'ec';
    if ($type eq 'ec') { my $k = Crypt::PK::ECC->new; $k->generate_key('secp256r1'); return $k }
    if ($type eq 'rsa') { my $k = Crypt::PK::RSA->new; $k->generate_key(256, 65537); return $k }
    if ($type eq 'ed') { my $k = Crypt::PK::Ed25519->new; $k->generate_key; return $k }
    die "new_key: unknown type $type\n";
}

# RFC 7638 §3: the required members in lexicographic order, no white space, SHA-256, base64url
sub jkt {
    my $jwk = shift->export_key_jwk('public', 1);
    my $m = { RSA => [qw(e kty n)], EC => [qw(crv kty x y)], OKP => [qw(crv kty x)] }->{ $jwk->{kty} }
        // die "jkt: kty $jwk->{kty}\n";
    my $text = '{' . join(',', map { qq{"$_":"$jwk->{$_}"} } @$m) . '}';
    return encode_base64url(sha256($text));
}

sub jwt_payload {
    my (undef, $p) = split /\./, shift;
    return $JSON->decode(decode_base64url($p));
}

# oidc-provider with DPoP: client "app" (client_secret_basic), RESOURCE issuing ES256-signed
# JWT access tokens and OPAQUE opaque ones, both with scopes read and write; client "rs" only
# introspects (its secret: $as->secret_file('rs'))
sub provider {
    my %o = @_;
    return MAB::OIDCProvider->new(
        clients   => [ { client_id => 'app', auth => 'client_secret_basic' },
                       { client_id => 'rs', auth => 'client_secret_basic', grant => 0 } ],
        resources => { RESOURCE() => { scope => 'read write', format => 'jwt', alg => 'ES256' },
                       OPAQUE()   => { scope => 'read write' } },
        dpop      => 1, %o);
}

# a DPoP-bound access token for $key (ES256 and EdDSA are what oidc-provider accepts at its
# token endpoint), or a plain one when $key is undef; resource => OPAQUE for an opaque one
sub token {
    my ($as, $key, %o) = @_;
    return $as->token(client_id => 'app', scope => $o{scope} // 'read',
                      resource => $o{resource} // RESOURCE, $key ? (dpop => $key) : ());
}

sub proof { MAB::OIDCProvider::dpop_proof(@_) }

# The section every DPoP test's locations name: the authorization server's issuer with its
# key set and audience.
sub issuer_conf {
    my $as = shift;
    my $iss = $as->issuer;
    my $jwks = $as->jwks_uri;
    my $aud = RESOURCE;
    return <<"C";
<AuthBearerIssuer $iss>
    AuthBearerJWKS $jwks
    AuthBearerAudience $aud
</AuthBearerIssuer>
C
}

# server($as, name =>, mpm =>, paths => [...], conf => text | sub { $h } -> text,
#        server_name => 'host' (default 127.0.0.1; the port is always added), before => '…')
# A MAB::Httpd with the socache providers loaded and the issuer's section; not started.
sub server {
    my ($as, %o) = @_;
    my $h = MAB::Httpd->new(paths => $o{paths}, mpm => $o{mpm}, name => $o{name},
                            before => $o{before});
    my $mods = MAB::Httpd::_modules_dir();
    my $conf = ref $o{conf} eq 'CODE' ? $o{conf}->($h) : $o{conf} // '';
    my $name = ($o{server_name} // '127.0.0.1') . ':' . $h->port;
    open my $fh, '>>', $h->dir . '/httpd.conf' or die;
    # ServerName with its port: the origin htu is compared with (UseCanonicalName On's)
    print $fh "ServerName $name\n"
        . "LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so\n"
        . "LoadModule socache_memcache_module $mods/mod_socache_memcache.so\n"
        . "LoadModule socache_redis_module $mods/mod_socache_redis.so\n"
        . "AuthBearerFetchTimeout 3\n"
        . issuer_conf($as) . $conf;
    close $fh;
    $h->{server_name} = $name;
    return $h;
}

# the origin a test's proofs name by default
sub origin { 'http://' . ($_[0]{server_name} // '127.0.0.1:' . $_[0]->port) }

sub _log_file { $_[0]->dir . '/logs/error_log' }
sub _log_size { my $f = _log_file($_[0]); -e $f ? -s $f : 0 }
sub _log_from {
    my ($h, $off) = @_;
    open my $fh, '<:raw', _log_file($h) or return '';
    seek $fh, $off, 0;
    local $/;
    return scalar(<$fh>) // '';
}

sub _read_all {
    my $s = shift;
    my $sel = IO::Select->new($s);
    my $buf = '';
    while ($sel->can_read(30)) {
        my $n = sysread $s, $buf, 65536, length $buf;
        last unless $n;
    }
    return $buf;
}

sub _parse_response {
    my ($text) = @_;
    my ($head, $body) = split /\r\n\r\n/, $text, 2;
    die "no response\n" unless defined $head && length $head;
    my ($status, @lines) = split /\r\n/, $head;
    my ($proto, $code, $msg) = $status =~ m{^(HTTP/\d\.\d) (\d{3}) ?(.*)$}
        or die "bad status line: $status\n";
    my $res = HTTP::Response->new($code, $msg);
    $res->protocol($proto);
    for (@lines) {
        my ($k, $v) = /^([^:]+):[ \t]*(.*?)[ \t]*$/ or next;
        $res->headers->push_header($k, $v);
    }
    $body //= '';
    if (lc($res->header('Transfer-Encoding') // '') eq 'chunked') {
        my $out = '';
        while ($body =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr $body, 0, $n, '';
            $body =~ s/^\r\n//;
        }
        $body = $out;
    }
    $res->content($body);
    return $res;
}

# request($h, …): see the synopsis
sub request {
    my ($h, %o) = @_;
    my $port = $o{port} // $h->port;
    my $logh = $o{log} // $h;
    my $method = $o{method} // 'GET';
    my $target = $o{path} // die "request: path\n";
    my @hdr = (Host => $o{host} // ($h->{server_name} && !$o{port} ? $h->{server_name} : "127.0.0.1:$port"));
    push @hdr, Authorization => ($o{scheme} // 'DPoP') . " $o{token}" if defined $o{token} && !defined $o{auth};
    push @hdr, map { (Authorization => $_) } ref $o{auth} ? @{ $o{auth} } : ($o{auth}) if defined $o{auth};
    push @hdr, map { (DPoP => $_) } ref $o{proof} ? @{ $o{proof} } : ($o{proof}) if defined $o{proof};
    push @hdr, @{ $o{headers} // [] };
    push @hdr, Connection => 'close';
    my $req = "$method $target HTTP/1.1\r\n";
    for (my $i = 0; $i < @hdr; $i += 2) { $req .= "$hdr[$i]: $hdr[$i + 1]\r\n" }
    $req .= "\r\n";

    my $before = _log_size($logh);
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port, Timeout => 10)
        or die "connect 127.0.0.1:$port: $@\n";
    print {$s} $req or die "write: $!\n";
    my $res = _parse_response(_read_all($s));
    close $s;
    $res->request(HTTP::Request->new($method, "http://127.0.0.1:$port$target"));
    # the log line is written before the response is sent; give a slow disk a moment anyway
    my $log = _log_from($logh, $before);
    for (1 .. 40) {
        last if $res->code == 200 || $log =~ /MAB00100:/;
        Time::HiRes::sleep(0.05);
        $log = _log_from($logh, $before);
    }
    $res->{mab_log} = $log;
    $res->{mab_target} = $target;
    $res->{mab_token} = $o{token};
    $res->{mab_secrets} = [ grep { defined && length } $o{token},
                            ref $o{proof} ? @{ $o{proof} } : $o{proof} ];
    return $res;
}

# --- WWW-Authenticate (RFC 9110 §11.6.1): every field, every challenge ------------------------------
my $TOKEN = qr/[!#\$%&'*+.^_`|~0-9A-Za-z-]+/;
my $VALUE = qr/(?:$TOKEN|"(?:[^"\\]|\\.)*")/;

sub _unquote { my $v = shift; return $v unless $v =~ s/^"(.*)"$/$1/s; $v =~ s/\\(.)/$1/g; $v }

sub challenges {
    my $res = shift;
    my @c;
    for my $field ($res->header('WWW-Authenticate')) {
        # split at commas outside quoted strings
        my @el = grep { /\S/ } $field =~ /((?:[^,"]|"(?:[^"\\]|\\.)*")+)/g;
        for my $e (@el) {
            $e =~ s/^\s+|\s+$//g;
            if ($e =~ /^($TOKEN)\s*=\s*($VALUE)$/ && @c) {
                $c[-1]{params}{ lc $1 } = _unquote($2);
            }
            elsif ($e =~ /^($TOKEN)\s+($TOKEN)\s*=\s*($VALUE)$/) {
                push @c, { scheme => $1, params => { lc $2 => _unquote($3) } };
            }
            elsif ($e =~ /^($TOKEN)(?:\s+(\S+))?$/) {
                push @c, { scheme => $1, params => {}, token68 => $2 };
            }
            else {
                push @c, { scheme => '?', params => {}, bad => $e };
            }
            $c[-1]{text} = defined $c[-1]{text} ? "$c[-1]{text}, $e" : $e;
        }
    }
    return @c;
}

sub challenge {
    my ($res, $scheme) = @_;
    my @m = grep { lc $_->{scheme} eq lc $scheme } challenges($res);
    return $m[0];
}

sub _www { join ' | ', $_[0]->header('WWW-Authenticate') }

sub _diag_res {
    my $res = shift;
    return $res->status_line . "\nWWW-Authenticate: " . _www($res) . "\nDPoP-Nonce: "
        . ($res->header('DPoP-Nonce') // '-') . "\n" . ($res->{mab_log} // '');
}

sub _secret_parts {
    my $t = shift;
    my @p = ($t);
    my @seg = split /\./, $t, -1;
    push @p, grep { length($_) >= 16 } @seg[1 .. $#seg] if @seg > 1;
    return @p;
}

sub _no_secrets {
    my ($res, $name) = @_;
    my $log = $res->{mab_log} // '';
    my @leaks = grep { index($log, $_) >= 0 } map { _secret_parts($_) } @{ $res->{mab_secrets} };
    ok(!@leaks, "$name: neither token nor proof in the error_log") or diag "leaked: @leaks";
}

sub _no_errors {
    my ($res, $name, $allow) = @_;
    my @bad = grep { /\[[\w:]*:(?:error|crit|alert|emerg)\]/ && !($allow && $_ =~ $allow) }
        split /\n/, $res->{mab_log} // '';
    ok(!@bad, "$name: no unexpected [error] in the error_log") or diag join "\n", @bad;
}

sub denial_lines { grep { /MAB00100: denied/ } split /\n/, $_[0]{mab_log} // '' }

# granted($res, $name, status => 200)
sub granted {
    my ($res, $name, %o) = @_;
    my $want = $o{status} // 200;
    is($res->code, $want, "$name: $want") or diag _diag_res($res);
    my @d = denial_lines($res);
    ok(!@d, "$name: no denial logged") or diag join "\n", @d;
    _no_secrets($res, $name);
    _no_errors($res, $name, $o{allow});
    return $res;
}

sub _match {
    my ($got, $want) = @_;
    return defined $got && (ref $want eq 'Regexp' ? $got =~ $want : $got eq $want);
}

# denied($res, $name, status => 401, scheme => 'DPoP' | 'Bearer' (the challenge with the error),
#        error => 'invalid_dpop_proof' (undef: no challenge carries an error), desc => …,
#        scope => …, reason => the MAB00100 reason ('text' is a prefix, qr// matched),
#        uri => the logged r->uri (default: the target's path), realm => every challenge's,
#        fp => 0 (no token fingerprint expected in the line), allow => qr// ([error] lines))
sub denied {
    my ($res, $name, %o) = @_;
    my $status = $o{status} // 401;
    is($res->code, $status, "$name: $status") or diag _diag_res($res);
    my @ch = challenges($res);
    if (defined $o{error}) {
        my $scheme = $o{scheme} // 'DPoP';
        my $c = challenge($res, $scheme);
        ok($c, "$name: a $scheme challenge") or diag 'WWW-Authenticate: ' . _www($res);
        is($c && $c->{params}{error}, $o{error}, "$name: error=\"$o{error}\" in the $scheme challenge")
            or diag 'WWW-Authenticate: ' . _www($res);
        if (exists $o{desc}) {
            ok(_match($c && $c->{params}{error_description}, $o{desc}),
               "$name: error_description " . (ref $o{desc} ? "like $o{desc}" : "\"$o{desc}\""))
                or diag 'WWW-Authenticate: ' . _www($res);
        }
        if (exists $o{scope}) {
            is($c && $c->{params}{scope}, $o{scope}, "$name: scope=\"$o{scope}\"");
        }
        my @other = grep { lc $_->{scheme} ne lc $scheme && exists $_->{params}{error} } @ch;
        ok(!@other, "$name: the error only on the $scheme challenge (the scheme used)")
            or diag 'WWW-Authenticate: ' . _www($res);
    }
    elsif (exists $o{error}) {
        ok(!grep({ exists $_->{params}{error} } @ch), "$name: no error in any challenge")
            or diag 'WWW-Authenticate: ' . _www($res);
    }
    if (defined $o{realm}) {
        my @bad = grep { ($_->{params}{realm} // '') ne $o{realm} } @ch;
        ok(@ch && !@bad, "$name: every challenge has realm=\"$o{realm}\"")
            or diag 'WWW-Authenticate: ' . _www($res);
    }
    if (!$o{no_log}) {
        (my $uri = $o{uri} // $res->{mab_target}) =~ s/\?.*//s;
        my $reason = !defined $o{reason} ? qr/.+?/
                   : ref $o{reason} eq 'Regexp' ? $o{reason} : qr/\Q$o{reason}\E/;
        my $fp = $o{fp} // (defined $res->{mab_token} && $status != 400 && defined $o{error});
        my $tail = $fp ? qr/.* token=\Q${\ substr sha256_hex($res->{mab_token}), 0, 8}\E\)\s*$/ : qr/.*$/;
        my @lines = denial_lines($res);
        my @m = grep { /\[auth_bearer:info\].*MAB00100: denied \Q$status\E \Q$uri\E: (?:$reason)$tail/ } @lines;
        is(scalar @m, 1, "$name: one 'MAB00100: denied $status $uri: "
            . ($o{reason} // '<reason>') . "' line") or diag "denial lines:\n" . join("\n", @lines)
            . "\nthe request's log:\n" . ($res->{mab_log} // '');
        is(scalar @lines, 1, "$name: exactly one denial line") or diag join "\n", @lines;
    }
    _no_secrets($res, $name);
    my $allow = $o{allow};
    $allow //= qr/\[authz_core:error\].*AH01630/ if $status == 403;
    _no_errors($res, $name, $allow);
    return $res;
}

1;
