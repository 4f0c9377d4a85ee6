package MAB::Process;
# Starting and ending the test's helper daemons (oidc-provider, redis-server, memcached) so that
# none outlives the test, however it ends:
#  - stop() (TERM, then KILL after 5 s, then reaped) from the wrapper's stop, DESTROY and an END
#    block covering every process still registered — also when a test dies;
#  - the child is started under `setpriv --pdeathsig KILL` (util-linux), so the kernel kills it
#    when the test process itself is killed (SIGKILL, a harness timeout) and no END block runs;
#  - only the process that started a daemon stops it: a forked load-generating child that exits
#    normally runs DESTROY and END too, and must not take the daemon with it.
#
#   my $p = MAB::Process->spawn(name => 'redis', cmd => [...], log => $file);
#   $p->alive; $p->pid; $p->stop; $p->kill('KILL')
use strict;
use warnings;
use POSIX ();
use IO::Socket::IP;
use Scalar::Util ();
use Time::HiRes ();

my %LIVE;    # refaddr => weak ref, every process not yet stopped

my $SETPRIV;
sub _setpriv {
    return $SETPRIV if defined $SETPRIV;
    $SETPRIV = '';
    for my $d (split /:/, "$ENV{PATH}:/usr/bin:/bin") {
        if (-x "$d/setpriv") {
            # --pdeathsig needs util-linux 2.33 (Debian 12 has 2.38)
            my $ok = system("$d/setpriv --pdeathsig KILL true >/dev/null 2>&1") == 0;
            $SETPRIV = "$d/setpriv" if $ok;
            last;
        }
    }
    return $SETPRIV;
}

# spawn(name => 'x', cmd => [argv], log => file for stdout+stderr, dir => cwd)
sub spawn {
    my ($class, %o) = @_;
    my @cmd = @{ $o{cmd} };
    _on_signals();
    unshift @cmd, _setpriv(), '--pdeathsig', 'KILL', '--' if _setpriv();
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        eval {
            setpgrp(0, 0);    # its own group: stop() ends whatever it started too
            if (defined $o{dir}) { chdir $o{dir} or die "chdir $o{dir}: $!" }
            open STDIN, '<', '/dev/null' or die;
            if (defined $o{log}) {
                open STDOUT, '>>', $o{log} or die "$o{log}: $!";
                open STDERR, '>&', \*STDOUT or die;
            }
            exec { $cmd[0] } @cmd or die "exec $cmd[0]: $!";
        };
        print STDERR "MAB::Process: $@";
        POSIX::_exit(127);
    }
    my $self = bless { name => $o{name} // $cmd[0], pid => $pid, owner => $$, log => $o{log} },
        $class;
    $LIVE{ Scalar::Util::refaddr($self) } = $self;
    Scalar::Util::weaken($LIVE{ Scalar::Util::refaddr($self) });
    return $self;
}

sub pid { $_[0]{pid} }

# alive(): the process has not exited (reaps it when it has)
sub alive {
    my $self = shift;
    local $?;    # waitpid's status must not become the test's exit status (DESTROY, END)
    return 0 unless $self->{pid};
    my $r = waitpid $self->{pid}, POSIX::WNOHANG();
    if ($r == $self->{pid} || $r == -1) {
        $self->{status} = $?;
        delete $self->{pid};
        return 0;
    }
    return 1;
}

# stop(): TERM to the process group, KILL after $grace seconds (default 5), reaped
sub stop {
    my ($self, $grace) = @_;
    local $?;
    return unless $self->{pid} && $self->{owner} == $$;
    my $pid = $self->{pid};
    CORE::kill 'TERM', -$pid;
    CORE::kill 'TERM', $pid;
    my $end = Time::HiRes::time() + ($grace // 5);
    while (Time::HiRes::time() < $end) {
        last unless $self->alive;
        Time::HiRes::sleep(0.02);
    }
    if ($self->{pid}) {
        CORE::kill 'KILL', -$pid;
        CORE::kill 'KILL', $pid;
        waitpid $pid, 0;
        delete $self->{pid};
    }
    delete $LIVE{ Scalar::Util::refaddr($self) };
}

# kill($sig): the signal (default KILL) to the process group; with KILL, also reaped
sub kill {
    my ($self, $sig) = @_;
    local $?;
    $sig //= 'KILL';
    return unless $self->{pid} && $self->{owner} == $$;
    CORE::kill $sig, -$self->{pid};
    CORE::kill $sig, $self->{pid};
    if ($sig eq 'KILL' || $sig eq '9') {
        waitpid $self->{pid}, 0;
        delete $self->{pid};
        delete $LIVE{ Scalar::Util::refaddr($self) };
    }
}

sub DESTROY { local ($?, $@); $_[0]->stop }

END {
    local $?;    # an END block must not change the test's exit status
    $_->stop for grep { defined } values %LIVE;
}

# A test ended by SIGTERM, SIGINT or SIGHUP (a harness timeout, ^C) still runs the END blocks, so
# its daemons are stopped and its temporary directories removed; handlers a test set stay.
sub _on_signals {
    for my $sig (qw(TERM INT HUP)) {
        next if defined $SIG{$sig} && $SIG{$sig} ne 'DEFAULT' && $SIG{$sig} ne '';
        $SIG{$sig} = sub { $SIG{$sig} = 'DEFAULT'; exit 128 + { TERM => 15, INT => 2, HUP => 1 }->{$sig} };
    }
}

# free_port(): a port no one listens on now, from the kernel's ephemeral range (so never one of
# the fixed ports Apache::Test and MAB::Httpd count up from); for daemons that cannot bind port 0
sub free_port {
    my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 1,
                                Proto => 'tcp')
        or die "cannot listen on 127.0.0.1: $@";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# wait_until($seconds, sub { ... }, $proc): 1 as soon as the condition holds; 0 at the deadline or
# when $proc (optional) has exited
sub wait_until {
    my ($secs, $cond, $proc) = @_;
    my $end = Time::HiRes::time() + $secs;
    while (Time::HiRes::time() < $end) {
        return 1 if $cond->();
        return 0 if $proc && !$proc->alive;
        Time::HiRes::sleep(0.05);
    }
    return $cond->() ? 1 : 0;
}

sub slurp {
    my $f = shift;
    open my $fh, '<:raw', $f or return undef;
    local $/;
    my $s = <$fh>;
    return $s;
}

1;
