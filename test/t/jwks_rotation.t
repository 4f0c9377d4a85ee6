# Key rotation: with AuthBearerJWKSRefresh 1 1 the key set (htdocs/jwks-rotate.json, rewritten here while
# the server runs) is fetched again, so a new key becomes usable and a removed key stops working.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Crypt::PK::RSA;
use JSON::PP ();
use Apache::Test ();
use MAB::Test;

my $file = Apache::Test::vars('documentroot') . '/jwks-rotate.json';
sub jwk {
    my ($name, $kid) = @_;
    return { %{ Crypt::PK::RSA->new(keyfile("$name.pem"))->export_key_jwk('public', 1) },
             kid => $kid, use => 'sig', alg => 'RS256' };
}
sub publish {
    my @keys = @_;
    open my $fh, '>', "$file.tmp" or die "$file.tmp: $!";
    print $fh JSON::PP->new->canonical->encode({ keys => \@keys });
    close $fh or die "$file.tmp: $!";
    chmod 0644, "$file.tmp";
    rename "$file.tmp", $file or die "$file: $!";
}
# ask until the answer is $want (the key set is used for at most 1 s once fetched)
sub eventually {
    my ($want, $tok) = @_;
    my $r;
    for (1 .. 20) {
        $r = req('/rotate/env', token => $tok);
        return $r if $r->code == $want;
        select undef, undef, undef, 0.25;
    }
    return $r;
}

my $issuer = jwk('issuer', 'test-rsa-1');
my $new    = jwk('other',  'test-other-1');
my $old_tok = sub { mint() };
my $new_tok = sub { mint(key => 'other', kid => 'test-other-1') };
my %nokey = (status => 401, reason => 'no matching key',
             challenge => challenge_invalid_token('no matching key'));

publish($issuer);
sleep 2;
is_granted(req('/rotate/env', token => $old_tok->()), 'before: issuer key');
is_denied(req('/rotate/env', token => $new_tok->()), 'before: new key not published yet', %nokey);

publish($issuer, $new);
sleep 2;
is_granted(eventually(200, $new_tok->()), 'after publishing: new key accepted');
is_granted(req('/rotate/env', token => $old_tok->()), 'after publishing: old key still accepted');

publish($new);
sleep 2;
is_denied(eventually(401, $old_tok->()), 'after retiring: old key refused', %nokey);
is_granted(req('/rotate/env', token => $new_tok->()), 'after retiring: new key accepted');

publish($issuer);    # as gen-keys left it
done_testing();
