package MAB::Redis;
# A private redis-server (Debian package redis-server, installed by scripts/install-deps) for
# tests of AuthBearerSOCache redis:HOST:PORT (httpd's mod_socache_redis): on a free loopback port,
# no persistence (no RDB, no AOF), its working directory a temporary one, stopped with the test.
#
#   my $r = MAB::Redis->new;          # started, answers PING (dies otherwise)
#   $r->port; $r->addr;               # 12345, "127.0.0.1:12345"
#   $r->command('SET', 'k', 'v');     # a reply: string, integer, undef (nil), array ref;
#                                     # an error reply dies ("ERR …")
#   $r->dbsize;                       # keys stored now; ->keys_matching($pattern): their names
#   $r->flush;                        # FLUSHALL
#   $r->kill;                         # SIGKILL: the store is down (for "store down" tests)
#   $r->stop;                         # also on DESTROY and at the end of the test
#   $r->start;                        # again, on the same port, empty (after kill or stop)
#   $r->log;                          # its log file's text
# The protocol is spoken over a raw socket (RESP), no CPAN client needed.
use strict;
use warnings;
use File::Temp ();
use IO::Socket::IP;
use MAB::Process;

sub new {
    my ($class, %o) = @_;
    my $dir = File::Temp::tempdir('mab-redis-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;
    my $self = bless { dir => $dir, bin => $o{bin} // _bin() }, $class;
    $self->start;
    return $self;
}

sub _bin {
    for my $d (split(/:/, $ENV{PATH}), '/usr/bin', '/usr/sbin') {
        return "$d/redis-server" if -x "$d/redis-server";
    }
    die "redis-server not found (Debian: apt-get install redis-server; scripts/install-deps)\n";
}

sub start {
    my $self = shift;
    die "redis already running\n" if $self->{proc} && $self->{proc}->alive;
    my $err = '';
    for my $try (1 .. 3) {    # the free port may be taken between choosing it and binding it
        my $port = $self->{port} // MAB::Process::free_port();
        my $log = "$self->{dir}/redis.log";
        my $proc = MAB::Process->spawn(
            name => 'redis-server', dir => $self->{dir}, log => $log,
            cmd => [ $self->{bin}, '--port', $port, '--bind', '127.0.0.1', '--daemonize', 'no',
                     '--save', '', '--appendonly', 'no', '--dir', $self->{dir},
                     '--protected-mode', 'no', '--logfile', '', '--loglevel', 'notice',
                     '--databases', '1' ]);
        if (MAB::Process::wait_until(10, sub { my $p = eval { _ping($port) }; $p && $p eq 'PONG' },
                                     $proc)) {
            @$self{qw(port proc)} = ($port, $proc);
            return $self;
        }
        $proc->stop;
        $err = MAB::Process::slurp($log) // '';
        last if defined $self->{port};    # a restart keeps its port: no point in retrying
    }
    die "redis-server did not start:\n$err\n";
}

sub port { $_[0]{port} }
sub addr { "127.0.0.1:$_[0]{port}" }
sub dir  { $_[0]{dir} }
sub pid  { $_[0]{proc} ? $_[0]{proc}->pid : undef }
sub log  { MAB::Process::slurp("$_[0]{dir}/redis.log") // '' }
sub running { $_[0]{proc} && $_[0]{proc}->alive ? 1 : 0 }

sub stop { my $s = shift; $s->{proc}->stop if $s->{proc}; delete $s->{proc}; $s->{sock} = undef }
sub kill { my $s = shift; $s->{proc}->kill('KILL') if $s->{proc}; delete $s->{proc}; $s->{sock} = undef }
sub DESTROY { local ($?, $@); $_[0]->stop }

sub flush  { $_[0]->command('FLUSHALL') }
sub dbsize { $_[0]->command('DBSIZE') }
sub keys_matching { my $r = $_[0]->command('KEYS', $_[1] // '*'); ref $r ? @$r : () }

sub _ping {
    my $port = shift;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port, Timeout => 1)
        or return undef;
    return _command($s, 'PING');
}

# command(@args): one request, its reply (a connection kept open between calls)
sub command {
    my ($self, @args) = @_;
    for my $try (1, 2) {
        $self->{sock} ||= IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $self->{port},
                                              Timeout => 5)
            or die "redis 127.0.0.1:$self->{port}: $@\n";
        my $r = eval { _command($self->{sock}, @args) };
        return $r unless $@;
        my $e = $@;
        $self->{sock} = undef;
        die $e if $e =~ /^redis error: / || $try == 2;
    }
}

sub _command {
    my ($s, @args) = @_;
    my $req = '*' . @args . "\r\n" . join '', map { '$' . length($_) . "\r\n$_\r\n" } @args;
    print {$s} $req or die "redis write: $!\n";
    $s->flush;
    return _reply($s);
}

sub _line {
    my $s = shift;
    my $l = <$s>;
    die "redis: connection closed\n" unless defined $l;
    $l =~ s/\r\n\z//;
    return $l;
}

sub _reply {
    my $s = shift;
    my $l = _line($s);
    my ($t, $v) = (substr($l, 0, 1), substr($l, 1));
    return $v if $t eq '+';
    die "redis error: $v\n" if $t eq '-';
    return $v + 0 if $t eq ':';
    if ($t eq '$') {
        return undef if $v < 0;
        my $buf = '';
        while (length $buf < $v + 2) {
            my $n = read $s, $buf, $v + 2 - length $buf, length $buf;
            die "redis: connection closed\n" unless $n;
        }
        return substr $buf, 0, $v;
    }
    if ($t eq '*') {
        return undef if $v < 0;
        return [ map { _reply($s) } 1 .. $v ];
    }
    die "redis: unexpected reply '$l'\n";
}

1;
