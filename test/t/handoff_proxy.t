# The reverse-proxy example of the README: what a proxied application receives.
# The backend (a second vhost, conf/handoff.conf.in) runs env.cgi and echoes every request
# header it received back as a response header, so each check sees what crossed the proxy.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use MIME::Base64 qw(decode_base64url);
use Encode qw(decode encode);
use MAB::Test;

# what the backend received: header name (lower-case) => value, from the echoed response headers
sub backend_saw {
    my $res = shift;
    my %h;
    $res->headers->scan(sub { (my $n = lc $_[0]) =~ s/^://; $h{$n} = $_[1] });
    return \%h;
}

my %spoof = (
    'X-Auth-Subject'     => 'spoofed-subject',
    'X-Auth-Email'       => 'mallory@evil.test',
    # HTTP::Headers turns '_' into '-' unless the name starts with ':'
    ':X_Auth_Subject'    => 'spoofed-underscore',
    'x-auth-roles'       => 'admin',
    'X-Auth-Payload'     => 'eyJzdWIiOiJtYWxsb3J5In0',
    'X-Auth-Realm-Roles' => '["admin"]',
    'X-Auth-Org'         => 'evil',
);

sub no_spoof_reached {
    my ($res, $name) = @_;
    my $saw = backend_saw($res);
    for my $h (sort keys %spoof) {
        (my $n = lc $h) =~ s/^://;
        my $v = $saw->{$n};
        ok(!defined $v || $v ne $spoof{$h}, "$name: spoofed $h did not reach the backend")
            or diag "backend saw $h: $v";
    }
    my $env = env_of($res);
    ok(!grep({ /^HTTP_X_AUTH_/ && ($env->{$_} // '') =~ /spoof|mallory|evil/ } keys %$env),
        "$name: no spoofed value in the backend's CGI environment");
}

my $t = now();
my $claims = {
    sub   => 'auth0|alice',
    email => 'alice@example.com',
    scope => 'read:messages',
    'https://example.com/roles' => [ 'editor', 'user' ],
    realm_access => { roles => [ 'admin', 'ops' ] },
    org   => { name => 'Zoë & Co 東京', id => 7 },
};
my $tok = mint(claims => $claims);

# --- success: configured claim headers present and correct, spoofed copies gone -----------------
my $r = is_granted(req('/app/orders', token => $tok, headers => \%spoof), 'proxy: valid token');
my $saw = backend_saw($r);
is($saw->{'x-auth-subject'}, 'auth0|alice', 'X-Auth-Subject is sub');
is($saw->{'x-auth-email'}, 'alice@example.com', 'X-Auth-Email is email');
is($saw->{'x-auth-roles'}, '["editor","user"]', 'X-Auth-Roles: URL-named array claim, compact JSON');
is($saw->{'x-auth-realm-roles'}, '["admin","ops"]', 'X-Auth-Realm-Roles: JSON Pointer into an object');
is(decode('UTF-8', $saw->{'x-auth-org'} // ''), 'Zoë & Co 東京', 'X-Auth-Org: nested unicode string, UTF-8');
ok(!exists $saw->{'x_auth_subject'}, 'X_Auth_Subject (underscore variant) removed');
ok(scalar log_lines($r, qr/MAB00300: removed client-sent request header X_Auth_Subject /),
    'X_Auth_Subject: removal logged under its own name');
is($saw->{authorization}, "Bearer $tok", 'Authorization passed on (AuthBearerPassToken default On)');
my $payload = eval { JSON::PP->new->utf8->decode(decode_base64url($saw->{'x-auth-payload'} // '')) };
is_deeply($payload, { %$claims, iss => ISS, aud => AUD, iat => $payload->{iat}, exp => $payload->{exp} },
    'X-Auth-Payload: base64url of the verified payload');
like($saw->{'x-auth-payload'} // '', qr/^[A-Za-z0-9_-]+$/, 'X-Auth-Payload: base64url alphabet, no padding');
no_spoof_reached($r, 'proxy: valid token');
my $env = env_of($r);
is($env->{HTTP_X_AUTH_SUBJECT}, 'auth0|alice', 'backend CGI: HTTP_X_AUTH_SUBJECT');
is($env->{REQUEST_URI}, '/mab-backend/app/orders', 'backend CGI: proxied path');
my @removed = log_lines($r, qr/MAB00300: removed client-sent request header/);
is(scalar @removed, 7, 'each removal is logged (names only)') or diag $r->{mab_log};
ok(!grep({ /spoofed|mallory/ } @removed), 'the spoofed values are not logged');

# a claim that is absent: its header is not sent at all (and the client's copy is still gone)
$r = is_granted(req('/app/x', token => mint(claims => { scope => 'read:messages' }), headers => \%spoof),
    'proxy: token without email/roles');
$saw = backend_saw($r);
ok(!exists $saw->{'x-auth-email'}, 'absent claim: no X-Auth-Email');
ok(!exists $saw->{'x-auth-realm-roles'}, 'absent nested claim: no X-Auth-Realm-Roles');
no_spoof_reached($r, 'proxy: token without optional claims');

# a claim with a line break is not forwarded (it would split the request)
$r = is_granted(req('/app/x', token => mint(claims => { scope => 'read:messages', email => "a\r\nX-Evil: 1" })),
    'proxy: claim with CR LF');
$saw = backend_saw($r);
ok(!exists $saw->{'x-auth-email'}, 'claim with CR LF: header not sent');
ok(!exists $saw->{'x-evil'}, 'claim with CR LF: no injected header');
ok(scalar log_lines($r, qr/MAB00301: claim email holds control characters/), 'claim with CR LF: logged');

# white space or a comma at either end: backends trim or split such values, so the backend would
# see another identity than REMOTE_USER (issue 12, item 12): withheld and logged
for my $v (' evil', "evil\t", ',evil', 'evil,', ' ') {
    $r = is_granted(req('/app/x', token => mint(claims => { scope => 'read:messages', email => $v })),
        "proxy: claim '$v'");
    ok(!exists backend_saw($r)->{'x-auth-email'}, "claim '$v': header not sent");
    ok(scalar log_lines($r, qr/MAB00301: claim email starts or ends with white space or a comma/),
        "claim '$v': logged");
}
$r = is_granted(req('/app/x', token => mint(claims => { scope => 'read:messages', email => 'a, b c' })),
    'proxy: claim with an inner comma and space');
is(backend_saw($r)->{'x-auth-email'}, 'a, b c', 'inner comma and space: sent as it is');

# --- 401 / 403: the backend is never reached; spoofed headers do not even reach the access phase --
is_denied(req('/app/x', headers => \%spoof), 'proxy: no token', status => 401,
    challenge => challenge_401());
is_denied(req('/app/x', token => mint(claims => { scope => 'read:messages', aud => 'x' }), headers => \%spoof),
    'proxy: bad token', status => 401, reason => 'audience mismatch',
    challenge => challenge_invalid_token('audience mismatch'));
$r = is_denied(req('/app/x', token => mint(claims => { scope => 'write:messages' }), headers => \%spoof),
    'proxy: insufficient scope', status => 403, challenge => challenge_scope('read:messages'));
ok(!backend_saw($r)->{'x-auth-subject'}, '403: no backend response');
is_denied(req('/app/admin/x', token => mint(claims => { scope => 'read:messages', realm_access => { roles => ['ops'] } }),
    headers => \%spoof), 'proxy admin: claim not met', status => 403, challenge => undef);
is_granted(req('/app/admin/x', token => $tok), 'proxy admin: /realm_access/roles contains admin');

# --- unprotected path under the same configuration ------------------------------------------------
$r = is_granted(req('/app/public/info', headers => \%spoof), 'proxy public: no token');
no_spoof_reached($r, 'proxy public: no token');
$saw = backend_saw($r);
ok(!exists $saw->{'x-auth-subject'}, 'proxy public: no identity header without authentication');
is(env_of($r)->{REQUEST_URI}, '/mab-backend/app/public/info', 'proxy public: reached the backend');
$r = is_granted(req('/app/public/info', token => $tok, headers => \%spoof), 'proxy public: with a token');
no_spoof_reached($r, 'proxy public: with a token');

# --- an internal redirect (ErrorDocument) into the application: scrubbed there too -----------------
$r = req('/elsewhere/nothing-here', headers => \%spoof);
# (the status is the backend's: httpd lets a proxied error document's own status through)
is(env_of($r)->{REQUEST_URI}, '/mab-backend/app/public/notfound', 'internal redirect: served by the backend')
    or diag $r->content;
no_spoof_reached($r, 'internal redirect');

# --- a subrequest (SSI include virtual) into the application: scrubbed there too ------------------
$r = req('/ssi/include.shtml', headers => \%spoof);
is($r->code, 200, 'subrequest: the SSI page');
my ($json) = $r->content =~ /(\{.*\})/s;
my $sub_env = eval { JSON::PP->new->decode($json // '') } || {};
is($sub_env->{REQUEST_URI}, '/mab-backend/app/public/included', 'subrequest: served by the backend')
    or diag $r->content;
ok(!grep({ /^HTTP_X_AUTH_/ } keys %$sub_env), 'subrequest: no X-Auth-* header reached the backend')
    or diag join ', ', grep { /^HTTP_X_AUTH_/ } keys %$sub_env;

# --- AuthBearerPassToken Off -------------------------------------------------------------------------
$r = is_granted(req('/app-notoken/x', token => $tok, headers => { 'X-Auth-Subject' => 'spoof' }),
    'PassToken Off: valid token');
$saw = backend_saw($r);
ok(!exists $saw->{authorization}, 'PassToken Off: no Authorization at the backend');
is($saw->{'x-auth-subject'}, 'auth0|alice', 'PassToken Off: identity header still set');
my @leak = grep { index($saw->{$_} // '', $tok) >= 0 } keys %$saw;
ok(!@leak, 'PassToken Off: the token is nowhere in what the backend saw') or diag "in: @leak";

done_testing();
