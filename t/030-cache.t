# What is cached is served with no contact to the Hub: commits forever,
# branches within hf_revision_ttl; blobs are keyed by content, so the same
# blob through another revision or repository is fetched once, and an
# expired signed URL never matters.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;

run_tests();

__DATA__

=== TEST 1: a file at a commit, once cached, is answered with zero upstream requests
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
for my $path ('config.json', 'model.safetensors') {
    my $f = hub_file('model', 'test-org/tiny-model', 'main', $path);
    my $url = "/hf/test-org/tiny-model/resolve/$f->{commit}/$path";
    is http_get($url)->{status}, 200, "$path: first GET";
    my $before = scalar @{ hub_log() };
    my $h = http_head($url);
    my $g = http_get($url);
    is $h->{status}, 200, "$path: HEAD";
    is $h->{headers}{etag}, qq{"$f->{etag}"}, "$path: HEAD ETag";
    is $g->{status}, 200, "$path: GET";
    is sha256_hex($g->{body}), $f->{sha256}, "$path: bytes";
    is scalar @{ hub_log() }, $before, "$path: no upstream request for HEAD and GET";
}



=== TEST 2: a branch within hf_revision_ttl: zero upstream requests; after it, one HEAD
--- http_config eval: $::HttpConfig . "hf_revision_ttl 4s;"
--- config eval: $::Config
--- perl
my $url = '/hf/test-org/tiny-model/resolve/main/model.safetensors';
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
is http_get($url)->{status}, 200, 'first GET';
my $n = scalar @{ hub_log() };
is sha256_hex(http_get($url)->{body}), $f->{sha256}, 'second GET bytes';
is http_head($url)->{status}, 200, 'HEAD';
is scalar @{ hub_log() }, $n, 'within the ttl: no upstream request';
sleep 5;
my $r = http_get($url);
is sha256_hex($r->{body}), $f->{sha256}, 'after the ttl: bytes';
my @new = @{ hub_log() }[$n .. $#{ hub_log() }];
is scalar @new, 1, 'after the ttl: one upstream request';
is "$new[0]{server} $new[0]{method} $new[0]{path}",
   'hub HEAD /test-org/tiny-model/resolve/main/model.safetensors', 'a HEAD of the branch';



=== TEST 3: a moved branch is seen after the ttl, with the new commit's bytes
--- http_config eval: $::HttpConfig . "hf_revision_ttl 4s;"
--- config eval: $::Config
--- perl
my $url = '/hf/test-org/tiny-model/resolve/main/config.json';
my $main = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my $old = hub_file('model', 'test-org/tiny-model', 'v1.0', 'config.json');
is sha256_hex(http_get($url)->{body}), $main->{sha256}, 'main before the move';
hub_control('move', { kind => 'model', repo => 'test-org/tiny-model', ref => 'main', commit => $old->{commit} });
is sha256_hex(http_get($url)->{body}), $main->{sha256}, 'within the ttl: still the old answer';
sleep 5;
my $r = http_get($url);
is sha256_hex($r->{body}), $old->{sha256}, 'after the ttl: the new commit';
is $r->{headers}{'x-repo-commit'}, $old->{commit}, 'after the ttl: X-Repo-Commit';



=== TEST 4: the same blob through two repositories and two revisions: one CDN download
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $a = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $b = hub_file('model', 'test-org/copy-model', 'main', 'model.safetensors');
is $a->{sha256}, $b->{sha256}, 'fixtures share the blob';
is sha256_hex(http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors')->{body}), $a->{sha256}, 'repo 1';
is sha256_hex(http_get('/hf/test-org/copy-model/resolve/main/model.safetensors')->{body}), $a->{sha256}, 'repo 2';
is sha256_hex(http_get('/hf/test-org/tiny-model/resolve/v1.0/model.safetensors')->{body}), $a->{sha256}, 'another revision';
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'one CDN download';



=== TEST 5: an expired signed URL does not matter for cached content
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- hub_control
config {"url_ttl": 1}
--- perl
my $url = '/hf/test-org/tiny-model/resolve/main/model.safetensors';
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
is http_get($url)->{status}, 200, 'first GET';
sleep 2;
my $r = http_get($url);
is $r->{status}, 200, 'after the signed URL expired';
is sha256_hex($r->{body}), $f->{sha256}, 'bytes';
is hub_count('cdn', '*', '.'), 1, 'one CDN request';



=== TEST 6: an evicted cache entry is fetched again through the Hub's redirect
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
use File::Path qw(remove_tree);
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $url = "/hf/test-org/tiny-model/resolve/$f->{commit}/model.safetensors";
is http_get($url)->{status}, 200, 'first GET';
remove_tree(servroot() . '/cache', { keep_root => 1 });
nginx_reload();     # forget the cache's in-memory index
my $r = http_get($url);
is $r->{status}, 200, 'after eviction';
is sha256_hex($r->{body}), $f->{sha256}, 'bytes';
is hub_count('cdn', 'GET', '^/lfs/'), 2, 'fetched again from the CDN';
is hub_count('hub', 'GET', "/resolve/$f->{commit}/model\\.safetensors\$"), 1, 'through the Hub at the commit';
--- hub_requests
cdn auth => 0



=== TEST 7: cached bytes with no verified record are never served: fetched again
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
use File::Path qw(remove_tree);
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $url = "/hf/test-org/tiny-model/resolve/$f->{commit}/model.safetensors";
is http_get($url)->{status}, 200, 'first GET';
nginx_stop();
remove_tree(servroot() . '/meta', { keep_root => 1 });    # the cache stays
nginx_start();
my $r = http_get($url);
is $r->{status}, 200, 'status';
is sha256_hex($r->{body}), $f->{sha256}, 'bytes';
is hub_count('cdn', 'GET', '^/lfs/'), 2, 'downloaded again, not taken from the unverified entry';
my $n = hub_count('any', '*', '.');
is sha256_hex(http_get($url)->{body}), $f->{sha256}, 'third GET bytes';
is hub_count('any', '*', '.'), $n, 'now verified: no upstream request';
--- error_log
was never verified, fetching it again
