# A blob is never stuck behind a dead download: when the worker that
# downloads it dies (kill -9, a crash, the OOM killer), the next request
# takes the download over within hf_fill_timeout.  A live download, however
# slow and long, keeps its lock as long as bytes arrive: it is never
# duplicated.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

our $Size = 2 * 1024 * 1024;

sub big_file {
    return hub_control('add_file', { kind => 'model', repo => 'test-org/tiny-model', path => 'big.bin',
                                     size => $Size, lfs => JSON::PP::true(), seed => 'takeover' });
}

sub cdn_bytes {
    my $n = 0;
    $n += $_->{bytes} // 0 for grep { $_->{server} eq 'cdn' } @{ hub_log() };
    return $n;
}

run_tests();

__DATA__

=== TEST 1: the downloading worker killed mid-file: the next request takes over within hf_fill_timeout
--- http_config eval: $::HttpConfig . "hf_fill_timeout 2s;"
--- config eval: $::Config
--- timeout: 20
--- killed_workers
--- perl
my $add = main::big_file();
my $url = "/hf/test-org/tiny-model/resolve/$add->{commit}/big.bin";
# the first download crawls: 64 KiB every 200 ms
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'slow', chunk => 65536, delay_ms => 200, count => 1 });
my $s = main::start_get($url);
Test::Nginx::Hf::_wait_until(5, sub { main::cdn_bytes() > 200000 }) or die 'the download did not start';
my @w = main::worker_pids();
is scalar(@w), 1, 'one worker';
kill 'KILL', @w;
close $s;
Test::Nginx::Hf::_wait_until(5, sub { my @n = main::worker_pids(); @n && $n[0] != $w[0] }) or die 'no new worker';
my $t0 = time;
my $r = http_get($url);
my $took = time - $t0;
is $r->{status}, 200, 'taken over: 200';
is sha256_hex($r->{body}), $add->{sha256}, 'taken over: the right bytes';
ok $took < 2 + 6, sprintf('within hf_fill_timeout and a download (%.1f s)', $took);
ok $took > 0.5, sprintf('after the dead download\'s lock ran out (%.1f s)', $took);
is hub_count('cdn', 'GET', '^/lfs/'), 2, 'downloaded again';
my $again = http_get($url);
is sha256_hex($again->{body}), $add->{sha256}, 'then cached';
is hub_count('cdn', 'GET', '^/lfs/'), 2, 'no third download';
like error_log_text(), qr/exited on signal 9/, 'the worker was killed';
my @left = glob(servroot() . '/cache/*/*/*.[0-9]*');
is_deeply \@left, [], 'no temporary file of the dead download left in the cache';
like error_log_text(), qr/hf: removed "[^"]+\.\d{10}", left by a download that died/, 'its removal logged';
--- no_error_log
[emerg]



=== TEST 2: a live download slower than hf_fill_timeout is never duplicated
--- http_config eval: $::HttpConfig . "hf_fill_timeout 1s;"
--- config eval: $::Config
--- timeout: 30
--- perl
my $add = main::big_file();
my $url = "/hf/test-org/tiny-model/resolve/$add->{commit}/big.bin";
# about 5 s in all, bytes every 150 ms: progress, but 5 x hf_fill_timeout
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'slow', chunk => 65536, delay_ms => 150, count => 0 });
my $s = main::start_get($url);
Test::Nginx::Hf::_wait_until(5, sub { main::cdn_bytes() > 100000 }) or die 'the download did not start';
my $res = parallel_requests(3, 'GET', $url);
is scalar(grep { ($_->{status} // 0) == 200 } @$res), 3, 'three more clients: 200';
is scalar(grep { sha256_hex($_->{body} // '') eq $add->{sha256} } @$res), 3, 'the right bytes';
my $first = '';
1 while sysread($s, $first, 65536, length $first);
my ($body) = $first =~ /\r\n\r\n(.*)$/s;
is sha256_hex($body // ''), $add->{sha256}, 'the first client: the right bytes';
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'one download';
is main::cdn_bytes(), $add->{size}, 'upstream bytes: 1.00 x the blob';



=== TEST 3: hf_fill_timeout must be a time
--- http_config eval: $::HttpConfig . "hf_fill_timeout soon;"
--- config eval: $::Config
--- must_die
--- error_log
"hf_fill_timeout" directive invalid value
