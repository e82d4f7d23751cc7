# The Hub API through the cache: revision, repo info, paginated tree,
# paths-info; query strings and encoded paths kept; no Xet metadata; answers
# at a commit cached; snapshots list again with the Hub down; endpoints the
# cache does not serve refused; CORS.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;
use JSON::PP;

sub json { JSON::PP->new->decode($_[0]) }

sub xet_keys {          # every key starting with "xet", at any depth
    my $v = shift;
    return map { /^xet/i ? $_ : (), xet_keys($v->{$_}) } keys %$v if ref $v eq 'HASH';
    return map { xet_keys($_) } @$v if ref $v eq 'ARRAY';
    return ();
}

sub list_tree {         # follows Link rel="next"; returns (file paths, requests)
    my $url = shift;
    my (@paths, $n);
    while ($url) {
        my $r = http_get($url);
        die "tree: $r->{status}" unless $r->{status} == 200;
        $n++;
        push @paths, map { $_->{type} eq 'file' ? $_->{path} : () } @{ json($r->{body}) };
        ($url) = ($r->{headers}{link} // '') =~ /<([^>]+)>;\s*rel="next"/;
    }
    return (\@paths, $n);
}

run_tests();

__DATA__

=== TEST 1: revision: the commit, the query kept, no Xet key at any depth
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
my $r = http_get('/hf/api/models/test-org/tiny-model/revision/main?blobs=true');
is $r->{status}, 200, 'status';
like $r->{headers}{'content-type'}, qr{^application/json}, 'JSON';
my $j = main::json($r->{body});
is $j->{sha}, $f->{commit}, 'sha';
ok((grep { defined $_->{size} } @{ $j->{siblings} }) > 0, 'blobs=true reached the Hub');
my $raw = main::json(http_get(hub_url() . '/api/models/test-org/tiny-model/revision/main?blobs=true')->{body});
ok scalar(main::xet_keys($raw)) > 0, 'the Hub does send Xet keys';
is_deeply [main::xet_keys($j)], [], 'none reach the client';
is hub_count('hub', 'GET', '^/api/models/test-org/tiny-model/revision/[0-9a-f]{40}\?blobs=true$'), 1,
   'asked at the commit, with the query';



=== TEST 2: a paginated tree: Link rewritten to the cache, every entry listed
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- hub_control
config {"page_size": 2}
--- perl
my ($paths, $pages) = main::list_tree('/hf/api/models/test-org/tiny-model/tree/main?recursive=true&expand=false');
my ($direct) = main::list_tree(hub_url() . '/api/models/test-org/tiny-model/tree/main?recursive=true&expand=false');
ok $pages > 2, "several pages ($pages)";
is_deeply [sort @$paths], [sort @$direct], 'the same entries as the Hub';
my $r = http_get('/hf/api/models/test-org/tiny-model/tree/main?recursive=true&expand=false');
like $r->{headers}{link}, qr{^<http://localhost/hf/api/models/test-org/tiny-model/tree/[0-9a-f]{40}\?recursive=true&expand=false&limit=2&cursor=[^>]+>; rel="next"$},
     'Link points at the distribution';
my @hub = grep { $_->{server} eq 'hub' && $_->{path} =~ m{/tree/} } @{ hub_log() };
ok !grep({ $_->{path} !~ /recursive=true&expand=false/ } @hub), 'query strings kept exactly';



=== TEST 3: a percent-encoded tree path is passed on exactly
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /hf/api/models/test-org/tiny-model/tree/main/sub%2Fdir
--- response_body_like
"path":"sub/dir/nested.txt"
--- hub_requests
hub GET /tree/[0-9a-f]{40}/sub%2Fdir$ => 1



=== TEST 4: paths-info, JSON and form bodies; the body is part of the cache key
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $url = '/hf/api/models/test-org/tiny-model/paths-info/main';
my $a = http_request('POST', $url, { 'Content-Type' => 'application/json' },
                     '{"paths":["config.json","xet.bin"],"expand":true}');
is $a->{status}, 200, 'JSON body';
is_deeply [sort map { $_->{path} } @{ main::json($a->{body}) }], ['config.json', 'xet.bin'], 'JSON: entries';
is_deeply [main::xet_keys(main::json($a->{body}))], [], 'no xetHash';
my $b = http_request('POST', $url, { 'Content-Type' => 'application/x-www-form-urlencoded' },
                     'paths=README.md');
is $b->{status}, 200, 'form body';
is_deeply [map { $_->{path} } @{ main::json($b->{body}) }], ['README.md'], 'form: its own entries';
my $n = hub_count('hub', 'POST', 'paths-info');
is $n, 2, 'two different bodies: two requests';
my $c = http_request('POST', $url, { 'Content-Type' => 'application/json' },
                     '{"paths":["config.json","xet.bin"],"expand":true}');
is $c->{body}, $a->{body}, 'the same body again: the same answer';
is hub_count('hub', 'POST', 'paths-info'), 2, 'from the cache';



=== TEST 5: answers at a commit and within the ttl: zero upstream requests
--- http_config eval: $::HttpConfig . "hf_revision_ttl 2s;"
--- config eval: $::Config
--- perl
my @urls = ('/hf/api/models/test-org/tiny-model/revision/main',
            '/hf/api/models/test-org/tiny-model',
            '/hf/api/models/test-org/tiny-model/tree/main?recursive=true');
my @first = map { http_get($_)->{body} } @urls;
my $n = scalar @{ hub_log() };
is_deeply [map { http_get($_)->{body} } @urls], \@first, 'same answers';
is scalar @{ hub_log() }, $n, 'within the ttl: no upstream request';
sleep 3;
is http_get($urls[2])->{body}, $first[2], 'after the ttl';
my @new = @{ hub_log() }[$n .. $#{ hub_log() }];
is scalar(@new), 1, 'one request: the branch revalidated';
like $new[0]{path}, qr{/revision/main$}, 'at the revision endpoint';



=== TEST 6: the Hub down: a snapshot downloaded once downloads again, from the cache
--- http_config eval: $::HttpConfig . "hf_revision_ttl 1s;"
--- config eval: $::Config
--- hub_control
config {"page_size": 3}
--- perl
sub snapshot {
    my $rev = main::json(http_get('/hf/api/models/test-org/tiny-model/revision/main')->{body});
    my ($paths) = main::list_tree("/hf/api/models/test-org/tiny-model/tree/$rev->{sha}?recursive=true");
    my %bytes;
    for my $p (@$paths) {
        my $enc = join '/', map { s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ger } split m{/}, $p;
        my $r = http_get("/hf/test-org/tiny-model/resolve/$rev->{sha}/$enc");
        $bytes{$p} = $r->{status} == 200 ? sha256_hex($r->{body}) : "status $r->{status}";
    }
    return ($rev->{sha}, \%bytes);
}
my ($sha, $online) = snapshot();
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
is $sha, $f->{commit}, 'snapshot of main';
is $online->{'model.safetensors'}, hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors')->{sha256},
   'online bytes';
ok keys(%$online) >= 6, 'every file';
hub_stop();
sleep 2;
my ($sha2, $offline) = snapshot();
is $sha2, $sha, 'offline: same commit for the branch';
is_deeply $offline, $online, 'offline: every file, byte-exact';



=== TEST 7: Xet and endpoints the cache does not serve: refused, never forwarded
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
[ "GET /hf/api/models/test-org/tiny-model/xet-read-token/main",
  "GET /hf/api/whoami-v2",
  "POST /hf/api/models/test-org/tiny-model/commit/main\n{}",
  "POST /hf/api/repos/create\n{}",
  "PUT /hf/api/models/test-org/tiny-model/settings\n{}",
  "DELETE /hf/api/models/test-org/tiny-model/branch/main",
  "POST /hf-private/api/models/test-org/tiny-model/preupload/main\n{}",
  "GET /hf-private/api/whoami-v2" ]
--- error_code eval
[ 404, 404, 405, 405, 405, 405, 405, 404 ]
--- response_headers_like eval
[ ("Content-Type: application/json") x 8 ]
--- hub_requests
any * . => 0



=== TEST 8: the private distribution's API carries the token; the public one does not
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
is http_get('/hf/api/models/test-org/private-model/revision/main')->{status}, 401, 'public: 401';
my $r = http_get('/hf-private/api/models/test-org/private-model/revision/main');
is $r->{status}, 200, 'private: 200';
my @priv = grep { $_->{path} =~ /private-model/ } @{ hub_log() };
is scalar(grep { ($_->{auth} // '') eq 'Bearer hf_testtoken0123456789abcdefghijklmn' } @priv),
   scalar(@priv) - 1, 'every private request carried the token, the public one none';



=== TEST 9: errors pass through; a renamed repository is redirected under the prefix
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
[ "GET /hf/api/models/test-org/no-such-model/revision/main",
  "GET /hf/api/models/test-org/tiny-model/revision/no-such-branch",
  "GET /hf/api/models/old-org/old-name/revision/main" ]
--- error_code eval
[ 401, 404, 307 ]
--- response_headers eval
[ "X-Error-Code: RepoNotFound", "X-Error-Code: RevisionNotFound",
  "Location: /hf/api/models/test-org/tiny-model/revision/main" ]



=== TEST 10: CORS: allowed and exposed on answers and errors; preflight for Range
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
for my $url ('/hf/test-org/tiny-model/resolve/main/config.json', '/hf/api/models/test-org/tiny-model',
             '/hf/test-org/no-such/resolve/main/x') {
    my $r = http_get($url, { Origin => 'http://app.example' });
    is $r->{headers}{'access-control-allow-origin'}, '*', "$url: allow origin";
    like $r->{headers}{'access-control-expose-headers'}, qr/\bContent-Range\b.*\bETag\b.*\bX-Repo-Commit\b.*\bX-Linked-Size\b.*\bX-Linked-Etag\b/,
         "$url: exposed headers";
}
my $p = http_request('OPTIONS', '/hf/test-org/tiny-model/resolve/main/model.safetensors',
                     { Origin => 'http://app.example', 'Access-Control-Request-Method' => 'GET',
                       'Access-Control-Request-Headers' => 'range' });
is $p->{status}, 204, 'preflight: 204';
like $p->{headers}{'access-control-allow-headers'}, qr/\brange\b/i, 'preflight: Range allowed';
like $p->{headers}{'access-control-allow-methods'}, qr/\bGET\b/, 'preflight: GET allowed';
--- hub_requests
hub HEAD ^/test-org/tiny-model/resolve/main/config\.json$ => 1
hub * ^/api/resolve-cache/ => 2
hub GET ^/api/models/test-org/tiny-model/revision/ => 1
hub HEAD ^/test-org/no-such/ => 1
hub * . => 5



=== TEST 11: hf_cors off: no CORS headers, no preflight
--- http_config eval: $::HttpConfig . "hf_cors off;"
--- config eval: $::Config
--- request eval
[ "GET /hf/test-org/tiny-model/resolve/main/config.json",
  "OPTIONS /hf/test-org/tiny-model/resolve/main/config.json" ]
--- error_code eval
[ 200, 405 ]
--- response_headers eval
[ "!Access-Control-Allow-Origin", "!Access-Control-Allow-Origin" ]
