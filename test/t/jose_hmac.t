# AuthBearerSharedSecret: HS256/384/512 keyed only with an admin-configured secret.
#  - file:<path> (ServerRoot-relative or absolute; one trailing newline dropped), at least 32 bytes
#    (48 for HS384, 64 for HS512); HS* allowed by default when a secret is configured
#  - never keyed with a public key (PEM/DER) or with an "oct" JWK of the key set
#  - a location with only a secret (no AuthBearerJWKS) is valid and refuses RS256 (no matching key)
#  - env:<NAME>: the test server's environment is fixed when Apache::Test starts it, so this file
#    starts a second, private httpd (same binary, same module) with the variable set, end to end
#  - a secret under 32 bytes is a startup error: checked with "httpd -t" on a generated config
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Cwd qw(realpath);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use LWP::UserAgent;
use Crypt::Mac::HMAC qw(hmac);
use Crypt::PK::RSA;
use Apache::Test ();
use MAB::Test;

sub deny {
    my $reason = shift;
    return (status => 401, reason => $reason, challenge => challenge_invalid_token($reason));
}
sub slurp { open my $fh, '<:raw', $_[0] or die "$_[0]: $!"; local $/; <$fh> }
sub secret { my $s = slurp(keyfile($_[0])); $s =~ s/\n\z// or die "$_[0] has no final newline"; $s }

my $S64 = secret('hmac64.secret');
my $S32 = secret('hmac32.secret');
is(length $S64, 64, 'hmac64.secret holds 64 bytes + "\n"');
is(length $S32, 32, 'hmac32.secret holds 32 bytes + "\n"');

sub claims {
    my $t = now();
    return { iss => ISS, aud => AUD, sub => 'auth0|alice', iat => $t, exp => $t + 300, @_ };
}
# hs(alg, key, header extras, claims): an HMAC JWS made with CryptX
sub hs {
    my ($alg, $key, $hdr, $claims) = @_;
    (my $sha = uc $alg) =~ s/^HS/SHA/;    # the MAC of "hs256" is HMAC-SHA256
    my $input = join '.', b64u(json({ alg => $alg, typ => 'JWT', %{ $hdr // {} } })),
        b64u(json($claims // claims()));
    return "$input." . b64u(hmac($sha, $key, $input));
}

my %sigfail = deny('signature verification failed');
my %alg     = deny('algorithm not allowed');
my %nokey   = deny('no matching key');
my $other   = unpack 'H*', join '', map { chr int rand 256 } 1 .. 32;    # 64 other bytes
my %pub = ('SPKI PEM' => slurp(keyfile('issuer.pub.pem')),
           'SPKI DER' => slurp(keyfile('issuer.pub.der')));

# --- /jose/hmac: 64-byte secret (file:keys/…, ServerRoot-relative) + the key set -------------------
my $H = '/jose/hmac/env';
for my $a (qw(HS256 HS384 HS512)) {
    my $res = is_granted(req($H, token => hs($a, $S64), secrets => [$S64]), "$a with the secret");
    is(env_of($res)->{REMOTE_USER}, 'auth0|alice', "$a: REMOTE_USER");
}
is_granted(req($H, token => hs('HS256', $S64, { kid => 'any-kid' }), secrets => [$S64]),
    'HS256 with the secret and a kid');
is_denied(req($H, token => hs('HS256', $other), secrets => [$S64]),
    'HS256 signed with another secret', %sigfail);
is_denied(req($H, token => hs('HS512', $other), secrets => [$S64]),
    'HS512 signed with another secret', %sigfail);
is_denied(req($H, token => hs('HS256', "$S64\n"), secrets => [$S64]),
    'HS256 signed with the secret plus its newline (the newline is not part of it)', %sigfail);
is_denied(req($H, token => hs('HS256', substr($S64, 0, 32)), secrets => [$S64]),
    'HS256 signed with the first 32 bytes of the secret', %sigfail);
for my $what (sort keys %pub) {
    is_denied(req($H, token => hs('HS256', $pub{$what}, { kid => 'test-rsa-1' }), secrets => [$S64]),
        "HS256 keyed with the RSA public key ($what) where a secret is set", %sigfail);
}
{
    my $tok = hs('HS256', $S64);
    my ($h, $p, $s) = split /\./, $tok;
    my $raw = MIME::Base64::decode_base64url($s);
    is_denied(req($H, token => "$h.$p." . b64u(substr($raw, 0, 31)), secrets => [$S64]),
        'HS256 MAC one byte short', %sigfail);
    is_denied(req($H, token => "$h.$p." . b64u(substr($raw, 0, 16)), secrets => [$S64]),
        'HS256 MAC truncated to 16 bytes', %sigfail);
    is_denied(req($H, token => "$h.$p.", secrets => [$S64]), 'HS256 with an empty MAC',
        deny('malformed token'));
    my (undef, undef, $s2) = split /\./, hs('HS256', $S64, undef, claims(sub => 'auth0|mallory'));
    is_denied(req($H, token => "$h.$p.$s2", secrets => [$S64]), 'HS256 MAC of another token',
        %sigfail);
}
is_denied(req($H, token => hs('HS256', $S64, undef, claims(exp => now() - 3600)), secrets => [$S64]),
    'HS256 with the secret, expired', deny('token expired'));
is_denied(req($H, token => hs('HS256', $S64, undef, claims(iss => 'https://evil.test/')),
              secrets => [$S64]),
    'HS256 with the secret, wrong issuer', deny('issuer mismatch'));
is_denied(req($H, token => mint_parts({ alg => 'none', typ => 'JWT' }, claims(), '')),
    'alg none where a secret is set', %alg);
is_denied(req($H, token => hs('hs256', $S64), secrets => [$S64]), 'alg hs256 (case)', %alg);
is_granted(req($H, token => mint()), 'RS256 still works next to the secret');
is_granted(req($H, token => mint(key => 'ec')), 'ES256 still works next to the secret');
is_denied(req($H, token => mint(key => 'other')), 'RS256 with an unknown kid next to the secret',
    %nokey);

# the same HMAC token where no secret is configured
is_denied(req('/protected/env', token => hs('HS256', $S64), secrets => [$S64]),
    'HS256 with the secret at a location without one', %alg);

# --- /jose/hmac32: 32-byte secret: HS256 only ---------------------------------------------------
my $H32 = '/jose/hmac32/env';
is_granted(req($H32, token => hs('HS256', $S32), secrets => [$S32]), 'HS256 with the 32-byte secret');
is_denied(req($H32, token => hs('HS256', "$S32\n"), secrets => [$S32]),
    'HS256 with the 32-byte secret plus its newline', %sigfail);
is_denied(req($H32, token => hs('HS384', $S32), secrets => [$S32]),
    'HS384 with a 32-byte secret', %alg);
is_denied(req($H32, token => hs('HS512', $S32), secrets => [$S32]),
    'HS512 with a 32-byte secret', %alg);
is_denied(req($H32, token => hs('HS256', $S64), secrets => [$S32]),
    'HS256 with the other location\'s secret', %sigfail);

# --- /jose/hmac-only: a secret, no key set (absolute file path) ---------------------------------
my $HO = '/jose/hmac-only/env';
is_granted(req($HO, token => hs('HS256', $S64), secrets => [$S64]), 'secret only: HS256');
is_granted(req($HO, token => hs('HS512', $S64), secrets => [$S64]), 'secret only: HS512');
is_denied(req($HO, token => mint()), 'secret only: RS256 token', %nokey);
is_denied(req($HO, token => mint(key => 'ec')), 'secret only: ES256 token', %nokey);
is_denied(req($HO, token => mint(key => 'ed')), 'secret only: EdDSA token', %nokey);
is_denied(req($HO, token => hs('HS256', $pub{'SPKI PEM'}), secrets => [$S64]),
    'secret only: HS256 keyed with the RSA public key', %sigfail);

# --- /jose/hmac-hs256: secret + AuthBearerAlgorithms HS256 ----------------------------------------
my $HA = '/jose/hmac-hs256/env';
is_granted(req($HA, token => hs('HS256', $S64), secrets => [$S64]), 'allow-list HS256: HS256');
is_denied(req($HA, token => hs('HS512', $S64), secrets => [$S64]), 'allow-list HS256: HS512', %alg);
is_denied(req($HA, token => mint()), 'allow-list HS256: RS256', %alg);

# --- /jose/hmac-mixed: secret + a key set publishing an oct key -----------------------------------
my $HM = '/jose/hmac-mixed/env';
my $oct = slurp(keyfile('oct.key'));
$oct =~ s/\n\z//;
is_denied(req($HM, token => hs('HS256', $oct, { kid => 'test-oct-1' }), secrets => [$S64, $oct]),
    'HS256 keyed with the oct JWK of the key set (its kid)', %sigfail);
is_denied(req($HM, token => hs('HS256', $oct), secrets => [$S64, $oct]),
    'HS256 keyed with the oct JWK of the key set (no kid)', %sigfail);
is_granted(req($HM, token => hs('HS256', $S64, { kid => 'test-oct-1' }), secrets => [$S64]),
    'HS256 with the secret, kid naming the oct JWK: the secret is what counts');
is_granted(req($HM, token => mint()), 'RS256 with the good key of the mixed key set');

# ================================================================================================
# startup checks with "httpd -t", and env: end to end on a private httpd
# ================================================================================================
my $httpd = Apache::Test::vars('httpd');
my $so    = realpath(Apache::Test::vars('t_dir') . '/../../.libs/mod_auth_bearer.so');
ok(-f $so, "module at $so");
my @load;
{
    my $conf = slurp(Apache::Test::vars('t_conf_file'));
    for my $m (qw(mpm_event mpm_worker mpm_prefork authn_core authz_core authz_user)) {
        push @load, "LoadModule ${m}_module $1" if $conf =~ /LoadModule\s+${m}_module\s+("[^"]+"|\S+)/;
    }
    ok(scalar(grep { /mpm_/ } @load) == 1, 'an MPM to load') or diag "@load";
}
my $root = ($> == 0);
my ($user, $group) = (Apache::Test::vars('user'), Apache::Test::vars('group'));

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', ReuseAddr => 1) or die "socket: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# a private server root with a config: (dir, conf file, port)
sub private_conf {
    my ($secret_directive, %o) = @_;
    my $dir = tempdir('mab-hmac-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;
    mkdir "$dir/htdocs";
    mkdir "$dir/htdocs/hmac";
    open my $fh, '>', "$dir/htdocs/hmac/ok.txt" or die $!;
    print $fh "hmac ok\n";
    close $fh;
    chmod 0755, "$dir/htdocs", "$dir/htdocs/hmac";
    chmod 0644, "$dir/htdocs/hmac/ok.txt";
    for my $f (keys %{ $o{files} // {} }) {
        open my $s, '>:raw', "$dir/$f" or die $!;
        print $s $o{files}{$f};
        close $s;
    }
    my $port = free_port();
    my $ids = $root ? qq{User "$user"\nGroup "$group"\n} : '';
    my $conf = <<"CONF";
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
DefaultRuntimeDir "$dir"
LogLevel info auth_bearer:info
@{[ join "\n", @load ]}
LoadModule auth_bearer_module "$so"
$ids
StartServers 1
DocumentRoot "$dir/htdocs"
<Directory "$dir/htdocs">
    Require all granted
</Directory>
<Location /hmac>
    AuthType Bearer
    AuthName "messages-api"
    AuthBearerIssuer   @{[ ISS ]}
    AuthBearerAudience @{[ AUD ]}
    $secret_directive
    Require valid-user
</Location>
CONF
    open my $c, '>', "$dir/httpd.conf" or die $!;
    print $c $conf;
    close $c;
    return ($dir, "$dir/httpd.conf", $port);
}

# httpd -t -f conf with %env added to (or, for undef values, removed from) the environment
sub config_test {
    my ($conf, %env) = @_;
    local %ENV = %ENV;
    for (keys %env) { if (defined $env{$_}) { $ENV{$_} = $env{$_} } else { delete $ENV{$_} } }
    my $out = `'$httpd' -t -f '$conf' 2>&1`;
    return ($? >> 8, $out);
}

my $ENVN = 'MAB_TEST_HMAC_SECRET';
{
    my (undef, $conf) = private_conf('AuthBearerSharedSecret file:short.secret',
                                     files => { 'short.secret' => ('s' x 16) . "\n" });
    my ($rc, $out) = config_test($conf);
    isnt($rc, 0, 'httpd -t: a 16-byte secret file is a startup error');
    like($out, qr/at least 32/, 'httpd -t: the message says "at least 32"') or diag $out;
    unlike($out, qr/s{16}/, 'httpd -t: the secret is not printed');
}
{
    my (undef, $conf) = private_conf('AuthBearerSharedSecret file:short31.secret',
                                     files => { 'short31.secret' => ('s' x 31) . "\n" });
    my ($rc, $out) = config_test($conf);
    isnt($rc, 0, 'httpd -t: 31 bytes + newline is too short (the newline does not count)');
    like($out, qr/at least 32/, 'httpd -t: 31 bytes: "at least 32"') or diag $out;
}
{
    my (undef, $conf) = private_conf('AuthBearerSharedSecret file:ok.secret',
                                     files => { 'ok.secret' => ('s' x 32) . "\n" });
    my ($rc, $out) = config_test($conf);
    is($rc, 0, 'httpd -t: 32 bytes + newline is fine') or diag $out;
}
{
    my (undef, $conf) = private_conf('AuthBearerSharedSecret file:no-such.secret');
    my ($rc, $out) = config_test($conf);
    isnt($rc, 0, 'httpd -t: a missing secret file is a startup error');
    like($out, qr/AuthBearerSharedSecret/, 'httpd -t: the message names the directive') or diag $out;
}
{
    my (undef, $conf) = private_conf("AuthBearerSharedSecret env:$ENVN");
    my ($rc, $out) = config_test($conf, $ENVN => 'e' x 16);
    isnt($rc, 0, 'httpd -t: a 16-byte env: secret is a startup error');
    like($out, qr/at least 32/, 'httpd -t: env: 16 bytes: "at least 32"') or diag $out;
    unlike($out, qr/e{16}/, 'httpd -t: the env secret is not printed');
    ($rc, $out) = config_test($conf, $ENVN => undef);
    isnt($rc, 0, 'httpd -t: env: variable not set is a startup error');
    like($out, qr/\Q$ENVN\E/, 'httpd -t: the message names the variable') or diag $out;
    ($rc, $out) = config_test($conf, $ENVN => '');
    isnt($rc, 0, 'httpd -t: env: variable empty is a startup error');
    ($rc, $out) = config_test($conf, $ENVN => 'e' x 32);
    is($rc, 0, 'httpd -t: a 32-byte env: secret is fine') or diag $out;
}
{
    my (undef, $conf) = private_conf('AuthBearerSharedSecret s3cr3t-written-in-the-config-0123456789');
    my ($rc, $out) = config_test($conf);
    isnt($rc, 0, 'httpd -t: a secret written in the config itself is refused');
}

# env: end to end on a private server
{
    my $secret = join '', map { ('a' .. 'z', 'A' .. 'Z', 0 .. 9)[rand 62] } 1 .. 48;
    my ($dir, $conf, $port) = private_conf("AuthBearerSharedSecret env:$ENVN");
    my $pidfile = "$dir/httpd.pid";
    my $started;
    {
        local $ENV{$ENVN} = $secret;
        $started = system($httpd, '-f', $conf, '-k', 'start') == 0;
    }
    ok($started, "private httpd with an env: secret starts") or diag(-e "$dir/error_log" ? slurp("$dir/error_log") : "no error_log");
    my $up = 0;
    for (1 .. 100) {
        if (-s $pidfile && IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1)) {
            $up = 1;
            last;
        }
        select undef, undef, undef, 0.1;
    }
    ok($up, "private httpd listens on $port") or diag -e "$dir/error_log" ? slurp("$dir/error_log") : '';
    my $pid = -s $pidfile ? do { my $p = slurp($pidfile); $p =~ s/\s+//g; $p } : undef;

    my $ua = LWP::UserAgent->new(timeout => 10);
    my $get = sub {    # a request to the private server, shaped like MAB::Test::req's answer
        my ($tok) = @_;
        my $before = -s "$dir/error_log" // 0;
        my $res = $ua->get("http://127.0.0.1:$port/hmac/ok.txt", Authorization => "Bearer $tok");
        my $log = '';
        for (1 .. 10) {
            open my $fh, '<:raw', "$dir/error_log" or last;
            seek $fh, $before, 0;
            local $/;
            $log = <$fh> // '';
            last if $res->code == 200 || $log =~ /MAB\d+:/;
            select undef, undef, undef, 0.05;
        }
        $res->{mab_log} = $log;
        $res->{mab_token} = $tok;
        $res->{mab_secrets} = [ $tok, $secret ];
        return $res;
    };
    if ($up) {
        for my $a (qw(HS256 HS384)) {
            my $res = is_granted($get->(hs($a, $secret)), "env: secret (48 bytes): $a");
            is($res->content, "hmac ok\n", "env: secret: $a: the file is served");
        }
        is_denied($get->(hs('HS512', $secret)), 'env: secret (48 bytes): HS512 not allowed', %alg);
        is_denied($get->(hs('HS256', $S64)), 'env: secret: HS256 with another secret', %sigfail);
        is_denied($get->(mint()), 'env: secret, no key set: RS256', %nokey);
        my $log = slurp("$dir/error_log");
        unlike($log, qr/\Q$secret\E/, 'env: the secret never reaches the error log');
    }
    if ($pid && $pid =~ /^\d+$/) {
        kill 'TERM', $pid;
        for (1 .. 100) { last unless kill 0, $pid; select undef, undef, undef, 0.1 }
        ok(!kill(0, $pid), 'private httpd stopped');
    }
}

done_testing();
