package Test::Nginx::Hf;

# Test harness for the hf nginx module: reads Test::Nginx::Socket-style
# blocks from the test file's __DATA__ and runs each one against a real nginx
# (with the module loaded) and, when needed, the local fake hub t/hub/hub.py.
# Core Perl only. See t/README.md.

use strict;
use warnings;
use Test::More ();
use HTTP::Tiny;
use IO::Socket::INET;
use IO::Select;
use JSON::PP ();
use Digest::SHA ();
use POSIX ();
use File::Path qw(make_path remove_tree);
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use Storable ();
use Time::HiRes qw(time sleep);

our @EXPORT = qw(
    run_tests http_request http_get http_head parallel_requests
    hub_control hub_log hub_count hub_fixtures hub_file hub_stop hub_start hub_url
    nginx_reload nginx_stop nginx_start error_log_text servroot server_port
    sha256_hex no_shuffle no_long_string repeat_each log_level
    worker_pids start_get
);

our $Timeout = 10;                    # per-request read timeout (seconds)
our $HfToken = 'hf_testtoken0123456789abcdefghijklmn';
my $Root     = abs_path(dirname(abs_path(__FILE__)) . '/../../../..');
my $Binary   = $ENV{TEST_NGINX_BINARY} // '/usr/sbin/nginx';
my $Module   = $ENV{HF_MODULE} // "$Root/build/ngx_http_hf_module.so";
$Module = -f $Module ? abs_path($Module) : undef;
my $MainPid  = $$;
my $LogLevel = $ENV{TEST_NGINX_LOG_LEVEL} // 'info';

my ($Name, $Servroot, $ServerPort);   # per test file
my ($NginxPid, %NginxEnv, $Workers);  # current nginx
my $LogPos = 0;                       # error.log offset where the block began
my ($HubPid, $HubPort, $CdnPort, $HubStopped, $Fixtures);

my $json = JSON::PP->new->utf8->canonical;

sub import {
    my $caller = caller;
    no strict 'refs';
    *{"${caller}::$_"} = \&{$_} for @EXPORT;
    eval "package $caller; Test::More->import; 1" or die $@;
    _init_file();
}

sub no_shuffle {} sub no_long_string {} sub repeat_each { 1 }
sub log_level { $LogLevel = shift }
sub sha256_hex { Digest::SHA::sha256_hex(@_) }
sub servroot { $Servroot }
sub server_port { $ServerPort }

sub _init_file {
    return if $Name;
    my $rel = abs_path($0) // $0;
    $rel =~ s{^\Q$Root\E/t/}{};
    $rel =~ s{.*/}{} if $rel =~ m{^/};
    ($Name = $rel) =~ s{\.t$}{};
    $Name =~ s{[^\w.-]+}{-}g;
    $Servroot = "$Root/t/servroot/$Name";
    if (my $old = _slurp("$Servroot/logs/nginx.pid")) {   # left over from a killed run
        ($old) = $old =~ /(\d+)/;
        _kill_nginx($old) if $old && (_slurp("/proc/$old/cmdline") // '') =~ /nginx/;
    }
    remove_tree($Servroot);
    make_path($Servroot);
    $ServerPort = _free_port();
    # make END (which stops nginx and the hub) run on signals; on a closed
    # stdout (e.g. `prove | head`) keep going rather than die without cleanup
    $SIG{$_} = sub { Test::More::diag("caught SIG$_[0], cleaning up"); exit 1 } for qw(INT TERM HUP);
    $SIG{PIPE} = 'IGNORE';
}

END {
    if ($$ == $MainPid) {
        local ($?, $!, $@);
        nginx_stop(1);
        _hub_kill();
    }
}

# ---------------------------------------------------------------- utilities

sub _slurp { my $f = shift; open my $fh, '<:raw', $f or return undef; local $/; <$fh> }

sub _spew {
    my ($f, $data, $mode) = @_;
    make_path(dirname($f));
    open my $fh, '>:raw', $f or die "cannot write $f: $!\n";
    print $fh $data;
    close $fh;
    chmod oct($mode), $f if defined $mode;
}

sub _free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1, ReuseAddr => 1)
        or die "cannot bind: $!\n";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub _alive {     # not gone and not a zombie
    my $pid = shift;
    return 0 unless $pid && kill 0 => $pid;
    my $st = _slurp("/proc/$pid/stat") // return 1;
    return $st !~ /\) Z /;
}

sub _children {  # live child pids of $pid
    my $pid = shift;
    opendir my $d, '/proc' or return ();
    my @kids;
    for my $p (grep /^\d+$/, readdir $d) {
        my $st = _slurp("/proc/$p/stat") // next;
        push @kids, $p if $st =~ /\) ([A-Z]) (\d+) / && $2 == $pid && $1 ne 'Z';
    }
    return @kids;
}

# the live worker processes of the current nginx
sub worker_pids {
    return grep { (_slurp("/proc/$_/cmdline") // '') =~ /worker process/ } _children(_read_pid());
}

# a GET left reading on its socket (the caller reads or closes it)
sub start_get {
    my $url = shift;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ServerPort, Timeout => 10)
        or die "connect: $!";
    print $s "GET $url HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    return $s;
}

sub _wait_until {
    my ($secs, $cond) = @_;
    my $end = time + $secs;
    while (time < $end) { return 1 if $cond->(); sleep 0.02 }
    return $cond->();
}

sub _tail {
    my ($text, $n) = @_;
    my @l = split /\n/, $text // '';
    return join "\n", @l > $n ? @l[-$n .. -1] : @l;
}

# Substitute $TEST_NGINX_* in strings (recursing into arrayrefs).
sub _subst {
    my $v = shift;
    return [map { _subst($_) } @$v] if ref $v eq 'ARRAY';
    return $v if !defined $v || ref $v;
    $v =~ s{\$(TEST_NGINX_[A-Z0-9_]+)}{_var($1)}ge;
    return $v;
}

sub _var {
    my $n = shift;
    return $ServerPort if $n eq 'TEST_NGINX_SERVER_PORT';
    return $Servroot if $n eq 'TEST_NGINX_SERVROOT';
    return $HfToken if $n eq 'TEST_NGINX_HF_TOKEN';
    if ($n =~ /^TEST_NGINX_(HUB|CDN)(_PORT)?$/) {
        _ensure_hub();
        my $p = $1 eq 'HUB' ? $HubPort : $CdnPort;
        return $2 ? $p : "http://127.0.0.1:$p";
    }
    return $ENV{$n} // die "unknown variable \$$n (not set in the environment)\n";
}

# ---------------------------------------------------------------- nginx

sub _error_log { "$Servroot/logs/error.log" }

sub _log_size { (-s _error_log()) // 0 }

sub error_log_text {            # error.log from where the current block began
    my $t = _slurp(_error_log()) // '';
    return length $t >= $LogPos ? substr($t, $LogPos) : $t;
}

sub _run_nginx {                # run the binary in the foreground; (rc, output)
    my @args = @_;
    my $out = "$Servroot/nginx.out";
    local %ENV = %ENV;
    delete $ENV{HF_TOKEN};
    $ENV{$_} = $NginxEnv{$_} for keys %NginxEnv;
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>&', \*STDOUT;
        exec($Binary, '-p', "$Servroot/", '-c', 'conf/nginx.conf', '-e', _error_log(), @args) or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    return ($? >> 8 || $? & 127, _slurp($out) // '');
}

sub _read_pid { my $t = _slurp("$Servroot/logs/nginx.pid") // return; $t =~ /(\d+)/ ? $1 : undef }

sub _listening {                # does something listen on 127.0.0.1:$port?
    my $port = shift;
    my $tcp = _slurp('/proc/net/tcp');
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1) ? 1 : 0
        unless defined $tcp;
    my $want = sprintf '0100007F:%04X', $port;
    return $tcp =~ /^\s*\d+: \Q$want\E \S+ 0A /m;
}

sub nginx_start {               # start with the current conf; dies on failure
    die "nginx already running (pid $NginxPid)\n" if _alive($NginxPid);
    my ($rc, $out) = _run_nginx();
    die "nginx failed to start (exit $rc):\n$out\n" if $rc;
    _wait_until(5, sub { _alive(_read_pid()) }) or die "nginx pid file did not appear:\n$out\n";
    $NginxPid = _read_pid();
    _wait_until(5, sub { _listening($ServerPort) }) or die "nginx does not listen on $ServerPort\n";
    _wait_until(5, sub { _children($NginxPid) >= $Workers });
    return $NginxPid;
}

sub nginx_stop {                # QUIT, wait, KILL the process group after 5s
    my $quiet = shift;
    my $pid = $NginxPid // _read_pid() // return 1;
    undef $NginxPid;
    my $ok = _kill_nginx($pid);
    Test::More::diag("nginx (pid $pid) did not exit within 5s of SIGQUIT; killed") unless $ok || $quiet;
    return $ok;
}

sub _kill_nginx {
    my $pid = shift;
    kill QUIT => $pid if _alive($pid);
    my $ok = _wait_until(5, sub { !_alive($pid) });
    if (kill 0 => -$pid) {      # the daemon is a session leader: sweep its group
        kill KILL => -$pid;
        _wait_until(2, sub { !_alive($pid) });
    }
    return $ok;
}

sub nginx_reload {              # HUP; wait for a new generation of workers
    my $pid = $NginxPid // die "nginx is not running\n";
    my %old = map { $_ => 1 } _children($pid);
    my $pos = _log_size();
    kill HUP => $pid;
    my $failed;
    my $ok = _wait_until(10, sub {
        my $log = substr(_slurp(_error_log()) // '', $pos);
        return $failed = 1 if $log =~ /\[emerg\]/;
        (grep { !$old{$_} } _children($pid)) >= $Workers;
    });
    return 0 if $failed || !$ok;
    _wait_until(5, sub { !grep { $old{$_} } _children($pid) });   # old workers gone
    return 1;
}

sub _write_conf {
    my ($b) = @_;
    my %env = (%NginxEnv, HF_TOKEN => 1);
    my $conf = ($Module ? "load_module $Module;\n" : '')
        . ($b->{main_config} // '') . "\n"
        . "daemon on;\nmaster_process on;\nworker_processes $Workers;\n"
        . "error_log logs/error.log " . ($b->{log_level} // $LogLevel) . ";\n"
        . "pid logs/nginx.pid;\n"
        . (defined $b->{user} ? "user $b->{user};\n" : $> == 0 ? "user root root;\n" : '')
        . join('', map { "env $_;\n" } sort keys %env)
        . "events { worker_connections 1024; }\n"
        . "http {\n    access_log logs/access.log;\n"
        . join('', map { "    ${_}_temp_path $Servroot/${_}_temp;\n" }
            qw(client_body proxy fastcgi uwsgi scgi))
        . "    default_type text/plain;\n"
        . ($b->{http_config} // '') . "\n"
        . "    server {\n        listen 127.0.0.1:$ServerPort;\n        server_name localhost;\n"
        . ($b->{config} // '') . "\n    }\n}\n";
    _spew("$Servroot/conf/nginx.conf", $conf);
    make_path(map { "$Servroot/$_" } qw(logs html), map { "${_}_temp" } qw(client_body proxy fastcgi uwsgi scgi));
}

sub _write_user_files {
    my $uf = shift;
    my @files;
    if (ref $uf eq 'ARRAY') {
        @files = map { [$_->[0], $_->[1], $_->[2]] } @$uf;
    } else {
        for my $part (split /^>>> /m, $uf) {
            next unless $part =~ s/\A(\S+)(?:[ \t]+(0[0-7]{3,4}))?[^\n]*\n?//;
            push @files, [$1, $part, $2];
        }
    }
    _spew("$Servroot/html/$_->[0]", $_->[1], $_->[2]) for @files;
}

# ---------------------------------------------------------------- hub

sub _hub_log_file { "$Root/t/servroot/$Name.hub.log" }
sub _hub_alive { $HubPid && waitpid($HubPid, POSIX::WNOHANG()) == 0 }

sub hub_start {
    $HubStopped = 0;
    return 1 if _hub_alive();
    my $script = $ENV{HF_TEST_HUB_SCRIPT} // "$Root/t/hub/hub.py";
    die "hub script $script not found\n" unless -f $script;
    my @cmd = ('python3', $script, $HubPort ? ('--port', $HubPort, '--cdn-port', $CdnPort) : ());
    my $log = _hub_log_file();
    open my $lf, '>', $log or die "cannot write $log: $!\n";
    close $lf;
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        POSIX::setpgid(0, 0);
        eval { require Config; syscall(157, 1, 15) if $Config::Config{archname} =~ /^x86_64-linux/ };  # PR_SET_PDEATHSIG
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>&', \*STDOUT;
        exec(@cmd) or POSIX::_exit(127);
    }
    $HubPid = $pid;
    my $ready = _wait_until(15, sub { (_slurp($log) // '') =~ /READY hub=\d+ cdn=\d+/ || !_hub_alive() });
    my ($h, $c) = (_slurp($log) // '') =~ /READY hub=(\d+) cdn=(\d+)/;
    unless ($h) {
        _hub_kill();
        die "hub did not start (@cmd):\n" . _tail(_slurp($log), 20) . "\n";
    }
    ($HubPort, $CdnPort) = ($h, $c);
    return 1;
}

sub _hub_kill {
    return unless $HubPid;
    kill TERM => -$HubPid, $HubPid;
    unless (_wait_until(5, sub { waitpid($HubPid, POSIX::WNOHANG()) != 0 })) {
        kill KILL => -$HubPid, $HubPid;
        waitpid $HubPid, 0;
    }
    undef $HubPid;
}

sub hub_stop { _hub_kill(); $HubStopped = 1; 1 }

sub _ensure_hub {
    die "the hub was stopped in this block (call hub_start() first)\n" if $HubStopped;
    hub_start() unless _hub_alive();
}

sub _hub_call {
    my ($method, $path, $data) = @_;
    _ensure_hub();
    my $r = HTTP::Tiny->new(timeout => 30)->request($method, "http://127.0.0.1:$HubPort$path",
        defined $data ? { content => $json->encode($data), headers => { 'content-type' => 'application/json' } } : {});
    die "hub $method $path: $r->{status} $r->{reason}: $r->{content}\n" unless $r->{success};
    return length $r->{content} ? $json->decode($r->{content}) : undef;
}

sub hub_control { my ($op, $data) = @_; _hub_call('POST', "/_control/$op", $data // {}) }
sub hub_url { _ensure_hub(); "http://127.0.0.1:$HubPort" }
sub hub_log { _hub_call('GET', '/_control/log') }

sub hub_count {
    my ($server, $method, $re) = @_;
    return scalar grep {
        ($server eq 'any' || $_->{server} eq $server)
            && ($method eq '*' || uc $_->{method} eq uc $method)
            && (!defined $re || $_->{path} =~ /$re/)
    } @{ hub_log() };
}

sub hub_fixtures {
    my $refresh = shift;
    $Fixtures = _hub_call('GET', '/_control/fixtures') if $refresh || !$Fixtures;
    return $Fixtures;
}

sub hub_file {
    my ($kind, $repo, $rev, $path) = @_;
    my ($r) = grep { $_->{kind} eq $kind && $_->{id} eq $repo } @{ hub_fixtures()->{repos} };
    die "no fixture repo $kind/$repo\n" unless $r;
    my $commit = $r->{refs}{$rev} // ($r->{commits}{$rev} ? $rev : die "no ref or commit $rev in $repo\n");
    my $f = $r->{commits}{$commit}{files}{$path} or die "no file $path in $repo\@$commit\n";
    return { %$f, commit => $commit };
}

# ---------------------------------------------------------------- HTTP client

sub _request {     # (host, port, method, uri, proto, [[h, v]...], body, timeout)
    my ($host, $port, $method, $uri, $proto, $hdrs, $body, $timeout) = @_;
    my %has = map { lc $_->[0] => 1 } @$hdrs;
    my @h = @$hdrs;
    unshift @h, ['Host', 'localhost'] unless $has{host};
    push @h, ['Connection', 'close'] unless $has{connection};
    push @h, ['Content-Length', length $body]
        if !$has{'content-length'} && !$has{'transfer-encoding'}
            && (length($body // '') || $method =~ /^(POST|PUT|PATCH)$/);
    my $res = { status => undef, headers => {}, header_list => [], body => '', error => undef };
    my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => $timeout)
        or return { %$res, error => "connect to $host:$port failed: $@" };
    local $SIG{PIPE} = 'IGNORE';
    my $req = "$method $uri $proto\r\n" . join('', map { "$_->[0]: $_->[1]\r\n" } @h) . "\r\n" . ($body // '');
    while (length $req) {
        my $n = syswrite($sock, $req);
        last unless $n;             # the server may answer early; still read
        substr($req, 0, $n) = '';
    }
    my $deadline = time + $timeout;
    my $sel = IO::Select->new($sock);
    my ($buf, $hlen, $mode, $need, $pos, $err, $eof) = ('');
    while (1) {
        if (!defined $hlen && (my $i = index($buf, "\r\n\r\n")) >= 0) {
            my ($sl, @lines) = split /\r\n/, substr($buf, 0, $i);
            ($res->{status}) = $sl =~ m{^HTTP/\d\.\d\s+(\d{3})};
            if (($res->{status} // 0) =~ /^1\d\d$/ && $res->{status} != 101) {   # interim
                substr($buf, 0, $i + 4) = '';
                next;
            }
            for (@lines) {
                my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
                push @{ $res->{header_list} }, [$k, $v];
                my $lk = lc $k;
                $res->{headers}{$lk} = exists $res->{headers}{$lk} ? "$res->{headers}{$lk}, $v" : $v;
            }
            $hlen = $pos = $i + 4;
            my $te = $res->{headers}{'transfer-encoding'} // '';
            my $s = $res->{status} // 0;
            $mode = $method eq 'HEAD' || $s == 204 || $s == 304 ? 'none'
                  : $te =~ /chunked/i ? 'chunked'
                  : defined $res->{headers}{'content-length'} ? 'length' : 'close';
            $need = $res->{headers}{'content-length'} if $mode eq 'length';
        }
        if (defined $hlen) {
            last if $mode eq 'none';
            last if $mode eq 'length' && length($buf) - $hlen >= $need;
            if ($mode eq 'chunked') {
                while (1) {     # decode what we have
                    my $e = index($buf, "\r\n", $pos);
                    last if $e < 0;
                    my ($size) = substr($buf, $pos, $e - $pos) =~ /^\s*([0-9a-fA-F]+)/;
                    if (!defined $size) { $err = 'bad chunk header'; last }
                    $size = hex $size;
                    if ($size == 0) {
                        my $t = index($buf, "\r\n\r\n", $e);
                        $mode = 'done' if $t >= 0;
                        last;
                    }
                    last if length($buf) < $e + 2 + $size + 2;
                    $res->{body} .= substr($buf, $e + 2, $size);
                    $pos = $e + 2 + $size + 2;
                }
                last if $mode eq 'done' || $err;
            }
        }
        last if $eof;
        my $left = $deadline - time;
        if ($left <= 0 || !$sel->can_read($left)) { $err = "timeout after ${timeout}s"; last }
        my $n = sysread($sock, $buf, 262144, length $buf);
        if (!defined $n) { $err = "read error: $!"; last }
        $eof = 1 if $n == 0;
    }
    close $sock;
    if (!defined $hlen) {
        $err //= length $buf ? 'connection closed before the end of the headers' : 'connection closed without a response';
    } elsif ($mode eq 'length') {
        $res->{body} = substr($buf, $hlen, $need);
        $err //= 'connection closed before the end of the body' if length($buf) - $hlen < $need;
    } elsif ($mode eq 'close') {
        $res->{body} = substr($buf, $hlen);
    } elsif ($mode eq 'chunked') {
        $err //= 'connection closed before the last chunk';
    }
    $res->{error} = $err;
    return $res;
}

sub _target {      # path or absolute http:// URL -> (host, port, uri)
    my $p = shift;
    return ($1, $2, $3 // '/') if $p =~ m{^http://([^/:]+):(\d+)(/.*)?$};
    return ('127.0.0.1', $ServerPort, $p);
}

sub http_request {
    my ($method, $path, $hdrs, $body) = @_;
    my @h = ref $hdrs eq 'ARRAY' ? @$hdrs : map { [$_, $hdrs->{$_}] } sort keys %{ $hdrs // {} };
    my ($host, $port, $uri) = _target($path);
    return _request($host, $port, $method, $uri, 'HTTP/1.1', \@h, $body, $Timeout);
}

sub http_get  { http_request('GET', @_) }
sub http_head { http_request('HEAD', @_) }

sub parallel_requests {
    my ($n, $method, $path, $hdrs, $body) = @_;
    my $dir = "$Servroot/parallel.$$";
    make_path($dir);
    pipe(my $r, my $w) or die "pipe: $!\n";
    my @pids;
    for my $i (0 .. $n - 1) {
        my $pid = fork // die "fork: $!\n";
        if (!$pid) {
            close $w;
            sysread $r, my $x, 1;   # wait for the start signal (EOF)
            my $res = eval { http_request($method, $path, $hdrs, $body) } // { error => "died: $@" };
            Storable::nstore($res, "$dir/$i");
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    close $r;
    close $w;                   # go!
    waitpid $_, 0 for @pids;
    my @res = map { eval { Storable::retrieve("$dir/$_") } // { error => 'child produced no result' } } 0 .. $n - 1;
    remove_tree($dir);
    return \@res;
}

# ---------------------------------------------------------------- blocks

sub _parse_blocks {
    my $text = shift;
    $text =~ s/^__END__\n.*//ms;
    my (@blocks, $b, $s);
    for my $line (split /^/m, $text) {
        if ($line =~ /^===\s*(.*?)\s*$/) {
            push @blocks, $b = { name => $1, sec => {}, order => [], raw => '' };
            undef $s;
            next;
        }
        next unless $b;
        $b->{raw} .= $line;
        if ($line =~ /^--- +\(?(\w+)\)?(.*?)\s*$/) {
            my ($n, $rest) = ($1, $2);
            my ($filters, $inline) = $rest =~ /^\s*([^:]*?)\s*(?::\s?(.*))?$/;
            push @{ $b->{order} }, $n;
            $s = $b->{sec}{$n} = { filters => [split ' ', $filters], text => $inline // '', inline => defined $inline };
            next;
        }
        $s->{text} .= $line if $s && !$s->{inline};
    }
    return @blocks;
}

sub _section_value {
    my ($s) = @_;
    my $v = $s->{text};
    $v =~ s/\A([ \t]*\n)+//;
    $v =~ s/(?<=\n)\s*\z//;
    for my $f (@{ $s->{filters} }) {
        if    ($f eq 'chomp') { chomp $v }
        elsif ($f eq 'chop')  { chop $v }
        elsif ($f eq 'trim')  { }
        elsif ($f eq 'eval') {
            my @r = eval "package main; no strict; no warnings;\n$v";
            die "eval failed: $@" if $@;
            $v = @r == 1 ? $r[0] : \@r;
            $s->{evaled} = 1;
        }
        else { die "unknown section filter '$f'\n" }
    }
    return $v;
}

sub run_tests {
    my $data = do { no warnings 'once'; local $/; my $fh = \*main::DATA; defined fileno $fh ? <$fh> : '' } // '';
    my @blocks = _parse_blocks($data);
    if (my @only = grep { exists $_->{sec}{ONLY} } @blocks) {
        Test::More::diag('NOTE: running only blocks marked --- ONLY');
        @blocks = @only;
    }
    for my $b (@blocks) {
        if (exists $b->{sec}{SKIP}) { Test::More::note("$b->{name}: skipped"); next }
        my $tb = Test::More->builder;
        my $fails = grep { !$_ } $tb->summary;
        my $hub_used;
        eval { $hub_used = _run_block($b); 1 } or _harness_error($b, $@);
        eval { nginx_stop(); _check_fatal($b) if !exists $b->{sec}{must_die}; 1 } or _harness_error($b, $@);
        if ((grep { !$_ } $tb->summary) > $fails) {
            Test::More::diag("---- tail of $Servroot/logs/error.log:\n" . _tail(_slurp(_error_log()), 30));
            Test::More::diag("---- tail of " . _hub_log_file() . ":\n" . _tail(_slurp(_hub_log_file()), 15))
                if $hub_used;
        }
        last if exists $b->{sec}{LAST};
    }
    Test::More::done_testing();
}

sub _harness_error {
    my ($b, $err) = @_;
    my ($first, $rest) = split /\n/, $err, 2;
    Test::More::fail("$b->{name} - $first");
    Test::More::diag($rest) if defined $rest && $rest =~ /\S/;
}

sub _check_fatal {
    my $b = shift;
    my $text = error_log_text() . (_slurp("$Servroot/nginx.out") // '');
    my @bad = grep { /\[(alert|emerg)\]|AddressSanitizer|LeakSanitizer|runtime error:|exited on signal/ } split /\n/, $text;
    # a block that kills workers itself (--- killed_workers) expects their SIGKILL, nothing else
    @bad = grep { !/\[alert\] .*exited on signal 9$/ } @bad if exists $b->{sec}{killed_workers};
    Test::More::ok(!@bad, "$b->{name} - no alert, emerg, sanitizer report or crash in error.log")
        or Test::More::diag(join "\n", @bad[0 .. ($#bad > 19 ? 19 : $#bad)]);
}

sub _run_block {
    my $b = shift;
    my $name = $b->{name};
    $HubStopped = 0;
    $LogPos = _log_size();
    my %v;
    for my $k (@{ $b->{order} }) {     # in file order: eval sections may have side effects
        my $val = eval { _section_value($b->{sec}{$k}) };
        die "section --- $k: $@" if $@;
        $v{$k} = $val;
    }
    my $flat = join "\n", map { ref $_ eq 'ARRAY' ? map({ $_ // '' } @$_) : $_ // '' } values %v;
    my $hub_used = ($b->{raw} . $flat) =~ /TEST_NGINX_(?:HUB|CDN)|\bhub_/;
    if ($hub_used) { _ensure_hub(); hub_control('reset'); $Fixtures = undef }
    $v{$_} = _subst($v{$_}) for keys %v;

    nginx_stop();
    remove_tree($Servroot, { keep_root => 1 }) unless exists $v{no_clean};
    $LogPos = _log_size();
    %NginxEnv = map { /^\s*(\w+)=(.*)$/ ? ($1 => $2) : () } split /\n/, $v{env} // '';
    ($Workers) = ($v{workers} // 1) =~ /(\d+)/;
    local $Timeout = $v{timeout} // $Timeout;
    _write_conf(\%v);
    _write_user_files($v{user_files}) if defined $v{user_files};

    if (exists $v{must_die}) {
        my ($rc, $out) = _run_nginx('-t');
        Test::More::ok($rc != 0, "$name - nginx -t fails") or Test::More::diag($out);
        _check_log($name, $out, \%v, 'nginx -t output');
        return $hub_used;
    }
    nginx_start();
    for my $line (grep { /\S/ } split /\n/, $v{hub_control} // '') {
        my ($op, $j) = $line =~ /^\s*(\S+)\s*(.*)$/;
        my $data = length $j ? eval { $json->decode($j) } : {};
        die "bad JSON in hub_control line '$line': $@" unless $data;
        hub_control($op, $data);
    }
    hub_stop() if exists $v{hub_stop};

    if (defined $v{request}) {
        my @reqs = ref $v{request} eq 'ARRAY' ? @{ $v{request} } : ($v{request});
        for my $i (0 .. $#reqs) {
            my $tag = @reqs > 1 ? "$name - req " . ($i + 1) : $name;
            my $raw = $reqs[$i];
            $raw =~ s/\A\s+//;
            my ($line, $body) = split /\r?\n/, $raw, 2;
            $body //= '';
            chomp $body unless $b->{sec}{request}{evaled};
            my ($m, $uri, $proto) = split ' ', $line;
            my @h = map { /^\s*([^:\s]+):\s?(.*?)\r?$/ ? [$1, $2] : () } split /\n/, _nth($v{more_headers}, $i) // '';
            my $res = _request('127.0.0.1', $ServerPort, $m, $uri, $proto // 'HTTP/1.1', \@h, $body, $Timeout);
            _check_response($tag, \%v, $i, $res);
        }
    }
    if (defined $v{perl}) {
        my $file = $name =~ s/["\n]/_/gr;
        my $hub = eval { require Test2::API; Test2::API::test2_stack()->top };
        my $filter = $hub && $hub->pre_filter(sub {     # prefix check names with the block's
            my (undef, $e) = @_;
            $e->set_name("$name - " . ($e->name // '')) if $e->isa('Test2::Event::Ok');
            return $e;
        });
        my $ok = eval "package main; use strict; use warnings;\n#line 1 \"$file --- perl\"\n$v{perl}\n;1";
        $hub->pre_unfilter($filter) if $filter;
        _harness_error($b, "perl section died: $@") unless $ok;
    }
    sleep 0.2 if defined $v{error_log} || defined $v{no_error_log} || defined $v{hub_requests};
    _check_log($name, error_log_text(), \%v, 'error.log');
    _check_hub_requests($name, $v{hub_requests}) if defined $v{hub_requests};
    return $hub_used;
}

sub _nth { my ($v, $i) = @_; ref $v eq 'ARRAY' ? $v->[$i] : $v }

sub _pats {       # section value -> list of strings / qr//
    my $v = shift;
    return () unless defined $v;
    return map { ref $_ ? $_ : grep { /\S/ } split /\n/ } ref $v eq 'ARRAY' ? @$v : ($v);
}

sub _check_log {
    my ($name, $text, $v, $what) = @_;
    for my $p (_pats($v->{error_log})) {
        Test::More::ok(ref $p ? $text =~ $p : index($text, $p) >= 0, "$name - $what matches \"$p\"");
    }
    for my $p (_pats($v->{no_error_log})) {
        my ($hit) = grep { ref $p ? $_ =~ $p : index($_, $p) >= 0 } split /\n/, $text;
        Test::More::ok(!defined $hit, "$name - $what does not match \"$p\"")
            or Test::More::diag("matching line: $hit");
    }
}

sub _check_response {
    my ($name, $v, $i, $res) = @_;
    return if exists $v->{ignore_response};
    my $tb = Test::More->builder;
    my $fails = grep { !$_ } $tb->summary;
    _check_response1(@_);
    return unless (grep { !$_ } $tb->summary) > $fails;
    my $b = substr($res->{body}, 0, 300);
    $b =~ s/([^\t\n\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    Test::More::diag(join "\n", 'response: status ' . ($res->{status} // '-') . ($res->{error} ? " (error: $res->{error})" : ''),
        (map { "  $_->[0]: $_->[1]" } @{ $res->{header_list} }),
        'body (' . length($res->{body}) . ' bytes): ' . $b);
}

sub _check_response1 {
    my ($name, $v, $i, $res) = @_;
    if ($res->{error} && !exists $v->{abort}) {
        Test::More::fail("$name - request completed");
        Test::More::diag("request error: $res->{error}");
    }
    my $code = _nth($v->{error_code}, $i) // 200;
    $code =~ s/\s+//g;
    Test::More::is($res->{status}, $code, "$name - status code ok") if length $code;
    if (defined(my $rh = _nth($v->{response_headers}, $i))) {
        for (grep { /\S/ } split /\n/, $rh) {
            if (/^\s*!\s*(\S+)/) {
                Test::More::ok(!exists $res->{headers}{lc $1}, "$name - header $1 absent")
                    or Test::More::diag("got: $res->{headers}{lc $1}");
            } elsif (/^\s*([^:\s]+)\s*:\s?(.*?)\s*$/) {
                Test::More::is($res->{headers}{lc $1}, $2, "$name - header $1 ok");
            }
        }
    }
    if (defined(my $rh = _nth($v->{response_headers_like}, $i))) {
        for (grep { /\S/ } split /\n/, $rh) {
            my ($k, $re) = /^\s*([^:\s]+)\s*:\s?(.*?)\s*$/ or next;
            Test::More::like($res->{headers}{lc $k} // '', qr/$re/, "$name - header $k like /$re/");
        }
    }
    my $body = $res->{body};
    if (defined(my $exp = _nth($v->{response_body}, $i))) {
        if (length($exp) + length($body) < 4000 && "$exp$body" !~ /[^\t\n\r\x20-\x7e]/) {
            Test::More::is($body, $exp, "$name - response_body - response is expected");
        } else {
            my $d = 0;
            $d++ while $d < length $exp && $d < length $body && substr($exp, $d, 1) eq substr($body, $d, 1);
            Test::More::ok($body eq $exp, "$name - response_body - response is expected")
                or Test::More::diag(sprintf "got %d bytes, expected %d; first difference at offset %d",
                    length $body, length $exp, $d);
        }
    }
    if (defined(my $re = _nth($v->{response_body_like}, $i))) {
        chomp $re unless ref $re;
        Test::More::like($body, ref $re ? $re : qr/$re/s, "$name - response_body_like - response is expected");
    }
    if (defined(my $sha = _nth($v->{response_body_sha256}, $i))) {
        $sha =~ s/\s+//g;
        Test::More::is(sha256_hex($body), lc $sha, "$name - response body sha256")
            or Test::More::diag('body length: ' . length $body);
    }
    if (defined(my $len = _nth($v->{response_body_length}, $i))) {
        $len =~ s/\s+//g;
        Test::More::is(length $body, $len, "$name - response body length");
    }
}

sub _check_hub_requests {
    my ($name, $spec) = @_;
    my $log = hub_log();
    my @shown;
    for my $line (grep { /\S/ } split /\n/, $spec) {
        my ($srv, $what, $re, $n);
        if ($line =~ /^\s*(hub|cdn|any)\s+(auth|bytes)\s*(.*?)\s*=>\s*(\d+)\s*$/) {
            ($srv, $what, $re, $n) = ($1, $2, $3, $4);
        } elsif ($line =~ /^\s*(hub|cdn|any)\s+(\S+)\s+(.*?)\s*=>\s*(\d+)\s*$/) {
            ($srv, $what, $re, $n) = ($1, uc $2, $3, $4);
        } else {
            Test::More::fail("$name - hub_requests: cannot parse '$line'");
            next;
        }
        my @e = grep {
            ($srv eq 'any' || $_->{server} eq $srv) && (!length $re || $_->{path} =~ /$re/)
        } @$log;
        my $got = $what eq 'auth'  ? grep({ defined $_->{auth} } @e)
                : $what eq 'bytes' ? do { my $s = 0; $s += $_->{bytes} // 0 for @e; $s }
                : grep({ $what eq '*' || uc $_->{method} eq $what } @e);
        Test::More::is($got, $n, "$name - hub_requests: $line")
            or push @shown, 1;
    }
    Test::More::diag("hub log:\n" . join "\n", map {
        sprintf '  %s %s %s -> %s (%s bytes)%s', $_->{server}, $_->{method}, $_->{path}, $_->{status} // '-',
            $_->{bytes} // 0, $_->{auth} ? ' [auth]' : ''
    } @$log) if @shown;
}

1;
