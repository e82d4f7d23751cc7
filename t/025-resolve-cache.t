# Today's Hub (since July 2025): /resolve/ of a regular file answers a
# relative 307 to /api/resolve-cache/{type}/{repo}/{commit}/{path}?...
# The cache follows it itself, for the metadata and for the bytes, and the
# client gets what the Hub answered before: 200, X-Repo-Commit, the git
# sha1 ETag, Content-Length, the bytes.  The 307 is never shown, never
# taken for a renamed repository; renamed repositories still are, on
# /resolve/ and on the API, with the client's own URL and query kept.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;

run_tests();

__DATA__

=== TEST 1: HEAD and GET of regular files of models, datasets and spaces: 200, never the 307
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my @cases = (
    [ 'model',   'test-org/tiny-model',   'config.json', '/hf/test-org/tiny-model',         'models' ],
    [ 'dataset', 'test-org/tiny-dataset', 'README.md',   '/hf/datasets/test-org/tiny-dataset', 'datasets' ],
    [ 'space',   'test-org/tiny-space',   'app.py',      '/hf/spaces/test-org/tiny-space',   'spaces' ],
);
for my $c (@cases) {
    my ($kind, $repo, $path, $base, $type) = @$c;
    my $f = hub_file($kind, $repo, 'main', $path);
    my $url = "$base/resolve/main/$path";
    my $h = http_head($url);
    is $h->{status}, 200, "$url: HEAD 200";
    is $h->{headers}{'x-repo-commit'}, $f->{commit}, "$url: X-Repo-Commit";
    is $h->{headers}{etag}, qq{"$f->{git_sha1}"}, "$url: ETag is the git sha1";
    is $h->{headers}{'content-length'}, $f->{size}, "$url: Content-Length is the file's";
    ok !exists $h->{headers}{location}, "$url: no Location";
    my $g = http_get($url);
    is $g->{status}, 200, "$url: GET 200";
    is sha256_hex($g->{body}), $f->{sha256}, "$url: bytes";
    is $g->{headers}{etag}, qq{"$f->{git_sha1}"}, "$url: GET ETag";
    is hub_count('hub', 'GET', "^/api/resolve-cache/$type/\Q$repo\E/$f->{commit}/\Q$path\E\\?"), 1,
       "$url: bytes from the resolve-cache URL, at the commit";
    my $again = http_get($url);
    is sha256_hex($again->{body}), $f->{sha256}, "$url: again, bytes";
}
is hub_count('hub', 'GET', '/resolve/'), 0, 'no GET of /resolve/: the bytes come from where the 307 points';
--- hub_requests
hub * ^/hf/ => 0
--- no_error_log
[error]



=== TEST 2: the 307 carrying X-Linked-Etag (a variant seen once) is followed the same way
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- hub_control
config {"resolve_mode": "cache307-linked"}
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my $url = '/hf/test-org/tiny-model/resolve/main/config.json';
my $h = http_head($url);
is $h->{status}, 200, 'HEAD 200';
is $h->{headers}{etag}, qq{"$f->{git_sha1}"}, 'ETag';
is $h->{headers}{'content-length'}, $f->{size}, 'Content-Length';
ok !exists $h->{headers}{'x-linked-etag'}, 'not made an LFS file';
my $g = http_get($url);
is $g->{status}, 200, 'GET 200';
is sha256_hex($g->{body}), $f->{sha256}, 'bytes';
--- hub_requests
hub GET ^/api/resolve-cache/ => 1
--- no_error_log
[error]



=== TEST 3: the Hub of 2024 (no 307) still works, with the bytes at /resolve/ at the commit
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- hub_control
config {"resolve_mode": "direct"}
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my $g = http_get('/hf/test-org/tiny-model/resolve/main/config.json');
is $g->{status}, 200, 'GET 200';
is sha256_hex($g->{body}), $f->{sha256}, 'bytes';
is hub_count('hub', 'GET', "^/test-org/tiny-model/resolve/$f->{commit}/config\\.json\$"), 1, 'bytes at the commit';
--- hub_requests
hub * ^/api/resolve-cache/ => 0



=== TEST 4: whatever Accept the client sends, and with its query kept
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'README.md');
my $url = '/hf/test-org/tiny-model/resolve/main/README.md?download=true';
for my $accept ('application/vnd.xet-fileinfo+json, */*', 'text/html', '*/*') {
    my $r = http_get($url, { Accept => $accept, Range => 'bytes=0-0' });
    is $r->{status}, 206, "Accept $accept: 206 to a probe";
    is $r->{headers}{'content-range'}, "bytes 0-0/$f->{size}", "Accept $accept: Content-Range";
    is $r->{headers}{etag}, qq{"$f->{git_sha1}"}, "Accept $accept: ETag";
    isnt $r->{headers}{'content-type'}, 'application/vnd.xet-fileinfo+json', "Accept $accept: not Xet info";
}
my $r = http_get($url, { Accept => 'application/vnd.xet-fileinfo+json, */*' });
is $r->{status}, 200, 'whole file: 200';
is sha256_hex($r->{body}), $f->{sha256}, 'whole file: bytes';
is hub_count('hub', 'HEAD', '^/test-org/tiny-model/resolve/main/README\.md\?download=true$'), 1,
   'the query went to the Hub';
--- hub_requests
hub * ^/api/resolve-cache/.*download=true => 3
--- no_error_log
[error]



=== TEST 5: files the Hub answers 200 directly: private, gated (with the token), single-segment ids, empty
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $e = hub_control('add-file', { repo => 'test-org/tiny-model', path => 'empty.txt', content => '' });
hub_fixtures(1);
my @cases = (
    [ '/hf-private/test-org/private-model/resolve/main/config.json', hub_file('model', 'test-org/private-model', 'main', 'config.json') ],
    [ '/hf-private/test-org/gated-model/resolve/main/config.json', hub_file('model', 'test-org/gated-model', 'main', 'config.json') ],
    [ '/hf/gpt2/resolve/main/config.json', hub_file('model', 'gpt2', 'main', 'config.json') ],
    [ '/hf/test-org/tiny-model/resolve/main/empty.txt', hub_file('model', 'test-org/tiny-model', 'main', 'empty.txt') ],
);
for my $c (@cases) {
    my ($url, $f) = @$c;
    my $h = http_head($url);
    is $h->{status}, 200, "$url: HEAD";
    is $h->{headers}{etag}, qq{"$f->{git_sha1}"}, "$url: ETag";
    is $h->{headers}{'content-length'}, $f->{size}, "$url: Content-Length";
    for (1, 2) {
        my $g = http_get($url);
        is $g->{status}, 200, "$url: GET $_";
        is length($g->{body}), $f->{size}, "$url: GET $_ length";
        is sha256_hex($g->{body}), $f->{sha256}, "$url: GET $_ bytes";
    }
}
is $e->{size}, 0, 'the empty file is empty';
--- hub_requests
hub * ^/api/resolve-cache/ => 0
--- no_error_log
[error]



=== TEST 6: a file verified at the commit the 307 names needs no second request
--- http_config eval: $::HttpConfig . "hf_revision_ttl 4s;"
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my $url = '/hf/test-org/tiny-model/resolve/main/config.json';
is http_get($url)->{status}, 200, 'cached';
sleep 5;        # the branch is stale: the Hub is asked
my $n = hub_count('hub', '*', '.');
my $h = http_head($url);
my $g = http_get($url);
is $h->{status}, 200, 'HEAD';
is $h->{headers}{'x-repo-commit'}, $f->{commit}, 'HEAD: X-Repo-Commit';
is $h->{headers}{'content-length'}, $f->{size}, 'HEAD: Content-Length';
is sha256_hex($g->{body}), $f->{sha256}, 'GET: bytes';
is hub_count('hub', '*', '.') - $n, 1, 'one request to the Hub: the 307 of the branch';
is hub_count('hub', 'HEAD', '^/api/resolve-cache/'), 1, 'the resolve-cache URL asked once, when the file was new';



=== TEST 7: a branch moved: the 307 names the new commit, whose file is fetched
--- http_config eval: $::HttpConfig . "hf_revision_ttl 4s;"
--- config eval: $::Config
--- perl
my $old = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my $url = '/hf/test-org/tiny-model/resolve/main/config.json';
is sha256_hex(http_get($url)->{body}), $old->{sha256}, 'old main';
hub_control('move', { repo => 'test-org/tiny-model', ref => 'main', commit => 'c1' });
hub_fixtures(1);
my $new = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
isnt $new->{sha256}, $old->{sha256}, 'the content differs';
sleep 5;
my $r = http_get($url);
is $r->{headers}{'x-repo-commit'}, $new->{commit}, 'new commit';
is sha256_hex($r->{body}), $new->{sha256}, 'new bytes';
is $r->{headers}{etag}, qq{"$new->{git_sha1}"}, 'new ETag';



=== TEST 8: renamed repositories: /resolve/ of a model and a dataset, with the query kept
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
[ "GET /hf/old-org/old-name/resolve/main/config.json?download=true",
  "HEAD /hf/datasets/old-org/old-dataset/resolve/main/README.md" ]
--- error_code eval
[ 307, 307 ]
--- response_headers eval
[ "Location: /hf/test-org/tiny-model/resolve/main/config.json?download=true",
  "Location: /hf/datasets/test-org/tiny-dataset/resolve/main/README.md" ]



=== TEST 9: renamed repositories on the API: the client's own endpoint and query under the new name
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
[ "GET /hf/api/models/old-org/old-name?blobs=true",
  "GET /hf/api/models/old-org/old-name/tree/main/sub?recursive=true&expand=false",
  "GET /hf/api/models/old-org/old-name/revision/v1.0",
  "GET /hf/api/datasets/old-org/old-dataset/tree/main" ]
--- error_code eval
[ 307, 307, 307, 307 ]
--- response_headers eval
[ "Location: /hf/api/models/test-org/tiny-model?blobs=true",
  "Location: /hf/api/models/test-org/tiny-model/tree/main/sub?recursive=true&expand=false",
  "Location: /hf/api/models/test-org/tiny-model/revision/v1.0",
  "Location: /hf/api/datasets/test-org/tiny-dataset/tree/main" ]



=== TEST 10: following the renamed Location works end to end
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my $r = http_get('/hf/old-org/old-name/resolve/main/config.json');
is $r->{status}, 307, 'renamed';
my $g = http_get($r->{headers}{location});
is $g->{status}, 200, 'the new name';
is sha256_hex($g->{body}), $f->{sha256}, 'bytes';



=== TEST 11: the Hub's quota: a warm snapshot by branch asks nothing within hf_revision_ttl, one request after it
--- http_config eval: $::HttpConfig . "hf_revision_ttl 4s;"
--- config eval: $::Config
--- perl
use JSON::PP;
# what huggingface_hub's snapshot_download asks: the revision, the tree at
# its commit, then each file at the commit (HEAD, then GET)
my $snapshot = sub {
    my $info = http_get('/hf/api/models/test-org/tiny-model/revision/main');
    my $commit = JSON::PP->new->decode($info->{body})->{sha};
    my $tree = http_get("/hf/api/models/test-org/tiny-model/tree/$commit?recursive=True&expand=False");
    my @files = map { $_->{type} eq 'file' ? $_->{path} : () } @{ JSON::PP->new->decode($tree->{body}) };
    my $ok = 0;
    for my $p (@files) {
        (my $u = $p) =~ s/([^A-Za-z0-9\/._-])/sprintf '%%%02X', ord $1/ge;
        my $url = "/hf/test-org/tiny-model/resolve/$commit/$u";
        $ok++ if http_head($url)->{status} == 200
                 && sha256_hex(http_get($url)->{body}) eq hub_file('model', 'test-org/tiny-model', 'main', $p)->{sha256};
    }
    return ($ok, scalar @files);
};
my ($ok, $n) = $snapshot->();
is $ok, $n, "cold snapshot: $n files";
my $cold = hub_count('hub', '*', '.');
($ok) = $snapshot->();
is $ok, $n, 'warm snapshot: every file';
is hub_count('hub', '*', '.') - $cold, 0, 'warm, within hf_revision_ttl: no request to the Hub';
sleep 5;
($ok) = $snapshot->();
is $ok, $n, 'warm snapshot after hf_revision_ttl: every file';
is hub_count('hub', '*', '.') - $cold, 1, 'after hf_revision_ttl: one request, the revision';
sleep 5;
my $before = hub_count('hub', '*', '.');
for my $p ('config.json', 'README.md', 'model.safetensors', 'xet.bin') {
    my $url = "/hf/test-org/tiny-model/resolve/main/$p";
    is http_head($url)->{status}, 200, "by branch: $p HEAD";
    is http_get($url)->{status}, 200, "by branch: $p GET";
}
is hub_count('hub', '*', '.') - $before, 1, 'files by branch after hf_revision_ttl: one request, not one per file';
--- no_error_log
[error]
