# Streaming and concurrency: a cold GET sends bytes while they arrive from
# upstream; N clients asking for one uncached blob cause one download.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;
use IO::Socket::INET;

run_tests();

__DATA__

=== TEST 1: a cold GET streams: bytes reach the client before the CDN has sent them all
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- hub_control
fault {"server": "cdn", "match": "^/lfs/", "kind": "slow", "chunk": 16384, "delay_ms": 150}
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => server_port(), Timeout => 10) or die;
print $s "GET /hf/test-org/tiny-model/resolve/main/model.safetensors HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
my $got = '';
while ($got !~ /\r\n\r\n.{20000}/s) {
    my $n = sysread($s, $got, 65536, length $got);
    last unless $n;
}
like $got, qr{^HTTP/1\.1 200}, 'status';
my ($cdn) = grep { $_->{server} eq 'cdn' } @{ hub_log() };
ok $cdn && !$cdn->{complete}, 'the CDN is still sending';
ok $cdn && $cdn->{bytes} < $f->{size}, 'the CDN has sent part of the file only';
1 while sysread($s, $got, 65536, length $got);
my ($body) = $got =~ /\r\n\r\n(.*)$/s;
is sha256_hex($body), $f->{sha256}, 'all bytes, right';



=== TEST 2: ten clients, one uncached blob: one download, ten right answers
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- timeout: 30
--- perl
my $add = hub_control('add_file', { kind => 'model', repo => 'test-org/tiny-model', path => 'big.bin',
                                    size => 8 * 1024 * 1024, lfs => JSON::PP::true(), seed => 'concurrency' });
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'slow', chunk => 1048576, delay_ms => 150, count => 0 });
my $res = parallel_requests(10, 'GET', "/hf/test-org/tiny-model/resolve/$add->{commit}/big.bin");
is scalar(grep { $_->{status} == 200 } @$res), 10, 'ten 200s';
is scalar(grep { sha256_hex($_->{body}) eq $add->{sha256} } @$res), 10, 'ten right bodies';
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'one CDN download';
my $bytes = 0;
$bytes += $_->{bytes} for grep { $_->{server} eq 'cdn' } @{ hub_log() };
is $bytes, 8 * 1024 * 1024, 'bytes fetched from upstream = the blob size';
