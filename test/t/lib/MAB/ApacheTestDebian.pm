package MAB::ApacheTestDebian;
# Apache::Test on Debian's httpd. Loaded by MAB::TestRun (the driver) and MAB::Test (the .t
# files): every process that builds the test configuration runs what is changed here.
#
# The `httpd -V` probe, kept quiet. Apache::Test (1.43, Apache::TestConfigParse::get_httpd_defines) learns httpd's compile-time
# settings from `httpd -V -f <conf> -d t/`, where <conf> is apxs' SYSCONFDIR plus "httpd.conf".
# Debian has no /etc/apache2/httpd.conf (its file is apache2.conf, which parses only with
# /etc/apache2/envvars and ServerRoot /etc/apache2), so each of those processes printed
#   apache2: Could not open configuration file /etc/apache2/httpd.conf: No such file or directory
# httpd prints the settings whatever happens to the configuration (the -D lines, version, magic
# number: all that Apache::Test reads from it; with a modular MPM "Server MPM" stays empty either
# way), and the file whose LoadModule lines are inherited is found separately (HTTPD_ROOT plus
# SERVER_CONFIG_FILE, i.e. /etc/apache2/apache2.conf). So that one probe's stderr is discarded;
# nothing else changes.
use strict;
use warnings;
use Apache::TestConfig ();
use Apache::TestConfigParse ();

my $get_httpd_defines = \&Apache::TestConfig::get_httpd_defines;
my $open_cmd          = \&Apache::TestConfig::open_cmd;
{
    no warnings 'redefine';
    *Apache::TestConfig::get_httpd_defines = sub {
        no warnings 'redefine';
        local *Apache::TestConfig::open_cmd = sub {
            my ($self, $cmd) = @_;
            return $open_cmd->($self, "$cmd 2>/dev/null");
        };
        return $get_httpd_defines->(@_);
    };
}

# Never the installed module. Apache::Test inherits the LoadModule lines of Debian's
# mods-enabled; with the package libapache2-mod-auth-bearer installed and enabled that includes
# /usr/lib/apache2/modules/mod_auth_bearer.so, which would come first, and the build tree's
# module that conf/extra.conf.in loads would be skipped as "already loaded": the suite would
# test the installed copy. Apache::Test's own skip list keeps it out.
Apache::TestConfig::autoconfig_skip_module_add('mod_auth_bearer.c');

1;
