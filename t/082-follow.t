# Requests for a blob that another request is downloading follow that
# download: they get their bytes as they arrive, not when it ends; the last
# byte only once the hash matched; an aborted connection when it fails.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;
use Time::HiRes qw(time sleep);

our $Size = 2 * 1024 * 1024;

sub big_file {
    return hub_control('add_file', { kind => 'model', repo => 'test-org/tiny-model', path => 'big.bin',
                                     size => $::Size, lfs => JSON::PP::true(), seed => 'follow' });
}

# big.bin, its URL, and a first client downloading it under $fault, once
# the CDN has sent $bytes of it
sub start_download {
    my ($fault, $bytes) = @_;
    my $add = big_file();
    my $url = "/hf/test-org/tiny-model/resolve/$add->{commit}/big.bin";
    hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'slow', count => 1, %$fault });
    my $first = start_get($url);
    Test::Nginx::Hf::_wait_until(10, sub { cdn_bytes() >= $bytes })
        or die "the download did not get to $bytes bytes\n";
    return ($add, $url, $first);
}

sub cdn_bytes {
    my $n = 0;
    $n += $_->{bytes} // 0 for grep { $_->{server} eq 'cdn' } @{ hub_log() };
    return $n;
}

# reads from a socket, appending to $$raw, until the body has $want bytes
# or the connection ends; returns (headers, body so far, whether it ended)
sub read_more {
    my ($s, $raw, $want, $secs) = @_;
    my $end = time + $secs;
    $s->blocking(0);
    while (time < $end) {
        my $n = sysread($s, my $chunk, 65536);
        return (split_answer($$raw), 1) if defined $n && $n == 0;
        if ($n) { $$raw .= $chunk } else { sleep 0.01 }
        my ($h, $b) = split_answer($$raw);
        return ($h, $b, 0) if defined $want && defined $b && length($b) >= $want;
    }
    return (split_answer($$raw), 0);
}

# each socket's answer, read to its end: [headers, body]
sub answers {
    return map { my $raw = ''; my ($h, $b) = read_more($_, \$raw, undef, 20); [$h // '', $b // ''] } @_;
}

# how many of the answers match: status line (a regex), body (a sha256)
sub count_answers {
    my ($answers, $status, $sha256) = @_;
    return scalar grep { $_->[0] =~ $status && (!defined $sha256 || sha256_hex($_->[1]) eq $sha256) }
                       @$answers;
}

sub split_answer {
    my $buf = shift;
    my $i = index($buf, "\r\n\r\n");
    return ($buf, undef) if $i < 0;
    return (substr($buf, 0, $i), substr($buf, $i + 4));
}

run_tests();

__DATA__

=== TEST 1: a second client gets its bytes while the first client's download runs, verified, with one download
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- log_level: debug
--- timeout: 30
--- perl
# the download crawls: 64 KiB every 100 ms, about 3 s
my ($add, $url, $first) = main::start_download({ chunk => 65536, delay_ms => 100 }, 300000);
my $second = start_get($url);
my ($raw2, $raw1) = ('', '');
my ($h, $b) = main::read_more($second, \$raw2, 600000, 10);
like $h, qr{^HTTP/1\.1 200}, 'the second client: 200';
like $h, qr{\r\nContent-Length: $::Size\r\n}i, 'with the whole length';
ok defined $b && length($b) >= 600000, 'it has bytes before the download ended (' . length($b // '') . ')';
ok main::cdn_bytes() < $::Size, 'while the CDN is still sending (' . main::cdn_bytes() . " of $::Size)";
my (undef, $rest) = main::read_more($second, \$raw2, undef, 20);
my (undef, $one) = main::read_more($first, \$raw1, undef, 20);
is length($rest), $::Size, 'the second client: every byte';
is sha256_hex($rest), $add->{sha256}, 'the second client: the right bytes';
is sha256_hex($one // ''), $add->{sha256}, 'the first client: the right bytes';
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'one download';
my $third = http_get($url);
is sha256_hex($third->{body}), $add->{sha256}, 'then from the cache';
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'still one download';
like error_log_text(), qr/hf follow: "hf:file:public:$add->{sha256}" from "[^"]+"/,
     'the second client followed the download\'s temporary file';



=== TEST 2: the followed download fails mid-file: the follower's connection is aborted, never completed
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- timeout: 30
--- perl
my ($add, $url, $first) = main::start_download({ chunk => 65536, delay_ms => 100 }, 300000);
my $second = start_get($url);
my $raw = '';
my ($h, $b) = main::read_more($second, \$raw, 300000, 10);
like $h, qr{^HTTP/1\.1 200}, 'following: 200';
hub_stop();
my (undef, $rest, $closed) = main::read_more($second, \$raw, undef, 20);
ok $closed, 'the follower\'s connection was closed';
ok length($rest) < $::Size, 'before the last byte (' . length($rest) . " of $::Size)";
like error_log_text(), qr/the download of "big\.bin" of "test-org\/tiny-model" that this request followed failed/,
     'logged';
--- killed_workers



=== TEST 3: a client arriving when the download has every byte but the last: the whole blob, verified, no second download
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- log_level: debug
--- timeout: 30
--- perl
# all but the last byte at once, then the last one 2 s later
my ($add, $url, $first) = main::start_download({ pause_at => $::Size - 1, delay_ms => 2000 }, $::Size - 1);
my $second = start_get($url);
my ($raw1, $raw2) = ('', '');
my ($h, $b) = main::read_more($second, \$raw2, undef, 20);
my (undef, $one) = main::read_more($first, \$raw1, undef, 20);
like $h, qr{^HTTP/1\.1 200}, 'the late client: 200';
is length($b // ''), $::Size, 'the late client: every byte';
is sha256_hex($b // ''), $add->{sha256}, 'the late client: the right bytes';
is sha256_hex($one // ''), $add->{sha256}, 'the first client: the right bytes';
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'one download';
like error_log_text(), qr/hf follow: "hf:file:public:$add->{sha256}" from/, 'it followed the download';



=== TEST 4: clients that follow a download ask the Hub nothing: one metadata request for all, by commit and by branch; HEAD and ranges still ask
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- timeout: 30
--- perl
my ($add, $url, $first) = main::start_download({ chunk => 65536, delay_ms => 100 }, 300000);
my $meta = sub { hub_count('hub', '*', '/resolve/[^/]+/big\.bin') };
is $meta->(), 1, 'the first client asked the Hub for the metadata';
# the branch, resolved by another file: followers by branch know its commit
is http_head('/hf/test-org/tiny-model/resolve/main/config.json')->{status}, 200, 'main resolved';
my $branch = "/hf/test-org/tiny-model/resolve/main/big.bin";
my @followers = ((map { start_get($url) } 1 .. 3), (map { start_get($branch) } 1 .. 2));
my @bodies;
for my $s (@followers) {
    my $raw = '';
    my ($h, $b) = main::read_more($s, \$raw, undef, 20);
    like $h, qr{^HTTP/1\.1 200}, 'a follower: 200';
    like $h, qr{\r\nX-Repo-Commit: $add->{commit}\r\n}i, 'a follower: the commit';
    like $h, qr{\r\nETag: "$add->{sha256}"\r\n}i, 'a follower: the ETag';
    push @bodies, $b // '';
}
is scalar(grep { sha256_hex($_) eq $add->{sha256} } @bodies), 5, 'every follower: the right bytes';
my $raw1 = '';
my (undef, $one) = main::read_more($first, \$raw1, undef, 20);
is sha256_hex($one // ''), $add->{sha256}, 'the first client: the right bytes';
is $meta->(), 1, 'one metadata request for the six of them';
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'one download';
# another file downloading: a HEAD and a range of it ask the Hub
my $add2 = hub_control('add_file', { kind => 'model', repo => 'test-org/tiny-model', path => 'big2.bin',
                                     size => $::Size, lfs => JSON::PP::true(), seed => 'follow-2' });
my $url2 = "/hf/test-org/tiny-model/resolve/$add2->{commit}/big2.bin";
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'slow', count => 1,
                       chunk => 65536, delay_ms => 100 });
my $first2 = start_get($url2);
Test::Nginx::Hf::_wait_until(10, sub { hub_count('cdn', 'GET', '^/lfs/') >= 2 }) or die "no second download\n";
my $meta2 = sub { hub_count('hub', '*', '/resolve/[^/]+/big2\.bin') };
is http_head($url2)->{status}, 200, 'HEAD during the download';
is http_get($url2, [['Range', 'bytes=0-99']])->{status}, 206, 'a range during the download';
is $meta2->(), 3, 'HEAD and the range asked the Hub, as the first client did';
my $raw3 = '';
my (undef, $two) = main::read_more($first2, \$raw3, undef, 20);
is sha256_hex($two // ''), $add2->{sha256}, 'that download: the right bytes';



=== TEST 5: a follower whose client reads slowly gets every byte (the client's socket fills up, the request waits for it to drain)
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- timeout: 40
--- perl
my $size = 12 * 1024 * 1024;
my $add = hub_control('add_file', { kind => 'model', repo => 'test-org/tiny-model', path => 'big3.bin',
                                    size => $size, lfs => JSON::PP::true(), seed => 'follow-3' });
my $url = "/hf/test-org/tiny-model/resolve/$add->{commit}/big3.bin";
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'slow', count => 1,
                       chunk => 262144, delay_ms => 60 });
my $first = start_get($url);
Test::Nginx::Hf::_wait_until(10, sub { main::cdn_bytes() >= 1048576 }) or die "the download did not start\n";
my $slow = start_get($url);
sleep 2;        # not reading: nginx's writes to it fill the socket buffers
my ($raw, $raw1) = ('', '');
my ($h, $b) = main::read_more($slow, \$raw, undef, 20);
like $h, qr{^HTTP/1\.1 200}, 'the slow client: 200';
is length($b // ''), $size, 'the slow client: every byte';
is sha256_hex($b // ''), $add->{sha256}, 'the slow client: the right bytes';
my (undef, $one) = main::read_more($first, \$raw1, undef, 20);
is sha256_hex($one // ''), $add->{sha256}, 'the first client: the right bytes';
is hub_count('hub', '*', '/resolve/[^/]+/big3\.bin'), 1, 'it followed without asking the Hub';



=== TEST 6: clients that arrive together, before the Hub answered the first one's metadata request, wait for that answer: one metadata request, one download, every client the right bytes
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- timeout: 30
--- perl
my $add = hub_control('add_file', { kind => 'model', repo => 'test-org/tiny-model', path => 'together.bin',
                                    size => $::Size, lfs => JSON::PP::true(), seed => 'follow-4' });
my $url = "/hf/test-org/tiny-model/resolve/$add->{commit}/together.bin";
hub_control('fault', { server => 'hub', match => '/resolve/[^/]+/together\.bin', kind => 'delay',
                       count => 1, delay_ms => 600 });
my @clients = map { start_get($url) } 1 .. 6;
my @answers = main::answers(@clients);
is main::count_answers(\@answers, qr{^HTTP/1\.1 200}, $add->{sha256}), 6, 'every client: 200, the right bytes';
is scalar(grep { $_->[0] =~ m{\r\nETag: "$add->{sha256}"\r\n}i } @answers), 6, 'every client: the ETag';
is hub_count('hub', '*', '/resolve/[^/]+/together\.bin'), 1, 'one metadata request for the six of them';
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'one download';



=== TEST 7: clients waiting for another's metadata request for a file the commit does not have: every one a 404 EntryNotFound, one metadata request
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- timeout: 30
--- perl
my $add = hub_control('add_file', { kind => 'model', repo => 'test-org/tiny-model', path => 'somewhere.bin',
                                    size => 1000, lfs => JSON::PP::true(), seed => 'follow-6' });
my $url = "/hf/test-org/tiny-model/resolve/$add->{commit}/nowhere.bin";
hub_control('fault', { server => 'hub', match => '/resolve/[^/]+/nowhere\.bin', kind => 'delay',
                       count => 1, delay_ms => 600 });
my @clients = map { start_get($url) } 1 .. 4;
my @answers = main::answers(@clients);
is main::count_answers(\@answers, qr{^HTTP/1\.1 404.*\r\nX-Error-Code: EntryNotFound(?:\r\n|\z)}si), 4,
    'every client: 404 EntryNotFound';
is hub_count('hub', '*', '/resolve/[^/]+/nowhere\.bin'), 1, 'one metadata request for the four of them';



=== TEST 8: the metadata request the others wait for fails: the first client gets the error, the others ask the Hub themselves and get the file (one download)
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- timeout: 30
--- perl
my $add = hub_control('add_file', { kind => 'model', repo => 'test-org/tiny-model', path => 'unlucky.bin',
                                    size => $::Size, lfs => JSON::PP::true(), seed => 'follow-5' });
my $url = "/hf/test-org/tiny-model/resolve/$add->{commit}/unlucky.bin";
hub_control('fault', { server => 'hub', match => '/resolve/[^/]+/unlucky\.bin', kind => 'status',
                       code => 500, count => 1, delay_ms => 600 });
my $first = start_get($url);
Test::Nginx::Hf::_wait_until(10, sub { hub_count('hub', '*', '/resolve/[^/]+/unlucky\.bin') >= 1 })
    or die "no metadata request\n";
my @others = map { start_get($url) } 1 .. 3;
my ($error) = main::answers($first);
like $error->[0], qr{^HTTP/1\.1 5\d\d}, 'the first client: the error';
my @answers = main::answers(@others);
is main::count_answers(\@answers, qr{^HTTP/1\.1 200}, $add->{sha256}), 3,
    'every client that waited: 200, the right bytes';
is hub_count('hub', '*', '/resolve/[^/]+/unlucky\.bin'), 4, 'the failed request, then one each';
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'one download';



=== TEST 9: two workers: clients that arrive together cost one metadata request and one download, whichever worker each lands on (those in another worker than the first look at its slot every few ms)
--- workers: 2
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- timeout: 30
--- perl
my $add = hub_control('add_file', { kind => 'model', repo => 'test-org/tiny-model', path => 'two.bin',
                                    size => $::Size, lfs => JSON::PP::true(), seed => 'follow-7' });
my $url = "/hf/test-org/tiny-model/resolve/$add->{commit}/two.bin";
hub_control('fault', { server => 'hub', match => '/resolve/[^/]+/two\.bin', kind => 'delay',
                       count => 1, delay_ms => 600 });
my @clients = map { start_get($url) } 1 .. 8;
my @answers = main::answers(@clients);
is main::count_answers(\@answers, qr{^HTTP/1\.1 200}, $add->{sha256}), 8, 'every client: 200, the right bytes';
is hub_count('hub', '*', '/resolve/[^/]+/two\.bin'), 1, 'one metadata request for the eight of them';
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'one download';



=== TEST 10: clients waiting for another's metadata request of a file whose blob is cached already (the same bytes at another path): every one the cached bytes, one metadata request, no download
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- timeout: 30
--- perl
my %blob = (kind => 'model', repo => 'test-org/tiny-model', size => $::Size, lfs => JSON::PP::true(),
            seed => 'follow-8');
my $one = hub_control('add_file', { %blob, path => 'first-name.bin' });
my $got = http_get("/hf/test-org/tiny-model/resolve/$one->{commit}/first-name.bin");
is sha256_hex($got->{body}), $one->{sha256}, 'the blob is cached under its first name';
my $two = hub_control('add_file', { %blob, path => 'second-name.bin' });
is $two->{sha256}, $one->{sha256}, 'the same blob under a second name';
my $downloads = hub_count('cdn', 'GET', '^/lfs/');
my $url = "/hf/test-org/tiny-model/resolve/$two->{commit}/second-name.bin";
hub_control('fault', { server => 'hub', match => '/resolve/[^/]+/second-name\.bin', kind => 'delay',
                       count => 1, delay_ms => 600 });
my @clients = map { start_get($url) } 1 .. 4;
my @answers = main::answers(@clients);
is main::count_answers(\@answers, qr{^HTTP/1\.1 200}, $two->{sha256}), 4, 'every client: 200, the right bytes';
is hub_count('hub', '*', '/resolve/[^/]+/second-name\.bin'), 1, 'one metadata request for the four of them';
is hub_count('cdn', 'GET', '^/lfs/'), $downloads, 'no download';



=== TEST 11: the client whose metadata request the others wait for goes away before the answer: the others get their bytes, with one download
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- timeout: 30
--- perl
my $add = hub_control('add_file', { kind => 'model', repo => 'test-org/tiny-model', path => 'gone.bin',
                                    size => $::Size, lfs => JSON::PP::true(), seed => 'follow-9' });
my $url = "/hf/test-org/tiny-model/resolve/$add->{commit}/gone.bin";
hub_control('fault', { server => 'hub', match => '/resolve/[^/]+/gone\.bin', kind => 'delay',
                       count => 1, delay_ms => 600 });
my $first = start_get($url);
Test::Nginx::Hf::_wait_until(10, sub { hub_count('hub', '*', '/resolve/[^/]+/gone\.bin') >= 1 })
    or die "no metadata request\n";
my @others = map { start_get($url) } 1 .. 3;
close $first;
my @answers = main::answers(@others);
is main::count_answers(\@answers, qr{^HTTP/1\.1 200}, $add->{sha256}), 3, 'every client that waited: 200, the right bytes';
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'one download';
