#!/usr/bin/perl
# The demo issuer's OAuth 2.0 client-credentials token endpoint (POST /oauth/token), shaped like
# Auth0's: https://<tenant>/oauth/token with grant_type, client_id, client_secret, audience.
#
# Tokens are signed with Crypt::JWT (CryptX), an implementation independent of mod_auth_bearer.
# Configuration comes from the environment (SetEnv in build/demo/conf/httpd.conf):
#   DEMO_ISSUER, DEMO_KEY (RSA private key PEM), DEMO_KID, DEMO_CLIENTS (JSON), DEMO_AUDIENCE.
# DEMO_CLIENTS: { "<client_id>": { "secret": "...", "scopes": ["read:messages", ...] }, ... }
#
# Accepts application/x-www-form-urlencoded or application/json bodies; the client may also
# authenticate with HTTP Basic (client_secret_basic) instead of client_id/client_secret fields.
use strict;
use warnings;
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::RSA;
use JSON::PP;
use MIME::Base64 qw(decode_base64);

use constant MAX_BODY  => 64 * 1024;
use constant LIFETIME  => 86400;

my $JSON = JSON::PP->new->canonical;

sub respond {
    my ($status, $body) = @_;
    print "Status: $status\r\n",
          "Content-Type: application/json\r\n",
          "Cache-Control: no-store\r\n",
          "Pragma: no-cache\r\n\r\n",
          $JSON->encode($body), "\n";
    exit 0;
}

sub oauth_error {
    my ($status, $error, $description) = @_;
    respond($status, { error => $error, error_description => $description });
}

sub url_decode {
    my ($s) = @_;
    $s =~ tr/+/ /;
    $s =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge;
    return $s;
}

# constant-time string comparison (secrets)
sub same_secret {
    my ($x, $y) = @_;
    return 0 unless defined $x && defined $y && length($x) == length($y);
    my $diff = 0;
    $diff |= ord(substr($x, $_, 1)) ^ ord(substr($y, $_, 1)) for 0 .. length($x) - 1;
    return $diff == 0;
}

for my $var (qw(DEMO_ISSUER DEMO_KEY DEMO_KID DEMO_CLIENTS DEMO_AUDIENCE)) {
    oauth_error('500 Internal Server Error', 'server_error', "$var is not set")
        unless defined $ENV{$var} && length $ENV{$var};
}

my $method = $ENV{REQUEST_METHOD} // '';
if ($method ne 'POST') {
    print "Status: 405 Method Not Allowed\r\nAllow: POST\r\nContent-Type: application/json\r\n\r\n",
          $JSON->encode({ error => 'invalid_request', error_description => 'use POST' }), "\n";
    exit 0;
}

# ---- read the request ---------------------------------------------------------------------------
my $length = $ENV{CONTENT_LENGTH} // 0;
oauth_error('413 Payload Too Large', 'invalid_request', 'request body too large')
    if $length !~ /^\d+$/ || $length > MAX_BODY;
my $body = '';
while (length($body) < $length) {
    my $n = read(STDIN, $body, $length - length($body), length($body));
    last unless $n;
}

my %p;
my $ctype = lc($ENV{CONTENT_TYPE} // '');
if ($ctype =~ m{^application/json\b}) {
    my $doc = eval { $JSON->decode($body) };
    oauth_error('400 Bad Request', 'invalid_request', 'request body is not valid JSON')
        unless ref $doc eq 'HASH';
    for my $k (keys %$doc) {
        $p{$k} = $doc->{$k} if defined $doc->{$k} && !ref $doc->{$k};
    }
} elsif ($ctype eq '' || $ctype =~ m{^application/x-www-form-urlencoded\b}) {
    for my $pair (split /&/, $body) {
        next unless length $pair;
        my ($k, $v) = split /=/, $pair, 2;
        $p{ url_decode($k) } = url_decode($v // '');
    }
} else {
    oauth_error('400 Bad Request', 'invalid_request',
                'Content-Type must be application/x-www-form-urlencoded or application/json');
}

# client_secret_basic (RFC 6749 2.3.1)
if (($ENV{HTTP_AUTHORIZATION} // '') =~ /^Basic\s+([A-Za-z0-9+\/=]+)\s*$/i) {
    my ($id, $secret) = split /:/, decode_base64($1), 2;
    $p{client_id}     //= url_decode($id // '');
    $p{client_secret} //= url_decode($secret // '');
}

# ---- validate -----------------------------------------------------------------------------------
my $grant = $p{grant_type};
oauth_error('400 Bad Request', 'invalid_request', 'Missing required parameter: grant_type')
    unless defined $grant && length $grant;
oauth_error('400 Bad Request', 'unsupported_grant_type',
            "Unsupported grant type: $grant (this demo issuer only supports client_credentials)")
    unless $grant eq 'client_credentials';

my $clients = do {
    open my $fh, '<', $ENV{DEMO_CLIENTS}
        or oauth_error('500 Internal Server Error', 'server_error', 'cannot read the client list');
    local $/;
    $JSON->decode(scalar <$fh>);
};
my $client_id = $p{client_id} // '';
my $client    = length $client_id ? $clients->{$client_id} : undef;
# unknown client and wrong secret look the same to the caller
oauth_error('401 Unauthorized', 'invalid_client', 'Unauthorized')
    unless $client && same_secret($p{client_secret}, $client->{secret});

my $audience = $p{audience};
oauth_error('403 Forbidden', 'access_denied',
            'Missing required parameter: audience (this demo issuer has no default audience)')
    unless defined $audience && length $audience;
oauth_error('403 Forbidden', 'access_denied', qq(Service not found: $audience))
    unless $audience eq $ENV{DEMO_AUDIENCE};

# scopes: everything granted to the client, or the requested subset of it
my @granted = @{ $client->{scopes} // [] };
my @scopes  = @granted;
if (defined $p{scope} && length $p{scope}) {
    my %ok = map { $_ => 1 } @granted;
    my @asked = split ' ', $p{scope};
    my @not = grep { !$ok{$_} } @asked;
    oauth_error('403 Forbidden', 'access_denied',
                "Client has not been granted scopes: @not") if @not;
    @scopes = @asked;
}

# ---- issue --------------------------------------------------------------------------------------
my $now = time;
my %claims = (
    iss => $ENV{DEMO_ISSUER},
    sub => "$client_id\@clients",
    aud => $audience,
    iat => $now,
    exp => $now + LIFETIME,
    azp => $client_id,
    gty => 'client-credentials',
);
$claims{scope} = join(' ', @scopes) if @scopes;    # Auth0 leaves it out when nothing is granted

my $key = eval { Crypt::PK::RSA->new($ENV{DEMO_KEY}) }
    or oauth_error('500 Internal Server Error', 'server_error', 'cannot read the signing key');
my $token = encode_jwt(
    payload       => \%claims,
    key           => $key,
    alg           => 'RS256',
    extra_headers => { kid => $ENV{DEMO_KID}, typ => 'JWT' },
);

my %response = (access_token => $token, token_type => 'Bearer', expires_in => LIFETIME);
$response{scope} = join(' ', @scopes) if @scopes;
respond('200 OK', \%response);
