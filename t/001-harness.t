# Tests of the test harness itself (t/lib/Test/Nginx/Hf.pm), using only
# stock nginx features: no module directives, no hub.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;

$ENV{TEST_NGINX_GREETING} = 'hi there';

our $HttpConfig = qq{
    map \$uri \$harness_map { default "mapped"; }
};

run_tests();

__DATA__

=== TEST 1: plain return
--- http_config eval: $::HttpConfig
--- config
location /t { return 200 "hello\n"; }
--- request
GET /t
--- response_body
hello
--- error_code: 200
--- no_error_log
[error]



=== TEST 2: headers: exact, absent, like; http_config eval
--- http_config eval: $::HttpConfig
--- config
location /t {
    add_header X-Foo "bar baz" always;
    add_header X-Map $harness_map;
    return 200 "ok";
}
--- request
GET /t
--- response_headers
X-Foo: bar baz
X-Map: mapped
Content-Length: 2
!X-Missing
--- response_headers_like
Server: ^nginx
Content-Type: ^text/plain$
--- response_body chomp
ok



=== TEST 3: 404 and an error_log match
--- config
location /t { return 200; }
--- request
GET /nothing-here.txt
--- error_code: 404
--- error_log
open()
No such file or directory
--- no_error_log
[crit]



=== TEST 4: invalid directive: must_die
--- config
location /t { no_such_directive_here on; }
--- must_die
--- error_log
unknown directive "no_such_directive_here"
--- no_error_log
[crit]



=== TEST 5: request array, per-request expectations, more_headers
--- config
location /a { return 200 "A"; }
location /b { return 403; }
location /h { return 200 "x=$http_x_test"; }
--- request eval
["GET /a", "GET /b", "GET /h"]
--- more_headers eval
["", "", "X-Test: yes"]
--- error_code eval
[200, 403, 200]
--- response_body eval
["A", undef, "x=yes"]



=== TEST 6: request body, HTTP/1.0, substitutions
--- config
location /len { return 200 "len=$content_length"; }
location /proto { return 200 "$server_protocol $TEST_NGINX_GREETING $TEST_NGINX_SERVER_PORT"; }
--- request eval
["POST /len\nhello world", "GET /proto HTTP/1.0"]
--- response_body eval
['len=11', 'HTTP/1.0 hi there $TEST_NGINX_SERVER_PORT']



=== TEST 7: user_files, sha256, length, chunked decoding (sub_filter), HEAD
--- user_files
>>> a.txt
alpha beta gamma
>>> sub/b.bin 0600
0123456789
--- config
location /chunked/ {
    alias html/;
    sub_filter "beta" "BETA";
    sub_filter_types *;
}
--- request eval
["GET /a.txt", "GET /chunked/a.txt", "HEAD /sub/b.bin"]
--- response_body eval
["alpha beta gamma\n", "alpha BETA gamma\n", ""]
--- response_headers eval
["Content-Length: 17", "Transfer-Encoding: chunked\n!Content-Length", "Content-Length: 11"]
--- response_body_sha256 eval
[Digest::SHA::sha256_hex("alpha beta gamma\n"), undef, undef]
--- response_body_length eval
[17, 17, 0]



=== TEST 8: no_clean keeps the previous block's files
--- no_clean
--- config
--- request
GET /sub/b.bin
--- response_body
0123456789



=== TEST 9: response_body_like, log_level, workers
--- workers: 2
--- log_level: warn
--- config
location /t { return 200 "abc 123 xyz\n"; }
--- request
GET /t
--- response_body_like
^abc \d+ xyz$
--- perl
my $conf = do { local $/; open my $fh, '<', servroot() . '/conf/nginx.conf' or die; <$fh> };
like($conf, qr/^worker_processes 2;$/m, 'workers section used');
like($conf, qr/^error_log logs\/error\.log warn;$/m, 'log_level section used');



=== TEST 10: perl section helpers
--- config
location /t { add_header X-Multi one; add_header X-Multi two; return 200 "hello"; }
location /slow { alias html/big.txt; limit_rate 20k; }
--- user_files eval
[["big.txt", "x" x 200000]]
--- perl
my $r = http_get('/t');
is($r->{status}, 200, 'http_get status');
is($r->{body}, 'hello', 'http_get body');
is($r->{headers}{'x-multi'}, 'one, two', 'multi-valued header joined');
is(scalar(grep { $_->[0] eq 'X-Multi' } @{ $r->{header_list} }), 2, 'header_list keeps both');
ok(!$r->{error}, 'no error');

$r = http_head('/t');
is($r->{body}, '', 'HEAD has no body');
is($r->{headers}{'content-length'}, 5, 'HEAD content-length');

$r = http_request('POST', '/t', { 'X-A' => 1 }, 'abc');
is($r->{status}, 200, 'http_request POST');

{
    local $Test::Nginx::Hf::Timeout = 1;
    $r = http_get('/slow');
    like($r->{error} // '', qr/timeout/, 'timeout reported');
    is($r->{status}, 200, 'status seen before timeout');
    ok(length $r->{body} > 0 && length $r->{body} < 200000, 'partial body kept');
}

my $rs = parallel_requests(5, 'GET', '/t');
is(scalar @$rs, 5, 'five parallel results');
is(scalar(grep { $_->{status} == 200 && $_->{body} eq 'hello' } @$rs), 5, 'all parallel requests ok');

is(sha256_hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'sha256_hex');
ok(-d servroot() . '/html', 'servroot');
like(server_port(), qr/^\d+$/, 'server_port');
like(error_log_text(), qr/\[notice\]/, 'error_log_text');



=== TEST 11: env section (nginx hides its environment from /proc, so check the conf)
--- env
HF_HARNESS_VAR=$TEST_NGINX_HF_TOKEN
--- config
location /t { return 200; }
--- perl
my $conf = do { local $/; open my $fh, '<', servroot() . '/conf/nginx.conf' or die; <$fh> };
like($conf, qr/^env HF_HARNESS_VAR;$/m, 'env section declared to nginx');
like($conf, qr/^env HF_TOKEN;$/m, 'HF_TOKEN always declared');
ok(nginx_reload(), 'reload works with env');



=== TEST 12: reload, stop and start
--- config
location /t { return 200 "v1"; }
--- perl
is(http_get('/t')->{body}, 'v1', 'before reload');
my $conf = servroot() . '/conf/nginx.conf';
my $text = do { local $/; open my $fh, '<', $conf or die; <$fh> };
$text =~ s/"v1"/"v2"/;
open my $fh, '>', $conf or die; print $fh $text; close $fh;
ok(nginx_reload(), 'reload');
is(http_get('/t')->{body}, 'v2', 'after reload');
ok(nginx_stop(), 'stop');
ok(http_get('/t')->{error}, 'stopped: connection fails');
ok(nginx_start(), 'start');
is(http_get('/t')->{body}, 'v2', 'after restart');
like(error_log_text(), qr/signal 1 \(SIGHUP\) received/, 'error_log_text covers the reload');
