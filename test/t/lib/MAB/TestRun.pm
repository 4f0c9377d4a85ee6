package MAB::TestRun;
# Apache::TestRun for mod_auth_bearer's suite. Differences from the stock class:
#  - runs as root: Apache::Test 1.43 refuses (check_runtime_user), yet httpd itself is fine being
#    started by root — it then serves as User nobody (Apache::TestConfig::default_user), which is
#    what a CI container needs. test/run-apache-tests makes sure that user can read test/t.
#  - makes sure a CGI module is loaded (Debian's mods-enabled, which Apache::Test inherits,
#    enables neither mod_cgi nor mod_cgid): mod_cgid for threaded MPMs, mod_cgi for prefork.
#  - loads mod_proxy, mod_proxy_http, mod_headers and mod_include for the hand-off tests.
#  - never inherits mod_auth_openidc (see below).
use strict;
use warnings;
use parent 'Apache::TestRun';
use MAB::ApacheTestDebian;    # Apache::Test on Debian's httpd
use Apache::TestConfig ();

# mod_auth_openidc, when Debian's mods-enabled has it, would be inherited and take or share
# "Require claim" in the suite's server; t/openidc_coexist.t loads it where it means to.
Apache::TestConfig::autoconfig_skip_module_add('mod_auth_openidc.c');

sub check_runtime_user { 1 }

sub configure {
    my $self = shift;
    my $cfg  = $self->{test_config};
    my $cgi  = ($cfg->{server}->{mpm} // '') eq 'prefork' ? 'mod_cgi.so' : 'mod_cgid.so';
    unless ($cfg->{modules}->{'mod_cgi.c'} || $cfg->{modules}->{'mod_cgid.c'}) {
        $cfg->find_and_load_module($cgi)
            or die "cannot find $cgi (looked in apxs LIBEXECDIR)\n";
    }
    # the hand-off tests (t/handoff_proxy.t): a proxied backend vhost that echoes headers, and an
    # SSI page whose include is a subrequest
    for my $m (qw(mod_proxy.so mod_proxy_http.so mod_headers.so mod_include.so)) {
        $cfg->find_and_load_module($m) or die "cannot find $m (looked in apxs LIBEXECDIR)\n";
    }
    $self->SUPER::configure(@_);
}

1;
