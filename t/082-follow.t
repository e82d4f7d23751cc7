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
