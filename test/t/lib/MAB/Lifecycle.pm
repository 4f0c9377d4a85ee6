package MAB::Lifecycle;
# Shared by the key set lifecycle tests (t/jwks_*.t that run their own httpd): public
# JWKs of the test keys, a key set document (and rewriting one the test server serves),
# polling with a deadline.
use strict;
use warnings;
use Exporter 'import';
use Crypt::PK::RSA;
use JSON::PP ();
use Time::HiRes qw(sleep time);
use MAB::Test qw(keyfile req);

our @EXPORT = qw(jwk jwks_json publish_jwks eventually wait_for random_kid bearer_location);

my %KID = (issuer => 'test-rsa-1', other => 'test-other-1');

# jwk('issuer' | 'other', kid => ...): the public JWK of keys/<name>.pem
sub jwk {
    my ($name, %o) = @_;
    local $_;    # Apache::Test's lazy config loading assigns to $_
    return { %{ Crypt::PK::RSA->new(keyfile("$name.pem"))->export_key_jwk('public', 1) },
             kid => $o{kid} // $KID{$name}, use => 'sig', alg => 'RS256' };
}

sub jwks_json { JSON::PP->new->canonical->encode({ keys => [@_] }) }

# publish_jwks($file, @jwks): replaces the key set in one rename, so a fetch never sees half
sub publish_jwks {
    my ($file, @keys) = @_;
    open my $fh, '>', "$file.tmp" or die "$file.tmp: $!";
    print $fh jwks_json(@keys);
    close $fh or die "$file.tmp: $!";
    chmod 0644, "$file.tmp";
    rename "$file.tmp", $file or die "$file: $!";
}

# eventually($status, $path, $token): asks until the answer is $status (a refreshed key set
# takes up to a second or two to be used), at most 5 s; returns the last response
sub eventually {
    my ($want, $path, $tok) = @_;
    my $res;
    for (1 .. 20) {
        $res = req($path, token => $tok);
        return $res if $res->code == $want;
        sleep 0.25;
    }
    return $res;
}

# wait_for($seconds, sub { condition }): 1 as soon as it holds, 0 at the deadline
sub wait_for {
    my ($secs, $cond) = @_;
    my $end = time + $secs;
    while (time < $end) {
        return 1 if $cond->();
        sleep 0.1;
    }
    return $cond->() ? 1 : 0;
}

# bearer_location($path, issuer => ..., jwks => URL): a protected <Location /$path> for the
# test's own httpd (issuer defaults to https://issuer.test/; without jwks it is discovered)
sub bearer_location {
    my ($path, %o) = @_;
    my $iss = $o{issuer} // 'https://issuer.test/';
    return "<Location /$path>\n    AuthType Bearer\n    AuthName \"lifecycle\"\n"
        . "    AuthBearerIssuer   $iss\n    AuthBearerAudience https://quickstarts/api\n"
        . ($o{jwks} ? "    AuthBearerJWKS     $o{jwks}\n" : '') . "    Require valid-user\n</Location>\n";
}

sub random_kid { join '', map { ('a' .. 'z', 0 .. 9)[ rand 36 ] } 1 .. 16 }

1;
