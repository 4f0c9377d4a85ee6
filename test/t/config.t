# AuthType Bearer without a required directive -> 500 naming it; AuthBearerAudience *.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MAB::Test;

my $tok = mint();
is_config_error(req('/config/no-issuer/env',   token => $tok), 'no AuthBearerIssuer',   'AuthBearerIssuer');
is_config_error(req('/config/no-audience/env', token => $tok), 'no AuthBearerAudience', 'AuthBearerAudience');
is_config_error(req('/config/no-jwks/env',     token => $tok), 'no AuthBearerJWKS',     'AuthBearerJWKS');
# also without a token: the configuration is wrong whatever the client sends
is_config_error(req('/config/no-issuer/env'), 'no AuthBearerIssuer, no token', 'AuthBearerIssuer');

# ... and each was already reported at startup, once, naming the section and the directive
{
    open my $fh, "<", MAB::Test::error_log() or die "error_log: $!";
    my @startup = grep { /MAB00007:/ } <$fh>;
    close $fh;
    for my $case ([ '/config/no-issuer', 'AuthBearerIssuer' ],
                  [ '/config/no-audience', 'AuthBearerAudience' ],
                  [ '/config/no-jwks', 'AuthBearerJWKS' ]) {
        my ($loc, $dir) = @$case;
        is(scalar(grep { /<Location \Q$loc\E> uses AuthType Bearer but \Q$dir\E is not set/ } @startup),
           1, "startup warning for $loc names $dir");
    }
    is(scalar(grep { !m{<Location /config/no-(issuer|audience|jwks)>} } @startup), 0,
       'no startup warning for a complete section (inherited settings included)');
}

# AuthBearerAudience * : any aud (the rest is still checked)
is_granted(req('/config/any-audience/env', token => mint(claims => { aud => 'https://whatever/' })),
    'aud *: any string');
is_granted(req('/config/any-audience/env', token => mint(claims => { aud => [ 'x', 'y' ] })),
    'aud *: any array');
is_granted(req('/config/any-audience/env', token => $tok), 'aud *: the usual aud');
is_denied(req('/config/any-audience/env', token => mint(claims => { aud => 'x', iss => 'https://evil/' })),
    'aud *: iss still checked', status => 401, reason => 'issuer mismatch',
    challenge => challenge_invalid_token('issuer mismatch'));
is_denied(req('/config/any-audience/env', token => mint(claims => { aud => 'x', exp => now() - 3600 })),
    'aud *: exp still checked', status => 401, reason => 'token expired',
    challenge => challenge_invalid_token('token expired'));

done_testing();
