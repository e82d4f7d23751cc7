# Workers as an unprivileged user (nobody), the way nginx runs them when
# started as root, with directories they cannot reach (a "mktemp -d" parent
# is 0700 root): nginx -t and the start warn, naming the directory, the
# user and the fix; every kind of request is still answered, from verified
# bytes streamed without caching or recording; no worker crashes.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;
use File::Temp ();

plan(skip_all => 'needs root to run workers as another user') if $> != 0;

# The directories the workers use live outside the checkout, whose own
# directory may be out of their reach too (a clone in a "mktemp -d"): a
# base they can enter, and in it "private", which they cannot.
my $base = File::Temp::tempdir('/tmp/hf-workers-XXXXXX', CLEANUP => 1);
chmod 0755, $base or die "chmod $base: $!";
mkdir "$base/private", 0700 or die "mkdir $base/private: $!";
chmod 0700, "$base/private";
$ENV{TEST_NGINX_WORKDIR} = $base;

sub nginx_test {
    my ($rc, $out) = Test::Nginx::Hf::_run_nginx('-t');
    return $out;
}

# one request of each kind, each checked for the Hub's bytes
sub every_kind {
    my $what = shift;
    my $cfg = hub_file('model', 'test-org/tiny-model', 'main', 'config.json');
    my $lfs = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
    my $base = '/hf/test-org/tiny-model/resolve/main';
    for my $round (1, 2) {
        my $h = http_head("$base/config.json");
        is $h->{status}, 200, "$what, round $round: HEAD";
        is $h->{headers}{etag}, qq{"$cfg->{git_sha1}"}, "$what, round $round: HEAD ETag";
        my $g = http_get("$base/config.json");
        is $g->{status}, 200, "$what, round $round: GET regular";
        is sha256_hex($g->{body}), $cfg->{sha256}, "$what, round $round: regular bytes";
        my $l = http_get("$base/model.safetensors");
        is $l->{status}, 200, "$what, round $round: GET LFS";
        is sha256_hex($l->{body}), $lfs->{sha256}, "$what, round $round: LFS bytes";
        my $r = http_get("$base/model.safetensors", { Range => 'bytes=10-19' });
        is $r->{status}, 206, "$what, round $round: range";
        is length($r->{body}), 10, "$what, round $round: range length";
        is http_get('/hf/api/models/test-org/tiny-model')->{status}, 200, "$what, round $round: repo info";
        is http_get('/hf/api/models/test-org/tiny-model/tree/main?recursive=true')->{status}, 200,
           "$what, round $round: tree";
        is http_request('POST', '/hf/api/models/test-org/tiny-model/paths-info/main',
                        { 'Content-Type' => 'application/x-www-form-urlencoded' },
                        'paths=config.json')->{status}, 200, "$what, round $round: paths-info";
    }
    unlike error_log_text(), qr/exited on signal/, "$what: no worker crashed";
}

run_tests();

__DATA__

=== TEST 1: an unreachable metadata directory: a warning, then files served, verified, not recorded
--- user: nobody nogroup
--- http_config
    proxy_cache_path $TEST_NGINX_WORKDIR/cache1 levels=1:2 keys_zone=hf:10m use_temp_path=off;
    hf_metadata $TEST_NGINX_WORKDIR/private/meta size=64m;
    hf_cache hf;
    hf_remote $TEST_NGINX_HUB;
--- config eval: $::Config
--- perl
my $t = main::nginx_test();
like $t, qr{\[warn\].*hf_metadata "[^"]*/private/meta" cannot be reached by the worker user "nobody": "\Q$ENV{TEST_NGINX_WORKDIR}\E/private" is not searchable by it; files will be verified and proxied, not recorded; fix: chmod o\+x}, 'nginx -t warns';
like error_log_text(), qr{\[warn\].*hf_metadata "[^"]*/private/meta" cannot be reached by the worker user "nobody"}, 'the start warns';
main::every_kind('no metadata');
--- no_error_log
[alert]
exited on signal



=== TEST 2: an unreachable cache directory: a warning, then every request answered, nothing cached
--- user: nobody nogroup
--- http_config
    proxy_cache_path $TEST_NGINX_WORKDIR/private/cache levels=1:2 keys_zone=hf:10m use_temp_path=off;
    hf_metadata $TEST_NGINX_WORKDIR/meta2 size=64m;
    hf_cache hf;
    hf_remote $TEST_NGINX_HUB;
--- config eval: $::Config
--- perl
my $t = main::nginx_test();
like $t, qr{\[warn\].*proxy_cache_path "[^"]*/private/cache" cannot be reached by the worker user "nobody": "\Q$ENV{TEST_NGINX_WORKDIR}\E/private" is not searchable by it; files will be verified and streamed, not cached}, 'nginx -t warns';
main::every_kind('no cache');
like error_log_text(), qr{hf_distribution "public": the cache directory "[^"]*/private/cache" is not writable by the worker}, 'the worker says so';
is hub_count('cdn', 'GET', '^/lfs/'), 4, 'the LFS file fetched each time (whole and range), not cached';
unlike error_log_text(), qr/upstream answered|hub unreachable/, 'nothing blamed on the Hub';
--- no_error_log
[alert]
exited on signal



=== TEST 3: reachable directories: no warning
--- user: nobody nogroup
--- http_config
    proxy_cache_path $TEST_NGINX_WORKDIR/cache3 levels=1:2 keys_zone=hf:10m use_temp_path=off;
    hf_metadata $TEST_NGINX_WORKDIR/meta3 size=64m;
    hf_cache hf;
    hf_remote $TEST_NGINX_HUB;
--- config eval: $::Config
--- perl
my $out = main::nginx_test();
unlike $out, qr/not writable|cannot be reached/, 'nginx -t: no warning';
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
is sha256_hex(http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors')->{body}), $f->{sha256}, 'bytes';
is sha256_hex(http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors')->{body}), $f->{sha256}, 'again';
is hub_count('cdn', 'GET', '^/lfs/'), 1, 'cached by the unprivileged workers';
--- no_error_log
cannot be reached
not writable
