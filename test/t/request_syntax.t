# How the token is presented: schemes, case, empty / several tokens, header + query.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Test;

my $tok = mint();

is_denied(req('/protected/env', auth => 'Basic YWxpY2U6c2VjcmV0'), 'Basic scheme',
    status => 401, challenge => challenge_401());
is_denied(req('/protected/env', auth => "Token $tok"), 'unknown scheme with a JWT',
    status => 401, challenge => challenge_401());
is_denied(req('/protected/env', auth => "Bearer$tok"), 'no space after Bearer',
    status => 401, challenge => challenge_401());

is_granted(req('/protected/env', auth => "bearer $tok"), 'lower-case bearer');
is_granted(req('/protected/env', auth => "BEARER $tok"), 'upper-case BEARER');
is_granted(req('/protected/env', auth => "Bearer $tok"), 'Bearer');

is_denied(req('/protected/env', auth => 'Bearer'), 'Bearer without a token',
    status => 400, challenge => challenge_invalid_request());
is_denied(req('/protected/env', auth => 'Bearer    '), 'Bearer and blanks',
    status => 400, challenge => challenge_invalid_request());
is_denied(req('/protected/env', auth => 'Bearer a b'), 'Bearer a b',
    status => 400, challenge => challenge_invalid_request());
is_denied(req('/protected/env', auth => "Bearer $tok $tok", secrets => [$tok]),
    'two tokens in the header', status => 400, challenge => challenge_invalid_request());
is_denied(req("/protected/env?access_token=$tok", token => $tok),
    'token in the header and in ?access_token=',
    status => 400, challenge => challenge_invalid_request());
is_denied(req("/protected/env?x=1&access_token=$tok", token => $tok),
    'token in the header and in &access_token=',
    status => 400, challenge => challenge_invalid_request());

done_testing();
