# /resolve/ answers like the Hub: real commits, ETags, sizes; LFS and Xet
# files as bytes (redirects followed inside nginx, nothing Xet leaks); every
# kind of repository and revision; renamed repositories.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;

run_tests();

__DATA__

=== TEST 1: HEAD of a regular file: the Hub's commit, git sha1 ETag, size, type
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my $r = http_head('/hf/test-org/tiny-model/resolve/main/config.json');
is $r->{status}, 200, 'status';
is $r->{headers}{'x-repo-commit'}, $f->{commit}, 'X-Repo-Commit';
is $r->{headers}{etag}, qq{"$f->{git_sha1}"}, 'ETag is the git blob sha1';
is $r->{headers}{'content-length'}, $f->{size}, 'Content-Length';
is $r->{headers}{'accept-ranges'}, 'bytes', 'Accept-Ranges';
like $r->{headers}{'content-type'}, qr{^application/json}, 'Content-Type';
ok !exists $r->{headers}{'x-linked-etag'}, 'no X-Linked-Etag';
is $r->{body}, '', 'no body';
--- hub_requests
hub HEAD ^/test-org/tiny-model/resolve/main/config\.json$ => 1
any GET . => 0



=== TEST 2: GET of a regular file: the bytes, from /api/resolve-cache/ at the commit
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my $r = http_get('/hf/test-org/tiny-model/resolve/main/config.json');
is $r->{status}, 200, 'status';
is sha256_hex($r->{body}), $f->{sha256}, 'bytes';
is $r->{headers}{etag}, qq{"$f->{git_sha1}"}, 'ETag';
is hub_count('hub', 'GET', "^/api/resolve-cache/models/test-org/tiny-model/$f->{commit}/config\\.json\\?"), 1,
   'bytes asked where the Hub redirected, at the commit';
is hub_count('hub', 'GET', "/resolve/"), 0, 'no GET of /resolve/';



=== TEST 3: HEAD of an LFS file: 200 with X-Linked-Etag/X-Linked-Size, no Location
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $r = http_head('/hf/test-org/tiny-model/resolve/main/model.safetensors');
is $r->{status}, 200, 'status (the Hub says 302)';
is $r->{headers}{'x-repo-commit'}, $f->{commit}, 'X-Repo-Commit';
is $r->{headers}{'x-linked-etag'}, qq{"$f->{sha256}"}, 'X-Linked-Etag is the sha256';
is $r->{headers}{etag}, qq{"$f->{sha256}"}, 'ETag';
is $r->{headers}{'x-linked-size'}, $f->{size}, 'X-Linked-Size';
is $r->{headers}{'content-length'}, $f->{size}, 'Content-Length';
ok !exists $r->{headers}{location}, 'no Location';
--- hub_requests
cdn * . => 0



=== TEST 4: GET of an LFS file: the CDN bytes, no token at the CDN, no Location
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $r = http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors');
is $r->{status}, 200, 'status';
is length($r->{body}), $f->{size}, 'length';
is sha256_hex($r->{body}), $f->{sha256}, 'bytes';
ok !exists $r->{headers}{location}, 'no Location';
--- hub_requests
cdn GET ^/lfs/ => 1
cdn auth => 0
cdn bytes => 300000



=== TEST 5: Xet files: no X-Xet-* header, no Xet Link, plain bytes even for an Xet Accept
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'xet.bin');
my $url = '/hf/test-org/tiny-model/resolve/main/xet.bin';
for my $r (http_head($url), http_get($url, { Accept => 'application/vnd.xet-fileinfo+json' })) {
    is $r->{status}, 200, 'status';
    my @xet = grep { $_->[0] =~ /^x-xet-/i } @{ $r->{header_list} };
    is scalar(@xet), 0, 'no X-Xet-* header';
    ok !exists $r->{headers}{link}, 'no Link';
    isnt $r->{headers}{'content-type'}, 'application/vnd.xet-fileinfo+json', 'not Xet file info';
    is $r->{headers}{'x-linked-etag'}, qq{"$f->{sha256}"}, 'X-Linked-Etag';
}
my $r = http_get($url, { Accept => 'application/vnd.xet-fileinfo+json' });
is sha256_hex($r->{body}), $f->{sha256}, 'bytes';
--- hub_requests
hub * xet-read-token => 0
any * reconstruction => 0
hub auth => 0



=== TEST 6: every kind of repository and revision, byte-exact
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my @cases = (
    [ 'model',   'gpt2',                  'main',  'config.json',            '/hf/gpt2/resolve/main/config.json' ],
    [ 'model',   'gpt2',                  'main',  'model.safetensors',      '/hf/gpt2/resolve/main/model.safetensors' ],
    [ 'dataset', 'test-org/tiny-dataset', 'main',  'data/train-00000.parquet',
      '/hf/datasets/test-org/tiny-dataset/resolve/main/data/train-00000.parquet' ],
    [ 'space',   'test-org/tiny-space',   'main',  'app.py',                 '/hf/spaces/test-org/tiny-space/resolve/main/app.py' ],
    [ 'model',   'test-org/tiny-model',   'v1.0',  'config.json',            '/hf/test-org/tiny-model/resolve/v1.0/config.json' ],
    [ 'model',   'test-org/tiny-model',   'refs/pr/1', 'pr-only.txt',        '/hf/test-org/tiny-model/resolve/refs%2Fpr%2F1/pr-only.txt' ],
    [ 'model',   'test-org/tiny-model',   'main',  'sub/dir/nested.txt',     '/hf/test-org/tiny-model/resolve/main/sub/dir/nested.txt' ],
    [ 'model',   'test-org/tiny-model',   'main',  'with space & more.txt',  '/hf/test-org/tiny-model/resolve/main/with%20space%20%26%20more.txt' ],
);
for my $c (@cases) {
    my ($kind, $repo, $rev, $path, $url) = @$c;
    my $f = hub_file($kind, $repo, $rev, $path);
    my $r = http_get($url);
    is $r->{status}, 200, "$url status";
    is sha256_hex($r->{body}), $f->{sha256}, "$url bytes";
    is $r->{headers}{'x-repo-commit'}, $f->{commit}, "$url X-Repo-Commit";
    my $c = http_get("/hf/" . ($kind eq 'model' ? '' : "${kind}s/") . "$repo/resolve/$f->{commit}/" . ($url =~ m{/resolve/[^/]+/(.*)$})[0]);
    is sha256_hex($c->{body}), $f->{sha256}, "$url bytes at the commit";
}
isnt hub_file('model', 'test-org/tiny-model', 'v1.0', 'config.json')->{sha256},
     hub_file('model', 'test-org/tiny-model', 'main', 'config.json')->{sha256},
     'the tag and the branch really differ';



=== TEST 7: a renamed repository: the relative 307 is rewritten into the prefix
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /hf/old-org/old-name/resolve/main/config.json
--- error_code: 307
--- response_headers
Location: /hf/test-org/tiny-model/resolve/main/config.json
--- hub_requests
hub HEAD ^/old-org/old-name/resolve/main/config\.json$ => 1
any GET . => 0



=== TEST 8: the client's own Authorization and Accept are not forwarded
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /hf/test-org/tiny-model/resolve/main/model.safetensors
--- more_headers
Authorization: Bearer hf_client_own_token_should_not_travel
--- error_code: 200
--- response_body_sha256 eval
hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors')->{sha256}
--- hub_requests
any auth => 0



=== TEST 9: a distribution at the root: HF_ENDPOINT=http://cache:8080
--- http_config eval: $::HttpConfig
--- config
location / { hf_distribution root; }
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $r = http_get('/test-org/tiny-model/resolve/main/model.safetensors');
is $r->{status}, 200, 'status';
is sha256_hex($r->{body}), $f->{sha256}, 'bytes';
my $a = http_get('/api/models/test-org/tiny-model/tree/main');
is $a->{status}, 200, 'API';
is http_get('/old-org/old-name/resolve/main/config.json')->{headers}{location},
   '/test-org/tiny-model/resolve/main/config.json', 'renamed: Location at the root';
