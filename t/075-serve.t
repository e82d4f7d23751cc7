# A verified, cached blob is sent from its proxy_cache file by the client's
# request itself (as a static file), whole or as a range; a file gone from
# under nginx is downloaded again; hits keep the entry from "inactive"
# eviction as proxy_cache hits do.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;
use Digest::MD5 qw(md5_hex);

# where proxy_cache keeps a key (levels=1:2)
sub cache_file {
    my $h = md5_hex(shift);
    return servroot() . '/cache/' . substr($h, -1) . '/' . substr($h, -3, 2) . "/$h";
}

run_tests();

__DATA__

=== TEST 1: a cached file, whole, as ranges and by HEAD: from its cache file, nothing asked upstream
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- log_level: debug
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $c = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my $base = "/hf/test-org/tiny-model/resolve/$f->{commit}";
is http_get("$base/model.safetensors")->{status}, 200, 'downloaded';
is http_get("$base/config.json")->{status}, 200, 'downloaded';
my $n = hub_count('any', '*', '.');
my $body = http_get("$base/model.safetensors")->{body};
is sha256_hex($body), $f->{sha256}, 'cached: the bytes';
my $r = http_get("$base/model.safetensors", [[Range => 'bytes=100-199']]);
is $r->{status}, 206, 'a range: 206';
is $r->{headers}{'content-range'}, "bytes 100-199/$f->{size}", 'Content-Range';
is $r->{body}, substr($body, 100, 100), 'the range\'s bytes';
$r = http_get("$base/model.safetensors", [[Range => 'bytes=-10']]);
is $r->{body}, substr($body, -10), 'a suffix range';
$r = http_get("$base/config.json");
is $r->{headers}{etag}, qq{"$c->{git_sha1}"}, 'a regular file: its ETag';
is $r->{headers}{'content-length'}, $c->{size}, 'Content-Length';
is length($r->{body}), $c->{size}, 'its bytes';
$r = http_head("$base/model.safetensors");
is $r->{headers}{'content-length'}, $f->{size}, 'HEAD: Content-Length';
is hub_count('any', '*', '.'), $n, 'nothing asked of the hub or the CDN';
my $key = "hf:file:public:$f->{sha256}";
my @served = error_log_text() =~ /hf serve: "\Q$key\E" from "[^"]+\/\Q${\ md5_hex($key)}\E", bytes (\d+-\d+)/g;
is_deeply \@served, ["0-$f->{size}", '100-200', ($f->{size} - 10) . "-$f->{size}"],
          'sent from the cache file: the file, then each range';



=== TEST 2: a cache file removed under nginx: downloaded again, verified
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $url = "/hf/test-org/tiny-model/resolve/$f->{commit}/model.safetensors";
is http_get($url)->{status}, 200, 'downloaded';
my $file = main::cache_file("hf:file:public:$f->{sha256}");
# renamed into the cache just after the last byte left: bounded wait
ok Test::Nginx::Hf::_wait_until(10, sub { -f $file }), 'cached';
unlink $file or die "unlink $file: $!";
my $r = http_get($url);
is $r->{status}, 200, 'again: 200';
is sha256_hex($r->{body}), $f->{sha256}, 'the bytes';
is hub_count('cdn', 'GET', '^/lfs/'), 2, 'downloaded again';
ok Test::Nginx::Hf::_wait_until(10, sub { -f $file }), 'cached again';
is sha256_hex(http_get($url)->{body}), $f->{sha256}, 'then from the cache';
is hub_count('cdn', 'GET', '^/lfs/'), 2, 'with no download';



=== TEST 3: files sent from the cache count as used: "inactive" evicts what is not asked for, not what is
--- http_config eval
my $c = $::HttpConfig;
$c =~ s/use_temp_path=off/use_temp_path=off inactive=4s/ or die;
$c
--- config eval: $::Config
--- timeout: 30
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $c = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my $base = "/hf/test-org/tiny-model/resolve/$f->{commit}";
is http_get("$base/$_")->{status}, 200, "$_ downloaded" for 'model.safetensors', 'config.json';
my $used = main::cache_file("hf:file:public:$f->{sha256}");
my $unused = main::cache_file("hf:file:public:$c->{git_sha1}");
for (1 .. 8) {      # 8 s: twice "inactive"
    sleep 1;
    is http_get("$base/model.safetensors")->{status}, 200, "used, second $_";
}
ok Test::Nginx::Hf::_wait_until(15, sub { !-e $unused }), 'the file not asked for is evicted';
ok -f $used, 'the file asked for every second stays';
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'and was never downloaded again';
