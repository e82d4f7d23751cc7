# Ranges: 206 with the right Content-Range and bytes, cached or not.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;

sub expect_range {
    my ($url, $range, $f, $start, $end) = @_;
    my $r = http_get($url, { Range => $range });
    my $bytes = http_get(hub_url() . "/_control/content?kind=model&repo=test-org/tiny-model"
                         . "&commit=$f->{commit}&path=model.safetensors")->{body};
    is $r->{status}, 206, "$range: 206";
    is $r->{headers}{'content-range'}, "bytes $start-$end/$f->{size}", "$range: Content-Range";
    is $r->{headers}{'content-length'}, $end - $start + 1, "$range: Content-Length";
    is $r->{body}, substr($bytes, $start, $end - $start + 1), "$range: bytes";
}

# Waits (bounded) until the module recorded a verified blob: a fill in the
# background ends when it ends, later on a loaded machine.
sub wait_verified {
    my $sha = shift;
    my $tool = $ENV{HF_META_TOOL} // 'build/hf-meta';
    my $dir = servroot() . '/meta';
    return Test::Nginx::Hf::_wait_until(30, sub { `$tool $dir blobs 2>/dev/null` =~ /\Q$sha\E/ });
}

run_tests();

__DATA__

=== TEST 1: a range of an uncached LFS file: fetched directly while the file fills the cache
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $url = '/hf/test-org/tiny-model/resolve/main/model.safetensors';
main::expect_range($url, 'bytes=1000-1999', $f, 1000, 1999);
ok main::wait_verified($f->{sha256}), 'the whole file filled in the background, verified';
my @cdn = grep { $_->{server} eq 'cdn' } @{ hub_log() };
is scalar(@cdn), 2, 'two CDN requests';
is_deeply [sort map { $_->{range} // 'whole' } @cdn], ['bytes=1000-1999', 'whole'], 'the range, and the whole file';
is_deeply [sort map { $_->{bytes} } @cdn], [1000, $f->{size}], 'their bytes';
main::expect_range($url, 'bytes=0-0', $f, 0, 0);
main::expect_range($url, 'bytes=299990-', $f, 299990, 299999);
main::expect_range($url, 'bytes=-5', $f, 299995, 299999);
main::expect_range($url, 'bytes=299000-999999999', $f, 299000, 299999);
main::expect_range($url, 'bytes=70000-200000', $f, 70000, 200000);
is hub_count('cdn', '*', '.'), 2, 'later ranges from the cache';
is sha256_hex(http_get($url)->{body}), $f->{sha256}, 'the whole file, from the cache';
is hub_count('any', '*', '.'), 3, 'no further request: the fill was verified';



=== TEST 2: an open range (a resume) of an uncached file streams from the fill, verified
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $url = '/hf/test-org/tiny-model/resolve/main/model.safetensors';
main::expect_range($url, 'bytes=299000-', $f, 299000, 299999);
is hub_count('cdn', '*', '.'), 1, 'one CDN request, the whole file';
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'corrupt', count => 0 });
my $g = hub_file('model', 'gpt2', 'main', 'model.safetensors');
my $r = http_get('/hf/gpt2/resolve/main/model.safetensors', { Range => 'bytes=99000-' });
ok $r->{error} || length($r->{body}) < 1000, 'a corrupt file: the range is not completed';



=== TEST 3: an unsatisfiable range: 416 with bytes */size; several ranges: the whole file
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $url = '/hf/test-org/tiny-model/resolve/main/model.safetensors';
my $r = http_get($url, { Range => 'bytes=300000-' });
is $r->{status}, 416, 'unsatisfiable: status 416';
is $r->{headers}{'content-range'}, "bytes */$f->{size}", 'Content-Range';
$r = http_get($url, { Range => 'bytes=0-1,5-6' });
is $r->{status}, 200, 'several ranges: 200';
is sha256_hex($r->{body}), $f->{sha256}, 'several ranges: the whole file';
$r = http_get($url, { Range => 'bytes=10-20', 'If-Range' => '"not-the-etag"' });
is $r->{status}, 200, 'If-Range not matching: 200';
$r = http_get($url, { Range => 'bytes=10-19', 'If-Range' => qq{"$f->{sha256}"} });
is $r->{status}, 206, 'If-Range matching: 206';



=== TEST 4: the npm clients' metadata probe: Range bytes=0-0 on a regular file
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my $r = http_get('/hf/test-org/tiny-model/resolve/main/config.json', { Range => 'bytes=0-0' });
is $r->{status}, 206, 'matching If-Range: status 206';
is $r->{headers}{'content-range'}, "bytes 0-0/$f->{size}", 'size from Content-Range';
is $r->{headers}{etag}, qq{"$f->{git_sha1}"}, 'ETag';
is $r->{body}, '{', 'the first byte';



=== TEST 5: a late closed range of a large uncached file does not wait for the bytes before it
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- timeout: 30
--- perl
my $add = hub_control('add_file', { kind => 'model', repo => 'test-org/tiny-model', path => 'big.bin',
                                    size => 4 * 1024 * 1024, lfs => JSON::PP::true(), seed => 'late-range' });
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'slow', chunk => 65536, delay_ms => 100, count => 0 });
my $url = "/hf/test-org/tiny-model/resolve/$add->{commit}/big.bin";
my $r = http_get($url, { Range => 'bytes=4193304-4194303' });
is $r->{status}, 206, 'the last 1000 bytes: 206';
is length($r->{body}), 1000, 'its bytes';
my ($fill) = grep { $_->{server} eq 'cdn' && !$_->{range} } @{ hub_log() };
ok $fill && !$fill->{complete}, 'answered while the whole file is still coming';
ok main::wait_verified($add->{sha256}), 'the fill verified and recorded';
($fill) = grep { $_->{server} eq 'cdn' && !$_->{range} } @{ hub_log() };
ok $fill->{complete}, 'the fill completed';
my $n = hub_count('any', '*', '.');
my $whole = http_get($url);
is sha256_hex($whole->{body}), $add->{sha256}, 'then the whole file';
is hub_count('any', '*', '.'), $n, 'from the cache';
