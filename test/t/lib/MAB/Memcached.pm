package MAB::Memcached;
# A private memcached (Debian package memcached, installed by scripts/install-deps) for tests of
# AuthBearerSOCache memcache:HOST:PORT (httpd's mod_socache_memcache): on a free loopback port,
# TCP only (no UDP), 16 MB of memory, nothing on disk, stopped with the test.
#
#   my $m = MAB::Memcached->new;      # started, answers "version" (dies otherwise)
#   $m->port; $m->addr;               # 12345, "127.0.0.1:12345"
#   $m->set('k', 'v', 60);            # 1 when STORED (exptime optional, default 0)
#   $m->get('k');                     # the value, undef when absent
#   $m->remove('k');                  # 1 when it was there
#   $m->stats;                        # { curr_items => …, get_hits => …, cmd_set => …, … }
#   $m->items;                        # stats->{curr_items}
#   $m->flush;                        # flush_all
#   $m->kill;                         # SIGKILL: the store is down (for "store down" tests)
#   $m->stop;                         # also on DESTROY and at the end of the test
#   $m->start;                        # again, on the same port, empty
#   $m->log;                          # what it printed
# The text protocol is spoken over a raw socket, no CPAN client needed.
use strict;
use warnings;
use File::Temp ();
use IO::Socket::IP;
use MAB::Process;

sub new {
    my ($class, %o) = @_;
    my $dir = File::Temp::tempdir('mab-memcached-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;
    my $self = bless { dir => $dir, bin => $o{bin} // _bin(), memory => $o{memory} // 16 }, $class;
    $self->start;
    return $self;
}

sub _bin {
    for my $d (split(/:/, $ENV{PATH}), '/usr/bin', '/usr/sbin') {
        return "$d/memcached" if -x "$d/memcached";
    }
    die "memcached not found (Debian: apt-get install memcached; scripts/install-deps)\n";
}

sub start {
    my $self = shift;
    die "memcached already running\n" if $self->{proc} && $self->{proc}->alive;
    my $err = '';
    for my $try (1 .. 3) {    # the free port may be taken between choosing it and binding it
        my $port = $self->{port} // MAB::Process::free_port();
        my $log = "$self->{dir}/memcached.log";
        # as root memcached insists on -u; root itself keeps setpriv's parent-death signal
        # (a switch to another uid would clear it)
        my @user = $> == 0 ? ('-u', 'root') : ();
        my $proc = MAB::Process->spawn(
            name => 'memcached', dir => $self->{dir}, log => $log,
            cmd => [ $self->{bin}, '-l', '127.0.0.1', '-p', $port, '-U', '0',
                     '-m', $self->{memory}, '-c', '1024', @user ]);
        if (MAB::Process::wait_until(10, sub { defined eval { _version($port) } }, $proc)) {
            @$self{qw(port proc)} = ($port, $proc);
            return $self;
        }
        $proc->stop;
        $err = MAB::Process::slurp($log) // '';
        last if defined $self->{port};
    }
    die "memcached did not start:\n$err\n";
}

sub port { $_[0]{port} }
sub addr { "127.0.0.1:$_[0]{port}" }
sub dir  { $_[0]{dir} }
sub pid  { $_[0]{proc} ? $_[0]{proc}->pid : undef }
sub log  { MAB::Process::slurp("$_[0]{dir}/memcached.log") // '' }
sub running { $_[0]{proc} && $_[0]{proc}->alive ? 1 : 0 }

sub stop { my $s = shift; $s->{proc}->stop if $s->{proc}; delete $s->{proc}; $s->{sock} = undef }
sub kill { my $s = shift; $s->{proc}->kill('KILL') if $s->{proc}; delete $s->{proc}; $s->{sock} = undef }
sub DESTROY { local ($?, $@); $_[0]->stop }

sub _version {
    my $port = shift;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port, Timeout => 1)
        or return undef;
    print {$s} "version\r\n";
    my $l = <$s> // return undef;
    return $l =~ /^VERSION (\S+)/ ? $1 : undef;
}

sub _sock {
    my $self = shift;
    return $self->{sock} ||= IO::Socket::IP->new(PeerHost => '127.0.0.1',
                                                 PeerPort => $self->{port}, Timeout => 5)
        || die "memcached 127.0.0.1:$self->{port}: $@\n";
}

sub _line {
    my $s = shift;
    my $l = <$s>;
    die "memcached: connection closed\n" unless defined $l;
    $l =~ s/\r\n\z//;
    return $l;
}

# request($text): sends it, returns the reply lines up to the terminator $end (a regexp)
sub _request {
    my ($self, $req, $end) = @_;
    my $s = $self->_sock;
    print {$s} $req or do { $self->{sock} = undef; die "memcached write: $!\n" };
    my @l;
    while (1) {
        my $l = eval { _line($s) };
        if (!defined $l) { $self->{sock} = undef; die $@ }
        push @l, $l;
        last if $l =~ $end;
    }
    return @l;
}

sub set {
    my ($self, $k, $v, $exp) = @_;
    my ($r) = $self->_request(sprintf("set %s 0 %d %d\r\n%s\r\n", $k, $exp // 0, length $v, $v),
                              qr/^(?:STORED|NOT_STORED|EXISTS|NOT_FOUND|ERROR|CLIENT_ERROR.*|SERVER_ERROR.*)$/);
    return $r eq 'STORED' ? 1 : 0;
}

sub get {
    my ($self, $k) = @_;
    my $s = $self->_sock;
    print {$s} "get $k\r\n";
    my $l = _line($s);
    return undef if $l eq 'END';
    my ($len) = $l =~ /^VALUE \S+ \d+ (\d+)/ or die "memcached: unexpected '$l'\n";
    my $buf = '';
    while (length $buf < $len + 2) {
        my $n = read $s, $buf, $len + 2 - length $buf, length $buf;
        die "memcached: connection closed\n" unless $n;
    }
    _line($s) eq 'END' or die "memcached: no END after the value\n";
    return substr $buf, 0, $len;
}

sub remove {
    my ($self, $k) = @_;
    my ($r) = $self->_request("delete $k\r\n", qr/^(?:DELETED|NOT_FOUND|ERROR.*|CLIENT_ERROR.*)$/);
    return $r eq 'DELETED' ? 1 : 0;
}

sub flush {
    my ($r) = $_[0]->_request("flush_all\r\n", qr/^(?:OK|ERROR.*)$/);
    return $r eq 'OK' ? 1 : 0;
}

sub stats {
    my $self = shift;
    my %st;
    for ($self->_request("stats\r\n", qr/^(?:END|ERROR.*)$/)) {
        $st{$1} = $2 if /^STAT (\S+) (.*)$/;
    }
    return \%st;
}

sub items { $_[0]->stats->{curr_items} }

1;
