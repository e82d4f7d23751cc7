# The Hub's rate limits and its real error shapes.
#
# A 429 is never cached, never recorded, never turned into a 404 or 401:
# with something to serve (the last known commit, the cached file or API
# answer) it is served, STALE; with nothing, the client gets the 429 with
# RateLimit, RateLimit-Policy and Retry-After, so that its own backoff
# works.  A 401 without X-Error-Code (the Hub's answer to an anonymous
# request for a missing or private repository) gets X-Error-Code:
# RepoNotFound, as huggingface_hub needs over http://.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;

$ENV{HF_TEST_BAD_TOKEN} = 'hf_notavalidtoken0123456789abcdefghi';
$ENV{HF_TEST_NOACCESS_TOKEN} = 'hf_noaccesstoken0123456789abcdefghij';

our $Tokens = q{
    location /hf-bad/ {
        hf_distribution bad;
        hf_token env:HF_TEST_BAD_TOKEN;
    }
    location /hf-noaccess/ {
        hf_distribution noaccess;
        hf_token env:HF_TEST_NOACCESS_TOKEN;
    }
};

our $StatusLog = q{
    hf_revision_ttl 4s;
    log_format hf '$request_method $uri $status $hf_cache_status';
    access_log logs/hf.log hf;
};

sub access_log {     # its first $n lines: a line is written after its answer left
    my $n = shift;
    my @lines;
    Test::Nginx::Hf::_wait_until(10, sub {
        open my $fh, '<', servroot() . '/logs/hf.log' or return 0;
        @lines = map { chomp; $_ } <$fh>;
        return @lines >= $n;
    });
    return \@lines;
}

run_tests();

__DATA__

=== TEST 1: nothing cached: the 429 reaches the client with the Hub's rate limit headers
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- hub_control
fault {"server": "hub", "kind": "ratelimit", "match": "/resolve/", "reset": 7, "retry_after": 7, "count": 2}
--- perl
my $url = '/hf/test-org/tiny-model/resolve/main/config.json';
for my $r (http_head($url), http_get($url)) {
    is $r->{status}, 429, 'status 429';
    like $r->{headers}{ratelimit}, qr/^"resolvers";r=0;t=7$/, 'RateLimit';
    like $r->{headers}{'ratelimit-policy'}, qr/^"fixed window";"resolvers";q=\d+;w=300$/, 'RateLimit-Policy';
    is $r->{headers}{'retry-after'}, '7', 'Retry-After';
    ok !exists $r->{headers}{'x-error-code'}, 'no error code made up';
}
my $r = http_get($url);
is $r->{status}, 200, 'the limit over: 200, the 429 was not cached';
is sha256_hex($r->{body}), hub_file('model', 'test-org/tiny-model', 'main', 'config.json')->{sha256}, 'bytes';
--- error_log
rate-limits the cache (429)



=== TEST 2: a 429 without Retry-After: none added
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- hub_control
fault {"server": "hub", "kind": "ratelimit", "match": "/resolve/", "reset": 3}
--- request
GET /hf/test-org/tiny-model/resolve/main/config.json
--- error_code: 429
--- response_headers
RateLimit: "resolvers";r=0;t=3
!Retry-After
!X-Error-Code



=== TEST 3: rate-limited with files cached: they are served, STALE, one warning a second
--- http_config eval: $::HttpConfig . $::StatusLog
--- config eval: $::Config
--- perl
my @files = map { { %{ hub_file('model', 'test-org/tiny-model', 'main', $_) }, path => $_ } }
            'config.json', 'model.safetensors', 'xet.bin';
for my $f (@files) {
    is http_get("/hf/test-org/tiny-model/resolve/main/$f->{path}")->{status}, 200, "$f->{path} cached";
}
sleep 5;        # the branch is stale: the Hub is asked, and rate-limits
hub_control('fault', { server => 'hub', kind => 'ratelimit', match => '.', count => 100 });
my $n = hub_count('any', '*', '.');
for my $f (@files) {
    my $url = "/hf/test-org/tiny-model/resolve/main/$f->{path}";
    my $h = http_head($url);
    is $h->{status}, 200, "$f->{path}: HEAD 200";
    is $h->{headers}{'x-repo-commit'}, $f->{commit}, "$f->{path}: the last known commit";
    my $g = http_get($url);
    is $g->{status}, 200, "$f->{path}: GET 200";
    is sha256_hex($g->{body}), $f->{sha256}, "$f->{path}: bytes";
}
is hub_count('any', '*', '.') - $n, 6, 'each asked the Hub once, nothing more';
my $uncached = http_get('/hf/test-org/tiny-model/resolve/main/README.md');
is $uncached->{status}, 429, 'an uncached file: 429';
my @log = @{ main::access_log(10) };
is_deeply [@log[3 .. 9]], [
    (map { ("HEAD /hf/test-org/tiny-model/resolve/main/$_->{path} 200 STALE",
            "GET /hf/test-org/tiny-model/resolve/main/$_->{path} 200 STALE") } @files),
    "GET /hf/test-org/tiny-model/resolve/main/README.md 429 MISS",
], 'access log: STALE, then the 429';
my @warn = error_log_text() =~ /\[warn\].*rate-limits the cache/g;
ok @warn >= 1 && @warn <= 3, 'warned at most once a second (' . scalar(@warn) . ' lines for 7 answers)';
--- no_error_log
[error]
hf: hub unreachable



=== TEST 4: rate-limited API: answers cached at the last known commit are served, others get the 429
--- http_config eval: $::HttpConfig . $::StatusLog
--- config eval: $::Config
--- perl
my $tree = '/hf/api/models/test-org/tiny-model/tree/main?recursive=true';
my $a = http_get($tree);
is $a->{status}, 200, 'tree cached';
sleep 5;
hub_control('fault', { server => 'hub', kind => 'ratelimit', match => '^/api/', count => 100, retry_after => 3 });
my $b = http_get($tree);
is $b->{status}, 200, 'rate-limited: the cached tree';
is $b->{body}, $a->{body}, 'the same answer';
my $c = http_get('/hf/api/models/test-org/tiny-model/tree/main?recursive=false');
is $c->{status}, 429, 'an uncached answer: 429';
is $c->{headers}{'retry-after'}, '3', 'with Retry-After';
like $c->{headers}{ratelimit}, qr/^"api";r=0;/, 'with RateLimit';
my $d = http_get('/hf/api/datasets/test-org/tiny-dataset');
is $d->{status}, 429, 'a repository never seen: 429';
is_deeply [@{ main::access_log(4) }[1, 2]],
          ["GET /hf/api/models/test-org/tiny-model/tree/main 200 STALE",
           "GET /hf/api/models/test-org/tiny-model/tree/main 429 STALE"], 'access log';



=== TEST 5: a 429 on the bytes (metadata answered) reaches the client as 429
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- hub_control
fault {"server": "hub", "kind": "ratelimit", "match": "^/api/resolve-cache/", "method": "GET", "count": 1, "retry_after": 1}
--- perl
my $url = '/hf/test-org/tiny-model/resolve/main/config.json';
my $r = http_get($url);
is $r->{status}, 429, 'status 429';
is $r->{headers}{'retry-after'}, '1', 'Retry-After';
like $r->{headers}{ratelimit}, qr/r=0/, 'RateLimit';
my $g = http_get($url);
is $g->{status}, 200, 'then 200';
is sha256_hex($g->{body}), hub_file('model', 'test-org/tiny-model', 'main', 'config.json')->{sha256}, 'bytes';



=== TEST 6: anonymous, missing or private repositories: 401 named RepoNotFound, on /resolve/ and the API
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
[ "GET /hf/test-org/no-such-model/resolve/main/config.json",
  "HEAD /hf/test-org/private-model/resolve/main/config.json",
  "GET /hf/api/models/test-org/no-such-model",
  "GET /hf/api/models/test-org/private-model/tree/main",
  "GET /hf/datasets/test-org/no-such-dataset/resolve/main/README.md" ]
--- error_code eval
[ 401, 401, 401, 401, 401 ]
--- response_headers eval
[ "X-Error-Code: RepoNotFound\nX-Error-Message: Invalid username or password.",
  "X-Error-Code: RepoNotFound",
  "X-Error-Code: RepoNotFound",
  "X-Error-Code: RepoNotFound",
  "X-Error-Code: RepoNotFound" ]



=== TEST 7: gated repositories keep GatedRepo and their status; a rejected token stays as the Hub said
--- http_config eval: $::HttpConfig
--- config eval: $::Config . $::Tokens
--- request eval
[ "GET /hf/test-org/gated-model/resolve/main/config.json",
  "GET /hf-noaccess/test-org/gated-model/resolve/main/config.json",
  "GET /hf-noaccess/test-org/private-model/resolve/main/config.json",
  "GET /hf-bad/test-org/tiny-model/resolve/main/config.json",
  "GET /hf-bad/api/models/test-org/tiny-model" ]
--- error_code eval
[ 401, 403, 404, 401, 401 ]
--- response_headers eval
[ "X-Error-Code: GatedRepo",
  "X-Error-Code: GatedRepo",
  "X-Error-Code: RepoNotFound",
  "!X-Error-Code\nX-Error-Message: Invalid credentials in Authorization header",
  "!X-Error-Code\nX-Error-Message: Invalid credentials in Authorization header" ]



=== TEST 8: missing files and revisions keep their codes
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
[ "GET /hf/test-org/tiny-model/resolve/main/no-such-file.json",
  "GET /hf/test-org/tiny-model/resolve/no-such-branch/config.json" ]
--- error_code eval
[ 404, 404 ]
--- response_headers eval
[ "X-Error-Code: EntryNotFound",
  "X-Error-Code: RevisionNotFound" ]
