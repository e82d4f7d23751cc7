# The fault matrix: every way the Hub can fail a download, for a regular
# file (bytes from the Hub's /api/resolve-cache/) and an LFS file (bytes
# from the CDN), each cold, as a closed range (fetched directly while a
# background fill downloads the whole file), as an open range (streamed from
# the fill) and with waiting clients (three at once on one cold blob).
#
# Faults: 503 on the metadata, 503 / close / reset / truncation / a corrupt
# byte (late, early) / a slow body / a body that stalls past
# proxy_read_timeout / no answer at all on the bytes, the Hub down before
# the request and in the middle of the body, kill -9 of the downloading
# worker.
#
# For every combination:
#   1. never a complete answer with wrong bytes: a 200/206 whose body has
#      its Content-Length and whose connection was not cut short carries
#      exactly the Hub's bytes (the range asked for a 206); the one
#      documented exception (README, Limits: a closed range of a file not
#      cached yet is sent unverified) is a TODO check;
#   2. no poisoned entry: once the fault is gone (faults are count-limited,
#      the Hub restarted, the worker respawned), a GET gets the Hub's bytes,
#      the same request as the faulted one too, and a GET again;
#   3. no hang past its bound: every request (or group of waiting clients)
#      is answered within $Bound seconds (proxy_read_timeout and
#      hf_fill_timeout are 2 s here);
#   4. no worker crash (the harness fails a block on "exited on signal";
#      the kill blocks expect their own SIGKILLs only).
#
# The four modes of a block run at once, each on its own file (its own
# blob and its own faults), so that a block costs its slowest mode.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;
use POSIX ();
use Storable ();
use Time::HiRes qw(time sleep);

our $Repo  = 'test-org/tiny-model';
our $Size  = 1536 * 1024;           # large enough for faults mid-body
our $Bound = 15;                     # seconds: "no hang"; generous on purpose
our ($RangeA, $RangeB) = (100_000, 899_999);     # a closed range: 800000 bytes
our $OpenFrom = 100_000;                         # an open range: bytes=100000-

our $FmHttpConfig = ($::HttpConfig =~ s/proxy_read_timeout\s+[^;]*;//r)
                  . "\n    proxy_read_timeout 2s;\n    hf_fill_timeout 2s;\n";

# modes: the faulted request(s), and how many matching upstream GETs of the
# bytes the mode makes (a closed range: the fill and the range itself)
our @Modes = qw(cold range-closed range-open waiting);
our %Mode = (
    'cold'         => { clients => 1, headers => {}, bytes_gets => 1 },
    'range-closed' => { clients => 1, headers => { Range => "bytes=$RangeA-$RangeB" }, bytes_gets => 2,
                        start => $RangeA, end => $RangeB },
    'range-open'   => { clients => 1, headers => { Range => "bytes=$OpenFrom-" }, bytes_gets => 1,
                        start => $OpenFrom, end => $Size - 1 },
    'waiting'      => { clients => 3, headers => {}, bytes_gets => 1 },
);

# faults: on the metadata (the HEAD of /resolve/) or on the GET of the
# bytes (a closed range: on its fill and on the range itself).  Reset and
# truncation after 600000 bytes cut both; the corrupt byte at 1000000 is
# beyond the closed range's 800000 bytes, so it hits only the fill (a
# closed range of a file not cached yet goes out before the whole file can
# be verified: README, Limits); 'corrupt-early' puts it inside the range.
our %Fault = (
    'meta-503'     => { on => 'meta',  fault => { kind => 'status', code => 503 } },
    '503'          => { on => 'bytes', fault => { kind => 'status', code => 503 } },
    'close'        => { on => 'bytes', fault => { kind => 'close' } },
    'reset'        => { on => 'bytes', fault => { kind => 'reset', after => 600_000 } },
    'truncate'     => { on => 'bytes', fault => { kind => 'truncate', after => 600_000 } },
    'corrupt'      => { on => 'bytes', fault => { kind => 'corrupt', offset => 1_000_000 },
                        log => 'hash mismatch for "%s"' },
    # early: inside the closed range, which therefore goes out complete and
    # wrong, a documented limit (TODO below), while its fill is refused
    'corrupt-early' => { on => 'bytes', fault => { kind => 'corrupt', offset => 5000 },
                        log => 'hash mismatch for "%s"',
                        todo => { 'range-closed' => 'README, Limits: a closed range of a file not cached yet '
                                                    . 'is sent before the whole file can be verified' } },
    'slow'         => { on => 'bytes', fault => { kind => 'slow', chunk => 262144, delay_ms => 150 },
                        must_succeed => 1 },
    'stall'        => { on => 'bytes', fault => { kind => 'slow', chunk => 262144, delay_ms => 6000 } },
    'hang'         => { on => 'bytes', fault => { kind => 'hang' } },
    'hub-down'     => { action => 'down' },
    'hub-down-mid' => { on => 'bytes', fault => { kind => 'slow', chunk => 65536, delay_ms => 200 },
                        action => 'down-mid' },
    'kill'         => { on => 'bytes', fault => { kind => 'slow', chunk => 65536, delay_ms => 200 },
                        action => 'kill' },
);

sub add_file {
    my ($kind, $mode) = @_;
    # a ref of its own forks from main: the same commit whatever else was
    # added, also after the hub restarted
    return hub_control('add_file', { repo => $Repo, path => "fm-$mode.bin", ref => "fm-$mode",
                                     size => $Size, seed => "fm-$kind-$mode",
                                     ($kind eq 'lfs' ? (lfs => JSON::PP::true()) : ()) });
}

sub make_case {
    my ($kind, $mode, $on) = @_;
    my $add = add_file($kind, $mode);
    my $path = "fm-$mode.bin";
    my $c = { %{ $Mode{$mode} }, kind => $kind, mode => $mode, add => $add, path => $path,
              url => "/hf/$Repo/resolve/$add->{commit}/$path" };
    local $Test::Nginx::Hf::Timeout = 30;
    $c->{content} = http_get(hub_url() . "/_control/content?kind=model&repo=$Repo"
                             . "&commit=$add->{commit}&path=$path")->{body};
    die "fixture content of $path: wrong bytes\n" unless sha256_hex($c->{content}) eq $add->{sha256};
    if (($on // '') eq 'meta') {
        @$c{qw(server method re count)} = ('hub', undef, "^/\Q$Repo\E/resolve/[0-9a-f]{40}/\Q$path\E(\\?|\$)", 1);
    } elsif ($kind eq 'lfs') {
        @$c{qw(server method re count)} = ('cdn', 'GET', "^/lfs/$add->{sha256}(\\?|\$)", $c->{bytes_gets});
    } else {
        @$c{qw(server method re count)} = ('hub', 'GET', "^/api/resolve-cache/models/\Q$Repo\E/[0-9a-f]{40}/\Q$path\E(\\?|\$)",
                                            $c->{bytes_gets});
    }
    return $c;
}

sub matching {
    my ($c, $log) = @_;
    return grep { $_->{server} eq $c->{server} && (!$c->{method} || $_->{method} eq $c->{method})
                  && $_->{path} =~ /$c->{re}/ } @{ $log // hub_log() };
}

# the mode's request(s) in a child process: the answers and the time taken
sub spawn {
    my $c = shift;
    my $file = servroot() . "/fm-$c->{mode}.$$.result";
    unlink $file;
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        eval {
            my $t0 = time;
            my $res = $c->{clients} > 1 ? parallel_requests($c->{clients}, 'GET', $c->{url}, $c->{headers})
                                        : [ http_get($c->{url}, $c->{headers}) ];
            Storable::nstore({ res => $res, elapsed => time - $t0 }, $file);
        };
        POSIX::_exit(0);
    }
    return { pid => $pid, file => $file };
}

sub collect {
    my $job = shift;
    waitpid $job->{pid}, 0;
    my $r = eval { Storable::retrieve($job->{file}) } // { res => [ { error => 'no result' } ], elapsed => 0 };
    unlink $job->{file};
    return $r;
}

sub describe {
    my $r = shift;
    return sprintf 'status %s, %d body bytes, Content-Length %s, Content-Range %s%s',
        $r->{status} // '-', length($r->{body} // ''), $r->{headers}{'content-length'} // '-',
        $r->{headers}{'content-range'} // '-', $r->{error} ? ", error: $r->{error}" : '';
}

sub complete {
    my $r = shift;
    my $st = $r->{status} // 0;
    my $cl = $r->{headers}{'content-length'};
    return ($st == 200 || $st == 206) && !$r->{error} && (!defined $cl || length($r->{body}) == $cl);
}

# the bytes a 2xx must carry: the whole file, or the Content-Range of a 206
sub expected_body {
    my ($c, $r) = @_;
    return $c->{content} if ($r->{status} // 0) == 200;
    my ($from, $to, $n) = ($r->{headers}{'content-range'} // '') =~ m{^bytes (\d+)-(\d+)/(\d+)$} or return undef;
    return undef unless $n == $Size && $to < $Size && $from <= $to;
    return substr($c->{content}, $from, $to - $from + 1);
}

# 1: a complete answer has the Hub's bytes (whatever else happened)
sub check_no_wrong_bytes {
    my ($c, $r, $what, $todo) = @_;
    if (complete($r)) {
        my $exp = expected_body($c, $r);
        {
            local $main::TODO = $todo;
            ok defined $exp && $r->{body} eq $exp, "$what: a complete answer carries the Hub's bytes"
                or diag "$what: " . describe($r) . ", sha256 " . sha256_hex($r->{body});
        }
        if (defined $c->{start} && ($r->{status} // 0) == 206) {
            is $r->{headers}{'content-range'}, "bytes $c->{start}-$c->{end}/$Size", "$what: the range asked";
        }
    } else {
        pass "$what: not a complete answer (" . describe($r) . ')';
    }
}

# after the fault: exactly the Hub's bytes, complete
sub check_exact {
    my ($c, $r, $what, $range) = @_;
    my $want = $range ? 206 : 200;
    my $exp = $range ? substr($c->{content}, $c->{start}, $c->{end} - $c->{start} + 1) : $c->{content};
    ok +($r->{status} // 0) == $want && complete($r) && $r->{body} eq $exp,
       "$what: $want with the Hub's bytes" or diag "$what: " . describe($r)
       . ', sha256 ' . sha256_hex($r->{body} // '') . ", want $want, " . length($exp) . ' bytes, sha256 ' . sha256_hex($exp);
}

sub timed {
    my ($what, $code) = @_;
    my $t0 = time;
    my @r = $code->();
    my $took = time - $t0;
    ok $took < $Bound, sprintf('%s: answered in %.1f s (bound %d s)', $what, $took, $Bound);
    return wantarray ? @r : $r[0];
}

# a fault some requests did not consume would hit the checks after it
sub drain {
    my ($c, $left) = @_;
    local $Test::Nginx::Hf::Timeout = 3;
    my $url;
    if ($c->{server} eq 'cdn') {
        my $h = http_head(hub_url() . "/$Repo/resolve/$c->{add}{commit}/$c->{path}");
        $url = $h->{headers}{location} // return;
    } elsif ($c->{re} =~ /resolve-cache/) {
        $url = hub_url() . "/api/resolve-cache/models/$Repo/$c->{add}{commit}/$c->{path}?drain";
    } else {
        $url = hub_url() . "/$Repo/resolve/$c->{add}{commit}/$c->{path}";
    }
    http_request($c->{method} // 'HEAD', $url) for 1 .. $left;
}

# the downloads of every case are under way, mid-body
sub wait_mid_body {
    my @cases = @_;
    return Test::Nginx::Hf::_wait_until(10, sub {
        my $log = hub_log();
        for my $c (@cases) {
            my @m = main::matching($c, $log);
            return 0 if @m < $c->{count} || grep { $_->{bytes} < 200_000 || $_->{complete} } @m;
        }
        return 1;
    });
}

# one block: one fault, one kind of file, the four modes at once
sub hub_faults {
    my ($fname, $kind) = @_;
    my $F = $Fault{$fname} or die "no fault $fname\n";
    my $action = $F->{action} // '';
    hub_control('reset');
    my @cases = map { make_case($kind, $_, $F->{on}) } @Modes;

    if ($F->{fault}) {
        for my $c (@cases) {
            hub_control('fault', { %{ $F->{fault} }, server => $c->{server}, match => $c->{re},
                                   ($c->{method} ? (method => $c->{method}) : ()), count => $c->{count} });
        }
    }
    hub_stop() if $action eq 'down';

    my $t0 = time;
    my @jobs = map { spawn($_) } @cases;
    if ($action eq 'kill' || $action eq 'down-mid') {
        ok wait_mid_body(@cases), "$fname: every download under way, mid-body"
            or diag explain [ map { { path => $_->{path}, method => $_->{method}, bytes => $_->{bytes} } } @{ hub_log() } ];
        if ($action eq 'kill') {
            my @w = worker_pids();
            ok scalar(@w), 'the downloading worker: ' . join(' ', @w);
            kill 'KILL', @w;
            ok Test::Nginx::Hf::_wait_until(10, sub { my @n = worker_pids(); @n && !grep { my $o = $_; grep { $_ == $o } @w } @n }),
               'a new worker';
        } else {
            hub_stop();
        }
    }
    my @got = map { collect($_) } @jobs;

    # the faulted requests
    for my $i (0 .. $#cases) {
        my ($c, $g) = ($cases[$i], $got[$i]);
        my $what = "$c->{mode} (faulted)";
        ok $g->{elapsed} < $Bound, sprintf('%s: answered in %.1f s (bound %d s)', $what, $g->{elapsed}, $Bound);
        my $n = 0;
        for my $r (@{ $g->{res} }) {
            $n++;
            my $w = $c->{clients} > 1 ? "$what, client $n" : $what;
            if ($F->{must_succeed}) {
                check_exact($c, $r, $w, defined $c->{start});
            } else {
                check_no_wrong_bytes($c, $r, $w, $F->{todo} && $F->{todo}{$c->{mode}});
            }
        }
    }

    if ($action eq 'down' || $action eq 'down-mid') {
        hub_start();
        for my $c (@cases) {
            is add_file($kind, $c->{mode})->{commit}, $c->{add}{commit}, "$c->{mode}: the file again after the Hub restarted";
        }
    } elsif ($F->{fault}) {
        my $log = hub_log();
        for my $c (@cases) {
            my $hit = () = matching($c, $log);
            ok $hit >= $c->{count}, "$c->{mode}: the fault was hit ($hit matching requests, $c->{count} faulted)"
                or drain($c, $c->{count} - $hit);
        }
        if ($fname eq 'slow') {
            my ($w) = grep { $_->{mode} eq 'waiting' } @cases;
            is scalar(matching($w, $log)), 1, 'waiting: three clients, one download';
        }
    }

    # no poisoned entry: the Hub's bytes now, twice, and the mode's request
    for my $c (@cases) {
        my $what = "$c->{mode} (after)";
        my $r = timed("$what, GET", sub { http_get($c->{url}) });
        check_exact($c, $r, "$what, GET", 0);
        if ($c->{clients} > 1) {
            my $res = timed("$what, $c->{clients} clients at once", sub { parallel_requests($c->{clients}, 'GET', $c->{url}) });
            check_exact($c, $res->[$_], "$what, client " . ($_ + 1), 0) for 0 .. $#$res;
        } elsif (defined $c->{start}) {
            $r = timed("$what, $c->{headers}{Range}", sub { http_get($c->{url}, $c->{headers}) });
            check_exact($c, $r, "$what, $c->{headers}{Range}", 1);
        }
        $r = timed("$what, GET again", sub { http_get($c->{url}) });
        check_exact($c, $r, "$what, GET again", 0);
    }

    if ($F->{log}) {
        my $text = error_log_text();
        for my $c (@cases) {
            my $p = sprintf $F->{log}, $c->{path};
            ok index($text, $p) >= 0, "$c->{mode}: error.log has '$p'";
        }
    }
    if ($action eq 'kill') {
        like error_log_text(), qr/exited on signal 9/, 'the worker was killed';
    }
    note sprintf '%s, %s: %.1f s', $fname, $kind, time - $t0;
}

run_tests();

__DATA__

=== TEST 1: 503 on the metadata, regular file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('meta-503', 'regular');



=== TEST 2: 503 on the metadata, LFS file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('meta-503', 'lfs');



=== TEST 3: 503 on the bytes, regular file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('503', 'regular');



=== TEST 4: 503 on the bytes, LFS file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('503', 'lfs');



=== TEST 5: connection closed without an answer, regular file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('close', 'regular');



=== TEST 6: connection closed without an answer, LFS file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('close', 'lfs');



=== TEST 7: connection reset mid-body, regular file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('reset', 'regular');



=== TEST 8: connection reset mid-body, LFS file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('reset', 'lfs');



=== TEST 9: body truncated, regular file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('truncate', 'regular');



=== TEST 10: body truncated, LFS file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('truncate', 'lfs');



=== TEST 11: a corrupt byte, regular file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('corrupt', 'regular');



=== TEST 12: a corrupt byte, LFS file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('corrupt', 'lfs');



=== TEST 13: a corrupt byte early in the body, regular file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('corrupt-early', 'regular');



=== TEST 14: a corrupt byte early in the body, LFS file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('corrupt-early', 'lfs');



=== TEST 15: a slow body (alive): served, regular file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('slow', 'regular');



=== TEST 16: a slow body (alive): served, LFS file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('slow', 'lfs');



=== TEST 17: a body that stalls past proxy_read_timeout, regular file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('stall', 'regular');



=== TEST 18: a body that stalls past proxy_read_timeout, LFS file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('stall', 'lfs');



=== TEST 19: no answer at all (hang), regular file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('hang', 'regular');



=== TEST 20: no answer at all (hang), LFS file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('hang', 'lfs');



=== TEST 21: Hub down, regular file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('hub-down', 'regular');



=== TEST 22: Hub down, LFS file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('hub-down', 'lfs');



=== TEST 23: Hub down mid-body, regular file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('hub-down-mid', 'regular');



=== TEST 24: Hub down mid-body, LFS file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- perl
main::hub_faults('hub-down-mid', 'lfs');



=== TEST 25: kill -9 of the downloading worker, regular file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- killed_workers
--- perl
main::hub_faults('kill', 'regular');



=== TEST 26: kill -9 of the downloading worker, LFS file: cold, ranges, waiting clients
--- http_config eval: $::FmHttpConfig
--- config eval: $::Config
--- timeout: 25
--- killed_workers
--- perl
main::hub_faults('kill', 'lfs');
