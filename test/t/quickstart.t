# The Auth0 "messages" API quickstart: public, private, private-scoped.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP qw(decode_json);
use MAB::Test;

my %MSG = (
    public  => "Hello from a public endpoint! You don't need to be authenticated to see this.",
    private => "Hello from a private endpoint! You need to be authenticated to see this.",
    scoped  => "Hello from a private endpoint! You need to be authenticated and have a scope of "
             . "read:messages to see this.",
);
sub message_is {
    my ($res, $msg, $name) = @_;
    my $body = eval { decode_json($res->content) } // {};
    is($body->{message}, $msg, "$name: quickstart message");
}

# the key set the module fetches is really served by this httpd
my $r = req('/jwks.json');
is($r->code, 200, 'jwks.json is served');
like($r->content, qr/"kid"\s*:\s*"test-rsa-1"/, 'jwks.json has the issuer key');

$r = is_granted(req('/api/public'), 'public, no token');
message_is($r, $MSG{public}, 'public');
$r = is_granted(req('/api/public', token => 'garbage'), 'public, junk token ignored');

is_denied(req('/api/private'), 'private, no token',
    status => 401, challenge => challenge_401());

my $tok = mint();
$r = is_granted(req('/api/private', token => $tok), 'private, valid token');
message_is($r, $MSG{private}, 'private');

# private-scoped
is_denied(req('/api/private-scoped'), 'scoped, no token',
    status => 401, challenge => challenge_401());
is_denied(req('/api/private-scoped', token => $tok), 'scoped, token without scope',
    status => 403, challenge => challenge_scope('read:messages'));
is_denied(req('/api/private-scoped', token => mint(claims => { scope => 'read:other write:messages' })),
    'scoped, other scopes only', status => 403, challenge => challenge_scope('read:messages'));
is_denied(req('/api/private-scoped', token => mint(claims => { scope => 'read:messagesX' })),
    'scoped, scope prefix is not a match', status => 403,
    challenge => challenge_scope('read:messages'));

my %ok = (
    'scope string'         => { scope => 'openid read:messages profile' },
    'scope string, alone'  => { scope => 'read:messages' },
    'permissions array'    => { permissions => [ 'write:messages', 'read:messages' ] },
    'scp array'            => { scp => [ 'read:messages' ] },
    'scp string'           => { scp => 'profile read:messages' },
);
for my $how (sort keys %ok) {
    $r = is_granted(req('/api/private-scoped', token => mint(claims => $ok{$how})),
        "scoped, read:messages via $how");
    message_is($r, $MSG{scoped}, "scoped via $how");
}
is_denied(req('/api/private-scoped', token => mint(claims => { permissions => ['write:messages'] })),
    'scoped, permissions without read:messages',
    status => 403, challenge => challenge_scope('read:messages'));

done_testing();
