# $hf_cache_status in the access log: HIT, REVALIDATED, MISS, STALE.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;

run_tests();

__DATA__

=== TEST 1: what each answer cost, in the access log
--- http_config eval
$::HttpConfig . q{
    hf_revision_ttl 5s;
    log_format hf '$request_method $uri $status $hf_cache_status';
    access_log logs/hf.log hf;
}
--- config eval: $::Config
--- perl
# The revision lives 5 s: the first three requests fit in it even on a
# loaded machine under ASan, and the sleeps outlast it.
my $url = '/hf/test-org/tiny-model/resolve/main/model.safetensors';
http_get($url);                                     # MISS
http_get($url);                                     # HIT
http_head($url);                                    # HIT
sleep 6;
http_get($url);                                     # REVALIDATED
http_get('/hf/api/models/test-org/tiny-model');     # MISS
http_get('/hf/api/models/test-org/tiny-model');     # HIT
sleep 6;
hub_stop();
http_get($url);                                     # STALE
http_get('/hf/test-org/tiny-model/resolve/main/README.md');     # 502 MISS
# a line is written after its answer left: wait for the eighth, bounded
my @lines;
Test::Nginx::Hf::_wait_until(10, sub {
    open my $fh, '<', servroot() . '/logs/hf.log' or return 0;
    @lines = map { chomp; $_ } <$fh>;
    return @lines >= 8;
});
is_deeply \@lines, [
    "GET $url 200 MISS",
    "GET $url 200 HIT",
    "HEAD $url 200 HIT",
    "GET $url 200 REVALIDATED",
    "GET /hf/api/models/test-org/tiny-model 200 MISS",
    "GET /hf/api/models/test-org/tiny-model 200 HIT",
    "GET $url 200 STALE",
    "GET /hf/test-org/tiny-model/resolve/main/README.md 502 MISS",
], 'access log';
