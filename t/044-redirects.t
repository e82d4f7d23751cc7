# Where the Hub's redirects may lead: the remote's own host and
# hf_redirect_hosts (default: hf.co, *.hf.co, huggingface.co,
# *.huggingface.co), never back to this server.  Anything else answers 502
# at once, logged, and nothing is asked of that host.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;

# an LFS answer of the Hub that sends the bytes to $location
sub lfs_redirect {
    my $location = shift;
    my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
    hub_control('fault', { server => 'hub', kind => 'status', code => 302, method => 'HEAD',
                           match => 'model\.safetensors$',
                           headers => { Location => $location, 'X-Repo-Commit' => $f->{commit},
                                        'X-Linked-Etag' => qq{"$f->{sha256}"},
                                        'X-Linked-Size' => $f->{size} } });
    return $f;
}

run_tests();

__DATA__

=== TEST 1: a host outside hf_redirect_hosts: 502 at once, never contacted
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
main::lfs_redirect('http://127.0.0.2:9/lfs/x');
my $r = http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors');
is $r->{status}, 502, 'status 502';
like error_log_text(), qr{redirect of "model\.safetensors" of "test-org/tiny-model" to "http://127\.0\.0\.2:9/lfs/x" refused: a host not in hf_redirect_hosts},
     'logged';
--- no_error_log
connect() failed



=== TEST 2: a redirect back to this server: 502 at once, no loop on its own lock
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $port = server_port();
main::lfs_redirect("http://127.0.0.1:$port/hf/test-org/tiny-model/resolve/main/model.safetensors");
my $t0 = time;
my $r = http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors');
is $r->{status}, 502, 'status 502';
ok time - $t0 < 3, 'at once';
like error_log_text(), qr{to "http://127\.0\.0\.1:$port/hf/[^"]*" refused: this server itself}, 'logged';
main::lfs_redirect("http://localhost:$port/x");
is http_get('/hf/test-org/tiny-model/resolve/v1.0/model.safetensors')->{status}, 502, 'by name too';



=== TEST 3: odd URLs are refused
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
for my $loc ('ftp://cdn.hf.co/x', 'http://user@cdn.hf.co/x', 'http://cdn.hf.co:99999/x', 'http://evilhf.co/x',
             'http://cdn.hf.co.evil.test/x') {
    main::lfs_redirect($loc);
    is http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors')->{status}, 502, "$loc: 502";
    like error_log_text(), qr{to "\Q$loc\E" refused}, "$loc: logged";
}



=== TEST 4: hf_redirect_hosts: names and *.domain patterns are followed
--- http_config eval: $::HttpConfig . "hf_redirect_hosts 127.0.0.2 *.cdn.test;"
--- config eval: $::Config
--- perl
main::lfs_redirect('http://127.0.0.2:9/lfs/x');
is http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors')->{status}, 502, 'an allowed host that is down: 502';
like error_log_text(), qr{connect\(\) failed .* upstream: "http://127\.0\.0\.2:9/lfs/x"}, 'it was followed';
main::lfs_redirect('http://eu.cdn.test/lfs/x');
is http_get('/hf/test-org/tiny-model/resolve/v1.0/model.safetensors')->{status}, 502, 'a *.domain name: followed';
like error_log_text(), qr{no resolver defined to resolve eu\.cdn\.test}, 'it was followed (no resolver here)';
unlike error_log_text(), qr/" refused: /, 'nothing refused';



=== TEST 5: an invalid hf_redirect_hosts fails nginx -t
--- http_config eval: $::HttpConfig . "hf_redirect_hosts cdn.hf.co/x;"
--- config eval: $::Config
--- must_die
--- error_log
invalid hf_redirect_hosts "cdn.hf.co/x"
