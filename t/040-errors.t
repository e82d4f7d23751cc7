# Errors: the Hub's 4xx pass through with their codes; malformed requests
# never reach the Hub; when the Hub cannot be reached, cached files are
# served from the last known commit, and nothing cached gives 502/504,
# never a 401/404 that a client would take for "no such repository".
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;

run_tests();

__DATA__

=== TEST 1: unknown repository: 401 RepoNotFound, JSON body
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /hf/test-org/no-such-model/resolve/main/config.json
--- error_code: 401
--- response_headers
X-Error-Code: RepoNotFound
Content-Type: application/json
--- response_body_like
^\{"error":".+"\}$



=== TEST 2: private repository without the server token: 401 RepoNotFound
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
HEAD /hf/test-org/private-model/resolve/main/config.json
--- error_code: 401
--- response_headers
X-Error-Code: RepoNotFound



=== TEST 3: gated repository: 401 GatedRepo with its message
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /hf/test-org/gated-model/resolve/main/config.json
--- error_code: 401
--- response_headers
X-Error-Code: GatedRepo
--- response_headers_like
X-Error-Message: restricted



=== TEST 4: disabled repository: 403 with the message clients look for
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /hf/test-org/disabled-model/resolve/main/config.json
--- error_code: 403
--- response_headers
X-Error-Message: Access to this resource is disabled.
!X-Error-Code



=== TEST 5: unknown revision: 404 RevisionNotFound
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /hf/test-org/tiny-model/resolve/no-such-branch/config.json
--- error_code: 404
--- response_headers
X-Error-Code: RevisionNotFound



=== TEST 6: unknown file: 404 EntryNotFound with the commit
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $commit = hub_file('model', 'test-org/tiny-model', 'main', 'config.json')->{commit};
for my $m ('HEAD', 'GET') {
    my $r = http_request($m, '/hf/test-org/tiny-model/resolve/main/no-such-file.txt');
    is $r->{status}, 404, "$m status";
    is $r->{headers}{'x-error-code'}, 'EntryNotFound', "$m X-Error-Code";
    is $r->{headers}{'x-repo-commit'}, $commit, "$m X-Repo-Commit";
}



=== TEST 7: malformed requests: 400 and no upstream request
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
[
    "GET /hf/test-org/tiny-model/resolve/main/../config.json",
    "GET /hf/test-org/tiny-model/resolve/main/sub//x",
    "GET /hf/test-org/tiny-model/resolve/main/a/./b",
    "GET /hf/test-org%2Ftiny-model/resolve/main/config.json",
    "GET /hf/test-org/tiny%2Fmodel/resolve/main/config.json",
    "GET /hf/test-org/tiny-model/resolve/main/a%00b",
    "GET /hf/test-org/tiny-model/resolve/main/a%01b",
    "GET /hf/test-org/tiny-model/resolve/ma%20in/config.json",
    "GET /hf/test-org/tiny-model/resolve/main%3B/config.json",
    "GET /hf/test-org/tiny-model/resolve/..%2F..%2Fx/config.json",
    "GET /hf/test-org/tiny-model/resolve/main/" . ("a" x 3000),
    "GET /hf/test-org/tiny-model/resolve/main/",
    "GET /hf/test-org/tiny-model/resolve/main",
    "GET /hf/test-org/tiny-model/blob/main/config.json",
    "GET /hf/te%20st/x/resolve/main/config.json",
    "GET /hf/.hidden/x/resolve/main/config.json",
]
--- error_code eval
[ (400) x 16 ]
--- hub_requests
any * . => 0



=== TEST 8: methods other than GET and HEAD: 405
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
POST /hf/test-org/tiny-model/resolve/main/config.json
x
--- error_code: 405
--- hub_requests
any * . => 0



=== TEST 9: Hub down, nothing cached: 502, never 401/404
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- hub_stop
--- request eval
[ "GET /hf/test-org/tiny-model/resolve/main/config.json",
  "HEAD /hf/test-org/tiny-model/resolve/main/model.safetensors" ]
--- error_code eval
[ 502, 502 ]
--- error_log
hub unreachable



=== TEST 10: Hub down: cached files keep downloading, by branch and by commit
--- http_config eval: $::HttpConfig . "hf_revision_ttl 3s;"
--- config eval: $::Config
--- perl
my @files = map { { %{ hub_file('model', 'test-org/tiny-model', 'main', $_) }, path => $_ } }
            'config.json', 'model.safetensors', 'xet.bin';
for my $f (@files) {
    is http_get("/hf/test-org/tiny-model/resolve/main/$f->{path}")->{status}, 200, "$f->{path} cached";
}
hub_stop();
sleep 4;    # the branch is stale now: the Hub would be asked
for my $f (@files) {
    for my $url ("/hf/test-org/tiny-model/resolve/main/$f->{path}",
                 "/hf/test-org/tiny-model/resolve/$f->{commit}/$f->{path}") {
        my $h = http_head($url);
        my $g = http_get($url);
        is $h->{status}, 200, "$url HEAD with the Hub down";
        is $h->{headers}{'x-repo-commit'}, $f->{commit}, "$url X-Repo-Commit";
        is $g->{status}, 200, "$url GET with the Hub down";
        is sha256_hex($g->{body}), $f->{sha256}, "$url bytes";
    }
}
is http_get('/hf/test-org/tiny-model/resolve/main/README.md')->{status}, 502, 'uncached file: 502';
--- error_log
serving "config.json" at last known commit



=== TEST 11: Hub answering 503: cached files served, uncached files get 502
--- http_config eval: $::HttpConfig . "hf_revision_ttl 3s;"
--- config eval: $::Config
--- perl
is http_get('/hf/test-org/tiny-model/resolve/main/config.json')->{status}, 200, 'cached';
sleep 4;
hub_control('fault', { server => 'hub', match => '/resolve/', kind => 'status', code => 503, count => 0 });
my $r = http_get('/hf/test-org/tiny-model/resolve/main/config.json');
is $r->{status}, 200, 'stale branch served from the cache';
is http_get('/hf/test-org/tiny-model/resolve/main/README.md')->{status}, 502, 'uncached: 502, the Hub failed';
hub_control('fault', { server => 'hub', match => '^/api/', kind => 'status', code => 500, count => 0 });
is http_get('/hf/api/models/test-org/tiny-model/tree/main')->{status}, 502, 'uncached API answer: 502';
like error_log_text(), qr/hub unreachable \(503\) for "README\.md" of "test-org\/tiny-model" and nothing cached/,
     'logged with the Hub\'s status';



=== TEST 12: Hub not answering in time: 504
--- http_config eval: $::HttpConfig
--- config eval: $::Config . "proxy_read_timeout 1s;"
--- hub_control
fault {"server": "hub", "match": "/resolve/", "kind": "hang", "count": 0}
--- request
GET /hf/test-org/tiny-model/resolve/main/config.json
--- error_code: 504



=== TEST 13: a file not in a commit is recorded: answered again with no request, also with the Hub down
--- http_config eval: $::HttpConfig . "hf_revision_ttl 4s;"
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my @urls = ('/hf/test-org/tiny-model/resolve/main/tokenizer.model',
            "/hf/test-org/tiny-model/resolve/$f->{commit}/added_tokens.json");
for my $url (@urls) {
    my $r = http_head($url);
    is $r->{status}, 404, "$url: 404";
    is $r->{headers}{'x-error-code'}, 'EntryNotFound', "$url: EntryNotFound";
    is $r->{headers}{'x-repo-commit'}, $f->{commit}, "$url: X-Repo-Commit";
}
my $n = hub_count('hub', '*', '.');
for my $url (@urls) {
    my $r = http_get($url);
    is $r->{status}, 404, "$url again: 404";
    is $r->{headers}{'x-error-code'}, 'EntryNotFound', "$url again: EntryNotFound";
}
is hub_count('hub', '*', '.'), $n, 'answered from the record';
hub_stop();
sleep 5;
for my $url (@urls) {
    my $r = http_head($url);
    is $r->{status}, 404, "$url, Hub down: 404, not 502";
    is $r->{headers}{'x-error-code'}, 'EntryNotFound', "$url, Hub down: EntryNotFound";
    is $r->{headers}{'x-repo-commit'}, $f->{commit}, "$url, Hub down: X-Repo-Commit";
}



=== TEST 14: an empty file known from a HEAD alone is answered with the Hub down
--- http_config eval: $::HttpConfig . "hf_revision_ttl 4s;"
--- config eval: $::Config
--- perl
my $e = hub_control('add-file', { repo => 'test-org/tiny-model', path => 'empty.txt', content => '' });
my $url = '/hf/test-org/tiny-model/resolve/main/empty.txt';
my $h = http_head($url);
is $h->{status}, 200, 'HEAD';
is $h->{headers}{'content-length'}, 0, 'empty';
hub_stop();
sleep 5;
for my $r (http_head($url), http_get($url)) {
    is $r->{status}, 200, 'Hub down: 200';
    is $r->{headers}{etag}, qq{"$e->{git_sha1}"}, 'Hub down: ETag';
    is $r->{headers}{'x-repo-commit'}, $e->{commit}, 'Hub down: X-Repo-Commit';
    is $r->{body}, '', 'Hub down: no bytes';
}



=== TEST 15: the API keeps a tree path's EntryNotFound at a commit, not other 404s
--- http_config eval: $::HttpConfig . "hf_revision_ttl 4s;"
--- config eval: $::Config
--- perl
my $url = '/hf/api/models/test-org/tiny-model/tree/main/additional_chat_templates?recursive=false&expand=false';
my $r = http_get($url);
is $r->{status}, 404, '404';
is $r->{headers}{'x-error-code'}, 'EntryNotFound', 'EntryNotFound';
my $n = hub_count('hub', '*', 'additional_chat_templates');
is http_get($url)->{status}, 404, 'again: 404';
is hub_count('hub', '*', 'additional_chat_templates'), $n, 'again: from the cache';
hub_control('fault', { server => 'hub', kind => 'status', code => 404, match => 'tree/[0-9a-f]{40}/sub',
                       count => 1, headers => { 'X-Error-Code' => 'RepoNotFound' } });
my $sub = '/hf/api/models/test-org/tiny-model/tree/main/sub';
is http_get($sub)->{status}, 404, 'a RepoNotFound 404';
is http_get($sub)->{status}, 200, 'not kept: asked again';
hub_stop();
sleep 5;
my $d = http_get($url);
is $d->{status}, 404, 'Hub down: 404, not 502';
is $d->{headers}{'x-error-code'}, 'EntryNotFound', 'Hub down: EntryNotFound';
