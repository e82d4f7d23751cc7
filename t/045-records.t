# What the cache records in LMDB, read with build/hf-meta: revisions,
# files (size, etag, type, cache key, first/last served, hits), verified
# blobs; nothing for a download that failed verification.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;

sub meta {
    my $db = shift;
    my $dir = servroot() . '/meta';
    my @rows = map { chomp; [split /\t/] } `$ENV{HF_META_TOOL} $dir $db`;
    die "hf-meta $db failed: $?" if $?;
    return \@rows;
}

$ENV{HF_META_TOOL} //= 'build/hf-meta';

run_tests();

__DATA__

=== TEST 1: revision, file and blob records; hits counted in batches
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $url = '/hf/test-org/tiny-model/resolve/main/model.safetensors';
my $t0 = time;
http_get($url);             # fetched: not a hit
http_get($url);
http_get($url);
http_head($url);            # HEADs are not counted
sleep 2;                    # hits are written once a second
my @rev = grep { $_->[2] eq 'test-org/tiny-model' } @{ main::meta('revisions') };
is_deeply [map { [@$_[0 .. 4]] } @rev], [['public', 'model', 'test-org/tiny-model', 'main', $f->{commit}]],
          'revision main -> commit';
ok $rev[0][5] >= $t0 - 1, 'when it was resolved';
my ($file) = @{ main::meta('files') };
is_deeply [@$file[0 .. 10]],
          ['public', 'model', 'test-org/tiny-model', $f->{commit}, 'model.safetensors', $f->{size},
           $f->{sha256}, 1, 'application/octet-stream', "hf:file:public:$f->{sha256}", $file->[10]],
          'file: size, etag, lfs, type, cache key';
ok $file->[10] >= $t0 - 1, 'stored';
ok $file->[11] >= $t0 - 1 && $file->[12] >= $file->[11], 'first and last served';
is $file->[13], 2, 'two hits';
is_deeply [map { [@$_[0, 1]] } @{ main::meta('blobs') }], [["hf:file:public:$f->{sha256}", $f->{size}]],
          'the verified blob';



=== TEST 2: a download that fails verification records no file and no blob
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- hub_control
fault {"server": "cdn", "match": "^/lfs/", "kind": "corrupt"}
--- perl
http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors');
is scalar @{ main::meta('files') }, 0, 'no file record';
is scalar @{ main::meta('blobs') }, 0, 'no blob record';
is scalar @{ main::meta('revisions') }, 1, 'the revision (metadata from the Hub) is kept';



=== TEST 3: a token distribution's records and keys are its own
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $f = hub_file('model', 'test-org/private-model', 'main', 'weights.bin');
http_get('/hf-private/test-org/private-model/resolve/main/weights.bin');
my ($file) = @{ main::meta('files') };
is $file->[0], 'private', 'recorded under the distribution';
is $file->[9], "hf:file:private/private:$f->{sha256}", 'its own cache key';



=== TEST 4: a read-only metadata disk: recorded files served, new ones proxied, not recorded
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $meta = servroot() . '/meta';
my $f = hub_file('model', 'test-org/tiny-model', 'main', 'model.safetensors');
my $g = hub_file('model', 'test-org/tiny-model', 'main', 'README.md');
my $url = "/hf/test-org/tiny-model/resolve/$f->{commit}/model.safetensors";
my $new = "/hf/test-org/tiny-model/resolve/$g->{commit}/README.md";
is http_get($url)->{status}, 200, 'recorded while writable';
nginx_stop();
SKIP: {
    skip 'cannot bind-mount read-only here (needs root)', 7
        unless system("mount --bind $meta $meta 2>/dev/null") == 0;
    my $ok = eval {
        system("mount -o remount,bind,ro $meta") == 0 or die "remount failed\n";
        nginx_start();
        my $n = hub_count('any', '*', '.');
        my $r = http_get($url);
        is $r->{status}, 200, 'recorded file: 200';
        is sha256_hex($r->{body}), $f->{sha256}, 'recorded file: bytes';
        is hub_count('any', '*', '.'), $n, 'recorded file: from the cache';
        is sha256_hex(http_get($new)->{body}), $g->{sha256}, 'new file: proxied';
        is sha256_hex(http_get($new)->{body}), $g->{sha256}, 'new file again: proxied';
        is hub_count('hub', 'GET', 'README\.md(\?|$)'), 2, 'new file: not recorded, fetched each time';
        like error_log_text(), qr/is read-only: recorded files are served, new ones are proxied, not recorded/,
             'logged';
        nginx_stop();
        1;
    };
    system("umount $meta");
    die $@ unless $ok;
}
nginx_start();
