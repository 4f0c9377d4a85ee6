# AuthBearerClaimHeaderEncoding (issue 16, part 4): claim headers as raw UTF-8 (the default),
# base64url or ISO-8859-1, per section, as the proxied application (a CGI program behind a
# second vhost that echoes every header it got, conf/handoff.conf.in) receives them.
# latin1 never substitutes a character it cannot carry: that header is withheld (MAB00604).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(encode decode);
use MIME::Base64 qw(decode_base64url);
use MAB::Test;

# what the backend received: header name (lower-case) => value (the bytes, one per character)
sub backend_saw {
    my $res = shift;
    my %h;
    $res->headers->scan(sub { $h{ lc $_[0] } = $_[1] });
    return \%h;
}

sub u8 { encode('UTF-8', $_[0]) }
sub l1 { encode('ISO-8859-1', $_[0], Encode::FB_CROAK | Encode::LEAVE_SRC) }

my $name  = "Cem \x{d6}zdemir";              # Latin-1 can carry it
my $city  = "\x{6771}\x{4eac}";              # Tokyo: it cannot
my $email = "zo\x{eb}\@example.com";
my $tok = mint(claims => {
    name  => $name,
    city  => $city,
    tags  => [ "Zo\x{eb}", 'a' ],
    note  => ' padded',                      # blank at the start: trimmed by backends
    email => $email,
});
my $tags_json = "[\"Zo\x{eb}\",\"a\"]";
my %spoof = ('X-Auth-City' => 'spoofed-city', 'X-Auth-Note' => 'spoofed-note');

# --- raw (default): the UTF-8 bytes, as before the directive existed -----------------------------
my $r = is_granted(req('/enc/raw/x', token => $tok, headers => \%spoof), 'raw');
my $saw = backend_saw($r);
is($saw->{'x-auth-subject'}, 'auth0|alice', 'raw: ASCII claim');
is($saw->{'x-auth-name'}, u8($name), 'raw: UTF-8 bytes of a Latin-1 name');
is($saw->{'x-auth-city'}, u8($city), 'raw: UTF-8 bytes of CJK');
is($saw->{'x-auth-tags'}, u8($tags_json), 'raw: an array claim as compact JSON, UTF-8');
ok(!defined $saw->{'x-auth-note'}, 'raw: a value with a leading blank is withheld');
ok(log_lines($r, qr/MAB00301: claim note starts or ends with white space or a comma: request header X-Auth-Note is not sent/),
    'raw: ... and the log says why (MAB00301)');
is(env_of($r)->{HTTP_X_AUTH_NAME}, $name, 'raw: the CGI program decodes it as UTF-8');
my $payload = $saw->{'x-auth-payload'};
like(decode('UTF-8', decode_base64url($payload // '')), qr/"city":"\x{6771}\x{4eac}"/,
    'raw: the payload header is base64url JSON as always');

# --- base64url: every value, exactly, in the header alphabet -------------------------------------
$r = is_granted(req('/enc/b64/x', token => $tok, headers => \%spoof), 'base64url');
$saw = backend_saw($r);
like($saw->{"x-auth-$_"} // '', qr/^[A-Za-z0-9_-]+$/, "base64url: X-Auth-\u$_ is base64url")
    for qw(subject name city tags note);
is(decode_base64url($saw->{'x-auth-subject'} // ''), 'auth0|alice', 'base64url: ASCII claim');
is(decode('UTF-8', decode_base64url($saw->{'x-auth-name'} // '')), $name, 'base64url: name');
is(decode('UTF-8', decode_base64url($saw->{'x-auth-city'} // '')), $city, 'base64url: CJK');
is(decode('UTF-8', decode_base64url($saw->{'x-auth-tags'} // '')), $tags_json, 'base64url: array as JSON');
is(decode_base64url($saw->{'x-auth-note'} // ''), ' padded',
    'base64url: the leading blank travels safely, so the value is sent');
ok(!log_lines($r, qr/MAB00301|MAB00604/), 'base64url: nothing withheld');
is($saw->{'x-auth-payload'}, $payload, 'base64url: the payload header is unchanged');

$saw = backend_saw(is_granted(req('/enc/b64/inner/x', token => $tok), 'base64url, inner section'));
is(decode('UTF-8', decode_base64url($saw->{'x-auth-email'} // '')), $email,
    "base64url: an inner section's own header follows the inherited encoding");
is(decode('UTF-8', decode_base64url($saw->{'x-auth-name'} // '')), $name, 'base64url: inherited headers too');

$saw = backend_saw(is_granted(req('/enc/b64/back-to-raw/x', token => $tok), 'raw again, inner section'));
is($saw->{'x-auth-name'}, u8($name), 'an inner section sets its own encoding (raw again)');

# --- latin1: one byte per character; what it cannot carry is withheld, never replaced -------------
$r = is_granted(req('/enc/latin1/x', token => $tok, headers => \%spoof), 'latin1');
$saw = backend_saw($r);
is($saw->{'x-auth-subject'}, 'auth0|alice', 'latin1: ASCII claim unchanged');
is($saw->{'x-auth-name'}, l1($name), 'latin1: U+00D6 is the byte 0xD6');
is($saw->{'x-auth-tags'}, l1($tags_json), 'latin1: an array claim as compact JSON, in Latin-1');
ok(!defined $saw->{'x-auth-city'}, 'latin1: a CJK value is not sent (no "??")');
ok(log_lines($r, qr/MAB00604: claim city holds U\+6771, which Latin-1 cannot represent: request header X-Auth-City is not sent for \/enc\/latin1\/x \(AuthBearerClaimHeaderEncoding latin1; base64url carries any value\)/),
    'latin1: ... and the log names the claim, the character and the header (MAB00604)');
ok(!defined $saw->{'x-auth-note'}, 'latin1: a value with a leading blank is still withheld');
my $env = env_of($r);
is($env->{HTTP_X_AUTH_NAME}, l1($name), 'latin1: the CGI program gets the Latin-1 byte');
is(decode('ISO-8859-1', $env->{HTTP_X_AUTH_NAME} // ''), $name, 'latin1: ... which decodes as ISO-8859-1');
ok(!exists $env->{HTTP_X_AUTH_CITY}, 'latin1: no HTTP_X_AUTH_CITY, and never the client\'s spoofed one');
ok(!grep({ ($env->{$_} // '') =~ /spoofed/ } keys %$env), 'latin1: no spoofed value anywhere');

done_testing();
