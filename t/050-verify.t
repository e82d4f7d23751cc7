# Verification: sha256 for LFS/Xet files, git blob sha1 for regular ones,
# computed while the bytes stream.  A corrupt or short body is never
# recorded, never served again, and never completed to the client.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;

sub check_refused {
    my ($url, $f, $what) = @_;
    my $r = http_get($url);
    ok $r->{error} || length($r->{body}) < $f->{size}, "$what: the client did not get a complete answer";
    isnt sha256_hex($r->{body}), $f->{sha256}, "$what: and not the right bytes";
    ok length($r->{body}) < $f->{size}, "$what: short of the announced length";
    return $r;
}

run_tests();

__DATA__

=== TEST 1: corrupt LFS bytes: aborted, logged with both hashes, not recorded, fetched again
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $url = "/hf/test-org/tiny-model/resolve/$f->{commit}/model.safetensors";
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'corrupt' });
main::check_refused($url, $f, 'corrupt');
like error_log_text(), qr/hash mismatch for "model\.safetensors" of "test-org\/tiny-model" at $f->{commit}: expected $f->{sha256}, got [0-9a-f]{64}/,
     'error log names repo, path, expected and actual hash';
my $r = http_get($url);
is $r->{status}, 200, 'next GET';
is sha256_hex($r->{body}), $f->{sha256}, 'next GET: right bytes';
is hub_count('cdn', 'GET', '^/lfs/'), 2, 'fetched again, not served from the corrupt entry';



=== TEST 2: corrupt regular file: the git blob sha1 catches it
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'README.md');
my $url = "/hf/test-org/tiny-model/resolve/$f->{commit}/README.md";
hub_control('fault', { server => 'hub', method => 'GET', match => '/README\.md(\?|$)', kind => 'corrupt', offset => 3 });
main::check_refused($url, $f, 'corrupt');
like error_log_text(), qr/hash mismatch for "README\.md" .* expected $f->{git_sha1}/, 'logged with the git sha1';
is sha256_hex(http_get($url)->{body}), $f->{sha256}, 'next GET: right bytes';



=== TEST 3: a corrupt download is never recorded: with the Hub down, 502
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $url = "/hf/test-org/tiny-model/resolve/$f->{commit}/model.safetensors";
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'corrupt' });
main::check_refused($url, $f, 'corrupt');
hub_stop();
is http_get($url)->{status}, 502, 'nothing was recorded';
is http_head($url)->{status}, 502, 'HEAD neither';



=== TEST 4: a truncated body: aborted, not recorded, fetched again
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('dataset', 'test-org/tiny-dataset', 'main', 'data/train-00000.parquet');
my $url = "/hf/datasets/test-org/tiny-dataset/resolve/main/data/train-00000.parquet";
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'truncate', after => 70000 });
my $r = main::check_refused($url, $f, 'truncated');
is length($r->{body}), 70000, 'the client got what arrived, no more';
like error_log_text(), qr/upstream prematurely closed/, 'logged';
$r = http_get($url);
is sha256_hex($r->{body}), $f->{sha256}, 'next GET: right bytes';
is hub_count('cdn', 'GET', '^/lfs/'), 2, 'fetched again';



=== TEST 5: a connection reset mid-body: aborted, fetched again
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'gpt2', 'main', 'model.safetensors');
my $url = "/hf/gpt2/resolve/main/model.safetensors";
hub_control('fault', { server => 'cdn', match => '^/lfs/', kind => 'reset', after => 30000 });
main::check_refused($url, $f, 'reset');
is sha256_hex(http_get($url)->{body}), $f->{sha256}, 'next GET: right bytes';

