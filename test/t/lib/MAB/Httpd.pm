package MAB::Httpd;
# A separate, real httpd for the key set lifecycle tests, with its own generated config:
# the MPM (prefork with many children, or event), short intervals and key sources on a
# MAB::JWKSServer that only exists while the test runs. Lives in a world-readable temp
# directory, so it runs as root (serving as nobody) or as any user. The port is chosen
# free at run time above APACHE_TEST_PORT.
use strict;
use warnings;
use File::Temp ();
use IO::Socket::IP;
use LWP::UserAgent;
use Time::HiRes qw(sleep time);
use Apache::Test ();

my $next_port;
sub _free_port {
    $next_port //= ($ENV{APACHE_TEST_PORT} // 8529) + 101;
    for (1 .. 200) {
        my $p = $next_port++;
        my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => $p, Listen => 1,
                                    ReuseAddr => 1);
        if ($s) { close $s; return $p }
    }
    die "no free port";
}

sub _modules_dir {
    my $apxs = Apache::Test::vars('apxs') // 'apxs';
    my $d = `$apxs -q LIBEXECDIR 2>/dev/null` // '';
    chomp $d;
    return $d || '/usr/lib/apache2/modules';
}

# new(mpm => 'prefork'|'event', conf => '<Location ...> ...' (body),
#     paths => ['a', ...]: htdocs/a/ok.txt exists for each,
#     before => 'LoadModule ...' (lines read before mod_auth_bearer is loaded))
sub new {
    my ($class, %o) = @_;
    local $_;    # Apache::Test's lazy config loading assigns to $_
    my $dir = File::Temp::tempdir('mab-httpd-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;
    mkdir "$dir/$_" for qw(htdocs logs run);
    chmod 0777, "$dir/run";
    open my $fh, '>', "$dir/htdocs/ok.txt" or die;
    print $fh "ok\n";
    close $fh;
    for my $p (@{ $o{paths} // [] }) {
        mkdir "$dir/htdocs/$p";
        open $fh, '>', "$dir/htdocs/$p/ok.txt" or die;
        print $fh "ok\n";
        close $fh;
    }
    my $self = bless { dir => $dir, port => _free_port(), mpm => $o{mpm} // 'event',
                       name => $o{name} // 'httpd' }, $class;
    my $mods = _modules_dir();
    my $so = Apache::Test::vars('t_dir') . '/../../.libs/mod_auth_bearer.so';
    my $mpm = $self->{mpm} eq 'prefork'
        ? "LoadModule mpm_prefork_module $mods/mod_mpm_prefork.so\n"
          . "StartServers 8\nMinSpareServers 8\nMaxSpareServers 16\nServerLimit 32\n"
          . "MaxRequestWorkers 32\nMaxConnectionsPerChild 0\n"
        : "LoadModule mpm_event_module $mods/mod_mpm_event.so\n"
          . "StartServers 2\nMinSpareThreads 8\nMaxSpareThreads 64\nThreadsPerChild 16\n"
          . "ServerLimit 4\nMaxRequestWorkers 64\n";
    my $user = $> == 0 ? "User nobody\nGroup nogroup\n" : '';
    my $conf = <<"CONF";
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$self->{port}
PidFile "$dir/logs/httpd.pid"
DefaultRuntimeDir "$dir/run"
ErrorLog "$dir/logs/error_log"
LogLevel info auth_bearer:info
$mpm$user
LoadModule authn_core_module $mods/mod_authn_core.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_user_module $mods/mod_authz_user.so
LoadModule authz_host_module $mods/mod_authz_host.so
${\ ($o{before} // '')}
LoadModule auth_bearer_module $so
LogFormat "%P %>s %U" pidlog
CustomLog "$dir/logs/access_log" pidlog
DocumentRoot "$dir/htdocs"
<Directory "$dir/htdocs">
    Require all granted
</Directory>
${\ ($o{conf} // '')}
CONF
    open $fh, '>', "$dir/httpd.conf" or die;
    print $fh $conf;
    close $fh;
    return $self;
}

sub dir  { $_[0]{dir} }
sub port { $_[0]{port} }
sub url  { "http://127.0.0.1:$_[0]{port}$_[1]" }
sub httpd { Apache::Test::vars('httpd') }

# start(): 1 when the server answers; otherwise 0 and ->{start_output} holds what it said
sub start {
    my $self = shift;
    my $cmd = sprintf '%s -f %s -k start 2>&1', httpd(), "$self->{dir}/httpd.conf";
    my $out = `$cmd`;
    $self->{start_rc} = $? >> 8;
    $self->{start_output} = $out . "\n" . $self->error_log;
    return 0 if $self->{start_rc} != 0;
    for (1 .. 100) {
        my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $self->{port});
        if ($s && -s "$self->{dir}/logs/httpd.pid") { close $s; $self->{running} = 1; return 1 }
        sleep 0.1;
    }
    $self->{start_output} .= "\n(not answering)\n" . $self->error_log;
    return 0;
}

# configtest(): (exit status, output) of httpd -t with this configuration
sub configtest {
    my $self = shift;
    my $out = `${\ httpd()} -t -f $self->{dir}/httpd.conf 2>&1`;
    return ($? >> 8, $out);
}

sub pid {
    my $self = shift;
    open my $fh, '<', "$self->{dir}/logs/httpd.pid" or return;
    my $p = <$fh>;
    chomp $p if defined $p;
    return $p;
}

sub children {
    my $self = shift;
    my $ppid = $self->pid or return ();
    return grep { my $s = _slurp("/proc/$_/stat") // ''; $s =~ /^\d+ \(.*?\) \S (\d+)/ && $1 == $ppid }
        map { m{/proc/(\d+)} ? $1 : () } glob '/proc/[0-9]*';
}

sub _slurp { open my $fh, '<', $_[0] or return undef; local $/; <$fh> }

sub graceful {
    my $self = shift;
    system(httpd(), '-f', "$self->{dir}/httpd.conf", '-k', 'graceful') == 0
        or die "graceful failed";
}

sub stop {
    my $self = shift;
    return unless $self->{running};
    my $pid = $self->pid;
    system(httpd(), '-f', "$self->{dir}/httpd.conf", '-k', 'stop');
    for (1 .. 100) {
        last unless $pid && kill 0, $pid;
        sleep 0.1;
    }
    $self->{running} = 0;
}

sub DESTROY { local ($?, $@); $_[0]->stop }    # keeps the exit status a test ends with

sub error_log { _slurp("$_[0]{dir}/logs/error_log") // '' }
sub access_log { _slurp("$_[0]{dir}/logs/access_log") // '' }

my $UA = LWP::UserAgent->new(keep_alive => 0, timeout => 30);

# get($path, token => $t, headers => {...}): HTTP::Response, with ->{elapsed} seconds
sub get {
    my ($self, $path, %o) = @_;
    my @h = %{ $o{headers} // {} };
    push @h, Authorization => "Bearer $o{token}" if defined $o{token};
    my $t0 = time;
    my $r = $UA->get($self->url($path), @h);
    $r->{elapsed} = time - $t0;
    return $r;
}

# load($n, $clients, sub { ($path, %get_opts) }): $n GETs spread over $clients processes;
# returns { code => count, ... }
sub load {
    my ($self, $n, $clients, $what) = @_;
    my @kids;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    for my $c (1 .. $clients) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my %codes;
            for (my $i = $c; $i <= $n; $i += $clients) {
                my $r = $self->get($what->($i));
                $codes{ $r->code }++;
            }
            open my $fh, '>', "$dir/$c" or die;
            print $fh join("\n", map { "$_ $codes{$_}" } keys %codes), "\n";
            close $fh;
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    waitpid $_, 0 for @kids;
    my %all;
    for my $c (1 .. $clients) {
        for (split /\n/, _slurp("$dir/$c") // '') {
            my ($code, $k) = split / /;
            $all{$code} += $k;
        }
    }
    return \%all;
}

use POSIX ();
1;
