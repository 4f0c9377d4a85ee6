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
use MAB::Lifecycle;

my $file = Apache::Test::vars('documentroot') . '/jwks-rotate.json';
my $issuer = jwk('issuer');
my $new    = jwk('other');
my $old_tok = sub { mint() };
my $new_tok = sub { mint(key => 'other', kid => 'test-other-1') };
my %nokey = (status => 401, reason => 'no matching key',
             challenge => challenge_invalid_token('no matching key'));

publish_jwks($file, $issuer);
sleep 2;
is_granted(req('/rotate/env', token => $old_tok->()), 'before: issuer key');
is_denied(req('/rotate/env', token => $new_tok->()), 'before: new key not published yet', %nokey);

publish_jwks($file, $issuer, $new);
sleep 2;
is_granted(eventually(200, '/rotate/env', $new_tok->()), 'after publishing: new key accepted');
is_granted(req('/rotate/env', token => $old_tok->()), 'after publishing: old key still accepted');

publish_jwks($file, $new);
sleep 2;
is_denied(eventually(401, '/rotate/env', $old_tok->()), 'after retiring: old key refused', %nokey);
is_granted(req('/rotate/env', token => $new_tok->()), 'after retiring: new key accepted');

publish_jwks($file, $issuer);    # as gen-keys left it
done_testing();
