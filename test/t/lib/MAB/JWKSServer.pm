package MAB::JWKSServer;
# new(tls => [cert.pem, key.pem]) serves https instead.
# A real HTTP server on loopback for the key set lifecycle tests: serves documents the test
# publishes, can be switched to answer 500, garbage or hang, and logs every request so the
# test can count fetches. It forks one process per connection (a hanging answer must not
# block the next one) and is controlled through files in its state directory:
#   docs/<path>   the body served for <path> (404 when absent)
#   mode          ok | 500 | garbage | hang | slow<N> (answers as ok after N s)  (absent: ok)
#   docs/<path>.redirect  answers 302 to the URL it holds
#   docs/<path>.max-age   sends Cache-Control: max-age=<n> with <path> when present
#   log           one line per request: "<epoch seconds with fraction> <path>"
use strict;
use warnings;
use File::Temp ();
use IO::Socket::IP;
use Time::HiRes ();
use POSIX ();

sub new {
    my ($class, %o) = @_;
    my $dir = File::Temp::tempdir('mab-jwks-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    mkdir "$dir/docs" or die "$dir/docs: $!";
    my $sock = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 64,
                                   ReuseAddr => 1, Proto => 'tcp')
        or die "cannot listen on 127.0.0.1: $@";
    my $self = bless { dir => $dir, port => $sock->sockport, scheme => $o{tls} ? 'https' : 'http' },
        $class;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        setpgrp(0, 0);            # stop() ends the server and its hanging handlers together
        $SIG{CHLD} = 'IGNORE';    # connection handlers reap themselves
        while (1) {
            my $c = $sock->accept or next;
            my $h = fork;
            if (defined $h && $h == 0) {
                close $sock;
                if ($o{tls}) {
                    require IO::Socket::SSL;
                    IO::Socket::SSL->start_SSL($c, SSL_server => 1, SSL_cert_file => $o{tls}[0],
                                               SSL_key_file => $o{tls}[1])
                        or POSIX::_exit(0);    # the client refused our certificate
                }
                _serve($dir, $c);
                POSIX::_exit(0);
            }
            close $c;
        }
    }
    close $sock;
    $self->{pid} = $pid;
    return $self;
}

sub _slurp {
    my $f = shift;
    open my $fh, '<:raw', $f or return undef;
    local $/;
    my $s = <$fh>;
    return $s;
}

sub _serve {
    my ($dir, $c) = @_;
    local $SIG{ALRM} = sub { POSIX::_exit(0) };
    alarm 60;
    my $req = '';
    while ($req !~ /\r?\n\r?\n/) {
        my $n = sysread $c, $req, 4096, length $req;
        return unless $n;
    }
    my ($path) = $req =~ m{^GET (\S+) HTTP/};
    $path //= '-';
    open my $log, '>>', "$dir/log" or die;
    syswrite $log, sprintf("%.3f %s\n", Time::HiRes::time(), $path);
    close $log;
    my $mode = _slurp("$dir/mode") // 'ok';
    $mode =~ s/\s+//g;
    if ($mode eq 'hang') {
        sleep 30;
        return;
    }
    if ($mode =~ /^slow(\d+)$/) {
        sleep $1;
        $mode = 'ok';
    }
    my ($status, $body) = (200, undef);
    (my $rfile = $path) =~ s{[^A-Za-z0-9._/-]}{_}g;
    $rfile =~ s{\.\.}{_}g;
    my $location = _slurp("$dir/docs$rfile.redirect");
    if (defined $location) {
        syswrite $c, "HTTP/1.1 302 Found\r\nLocation: $location\r\nContent-Length: 0\r\n"
            . "Connection: close\r\n\r\n";
        return;
    }
    if ($mode eq '500') {
        ($status, $body) = (500, "internal error\n");
    }
    elsif ($mode eq 'garbage') {
        $body = "<html>this is not a key set</html>\n";
    }
    else {
        (my $file = $path) =~ s{[^A-Za-z0-9._/-]}{_}g;
        $file =~ s{\.\.}{_}g;
        $body = _slurp("$dir/docs$file");
        ($status, $body) = (404, "not found\n") unless defined $body;
    }
    (my $afile = $path) =~ s{[^A-Za-z0-9._/-]}{_}g;
    $afile =~ s{\.\.}{_}g;
    my $age = _slurp("$dir/docs$afile.max-age");
    my $hdr = "HTTP/1.1 $status X\r\nContent-Type: application/json\r\n"
        . "Content-Length: " . length($body) . "\r\nConnection: close\r\n"
        . (defined $age && $status == 200 ? "Cache-Control: public, max-age=" . ($age + 0) . "\r\n" : '')
        . "\r\n";
    syswrite $c, $hdr . $body;
}

sub port { $_[0]{port} }
sub dir  { $_[0]{dir} }
sub url  { my ($s, $p) = @_; "$s->{scheme}://127.0.0.1:$s->{port}" . ($p // '') }

sub _write {
    my ($file, $text) = @_;
    open my $fh, '>:raw', "$file.tmp" or die "$file.tmp: $!";
    print $fh $text;
    close $fh or die "$file.tmp: $!";
    rename "$file.tmp", $file or die "$file: $!";
}

# publish('/jwks.json', $text): served from now on
sub publish {
    my ($s, $path, $text) = @_;
    my $f = "$s->{dir}/docs$path";
    (my $d = $f) =~ s{/[^/]*$}{};
    File::Path::make_path($d) unless -d $d;
    _write($f, $text);
}
sub unpublish { my ($s, $path) = @_; unlink "$s->{dir}/docs$path" }

# redirect('/old.json', 'http://…'): answers 302 with that Location
sub redirect {
    my ($s, $path, $to) = @_;
    my $f = "$s->{dir}/docs$path.redirect";
    (my $d = $f) =~ s{/[^/]*$}{};
    File::Path::make_path($d) unless -d $d;
    _write($f, $to);
}

sub mode    { my ($s, $m) = @_; _write("$s->{dir}/mode", $m) }
sub max_age {
    my ($s, $path, $n) = @_;
    my $f = "$s->{dir}/docs$path.max-age";
    defined $n ? _write($f, $n) : unlink $f;
}

# requests(): [ [time, path], ... ]; count($path) or count() for all
sub requests {
    my $s = shift;
    my $log = _slurp("$s->{dir}/log") // '';
    return [ map { [ split / /, $_, 2 ] } split /\n/, $log ];
}
sub count {
    my ($s, $path) = @_;
    return scalar grep { !defined $path || $_->[1] eq $path } @{ $s->requests };
}
sub times_of {
    my ($s, $path) = @_;
    return map { $_->[0] } grep { $_->[1] eq $path } @{ $s->requests };
}

sub stop {
    my $s = shift;
    return unless $s->{pid};
    kill 'TERM', -$s->{pid};
    kill 'TERM', $s->{pid};    # stopped before its setpgrp ran, it has no group of its own yet
    waitpid $s->{pid}, 0;
    delete $s->{pid};
}

sub DESTROY { local ($?, $@); $_[0]->stop }    # keeps the exit status a test ends with

use File::Path ();
1;
