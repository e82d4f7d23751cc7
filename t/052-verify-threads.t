# Downloads of 1 MiB and more are hashed in a thread pool (hf_verify_threads),
# from what the pipe wrote to the cache's temporary file; the worker hashes
# the end itself.  The promise is the same as on the event loop: a corrupt
# or short body is never recorded and never completed to the client,
# wherever in the file the damage is; a client that leaves mid-download
# leaves nothing behind.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;
use Time::HiRes qw(sleep);

our $Size = 6 * 1024 * 1024 + 12345;

# a blob of $Size under a new name ($seed), LFS or a regular file
sub add_big {
    my ($seed, $lfs) = @_;
    my $add = hub_control('add_file', { kind => 'model', repo => 'test-org/tiny-model', path => "$seed.bin",
                                        size => $::Size, lfs => $lfs ? JSON::PP::true() : JSON::PP::false(),
                                        seed => $seed });
    $add->{path} = "$seed.bin";
    return $add;
}

sub url_of { my $add = shift; return "/hf/test-org/tiny-model/resolve/$add->{commit}/$add->{path}" }

# a corrupt download, where: refused, not recorded, right the next time
sub check_corrupt_at {
    my ($seed, $offset) = @_;
    my $add = add_big($seed, 1);
    my $url = url_of($add);
    hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'corrupt', offset => $offset });
    my $before = hub_count('cdn', 'GET', '^/lfs/');
    my $r = http_get($url);
    ok $r->{error} || length($r->{body}) < $::Size, "corrupt at $offset: no complete answer";
    like error_log_text(), qr/hash mismatch for "\Q$add->{path}\E" .* expected $add->{sha256}, got [0-9a-f]{64}/,
         "corrupt at $offset: logged";
    $r = http_get($url);
    is $r->{status}, 200, "corrupt at $offset: next GET";
    is sha256_hex($r->{body}), $add->{sha256}, "corrupt at $offset: next GET, right bytes";
    is hub_count('cdn', 'GET', '^/lfs/') - $before, 2, "corrupt at $offset: fetched again";
}

run_tests();

__DATA__

=== TEST 1: a large LFS blob: verified in the pool, recorded, served with the Hub down
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $add = main::add_big('pool-lfs', 1);
my $url = main::url_of($add);
my $r = http_get($url);
is $r->{status}, 200, 'GET';
is length($r->{body}), $::Size, 'whole length';
is sha256_hex($r->{body}), $add->{sha256}, 'right bytes';
hub_stop();
$r = http_get($url);
is $r->{status}, 200, 'Hub down: recorded, served from the cache';
is sha256_hex($r->{body}), $add->{sha256}, 'Hub down: right bytes';
unlike error_log_text(), qr/\[(alert|crit|emerg)\]/, 'no alert';



=== TEST 2: a large regular file: its git blob sha1, in the pool
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $add = main::add_big('pool-git', 0);
my $url = main::url_of($add);
my $r = http_get($url);
is $r->{status}, 200, 'GET';
is $r->{headers}{etag}, qq("$add->{git_sha1}"), 'ETag: the git sha1';
is sha256_hex($r->{body}), $add->{sha256}, 'right bytes';
hub_stop();
is sha256_hex(http_get($url)->{body}), $add->{sha256}, 'recorded: served with the Hub down';



=== TEST 3: corrupt early (hashed by the pool), in the middle, in the last bytes (the worker's)
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
main::check_corrupt_at('early', 1000);
main::check_corrupt_at('middle', int($::Size / 2));
main::check_corrupt_at('late', $::Size - 10);



=== TEST 4: a truncated large download: aborted, not recorded
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $add = main::add_big('pool-trunc', 1);
my $url = main::url_of($add);
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'truncate', after => 3 * 1024 * 1024 });
my $r = http_get($url);
ok $r->{error} || length($r->{body}) < $::Size, 'no complete answer';
hub_stop();
is http_get($url)->{status}, 502, 'nothing recorded: 502 with the Hub down';



=== TEST 5: a client that leaves mid-download: the worker lives on, nothing half-recorded
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $add = main::add_big('pool-leave', 1);
my $url = main::url_of($add);
my @before = worker_pids();
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'slow', chunk => 262144, delay_ms => 20,
                       count => 1 });
my $s = start_get($url);
my $got = 0;
while ($got < 2 * 1024 * 1024) {
    my $n = sysread($s, my $buf, 65536);
    last unless $n;
    $got += $n;
}
ok $got >= 2 * 1024 * 1024, 'read 2 MiB, then left';
close $s;
sleep 1.5;
is_deeply [worker_pids()], \@before, 'the same workers';
my $r = http_get($url);
is $r->{status}, 200, 'next GET';
is sha256_hex($r->{body}), $add->{sha256}, 'next GET: right bytes';
unlike error_log_text(), qr/\[(alert|crit|emerg)\]|AddressSanitizer/, 'no alert';



=== TEST 6: a named pool, for one distribution only
--- main_config
thread_pool hfverify threads=2;
--- http_config eval: $::HttpConfig . q{ hf_verify_threads off; }
--- config eval: $::Config . q{ location /hf-named/ { hf_distribution named; hf_verify_threads hfverify; } }
--- perl
my $add = main::add_big('pool-named', 1);
my $r = http_get("/hf-named/test-org/tiny-model/resolve/$add->{commit}/$add->{path}");
is sha256_hex($r->{body}), $add->{sha256}, 'right bytes';
my ($pid) = worker_pids();
opendir my $d, "/proc/$pid/task" or die "no /proc/$pid/task: $!";
my $threads = grep { /^\d+$/ } readdir $d;
is $threads, 3, "the worker runs its own thread and the pool's two";
main::check_corrupt_at('named', 5000);



=== TEST 7: hf_verify_threads off: hashed on the event loop, as strictly
--- http_config eval: $::HttpConfig . q{ hf_verify_threads off; }
--- config eval: $::Config
--- perl
my $add = main::add_big('loop-lfs', 1);
is sha256_hex(http_get(main::url_of($add))->{body}), $add->{sha256}, 'right bytes';
my ($pid) = worker_pids();
opendir my $d, "/proc/$pid/task" or die "no /proc/$pid/task: $!";
is scalar(grep { /^\d+$/ } readdir $d), 1, 'no thread pool: the worker alone';
main::check_corrupt_at('loop', 1000);



=== TEST 8: a pool nginx does not know: nginx -t fails
--- http_config eval: $::HttpConfig
--- config eval: $::Config . q{ location /hf-nopool/ { hf_distribution nopool; hf_verify_threads nosuchpool; } }
--- must_die
--- error_log
unknown thread pool "nosuchpool"
