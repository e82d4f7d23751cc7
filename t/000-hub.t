# Self-test of the local fake Hub (t/hub/hub.py and its modules) that every other test uses.
# Standalone (no nginx): it starts its own hub and talks to it directly.
use strict;
use warnings;
use Test::More;
use HTTP::Tiny;
use JSON::PP;
use Digest::SHA qw(sha256_hex);
use MIME::Base64 qw(encode_base64);
use IO::Socket::INET;
use Time::HiRes qw(sleep);
use FindBin;

my $TOKEN    = 'hf_testtoken0123456789abcdefghijklmn';
my $NOACCESS = 'hf_noaccesstoken0123456789abcdefghij';
my $ANON_WARNING = 'unauthenticated; Authenticate with a token to get higher rate limits.';
my $WWW_AUTH = 'Bearer realm="Authentication required", charset="UTF-8"';

# A global handle: a lexical one would be closed (waiting for the hub to
# exit) before the END block that stops the hub.
our $HUB_PID = open(HUB, '-|', 'python3', "$FindBin::Bin/hub/hub.py")
    or die "cannot start the hub: $!";
END { if ($HUB_PID) { kill 'TERM', $HUB_PID; waitpid $HUB_PID, 0; } }

my $ready = <HUB> // '';
my ($hp, $cp) = $ready =~ /^READY hub=(\d+) cdn=(\d+)$/
    or BAIL_OUT("no READY line from the hub: '$ready'");
my $hub = "http://127.0.0.1:$hp";
my $http = HTTP::Tiny->new(max_redirect => 0, timeout => 20);
my $json = JSON::PP->new;

sub control {
    my ($name, $body) = @_;
    my $res = defined $body
        ? $http->post("$hub/_control/$name", { content => $json->encode($body) })
        : $http->get("$hub/_control/$name");
    die "control $name: $res->{status} $res->{content}" unless $res->{success};
    return $json->decode($res->{content});
}

# req(METHOD, path or URL, header => value, ...)
sub req {
    my ($method, $url, %h) = @_;
    $url = "$hub$url" if $url =~ m{^/};
    return $http->request($method, $url, { headers => \%h });
}

# Percent-encoding as Python's urllib.parse.quote(s, safe='') / safe='/'.
sub pct      { my $s = shift; $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge; $s }
sub pct_path { join '/', map { pct($_) } split m{/}, shift, -1 }

sub fixture_repo {
    my ($kind, $id) = @_;
    my ($r) = grep { $_->{kind} eq $kind && $_->{id} eq $id } @{ control('fixtures')->{repos} };
    return $r;
}

# The RateLimit header's (bucket, remaining, reset).
sub ratelimit { ($_[0]{headers}{ratelimit} // '') =~ /^"(\w+)";r=(\d+);t=(\d+)$/ }

is_deeply(control('ping'), { ok => JSON::PP::true }, 'ping');

# Expectations come from the fixtures, not from hard-coded hashes.
my $tiny = fixture_repo('model', 'test-org/tiny-model');
my $main = $tiny->{refs}{main};
my $files = $tiny->{commits}{$main}{files};
my $res;

# ------------------------------------------------------------------ regular files: the 307 (default)

# Every kind of repo: HEAD and GET answer the same relative 307.
for my $c (['model', 'test-org/tiny-model', '', 'models', 'config.json'],
           ['dataset', 'test-org/tiny-dataset', 'datasets/', 'datasets', 'README.md'],
           ['space', 'test-org/tiny-space', 'spaces/', 'spaces', 'app.py'],
           ['kernel', 'test-org/tiny-kernel', 'kernels/', 'kernels', 'README.md']) {
    my ($kind, $id, $prefix, $type, $path) = @$c;
    my $r = fixture_repo($kind, $id);
    my $commit = $r->{refs}{main};
    my $f = $r->{commits}{$commit}{files}{$path};
    my $rpath = "/$prefix$id/resolve/main/$path";
    my $loc = "/api/resolve-cache/$type/$id/$commit/$path?" . pct($rpath) . qq(=&etag=%22$f->{git_sha1}%22);
    my $body = "Temporary Redirect. Redirecting to $loc";
    for my $m (qw(HEAD GET)) {
        $res = req($m, $rpath);
        is($res->{status}, 307, "$kind $m: 307");
        is($res->{headers}{location}, $loc, "$kind $m: Location to /api/resolve-cache/");
        is($res->{headers}{'content-type'}, 'text/plain; charset=utf-8', "$kind $m: Content-Type");
        is($res->{headers}{'content-length'}, length $body, "$kind $m: Content-Length of the redirect body");
        is($res->{content} // '', $m eq 'GET' ? $body : '', "$kind $m: body");
        is($res->{headers}{'x-repo-commit'}, $commit, "$kind $m: X-Repo-Commit");
        is($res->{headers}{'accept-ranges'}, 'bytes', "$kind $m: Accept-Ranges");
        is($res->{headers}{vary}, 'Origin, Accept', "$kind $m: Vary");
        is($res->{headers}{'x-hub-cache'}, 'MISS', "$kind $m: X-Hub-Cache");
        is($res->{headers}{'content-disposition'}, qq(inline; filename*=UTF-8''$path; filename="$path";),
           "$kind $m: Content-Disposition");
        ok(!exists $res->{headers}{$_}, "$kind $m: no $_") for qw(etag x-linked-etag x-linked-size);
    }
}

# The request's own query is kept, first; the path is quoted keeping '/'.
$res = req('GET', '/test-org/tiny-model/resolve/main/config.json?download=true');
is($res->{headers}{location},
   "/api/resolve-cache/models/test-org/tiny-model/$main/config.json?download=true&"
   . pct('/test-org/tiny-model/resolve/main/config.json') . qq(=&etag=%22$files->{'config.json'}{git_sha1}%22),
   'query kept in the Location');
my $pr1 = $tiny->{refs}{'refs/pr/1'};
my $odd = 'with space & more.txt';
$res = req('HEAD', '/test-org/tiny-model/resolve/refs%2Fpr%2F1/with%20space%20%26%20more.txt');
is($res->{status}, 307, 'odd file name on refs/pr/1: 307');
like($res->{headers}{location},
     qr{^/api/resolve-cache/models/test-org/tiny-model/$pr1/with%20space%20%26%20more\.txt\?%2Ftest-org%2Ftiny-model%2Fresolve%2Frefs%252Fpr%252F1%2F},
     'commit id, quoted path, raw request path quoted again');
is($res->{headers}{'content-disposition'},
   qq(inline; filename*=UTF-8''with%20space%20%26%20more.txt; filename="$odd";), 'Content-Disposition of an odd name');
$res = req('HEAD', '/test-org/tiny-model/resolve/main/sub/dir/nested.txt');
like($res->{headers}{location}, qr{^/api/resolve-cache/models/test-org/tiny-model/$main/sub/dir/nested\.txt\?},
     'nested path keeps its slashes');

# ------------------------------------------------------------------ the resolve-cache target

my $cfg = $files->{'config.json'};
my $target = "/api/resolve-cache/models/test-org/tiny-model/$main/config.json";
my $loc = req('HEAD', '/test-org/tiny-model/resolve/main/config.json')->{headers}{location};
my $bytes = req('GET', "/_control/content?repo=test-org/tiny-model&path=config.json")->{content};
for my $u ($loc, $target) {
    my $what = $u eq $target ? 'without query' : 'with query';
    $res = req('HEAD', $u);
    is($res->{status}, 200, "target HEAD $what");
    is($res->{headers}{'content-length'}, $cfg->{size}, "target HEAD $what: Content-Length is the file size");
    is($res->{headers}{etag}, qq("$cfg->{git_sha1}"), "target HEAD $what: ETag is the git sha1");
    is($res->{headers}{'x-repo-commit'}, $main, "target HEAD $what: X-Repo-Commit");
    is($res->{headers}{'accept-ranges'}, 'bytes', "target HEAD $what: Accept-Ranges");
    is($res->{headers}{'content-type'}, 'application/json', "target HEAD $what: Content-Type");
    is($res->{headers}{vary}, 'Origin, Accept', "target HEAD $what: Vary");
    $res = req('GET', $u);
    is($res->{status}, 200, "target GET $what");
    is($res->{content}, $bytes, "target GET $what: the file's bytes");
}
$res = req('GET', $target, Range => 'bytes=0-9');
is($res->{status}, 206, 'target Range: 206');
is($res->{headers}{'content-range'}, "bytes 0-9/$cfg->{size}", 'target Range: Content-Range');
is($res->{content}, substr($bytes, 0, 10), 'target Range: bytes');
$res = req('GET', $target, Range => "bytes=$cfg->{size}-");
is($res->{status}, 416, 'target unsatisfiable Range: 416');
is($res->{headers}{'content-range'}, "bytes */$cfg->{size}", 'target 416 Content-Range');
for my $inm (qq("$cfg->{git_sha1}"), qq(W/"$cfg->{git_sha1}"), qq("x", "$cfg->{git_sha1}")) {
    for my $m (qw(GET HEAD)) {
        $res = req($m, $loc, 'If-None-Match' => $inm);
        is($res->{status}, 304, "target $m If-None-Match: $inm: 304");
        is($res->{content} // '', '', "target $m 304: no body");
        is($res->{headers}{etag}, qq("$cfg->{git_sha1}"), "target $m 304: ETag");
    }
}
is(req('GET', $target, 'If-None-Match' => '"0000"')->{status}, 200, 'target If-None-Match not matching: 200');
is(control('log')->[-1]{if_none_match}, '"0000"', 'log: if_none_match');
# Revision: a known 40-hex commit of the repo, nothing else.
for my $rev ('main', 'f' x 40) {
    $res = req('HEAD', "/api/resolve-cache/models/test-org/tiny-model/$rev/config.json");
    is($res->{status}, 404, "target revision $rev: 404");
    is($res->{headers}{'x-error-code'}, 'RevisionNotFound', "target revision $rev: RevisionNotFound");
}
# The older commit is served (its own config.json).
my $v1 = $tiny->{refs}{'v1.0'};
$res = req('HEAD', "/api/resolve-cache/models/test-org/tiny-model/$v1/config.json");
is($res->{headers}{etag}, qq("$tiny->{commits}{$v1}{files}{'config.json'}{git_sha1}"), 'target at another commit');
for my $p ('nope.txt', 'model.safetensors', 'xet.bin') {
    $res = req('HEAD', "/api/resolve-cache/models/test-org/tiny-model/$main/$p");
    is($res->{status}, 404, "target $p: 404");
    is($res->{headers}{'x-error-code'}, 'EntryNotFound', "target $p: EntryNotFound");
    is($res->{headers}{'x-repo-commit'}, $main, "target $p: X-Repo-Commit");
}
# Access rules as /resolve/.
my $priv = fixture_repo('model', 'test-org/private-model');
my $ptarget = "/api/resolve-cache/models/test-org/private-model/$priv->{refs}{main}/config.json";
is(req('HEAD', $ptarget)->{status}, 401, 'private target anonymous: 401');
is(req('HEAD', $ptarget, Authorization => "Bearer $NOACCESS")->{status}, 404, 'private target, no-access token: 404');
is(req('HEAD', $ptarget, Authorization => "Bearer $TOKEN")->{status}, 200, 'private target with token: 200');
# Datasets, spaces and kernels have their own targets.
for my $c (['datasets/test-org/tiny-dataset', 'README.md'], ['spaces/test-org/tiny-space', 'app.py'],
           ['kernels/test-org/tiny-kernel', 'README.md']) {
    $res = req('HEAD', "/$c->[0]/resolve/main/$c->[1]");
    my $l = $res->{headers}{location};
    $res = req('GET', $l);
    is($res->{status}, 200, "$c->[0] target: 200");
    ok(length $res->{content} && length $res->{content} == $res->{headers}{'content-length'}, "$c->[0] target: bytes");
}
# Datasets and spaces have a tag v1.0 (main's parent) and a refs/pr/1 (main's child), as tiny-model.
for my $c (['dataset', 'test-org/tiny-dataset', 'datasets', 'README.md', 'data/train-00000.parquet'],
           ['space', 'test-org/tiny-space', 'spaces', 'app.py', 'demo.safetensors']) {
    my ($kind, $id, $type, $reg, $lfs) = @$c;
    my $r = fixture_repo($kind, $id);
    my ($m, $v, $pr) = @{ $r->{refs} }{'main', 'v1.0', 'refs/pr/1'};
    is(join(' ', $r->{commits}{$m}{parent}, $r->{commits}{$pr}{parent}), "$v $m", "$kind: v1.0 <- main <- refs/pr/1");
    $res = req('HEAD', "/$type/$id/resolve/v1.0/$reg");
    is(join(' ', $res->{status}, $res->{headers}{'x-repo-commit'}), "307 $v", "$kind $reg at v1.0: 307, the tag's commit");
    $res = req('GET', $res->{headers}{location});
    my $old = req('GET', "/_control/content?kind=$kind&repo=$id&commit=v1.0&path=$reg")->{content};
    ok($res->{content} eq $old && $old ne req('GET', "/_control/content?kind=$kind&repo=$id&path=$reg")->{content},
       "$kind $reg at v1.0: the tag's bytes, not main's");
    my $f = $r->{commits}{$pr}{files}{$lfs};
    ok($f->{lfs} && !$r->{commits}{$v}{files}{'pr-only.txt'}, "$kind: an LFS file, pr-only.txt not at v1.0");
    $res = req('HEAD', "/$type/$id/resolve/refs%2Fpr%2F1/$lfs");
    is(join(' ', $res->{status}, $res->{headers}{'x-repo-commit'}, $res->{headers}{'x-linked-etag'}),
       qq(302 $pr "$f->{sha256}"), "$kind $lfs on refs/pr/1: 302 to the CDN");
    is(sha256_hex($http->get($res->{headers}{location})->{content}), $f->{sha256}, "$kind $lfs on refs/pr/1: CDN bytes");
}

# ------------------------------------------------------------------ answered 200 even in cache307 modes

my $gated = fixture_repo('model', 'test-org/gated-model');
my $gpt2 = fixture_repo('model', 'gpt2');
my $add = control('add-file', { repo => 'test-org/tiny-model', path => 'empty.txt', content => '' });
for my $c (['private repo', '/test-org/private-model/resolve/main/config.json', $TOKEN,
            $priv->{commits}{$priv->{refs}{main}}{files}{'config.json'}, $priv->{refs}{main}],
           ['gated repo', '/test-org/gated-model/resolve/main/config.json', $TOKEN,
            $gated->{commits}{$gated->{refs}{main}}{files}{'config.json'}, $gated->{refs}{main}],
           ['single-segment repo', '/gpt2/resolve/main/config.json', undef,
            $gpt2->{commits}{$gpt2->{refs}{main}}{files}{'config.json'}, $gpt2->{refs}{main}],
           ['empty file', '/test-org/tiny-model/resolve/main/empty.txt', undef,
            { size => 0, git_sha1 => $add->{git_sha1} }, $add->{commit}]) {
    my ($what, $u, $tok, $f, $commit) = @$c;
    for my $m (qw(HEAD GET)) {
        $res = req($m, $u, $tok ? (Authorization => "Bearer $tok") : ());
        is($res->{status}, 200, "$what $m: direct 200");
        is($res->{headers}{etag}, qq("$f->{git_sha1}"), "$what $m: ETag");
        is($res->{headers}{'content-length'}, $f->{size}, "$what $m: Content-Length");
        is($res->{headers}{'x-repo-commit'}, $commit, "$what $m: X-Repo-Commit");
        is($res->{headers}{'accept-ranges'}, 'bytes', "$what $m: Accept-Ranges");
        ok(!exists $res->{headers}{location}, "$what $m: no Location");
    }
}
is($add->{git_sha1}, 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391', 'the empty blob');
$res = req('GET', '/gpt2/resolve/main/config.json', Range => 'bytes=0-4');
is($res->{status}, 206, 'direct 200 exceptions honour Range');

# ------------------------------------------------------------------ the other modes

is(control('config', { resolve_mode => 'cache307-linked' })->{resolve_mode}, 'cache307-linked', 'mode cache307-linked');
$res = req('HEAD', '/test-org/tiny-model/resolve/main/config.json');
is($res->{status}, 307, 'cache307-linked: 307');
is($res->{headers}{'x-linked-etag'}, qq("$cfg->{git_sha1}"), 'cache307-linked: X-Linked-Etag');
like($res->{headers}{location}, qr{^/api/resolve-cache/}, 'cache307-linked: same Location');
ok(!exists $res->{headers}{$_}, "cache307-linked: no $_") for qw(etag x-linked-size);
my $bad = $http->post("$hub/_control/config", { content => '{"resolve_mode":"nope"}' });
is($bad->{status}, 400, 'unknown resolve_mode refused');
$bad = $http->post("$hub/_control/config", { content => '{"resolve_mode":"direct","quota":{"api":"x"}}' });
is($bad->{status}, 400, 'bad quota refused');
is(control('config', {})->{resolve_mode}, 'cache307-linked', 'a refused config changes nothing');
control('reset', {});
is(control('config', {})->{resolve_mode}, 'cache307', 'reset: back to cache307');

# "direct": the 2024 behaviour, 200 with the bytes.
control('config', { resolve_mode => 'direct' });
$res = $http->head("$hub/test-org/tiny-model/resolve/main/config.json");
is($res->{status}, 200, 'direct: regular file HEAD');
is($res->{headers}{etag}, qq("$files->{'config.json'}{git_sha1}"), 'direct: ETag is the git sha1');
is($res->{headers}{'x-repo-commit'}, $main, 'direct: X-Repo-Commit is main');
is($res->{headers}{'content-length'}, $files->{'config.json'}{size}, 'direct: Content-Length');
$res = $http->get("$hub/test-org/tiny-model/resolve/main/config.json",
                  { headers => { Range => 'bytes=0-9' } });
is($res->{status}, 206, 'direct: Range on a regular file');
is($res->{headers}{'content-range'}, "bytes 0-9/$files->{'config.json'}{size}", 'direct: Content-Range');
is(length $res->{content}, 10, 'direct: ten bytes');
$res = $http->get("$hub/datasets/test-org/tiny-dataset/resolve/main/README.md");
is($res->{status}, 200, 'direct: dataset regular file');
ok(exists $res->{headers}{ratelimit}, 'direct: RateLimit too');
$res = $http->get("$hub/kernels/test-org/tiny-kernel/resolve/main/README.md");
is($res->{status}, 200, 'direct: kernel regular file');
control('config', { resolve_mode => 'cache307' });

# ------------------------------------------------------------------ kernels

# A kernel repo is answered like the other kinds: prefix kernels/, API type kernels.
my $kern = fixture_repo('kernel', 'test-org/tiny-kernel');
ok($kern, 'fixtures list the kernel repo');
my $kmain = $kern->{refs}{main};
my $kfiles = $kern->{commits}{$kmain}{files};
my $kso = 'build/tiny_kernel.abi3.so';
ok(!$kfiles->{'README.md'}{lfs} && $kfiles->{$kso}{lfs} && !$kfiles->{$kso}{xet},
   'kernel: a regular file and an LFS file');
is($kmain, Digest::SHA::sha1_hex('kernel/test-org/tiny-kernel@c1'), 'kernel: commit id from the kind');
$res = req('GET', '/kernels/test-org/tiny-kernel/resolve/main/README.md');
is($res->{status}, 307, 'kernel regular file: 307');
$res = req('GET', $res->{headers}{location});
is($res->{status}, 200, 'kernel regular file: target 200');
is($res->{headers}{etag}, qq("$kfiles->{'README.md'}{git_sha1}"), 'kernel regular file: ETag');
is($res->{headers}{'content-type'}, 'text/plain; charset=utf-8', 'kernel regular file: Content-Type');
is($res->{content}, req('GET', '/_control/content?kind=kernel&repo=test-org/tiny-kernel&path=README.md')->{content},
   'kernel regular file: the bytes');
$res = req('HEAD', "/kernels/test-org/tiny-kernel/resolve/main/$kso");
is($res->{status}, 302, 'kernel LFS file: 302');
like($res->{headers}{location}, qr{^http://127\.0\.0\.1:$cp/lfs/$kfiles->{$kso}{sha256}\?expires=\d+&sig=[0-9a-f]+$},
     'kernel LFS file: signed CDN URL');
is($res->{headers}{'x-linked-etag'}, qq("$kfiles->{$kso}{sha256}"), 'kernel LFS file: X-Linked-Etag');
is($res->{headers}{'x-linked-size'}, $kfiles->{$kso}{size}, 'kernel LFS file: X-Linked-Size');
is(sha256_hex($http->get($res->{headers}{location})->{content}), $kfiles->{$kso}{sha256},
   'kernel LFS file: CDN bytes');
$res = req('HEAD', "/api/resolve-cache/kernels/test-org/tiny-kernel/$kmain/$kso");
is(join(' ', $res->{status}, $res->{headers}{'x-error-code'}), '404 EntryNotFound', 'kernel LFS file: no resolve-cache target');
$res = req('GET', '/api/kernels/test-org/tiny-kernel?blobs=true');
is($res->{status}, 200, 'kernel API: repo info');
my $kinfo = $json->decode($res->{content});
is(join(' ', $kinfo->{id}, $kinfo->{sha}), "test-org/tiny-kernel $kmain", 'kernel API: id and sha');
is_deeply([map { $_->{rfilename} } @{ $kinfo->{siblings} }], ['README.md', $kso], 'kernel API: siblings');
is((ratelimit($res))[0], 'api', 'kernel API: bucket api');
$res = req('GET', '/api/kernels/test-org/tiny-kernel/tree/main?recursive=true');
is_deeply([map { "$_->{type}:$_->{path}" } @{ $json->decode($res->{content}) }],
          ['file:README.md', 'directory:build', "file:$kso"], 'kernel API: tree');
$res = $http->post("$hub/api/kernels/test-org/tiny-kernel/paths-info/main",
                   { content => '{"paths": ["build/tiny_kernel.abi3.so"]}',
                     headers => { 'Content-Type' => 'application/json' } });
is($json->decode($res->{content})->[0]{lfs}{oid}, $kfiles->{$kso}{sha256}, 'kernel API: paths-info');
is(req('GET', '/api/kernels/test-org/nope')->{status}, 401, 'kernel API: missing repo, anonymous: 401');
is(req('GET', '/api/models/test-org/tiny-kernel', Authorization => "Bearer $TOKEN")->{status}, 404,
   'a kernel is not a model');
$add = control('add-file', { kind => 'kernels', repo => 'test-org/tiny-kernel', path => 'build.toml',
                             content => "[general]\nname = \"tiny_kernel\"\n" });
$res = req('HEAD', '/kernels/test-org/tiny-kernel/resolve/main/build.toml');
is(join(' ', $res->{status}, $res->{headers}{'x-repo-commit'}), "307 $add->{commit}", 'kernel add-file (kind kernels)');
like($res->{headers}{location}, qr{^/api/resolve-cache/kernels/test-org/tiny-kernel/$add->{commit}/build\.toml\?},
     'kernel add-file: Location');
is(control('move', { kind => 'kernel', repo => 'test-org/tiny-kernel', commit => 'c1' })->{commit}, $kmain,
   'kernel move (kind kernel)');
$bad = $http->post("$hub/_control/add-file", { content => '{"kind":"nope","repo":"a/b","path":"x"}' });
is($json->decode($bad->{content})->{error}, 'kind must be model, dataset, space or kernel', 'unknown kind refused');
control('reset', {});

# ------------------------------------------------------------------ LFS / Xet and the CDN

# LFS file: 302 to the CDN, whose bytes hash to the fixture's sha256.
my $lfs = $files->{'model.safetensors'};
ok($lfs->{xet_hash} && $lfs->{xet_hash} =~ /^[0-9a-f]{64}$/ && $lfs->{xet_hash} ne $lfs->{sha256},
   'LFS fixture has a Xet-style hash');
$res = $http->head("$hub/test-org/tiny-model/resolve/main/model.safetensors");
is($res->{status}, 302, 'LFS HEAD redirects');
like($res->{headers}{location}, qr{^http://127\.0\.0\.1:$cp/lfs/$lfs->{sha256}\?expires=\d+&sig=[0-9a-f]+$},
     'Location is a signed CDN URL');
is($res->{headers}{'x-linked-etag'}, qq("$lfs->{sha256}"), 'X-Linked-Etag');
is($res->{headers}{'x-linked-size'}, $lfs->{size}, 'X-Linked-Size');
ok(!exists $res->{headers}{'x-xet-hash'}, 'LFS: no X-Xet-Hash');
is((ratelimit($res))[0], 'resolvers', 'LFS 302: RateLimit');
$loc = $res->{headers}{location};
$res = $http->get($loc);
is($res->{status}, 200, 'CDN GET');
is(sha256_hex($res->{content}), $lfs->{sha256}, 'CDN bytes have the right sha256');
is($res->{headers}{etag}, qq("$lfs->{xet_hash}"), 'CDN ETag is the Xet hash, not the sha256');
ok(!exists $res->{headers}{$_}, "CDN: no $_") for qw(ratelimit ratelimit-policy vary x-hf-warning);

my $xet = $files->{'xet.bin'};
$res = $http->head("$hub/test-org/tiny-model/resolve/main/xet.bin");
is($res->{status}, 302, 'Xet HEAD redirects');
is($res->{headers}{'x-xet-hash'}, $xet->{xet_hash}, 'X-Xet-Hash');
like($res->{headers}{link}, qr/rel="xet-auth"/, 'Link xet-auth');
is($http->head($res->{headers}{location})->{headers}{etag}, qq("$xet->{xet_hash}"), 'Xet CDN ETag');
$res = req('GET', '/test-org/tiny-model/resolve/main/xet.bin',
           Accept => 'application/vnd.xet-fileinfo+json, */*', Range => 'bytes=0-0');
is($res->{status}, 200, 'xet-fileinfo: 200');
is($res->{headers}{'content-type'}, 'application/vnd.xet-fileinfo+json', 'xet-fileinfo: content type');
is($json->decode($res->{content})->{hash}, $xet->{xet_hash}, 'xet-fileinfo: hash');

# Ranges on the CDN.
$res = $http->get($loc, { headers => { Range => 'bytes=-100' } });
is($res->{status}, 206, 'suffix Range on the CDN');
is(length $res->{content}, 100, 'a hundred bytes');
$res = $http->get($loc, { headers => { Range => "bytes=$lfs->{size}-" } });
is($res->{status}, 416, 'unsatisfiable Range');
is($res->{headers}{'content-range'}, "bytes */$lfs->{size}", '416 Content-Range');

# An expired signed URL is refused.
control('config', { url_ttl => 1 });
$res = $http->head("$hub/test-org/tiny-model/resolve/main/model.safetensors");
sleep 2;
$res = $http->get($res->{headers}{location});
is($res->{status}, 403, 'expired URL');
is($res->{content}, 'Request has expired', 'expired body');
control('config', { url_ttl => 3600 });

# Fault: truncated body (count 2: HTTP::Tiny retries a failed GET once).
control('fault', { server => 'cdn', match => '^/lfs/', kind => 'truncate', after => 1000,
                   count => 2 });
$res = $http->get($loc);
is($res->{status}, 599, 'truncated body is an error for the client');
my $last = control('log')->[-1];
is($last->{bytes}, 1000, 'log: 1000 bytes written');
ok(!$last->{complete}, 'log: not complete');
is($http->get($loc)->{status}, 200, 'fault used up');

# ------------------------------------------------------------------ rate limits

control('reset', {});
my @rl;
$res = req('HEAD', '/test-org/tiny-model/resolve/main/config.json');
@rl = ratelimit($res);
is("$rl[0];$rl[1]", 'resolvers;2999', '307: RateLimit resolvers, r=2999');
ok($rl[2] >= 1 && $rl[2] <= 300, '307: t within the window');
is($res->{headers}{'ratelimit-policy'}, '"fixed window";"resolvers";q=3000;w=300', '307: RateLimit-Policy');
is($res->{headers}{'x-hf-warning'}, $ANON_WARNING, 'anonymous: X-HF-Warning');
$res = req('HEAD', $target);
is(join(';', (ratelimit($res))[0, 1]), 'resolvers;2998', 'resolve-cache: same bucket, r=2998');
$res = req('HEAD', '/test-org/tiny-model/resolve/main/nope.txt');
is($res->{status}, 404, 'missing file: 404');
is(join(';', (ratelimit($res))[0, 1]), 'resolvers;2997', '404: RateLimit');
$res = req('HEAD', '/test-org/private-model/resolve/main/config.json');
is(join(';', $res->{status}, (ratelimit($res))[0, 1]), '401;resolvers;2996', '401: RateLimit');
$res = req('GET', '/api/models/test-org/tiny-model', Authorization => "Bearer $TOKEN");
is(join(';', (ratelimit($res))[0, 1]), 'api;499', 'API: bucket api, r=499');
is($res->{headers}{'ratelimit-policy'}, '"fixed window";"api";q=500;w=300', 'API: RateLimit-Policy');
ok(!exists $res->{headers}{'x-hf-warning'}, 'valid token: no X-HF-Warning');
ok(!exists req('GET', '/api/whoami-v2', Authorization => "Bearer $NOACCESS")->{headers}{'x-hf-warning'},
   'no-access token: no X-HF-Warning');
is(req('GET', '/api/whoami-v2', Authorization => 'Bearer hf_nope')->{headers}{'x-hf-warning'}, $ANON_WARNING,
   'invalid token: X-HF-Warning');
$res = req('GET', '/test-org/tiny-model');
is(join(';', $res->{status}, (ratelimit($res))[0, 1]), '404;pages;99', 'other paths: bucket pages');
is($res->{headers}{'ratelimit-policy'}, '"fixed window";"pages";q=100;w=300', 'pages: RateLimit-Policy');
my $counters = control('ratelimit');
is_deeply({ map { $_ => $counters->{buckets}{$_}{used} } keys %{ $counters->{buckets} } },
          { resolvers => 4, api => 3, pages => 1 }, 'control: counters (control requests not counted)');
is($counters->{window}, 300, 'control: window');

# Exhausting a bucket: 429 with r=0, other buckets unaffected.
is_deeply(control('config', { quota => { resolvers => 6 } })->{quota}, { resolvers => 6, api => 500, pages => 100 },
          'quota set');
$res = req('HEAD', '/test-org/tiny-model/resolve/main/config.json');
is(join(';', $res->{status}, (ratelimit($res))[1]), '307;1', 'fifth resolver request: r=1 (counters kept)');
is($res->{headers}{'ratelimit-policy'}, '"fixed window";"resolvers";q=6;w=300', 'policy shows the new quota');
is(req('HEAD', $target)->{status}, 200, 'sixth: still served');
for my $u ('/test-org/tiny-model/resolve/main/config.json', $target) {
    $res = req('GET', $u);
    is($res->{status}, 429, "quota exhausted: 429 for $u");
    @rl = ratelimit($res);
    is("$rl[0];$rl[1]", 'resolvers;0', '429: r=0');
    is($res->{headers}{'x-error-message'}, $json->decode($res->{content})->{error}, '429: X-Error-Message is the body');
    like($res->{headers}{'x-error-message'}, qr/quotas for action 'resolve'/, '429: message');
    ok(!exists $res->{headers}{'retry-after'}, '429: no Retry-After');
}
is(req('GET', '/api/models/test-org/tiny-model')->{status}, 200, 'api bucket still served');
is(control('ratelimit')->{buckets}{resolvers}{remaining}, 0, 'control: remaining 0');
control('config', { quota => { resolvers => 100 } });
$res = req('HEAD', $target);
is(join(';', $res->{status}, (ratelimit($res))[1]), '200;91', 'quota raised: served again (429s counted)');

# Windows: a short window restarts the counters.
control('config', { quota_window => 2 });
$res = req('HEAD', $target);
@rl = ratelimit($res);
is($rl[1], 99, 'new window: counters restarted');
ok($rl[2] >= 1 && $rl[2] <= 2, 't within the 2 s window');
is($res->{headers}{'ratelimit-policy'}, '"fixed window";"resolvers";q=100;w=2', 'policy w=2');
sleep 2.2;
is((ratelimit(req('HEAD', $target)))[1], 99, 'next window: counters zeroed again');

# The ratelimit fault: 429, r=0, t = reset (default 52); Retry-After only if given.
control('reset', {});
control('fault', { server => 'hub', match => '/resolve/', kind => 'ratelimit' });
$res = req('HEAD', '/test-org/tiny-model/resolve/main/config.json');
is($res->{status}, 429, 'ratelimit fault: 429');
is($res->{headers}{ratelimit}, '"resolvers";r=0;t=52', 'ratelimit fault: RateLimit');
is($res->{headers}{'ratelimit-policy'}, '"fixed window";"resolvers";q=3000;w=300', 'ratelimit fault: policy');
ok(!exists $res->{headers}{'retry-after'}, 'ratelimit fault: no Retry-After');
like($res->{headers}{'x-error-message'}, qr/You have exceeded our hourly quotas for action 'resolve'/,
     'ratelimit fault: X-Error-Message');
is(req('HEAD', '/test-org/tiny-model/resolve/main/config.json')->{status}, 307, 'ratelimit fault used up');
control('fault', { match => '^/api/models/', kind => 'ratelimit', reset => 10, retry_after => 7,
                   method => 'GET', count => 2 });
is(req('HEAD', '/api/models/test-org/tiny-model')->{status}, 200, 'fault method GET: HEAD not affected');
for (1, 2) {
    $res = req('GET', '/api/models/test-org/tiny-model');
    is(join(' ', $res->{status}, $res->{headers}{ratelimit}, $res->{headers}{'retry-after'} // '-'),
       '429 "api";r=0;t=10 7', "ratelimit fault with reset/retry_after ($_)");
}
like($json->decode($res->{content})->{error}, qr/action 'api'/, 'ratelimit fault: JSON body');
is(req('GET', '/api/models/test-org/tiny-model')->{status}, 200, 'count 2 used up');
# The status fault is unchanged (its own headers win, RateLimit is added).
control('fault', { match => 'config', kind => 'status', code => 502, headers => { 'X-Test' => 'yes' } });
$res = req('GET', '/test-org/tiny-model/resolve/main/config.json');
is(join(' ', $res->{status}, $res->{headers}{'x-test'}, $res->{content}), '502 yes ', 'status fault');
ok(exists $res->{headers}{ratelimit}, 'status fault: RateLimit added');
control('fault', { match => 'config', kind => 'status', code => 429, headers => { RateLimit => '"api";r=0;t=5' } });
is(req('GET', '/test-org/tiny-model/resolve/main/config.json')->{headers}{ratelimit}, '"api";r=0;t=5',
   'status fault: its own RateLimit wins');

# ------------------------------------------------------------------ error shapes

control('reset', {});
my %tok = (anonymous => undef, token => $TOKEN, 'no-access token' => $NOACCESS, 'invalid token' => 'hf_nope');
my $gated_401 = 'Access to model test-org/gated-model is restricted. You must have access to it and be '
    . 'authenticated to access it. Please log in.';
# [repo, who, status, X-Error-Code or '-', X-Error-Message or undef]
my @shapes = (
    ['nobody/missing', 'anonymous', 401, '-', 'Invalid username or password.'],
    ['nobody/missing', 'token', 404, 'RepoNotFound', 'Repository not found'],
    ['nobody/missing', 'no-access token', 404, 'RepoNotFound', 'Repository not found'],
    ['nobody/missing', 'invalid token', 401, '-', 'Invalid credentials in Authorization header'],
    ['test-org/private-model', 'anonymous', 401, '-', 'Invalid username or password.'],
    ['test-org/private-model', 'token', 200, '-', undef],
    ['test-org/private-model', 'no-access token', 404, 'RepoNotFound', 'Repository not found'],
    ['test-org/private-model', 'invalid token', 401, '-', 'Invalid credentials in Authorization header'],
    ['test-org/gated-model', 'anonymous', 401, 'GatedRepo', $gated_401],
    ['test-org/gated-model', 'token', 200, '-', undef],
    ['test-org/gated-model', 'no-access token', 403, 'GatedRepo', qr/^Access to model test-org\/gated-model is restricted and you are not in the authorized list/],
    ['test-org/gated-model', 'invalid token', 401, '-', 'Invalid credentials in Authorization header'],
    ['test-org/disabled-model', 'anonymous', 403, '-', 'Access to this resource is disabled.'],
    ['test-org/disabled-model', 'no-access token', 403, '-', 'Access to this resource is disabled.'],
    ['test-org/tiny-model', 'no-access token', 307, '-', undef],
);
for my $s (@shapes) {
    my ($repo, $who, $status, $code, $msg) = @$s;
    my @auth = defined $tok{$who} ? (Authorization => "Bearer $tok{$who}") : ();
    for my $u ("/$repo/resolve/main/config.json", "/api/models/$repo") {
        my $what = "$repo, $who, " . ($u =~ /^\/api/ ? 'API' : 'resolve');
        $res = req('GET', $u, @auth);
        $status = 200 if $status == 307 && $u =~ /^\/api/;
        is($res->{status}, $status, "$what: $status");
        is($res->{headers}{'x-error-code'} // '-', $code, "$what: X-Error-Code $code");
        next unless defined $msg;
        if (ref $msg) { like($res->{headers}{'x-error-message'}, $msg, "$what: X-Error-Message") }
        else          { is($res->{headers}{'x-error-message'}, $msg, "$what: X-Error-Message") }
        is($res->{content}, $json->encode({ error => $res->{headers}{'x-error-message'} }),
           "$what: compact JSON body");
        if ($msg eq 'Invalid username or password.') {
            is($res->{headers}{'www-authenticate'}, $WWW_AUTH, "$what: WWW-Authenticate");
        }
        ok(exists $res->{headers}{ratelimit}, "$what: RateLimit");
    }
}
$res = req('GET', '/test-org/tiny-model/resolve/nope/config.json');
is(join(' ', $res->{status}, $res->{headers}{'x-error-code'}, $res->{headers}{'x-error-message'}),
   '404 RevisionNotFound Invalid rev id: nope', 'bad revision');
$res = req('GET', '/test-org/tiny-model/resolve/main/nope.txt');
is(join(' ', $res->{status}, $res->{headers}{'x-error-code'}, $res->{headers}{'x-repo-commit'}),
   "404 EntryNotFound $main", 'missing file');
$res = req('GET', '/api/whoami-v2', Authorization => "Bearer $NOACCESS");
is($res->{status}, 200, 'whoami with the no-access token');
is(req('GET', '/api/whoami-v2')->{status}, 401, 'whoami anonymous');
# /_control/tokens replaces either list.
control('tokens', { noaccess_tokens => [] });
is(req('GET', '/api/whoami-v2', Authorization => "Bearer $NOACCESS")->{status}, 401, 'no-access token removed');
is(req('GET', '/api/whoami-v2', Authorization => "Bearer $TOKEN")->{status}, 200, 'other list untouched');
is_deeply(control('fixtures')->{noaccess_tokens}, [], 'fixtures list the no-access tokens');
control('reset', {});
is_deeply(control('fixtures')->{noaccess_tokens}, [$NOACCESS], 'reset restores them');

# ------------------------------------------------------------------ renamed repos

my $ds_main = fixture_repo('dataset', 'test-org/tiny-dataset')->{refs}{main};
for my $c (["/api/resolve-cache/datasets/old-org/old-dataset/$ds_main/README.md?a=b",
            "/api/resolve-cache/datasets/test-org/tiny-dataset/$ds_main/README.md?a=b", 'resolvers'],
           ['/old-org/old-name/resolve/main/config.json?download=true',
            '/test-org/tiny-model/resolve/main/config.json?download=true', 'resolvers'],
           ['/api/models/old-org/old-name/tree/main?recursive=true&expand=false',
            '/api/models/test-org/tiny-model/tree/main?recursive=true&expand=false', 'api'],
           ['/api/models/old-org/old-name?blobs=true', '/api/models/test-org/tiny-model?blobs=true', 'api'],
           ['/datasets/old-org/old-dataset/resolve/main/README.md?x=1',
            '/datasets/test-org/tiny-dataset/resolve/main/README.md?x=1', 'resolvers'],
           ['/api/datasets/old-org/old-dataset/revision/main?blobs=1',
            '/api/datasets/test-org/tiny-dataset/revision/main?blobs=1', 'api']) {
    $res = req('GET', $c->[0]);
    is($res->{status}, 307, "renamed $c->[0]: 307");
    is($res->{headers}{location}, $c->[1], "renamed $c->[0]: relative Location, query kept");
    is((ratelimit($res))[0], $c->[2], "renamed $c->[0]: RateLimit $c->[2]");
    like(req('GET', $c->[1])->{status}, qr/^(200|307)$/, "renamed $c->[0]: the target answers");
}

# ------------------------------------------------------------------ tree pagination

control('config', { page_size => 2 });
$res = $http->get("$hub/api/models/test-org/tiny-model/tree/main?recursive=true");
is($res->{status}, 200, 'tree');
is(scalar @{ $json->decode($res->{content}) }, 2, 'two entries per page');
my ($next) = ($res->{headers}{link} // '') =~ /^<([^>]+)>; rel="next"$/;
like($next, qr{^\Q$hub\E/api/models/test-org/tiny-model/tree/main\?recursive=true&limit=2&cursor=[\w-]+$},
     'Link rel=next: absolute, query then limit and cursor');
$res = $http->get($next);
is(scalar @{ $json->decode($res->{content}) }, 2, 'second page');
# Follow every page, starting with an old limit/cursor in the query.
my (@all, $url, $pages) = ();
$url = "$hub/api/models/test-org/tiny-model/tree/main?limit=5&recursive=true&expand=false";
while ($url) {
    $res = $http->get($url);
    push @all, @{ $json->decode($res->{content}) };
    ($url) = ($res->{headers}{link} // '') =~ /^<([^>]+)>; rel="next"$/;
    like($url, qr{\?recursive=true&expand=false&limit=2&cursor=}, 'old limit dropped, page size capped') if $url;
    last if ++$pages > 20;
}
control('config', { page_size => 1000 });
$res = $http->get("$hub/api/models/test-org/tiny-model/tree/main?recursive=true&expand=false");
ok(!exists $res->{headers}{link}, 'one page of 1000: no Link');
is_deeply([map { $_->{path} } @all], [map { $_->{path} } @{ $json->decode($res->{content}) }],
          'the pages together are the whole listing');
$res = $http->get("$hub/api/models/test-org/tiny-model/tree/main?recursive=true&limit=3");
is(scalar @{ $json->decode($res->{content}) }, 3, 'limit=3: three entries');
like($res->{headers}{link}, qr{\?recursive=true&limit=3&cursor=}, 'limit=3: Link carries limit=3');
$res = $http->get("$hub/api/models/test-org/tiny-model/tree/main?recursive=true&limit=0");
ok(!exists $res->{headers}{link}, 'limit=0 is ignored');

# The default page size is huggingface.co's, 1000. A repository of more than
# 1000 entries in one request: a file 1000 directories deep (a recursive
# listing counts every directory).
control('reset', {});
is(control('config', {})->{page_size}, 1000, 'default page size: 1000');
my $deep = join('/', ('d') x 1000) . '/leaf.txt';
control('add-file', { kind => 'dataset', repo => 'test-org/deep', path => $deep, content => "leaf\n" });
for my $q ('recursive=true', 'recursive=true&limit=5000') {
    $res = $http->get("$hub/api/datasets/test-org/deep/tree/main?$q");
    my @page = @{ $json->decode($res->{content}) };
    is_deeply([scalar @page, $page[0]{path}, $page[-1]{path}], [1000, 'd', join('/', ('d') x 1000)],
              "?$q: the first 1000 entries");
    ($next) = ($res->{headers}{link} // '') =~ /^<([^>]+)>; rel="next"$/;
    like($next, qr{^\Q$hub\E/api/datasets/test-org/deep/tree/main\?recursive=true&limit=1000&cursor=[\w-]+$},
         "?$q: Link rel=next with limit=1000 and a cursor");
    $res = $http->get($next);
    is_deeply([map { "$_->{type}:$_->{path}" } @{ $json->decode($res->{content}) }], ["file:$deep"],
              "?$q: the next page, the last entry");
    ok(!exists $res->{headers}{link}, "?$q: last page, no Link");
}

# ------------------------------------------------------------------ add-file with content_b64

my $blob = join '', map { chr } 0 .. 255, 0, 255, 10, 13;
$add = control('add-file', { kind => 'dataset', repo => 'test-org/tiny-dataset', path => 'data/x.parquet',
                             content_b64 => encode_base64($blob, '') });
is($add->{size}, length $blob, 'content_b64: size');
is($add->{sha256}, sha256_hex($blob), 'content_b64: sha256');
$res = req('GET', '/datasets/test-org/tiny-dataset/resolve/main/data/x.parquet');
is($res->{status}, 307, 'binary regular file: 307');
is($res->{headers}{'x-repo-commit'}, $add->{commit}, 'binary regular file: new commit');
$res = req('GET', $res->{headers}{location});
ok($res->{content} eq $blob, 'binary regular file: the exact bytes through the target');
is($res->{headers}{etag}, qq("$add->{git_sha1}"), 'binary regular file: ETag is its git sha1');
$res = req('GET', "/_control/content?kind=dataset&repo=test-org/tiny-dataset&path=data/x.parquet");
ok($res->{content} eq $blob, 'control content: the exact bytes');
$add = control('add-file', { repo => 'test-org/tiny-model', path => 'blob.bin', lfs => JSON::PP::true,
                             content_b64 => encode_base64($blob, '') });
$res = req('HEAD', '/test-org/tiny-model/resolve/main/blob.bin');
is($res->{status}, 302, 'content_b64 with lfs: 302');
is($res->{headers}{'x-linked-etag'}, qq("$add->{sha256}"), 'content_b64 with lfs: X-Linked-Etag');
ok($http->get($res->{headers}{location})->{content} eq $blob, 'content_b64 with lfs: CDN bytes');
$add = control('add-file', { repo => 'test-org/tiny-model', path => 'text.bin', xet => JSON::PP::true,
                             content => 'xet text' });
$res = req('HEAD', '/test-org/tiny-model/resolve/main/text.bin');
is(join(' ', $res->{status}, $res->{headers}{'x-linked-size'}), '302 8', 'content with xet: 302');
is($http->get($res->{headers}{location})->{content}, 'xet text', 'content with xet: CDN bytes');
$bad = $http->post("$hub/_control/add-file", { content => '{"repo":"a/b","path":"x","content_b64":"!!"}' });
is($bad->{status}, 400, 'bad base64 refused');

# ------------------------------------------------------------------ log, keep-alive

# The log counts hub and CDN requests, never control requests.
control('reset', {});
$http->head("$hub/gpt2/resolve/main/config.json");
$res = $http->head("$hub/gpt2/resolve/main/model.safetensors");
$http->get($res->{headers}{location});
$http->head("$hub/test-org/tiny-model/resolve/main/config.json");
control('ping');
my $log = control('log');
is(scalar @$log, 4, 'four requests logged');
is(join(',', map { "$_->{server}:$_->{method}:$_->{status}" } @$log),
   'hub:HEAD:200,hub:HEAD:302,cdn:GET:200,hub:HEAD:307', 'log entries');
is($log->[2]{bytes}, 100000, 'log counts body bytes');
is_deeply([sort keys %{ $log->[0] }],
          [sort qw(server method path auth range accept if_none_match status bytes complete)], 'log keys');

# Keep-alive: two requests on one raw connection.
my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$hp", Timeout => 5) or die $!;
print $sock "HEAD /gpt2/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n" x 2;
my $raw = '';
while ((() = $raw =~ /HTTP\/1\.1 200/g) < 2) {
    last unless sysread($sock, $raw, 4096, length $raw);
}
is(scalar(() = $raw =~ /HTTP\/1\.1 200/g), 2, 'keep-alive answers both requests');
close $sock;

# A 304 has no Content-Length (keep-alive still works after it).
$sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$hp", Timeout => 5) or die $!;
print $sock "GET $target HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"$cfg->{git_sha1}\"\r\n\r\n"
    . "HEAD /gpt2/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n";
$raw = '';
while ($raw !~ /HTTP\/1\.1 200.*\r\n\r\n/s) {
    last unless sysread($sock, $raw, 4096, length $raw);
}
my ($head304) = $raw =~ /^(HTTP\/1\.1 304.*?\r\n\r\n)/s;
ok($head304 && $head304 !~ /content-length/i, '304 without Content-Length');
like($raw, qr/\r\n\r\nHTTP\/1\.1 200/, 'the next answer follows the 304 head directly');
close $sock;

done_testing();
