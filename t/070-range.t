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

run_tests();

__DATA__

=== TEST 1: a range of an uncached LFS file, then ranges of the cached one
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $url = '/hf/test-org/tiny-model/resolve/main/model.safetensors';
main::expect_range($url, 'bytes=1000-1999', $f, 1000, 1999);
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'fetched whole, once';
main::expect_range($url, 'bytes=0-0', $f, 0, 0);
main::expect_range($url, 'bytes=299990-', $f, 299990, 299999);
main::expect_range($url, 'bytes=-5', $f, 299995, 299999);
main::expect_range($url, 'bytes=299000-999999999', $f, 299000, 299999);
main::expect_range($url, 'bytes=70000-200000', $f, 70000, 200000);
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'later ranges from the cache';
--- hub_requests
cdn * . => 1



=== TEST 2: an unsatisfiable range: 416 with bytes */size; several ranges: the whole file
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $url = '/hf/test-org/tiny-model/resolve/main/model.safetensors';
my $r = http_get($url, { Range => 'bytes=300000-' });
is $r->{status}, 416, '416';
is $r->{headers}{'content-range'}, "bytes */$f->{size}", 'Content-Range';
$r = http_get($url, { Range => 'bytes=0-1,5-6' });
is $r->{status}, 200, 'several ranges: 200';
is sha256_hex($r->{body}), $f->{sha256}, 'several ranges: the whole file';
$r = http_get($url, { Range => 'bytes=10-20', 'If-Range' => '"not-the-etag"' });
is $r->{status}, 200, 'If-Range not matching: 200';
$r = http_get($url, { Range => 'bytes=10-19', 'If-Range' => qq{"$f->{sha256}"} });
is $r->{status}, 206, 'If-Range matching: 206';



=== TEST 3: the npm clients' metadata probe: Range bytes=0-0 on a regular file
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my $r = http_get('/hf/test-org/tiny-model/resolve/main/config.json', { Range => 'bytes=0-0' });
is $r->{status}, 206, '206';
is $r->{headers}{'content-range'}, "bytes 0-0/$f->{size}", 'size from Content-Range';
is $r->{headers}{etag}, qq{"$f->{git_sha1}"}, 'ETag';
is $r->{body}, '{', 'the first byte';
