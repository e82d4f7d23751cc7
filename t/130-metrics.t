# hf_metrics: the counters add up to what clients and the hub saw, survive
# a reload, and the fills gauge follows downloads (and dead workers); the
# log variables name what each request was about.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;
use IO::Socket::INET;
use JSON::PP;

our $Metrics = q{
    location = /metrics {
        hf_metrics;
    }
};

our $JsonLog = q{
    log_format hfjson escape=json '{"status":"$status","cache":"$hf_cache_status",'
        '"dist":"$hf_distribution","type":"$hf_repo_type","repo":"$hf_repo",'
        '"rev":"$hf_revision","commit":"$hf_commit","path":"$hf_path",'
        '"blob":"$hf_blob","up":"$hf_upstream_bytes","sent":"$body_bytes_sent"}';
    access_log logs/hf.log hfjson;
};

# the Prometheus text answer as { 'name{labels}' => value }
sub metrics {
    my $r = http_get('/metrics');
    die "/metrics: $r->{status}\n" unless $r->{status} == 200;
    my %m;
    for (split /\n/, $r->{body}) {
        next if /^#/;
        /^(\S+) (\d+)$/ or die "not a sample: $_\n";
        $m{$1} = $2;
    }
    return \%m;
}

sub sample {
    my ($m, $name, %l) = @_;
    my $labels = join ',', map { qq{$_="$l{$_}"} } grep { exists $l{$_} } qw(distribution cache_status source kind status);
    my $key = $labels ? "$name\{$labels\}" : $name;
    die "no sample $key\n" unless exists $m->{$key};
    return $m->{$key};
}

# the access log's first $n lines, decoded
sub log_lines {
    my $n = shift;
    my @l;
    Test::Nginx::Hf::_wait_until(10, sub {
        open my $fh, '<', servroot() . '/logs/hf.log' or return 0;
        @l = map { decode_json($_) } <$fh>;
        return @l >= $n;
    });
    return @l;
}

run_tests();

__DATA__

=== TEST 1: the counters add up: requests by cache status, bytes by source, upstream requests by kind and status
--- http_config eval: $::HttpConfig . $::JsonLog . "hf_revision_ttl 3s;"
--- config eval: $::Config . $::Metrics
--- perl
my $base = '/hf/test-org/tiny-model/resolve/main';
my @asked = (
    [GET  => "$base/model.safetensors"],     # MISS: HEAD 302 to the CDN, GET from the CDN
    [GET  => "$base/model.safetensors"],     # HIT
    [HEAD => "$base/model.safetensors"],     # HIT
    [GET  => "$base/config.json"],           # MISS: HEAD 307, HEAD resolve-cache, GET resolve-cache
    [GET  => "$base/nope.txt"],              # MISS: the Hub's 404 EntryNotFound, passed on
    [GET  => '/hf/api/models/test-org/tiny-model'],   # MISS: one API request
    [GET  => '/hf/api/models/test-org/tiny-model'],   # HIT
    [GET  => '/hf/bad/url'],                 # ERROR: 400, nothing asked
);
my @r = map { http_request(@$_) } @asked;
is_deeply [map { $_->{status} } @r], [200, 200, 200, 200, 404, 200, 200, 400], 'statuses';
my $hub_requests = hub_count('any', '*', '.');
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $c = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
sleep 4;                                     # the branch is stale
hub_stop();
push @r, http_get("$base/model.safetensors");    # STALE: the Hub unreachable, from the cache
push @r, http_get("$base/README.md");            # ERROR: 502, nothing cached
is $r[-2]{status}, 200, 'stale: 200';
is $r[-1]{status}, 502, 'uncached with the Hub down: 502';

my @log = main::log_lines(scalar @r);
is_deeply [map { $_->{cache} } @log], [qw(MISS HIT HIT MISS MISS MISS HIT), '', 'STALE', 'MISS'],
          '$hf_cache_status of each';

my $m = main::metrics();
my %want = (HIT => 3, REVALIDATED => 0, MISS => 4, STALE => 1, ERROR => 2);
for my $s (sort keys %want) {
    is main::sample($m, 'hf_requests_total', distribution => 'public', cache_status => $s), $want{$s},
       "hf_requests_total $s";
}
is main::sample($m, 'hf_requests_total', distribution => 'private', cache_status => 'MISS'), 0,
   'nothing counted for the other distribution';

# bytes: what the clients received, by where it came from; not the
# errors the cache made itself (the 400 and the 502)
my ($cache, $upstream) = (0, 0);
for my $i (0 .. 6, 8) {
    my $n = length $r[$i]{body};
    $log[$i]{cache} eq 'MISS' ? ($upstream += $n) : ($cache += $n);
}
ok $cache >= 2 * 300000, "bytes from the cache ($cache)";
is main::sample($m, 'hf_sent_bytes_total', distribution => 'public', source => 'cache'), $cache, 'sent from the cache';
is main::sample($m, 'hf_sent_bytes_total', distribution => 'public', source => 'upstream'), $upstream, 'sent from upstream';

# upstream requests: exactly what the hub and the CDN logged
my %kind = (meta => { '2xx' => 1, '3xx' => 2, '4xx' => 1, '429' => 0, '5xx' => 0, error => 2 },
            blob => { '2xx' => 2, '3xx' => 0, '4xx' => 0, '429' => 0, '5xx' => 0, error => 0 },
            api  => { '2xx' => 1, '3xx' => 0, '4xx' => 0, '429' => 0, '5xx' => 0, error => 0 });
my $total = 0;
for my $k (sort keys %kind) {
    for my $s (sort keys %{ $kind{$k} }) {
        my $v = main::sample($m, 'hf_upstream_requests_total', distribution => 'public', kind => $k, status => $s);
        is $v, $kind{$k}{$s}, "hf_upstream_requests_total $k $s";
        $total += $v unless $s eq 'error';
    }
}
is $total, $hub_requests, 'every request the hub and the CDN answered, and no other';

my $up = 0;
$up += $_->{up} =~ /^\d+$/ ? $_->{up} : 0 for @log;
ok $up > $f->{size} + $c->{size}, "upstream bytes: the two files and the API answer ($up)";
is main::sample($m, 'hf_upstream_bytes_total', distribution => 'public'), $up, 'hf_upstream_bytes_total = sum of $hf_upstream_bytes';
is main::sample($m, 'hf_verified_blobs_total', distribution => 'public'), 2, 'two blobs verified';
is main::sample($m, 'hf_verify_failures_total', distribution => 'public'), 0, 'no verification failed';
is main::sample($m, 'hf_fills_in_progress'), 0, 'no download running';
is main::sample($m, 'hf_metadata_size_bytes'), 64 * 1024 * 1024, 'the LMDB map size';
ok main::sample($m, 'hf_metadata_used_bytes') > 0, 'LMDB use';
is main::sample($m, 'hf_metadata_records{kind="blobs"}'), 2, 'blob records';

my $j = decode_json(http_get('/metrics?format=json')->{body});
is $j->{distributions}{public}{requests}{HIT}, 3, 'JSON: the same counters';
is $j->{distributions}{public}{upstream_requests}{meta}{'3xx'}, 2, 'JSON: by kind and status';
is $j->{metadata}{records}{files}, main::sample($m, 'hf_metadata_records{kind="files"}'), 'JSON: the records';



=== TEST 2: rate limits and verification failures are counted; the counters survive a reload
--- http_config eval: $::HttpConfig
--- config eval: $::Config . $::Metrics
--- perl
hub_control('fault', { server => 'hub', kind => 'ratelimit', match => 'README', count => 1 });
is http_get('/hf/test-org/tiny-model/resolve/main/README.md')->{status}, 429, 'rate-limited: 429';
hub_control('fault', { server => 'cdn', kind => 'corrupt', match => '^/lfs/', count => 1 });
my $r = http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors');
ok $r->{error} || length($r->{body}) < 300000, 'corrupt: the client connection aborted';
my $m = main::metrics();
is main::sample($m, 'hf_upstream_requests_total', distribution => 'public', kind => 'meta', status => '429'), 1,
   'the 429 counted';
is main::sample($m, 'hf_requests_total', distribution => 'public', cache_status => 'MISS'), 2,
   'the 429 passed on is a MISS; so is the aborted download';
is main::sample($m, 'hf_verify_failures_total', distribution => 'public'), 1, 'the corrupt download counted';
is main::sample($m, 'hf_verified_blobs_total', distribution => 'public'), 0, 'nothing verified';
nginx_reload();
my $after = main::metrics();
is_deeply { map { $_ => $after->{$_} } grep { /_total/ } keys %$after },
          { map { $_ => $m->{$_} } grep { /_total/ } keys %$m }, 'every counter kept across the reload';
is http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors')->{status}, 200, 'then a download';
is main::sample(main::metrics(), 'hf_verified_blobs_total', distribution => 'public'), 1, 'counted after the reload';
--- no_error_log
[alert]



=== TEST 3: the fills gauge: a download in progress, then done; a worker killed mid-download leaves none behind
--- http_config eval: $::HttpConfig . "hf_fill_timeout 2s;"
--- config eval: $::Config . $::Metrics
--- killed_workers
--- timeout: 30
--- perl
my $url = '/hf/test-org/tiny-model/resolve/main/model.safetensors';
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'slow', chunk => 16384, delay_ms => 300, count => 1 });
my $s = main::start_get($url);
ok Test::Nginx::Hf::_wait_until(10, sub { main::sample(main::metrics(), 'hf_fills_in_progress') == 1 }),
   'one download in progress';
my @w = main::worker_pids();
kill 'KILL', @w;
close $s;
ok Test::Nginx::Hf::_wait_until(10, sub { my @n = main::worker_pids(); @n && !grep { $_ == $w[0] } @n }),
   'a new worker';
is main::sample(main::metrics(), 'hf_fills_in_progress'), 0, 'the dead worker\'s download is not counted';
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'slow', chunk => 16384, delay_ms => 300, count => 1 });
$s = main::start_get($url);
ok Test::Nginx::Hf::_wait_until(10, sub { main::sample(main::metrics(), 'hf_fills_in_progress') == 1 }),
   'a new download in progress';
local $/;
my $answer = <$s>;
close $s;
like $answer, qr{^HTTP/1\.1 200}, 'it completed';
ok Test::Nginx::Hf::_wait_until(10, sub { main::sample(main::metrics(), 'hf_fills_in_progress') == 0 }),
   'and is no longer counted';



=== TEST 4: the log variables name the distribution, repository, revision, commit, file, blob and upstream bytes
--- http_config eval: $::HttpConfig . $::JsonLog
--- config eval: $::Config . $::Metrics
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $d = hub_file('dataset', 'test-org/tiny-dataset', 'main', 'README.md');
http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors');
http_get("/hf/test-org/tiny-model/resolve/$f->{commit}/model.safetensors");
http_get('/hf-private/datasets/test-org/tiny-dataset/resolve/main/README.md');
http_get('/hf/api/models/test-org/tiny-model/revision/main');
http_get('/metrics');
my @l = main::log_lines(5);
is_deeply $l[0], { status => 200, cache => 'MISS', dist => 'public', type => 'model', repo => 'test-org/tiny-model',
                   rev => 'main', commit => $f->{commit}, path => 'model.safetensors', blob => $f->{sha256},
                   up => $f->{size}, sent => $f->{size} }, 'a file by branch, downloaded';
is_deeply $l[1], { status => 200, cache => 'HIT', dist => 'public', type => 'model', repo => 'test-org/tiny-model',
                   rev => $f->{commit}, commit => $f->{commit}, path => 'model.safetensors', blob => $f->{sha256},
                   up => 0, sent => $f->{size} }, 'the same by commit, from the cache';
is_deeply $l[2], { status => 200, cache => 'MISS', dist => 'private', type => 'dataset', repo => 'test-org/tiny-dataset',
                   rev => 'main', commit => $d->{commit}, path => 'README.md', blob => $d->{git_sha1},
                   up => $d->{size}, sent => $d->{size} }, 'a regular file of a dataset: its git sha1';
is $l[3]{repo}, 'test-org/tiny-model', 'API: the repository';
is $l[3]{commit}, $f->{commit}, 'API: the commit';
is $l[3]{path}, '', 'API: no file';
is $l[4]{dist}, '', 'outside a distribution: empty';
is $l[4]{up}, '', 'outside a distribution: no upstream bytes';
