# Claim addressing: literal top-level names, and RFC 6901 JSON Pointers ("/a/b", "~1" for '/',
# array indices) in Require claim, AuthBearerScopeClaim (conf/handoff.conf.in). REMOTE_USER and
# header forwarding with pointers: t/handoff_cgi.t, t/handoff_proxy.t.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use MAB::Test;

sub ok_with     { is_granted(req($_[0], token => mint(claims => $_[1])), $_[2]) }
sub denied_with {
    is_denied(req($_[0], token => mint(claims => $_[1])), $_[2], status => 403, challenge => undef,
        reason => 'claim requirement not met');
}

# Require claim /realm_access/roles admin
ok_with('/ptr/roles/env', { realm_access => { roles => [ 'user', 'admin' ] } }, 'pointer: array member');
ok_with('/ptr/roles/env', { realm_access => { roles => 'admin' } }, 'pointer: string');
denied_with('/ptr/roles/env', { realm_access => { roles => [ 'user' ] } }, 'pointer: not a member');
denied_with('/ptr/roles/env', { realm_access => {} }, 'pointer: member missing');
denied_with('/ptr/roles/env', { realm_access => [ 'admin' ] }, 'pointer: not an object');
denied_with('/ptr/roles/env', { 'realm_access/roles' => [ 'admin' ] }, 'pointer: a literal "a/b" name is not a path');
denied_with('/ptr/roles/env', { 'realm_access.roles' => [ 'admin' ] }, 'pointer: dots are not a path');

# Require claim /realm_access/roles/0 admin
ok_with('/ptr/index/env', { realm_access => { roles => [ 'admin', 'user' ] } }, 'index 0');
denied_with('/ptr/index/env', { realm_access => { roles => [ 'user', 'admin' ] } }, 'index 0 is not admin');

# Require claim "/https:~1~1example.com~1app/tier" gold
ok_with('/ptr/escaped/env', { 'https://example.com/app' => { tier => 'gold' } }, '~1 escapes: URL-named object');
denied_with('/ptr/escaped/env', { 'https://example.com/app' => { tier => 'silver' } }, '~1 escapes: other value');

# Require claim /org/id 7 8
ok_with('/ptr/number/env', { org => { id => 7 } }, 'number 7');
ok_with('/ptr/number/env', { org => { id => 8.0 } }, 'number 8.0');
ok_with('/ptr/number/env', { org => { id => [ 1, 8 ] } }, 'number in an array');
denied_with('/ptr/number/env', { org => { id => 9 } }, 'number 9');

# Require claim /org/paid true
ok_with('/ptr/bool/env', { org => { paid => JSON::PP::true } }, 'boolean true');
denied_with('/ptr/bool/env', { org => { paid => JSON::PP::false } }, 'boolean false');
denied_with('/ptr/bool/env', { org => { paid => 1 } }, 'number 1 is not true');

# Require claim name "Zoë Ünïcødé" "Bob Smith"  (quoted values with blanks, unicode)
ok_with('/ptr/quoted/env', { name => 'Zoë Ünïcødé' }, 'quoted unicode value');
ok_with('/ptr/quoted/env', { name => 'Bob Smith' }, 'quoted value with a blank');
denied_with('/ptr/quoted/env', { name => 'Bob' }, 'part of a quoted value');

# AuthBearerScopeClaim /ext/perms ; Require scope p:read
ok_with('/ptr/scope-claim/env', { ext => { perms => [ 'p:write', 'p:read' ] } }, 'scope claim: pointer to an array');
is_denied(req('/ptr/scope-claim/env', token => mint(claims => { scope => 'p:read' })),
    'scope claim: the usual scope claim no longer counts', status => 403,
    challenge => challenge_scope('p:read'));
# AuthBearerScopeClaim roles ; Require scope r1 r2
ok_with('/ptr/scope-claim-top/env', { roles => [ 'r2', 'r1' ] }, 'scope claim: top-level array');
ok_with('/ptr/scope-claim-top/env', { roles => 'r1 r2 r3' }, 'scope claim: space-delimited string');
is_denied(req('/ptr/scope-claim-top/env', token => mint(claims => { roles => [ 'r1' ] })),
    'scope claim: one missing', status => 403, challenge => challenge_scope('r1 r2'));

done_testing();
