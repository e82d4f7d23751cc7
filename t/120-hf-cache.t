# hf-cache (tools/hf-cache/, docs/hf-cache.md): warm a repository through
# the cache (a paginated tree, curl multi), then load it with the real
# huggingface_hub while the hub is stopped; its errors and exit statuses;
# ls, show and du of the LMDB records; purge of a repository, of a blob
# shared with another repository, by age, and of something not cached.
# Everything is checked as a user sees it: exit status, stdout, stderr,
# and what the hub was asked.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;
use JSON::PP;
use Cwd qw(abs_path);
use Digest::MD5 qw(md5_hex);
use File::Path qw(make_path);
use POSIX ();
use Time::HiRes ();

our $Root   = abs_path('.');
our $Tool   = "$Root/build/hf-cache";
our $Python = "$Root/build/pyenv/bin/python";
our $Driver = "$Root/t/clients/hf_clients.py";
our $Run    = 0;

unless (-x $Tool) {
    fail("$Tool is missing: run `make build`");
    done_testing();
    exit 1;
}

sub slurp { my $f = shift; open(my $fh, '<:raw', $f) or return ''; local $/; <$fh> // '' }

sub cache_url { 'http://127.0.0.1:' . server_port() . '/hf' }

# hfc(ARGS...): runs build/hf-cache with the test's metadata and cache
# directories in its environment (HF_CACHE_METADATA, HF_CACHE_DIR), stdin
# and stdout not a terminal; {rc, out, err}
sub hfc {
    my @args = @_;
    my $dir = servroot() . '/hf-cache';
    make_path($dir);
    my $n = ++$Run;
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        delete @ENV{qw(HF_ENDPOINT HF_TOKEN HF_CACHE_METADATA HF_CACHE_DIR)};
        $ENV{HF_CACHE_METADATA} = servroot() . '/meta';
        $ENV{HF_CACHE_DIR} = servroot() . '/cache';
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/$n.out";
        open STDERR, '>', "$dir/$n.err";
        exec('timeout', '-k', '5', '120', $Tool, @args) or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $r = { rc => $? >> 8, out => slurp("$dir/$n.out"), err => slurp("$dir/$n.err") };
    note("hf-cache @args: exit $r->{rc}\n--- stdout\n$r->{out}--- stderr\n$r->{err}");
    return $r;
}

sub hfc_json {
    my $r = hfc(@_, '--json');
    return eval { JSON::PP->new->decode($r->{out}) } // do { diag("not JSON: $r->{out}"); undef };
}

# the files of a repository at a ref, from the hub's fixtures
sub repo_files {
    my ($kind, $repo, $ref) = @_;
    for my $r (@{ hub_fixtures()->{repos} }) {
        next unless $r->{kind} eq $kind && $r->{id} eq $repo;
        my $commit = $r->{refs}{$ref} // $ref;
        return ($commit, $r->{commits}{$commit}{files});
    }
    return;
}

# where proxy_cache keeps a key (levels=1:2)
sub cache_file {
    my $h = md5_hex(shift);
    return servroot() . '/cache/' . substr($h, -1) . '/' . substr($h, -3, 2) . "/$h";
}

# the keys of the cached API answers of a repository
sub api_entries {
    my $repo = shift;
    my @keys;
    my @dirs = (servroot() . '/cache');
    while (my $d = shift @dirs) {
        opendir(my $dh, $d) or next;
        for my $e (grep { !/^\./ } readdir $dh) {
            my $p = "$d/$e";
            if (-d $p) { push @dirs, $p; next }
            my ($key) = slurp($p) =~ /\nKEY: ([^\n]*)\n/;
            push @keys, $key if defined $key && index($key, "hf:api:public:/api/models/$repo/") == 0;
        }
    }
    @keys = sort @keys;
    return @keys;
}

# the real huggingface_hub (t/clients/hf_clients.py, as t/110 runs it)
sub run_py {
    my ($scenario, $args) = @_;
    my $dir = servroot() . '/clients/' . ++$Run . "-$scenario";
    make_path($dir);
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        delete @ENV{grep { /^(HF_|HUGGING_FACE_|TRANSFORMERS_|PYTHON)/ } keys %ENV};
        %ENV = (%ENV, HF_ENDPOINT => cache_url(), HF_HOME => "$dir/hf-home",
                XDG_CACHE_HOME => "$dir/xdg-cache", HF_HUB_DISABLE_TELEMETRY => 1,
                HF_HUB_DISABLE_PROGRESS_BARS => 1, HF_CLIENT_TIMEOUT => 60);
        chdir $dir or POSIX::_exit(126);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/out.json";
        open STDERR, '>', "$dir/err.log";
        exec('timeout', '-k', '5', '90', $Python, $Driver, $scenario, JSON::PP->new->encode($args))
            or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    return eval { JSON::PP->new->utf8->decode(slurp("$dir/out.json")) }
        // { ok => 0, error => "no JSON; stderr:\n" . slurp("$dir/err.log") };
}

# waits (bounded) until COND is true
sub wait_for {
    my ($cond, $seconds) = @_;
    my $until = Time::HiRes::time() + ($seconds // 10);
    while (Time::HiRes::time() < $until) {
        return 1 if $cond->();
        Time::HiRes::sleep(0.1);
    }
    return $cond->();
}

run_tests();

__DATA__

=== TEST 1: warm a repository with a paginated tree; warm again asks the hub nothing; then snapshot_download with the hub stopped
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- hub_control
config {"page_size": 2}
--- timeout: 120
--- perl
my ($commit, $files) = repo_files('model', 'test-org/tiny-model', 'main');
my @paths = sort keys %$files;
my $total = 0;
$total += $files->{$_}{size} for @paths;

my $r = hfc('warm', '--endpoint', cache_url(), 'test-org/tiny-model');
is $r->{rc}, 0, 'warm: exit status 0';
like $r->{out}, qr{^model test-org/tiny-model\@main \(commit $commit\): ${\ scalar @paths} files, }m,
     'warm: the summary names the repository, its commit and the files';
like $r->{out}, qr{^warmed 6 of 6 files \(}m, 'warm: 6 of 6 files';
for my $p (@paths) {
    like $r->{err}, qr{^ok test-org/tiny-model \Q$p\E \(}m, "warm: a plain line for $p (not a terminal)";
}
unlike $r->{err}, qr{\r|\e\[}, 'warm: no progress bar when stderr is not a terminal';

# 6 files and 2 directories (sub, sub/dir) listed 2 a page: 4 pages
is hub_count('hub', 'GET', "^/api/models/test-org/tiny-model/tree/$commit\\?recursive=true&expand=false"), 4,
   'the tree was listed page by page, at the commit (8 entries, 2 a page)';
is hub_count('hub', 'GET', '/tree/.*cursor='), 3, 'the 3 next pages of the Link header';
my $lfs = grep { $files->{$_}{lfs} || $files->{$_}{xet} } @paths;
is hub_count('cdn', 'GET', '.'), $lfs, 'each LFS/Xet blob fetched once from the CDN';
is hub_count('hub', 'GET', '^/api/resolve-cache/'), @paths - $lfs, 'each regular file fetched once';
for my $p (@paths) {
    my $e = ($files->{$p}{lfs} || $files->{$p}{xet}) ? 0 : 1;
    is hub_count('hub', 'GET', "^/api/resolve-cache/models/test-org/tiny-model/$commit/" . quotemeta(join '/', map { my $s = $_; $s =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge; $s } split m{/}, $p) . '\\?'), $e,
       "$p: " . ($e ? 'fetched once from the hub' : 'not from the hub (CDN)');
}

my $before = scalar @{ hub_log() };
$r = hfc('warm', '--endpoint', cache_url(), '--jobs', '2', 'test-org/tiny-model');
is $r->{rc}, 0, 'warm again: exit status 0';
like $r->{out}, qr{^warmed 6 of 6 files}m, 'warm again: 6 files';
is scalar @{ hub_log() }, $before, 'warm again: no request to the hub at all';

hub_stop();
my $res = run_py('snapshot', { repos => [ { repo_id => 'test-org/tiny-model' } ] });
my $snap = $res->{repos}{'model:test-org/tiny-model@main'}{snapshot} // {};
ok !$snap->{error}, 'hub stopped: snapshot_download succeeds through the cache'
    or diag(explain($snap), $res->{error} // '');
is $snap->{commit}, $commit, 'hub stopped: the snapshot is of the commit warmed';
is_deeply [ sort keys %{ $snap->{files} // {} } ], \@paths, 'hub stopped: every file';
for my $p (@paths) {
    is $snap->{files}{$p}{sha256}, $files->{$p}{sha256}, "hub stopped: $p: bytes";
}
--- no_error_log
[alert]



=== TEST 2: warm failures: a missing repository, a file failing, an unreachable endpoint, bad usage
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- hub_control
fault {"server": "cdn", "match": "^/", "kind": "status", "code": 503, "count": 0}
--- perl
my $r = hfc('warm', '--endpoint', cache_url(), 'test-org/no-such-model');
is $r->{rc}, 1, 'missing repository: exit status 1';
like $r->{err}, qr{^hf-cache: model test-org/no-such-model\@main: HTTP 401 RepoNotFound}m,
     'missing repository: the status and the Hub\'s error code';
like $r->{out}, qr{^model test-org/no-such-model\@main: not warmed$}m, 'missing repository: in the summary';

$r = hfc('warm', '--endpoint', cache_url(), 'gpt2');
is $r->{rc}, 1, 'a file failing: exit status 1';
like $r->{err}, qr{^FAILED gpt2 model\.safetensors: HTTP 50\d}m, 'a file failing: named with the status, as it happens';
like $r->{out}, qr{^warmed 1 of 2 files .*; 1 failed:\n  gpt2 model\.safetensors: HTTP 50\d}m,
     'a file failing: named again in the summary';
like $r->{err}, qr{^ok gpt2 config\.json }m, 'the other file is warm';

$r = hfc('warm', '--endpoint', 'http://127.0.0.1:1/hf', 'gpt2');
is $r->{rc}, 3, 'unreachable endpoint: exit status 3';
like $r->{err}, qr{^hf-cache: cannot reach the cache at http://127\.0\.0\.1:1/hf: }m, 'unreachable endpoint: said so';

$r = hfc('warm');
is $r->{rc}, 2, 'no repository: exit status 2';
like $r->{err}, qr{^hf-cache: warm: no repository given}m, 'no repository: said so';
$r = hfc('warm', '--jobs', '0', 'gpt2');
is $r->{rc}, 2, '--jobs 0: exit status 2';
like $r->{err}, qr{--jobs "0": expected 1 to 64}, '--jobs 0: said so';
$r = hfc('frobnicate');
is $r->{rc}, 2, 'unknown command: exit status 2';
like $r->{err}, qr{unknown command "frobnicate"}, 'unknown command: said so';
$r = hfc('ls', '--jobs', '3');
is $r->{rc}, 2, 'an option of another command: exit status 2';
like $r->{err}, qr{ls: --jobs does not apply to this command}, 'an option of another command: said so';
$r = hfc('ls', '--metadata', servroot() . '/no-such-dir');
is $r->{rc}, 3, 'missing metadata directory: exit status 3';
like $r->{err}, qr{metadata directory ".*/no-such-dir": No such file or directory}, 'missing metadata directory: said so';
$r = hfc('--help');
is $r->{rc}, 0, '--help: exit status 0';
like $r->{out}, qr{^usage: hf-cache COMMAND}m, '--help: usage on stdout';
$r = hfc('--version');
like $r->{out}, qr{^hf-cache \d+\.\d+\.\d+ \(libcurl/}, '--version';
--- no_error_log
[alert]



=== TEST 3: ls, show and du read the records
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $r = hfc('warm', '--endpoint', cache_url(), 'gpt2', 'test-org/copy-model');
is $r->{rc}, 0, 'warm two repositories';
$r = hfc('warm', '--endpoint', cache_url(), '--type', 'space', 'test-org/tiny-space');
is $r->{rc}, 0, 'warm a space';
my ($gc, $gf) = repo_files('model', 'gpt2', 'main');
my ($cc, $cf) = repo_files('model', 'test-org/copy-model', 'main');
my ($sc, $sf) = repo_files('space', 'test-org/tiny-space', 'main');

$r = hfc('ls');
is $r->{rc}, 0, 'ls: exit status 0';
is $r->{out}, <<'OUT', 'ls: one line per repository';
DIST    TYPE   REPO                 REVISIONS  COMMITS  FILES      SIZE  HITS  LAST SERVED
public  model  gpt2                         1        1      2  100.0 kB     0  -
public  model  test-org/copy-model          1        1      1  300.0 kB     0  -
public  space  test-org/tiny-space          1        1      2      64 B     0  -
OUT
my $j = hfc_json('ls');
is_deeply [ map { "$_->{type} $_->{repo} $_->{files} $_->{size}" } @$j ],
          [ "model gpt2 2 " . ($gf->{'config.json'}{size} + $gf->{'model.safetensors'}{size}),
            "model test-org/copy-model 1 $cf->{'model.safetensors'}{size}",
            "space test-org/tiny-space 2 " . ($sf->{'app.py'}{size} + $sf->{'README.md'}{size}) ],
          'ls --json: the sizes are the files\'';

$r = hfc('ls', 'gpt2');
is $r->{rc}, 0, 'ls REPO: exit status 0';
like $r->{out}, qr{\ADIST    COMMIT        PATH                   SIZE  HITS  STORED               LAST SERVED\n}, 'ls REPO: the header';
like $r->{out}, qr{^public  \Q${\ substr($gc, 0, 12)}\E  config\.json            43 B     0  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  -\n}m, 'ls REPO: config.json';
like $r->{out}, qr{^public  \Q${\ substr($gc, 0, 12)}\E  model\.safetensors  100\.0 kB     0  \d{4}-}m, 'ls REPO: model.safetensors';
$j = hfc_json('ls', 'gpt2');
is_deeply { map { $_->{path} => [ $_->{size}, $_->{etag}, $_->{commit} ] } @$j },
          { map { $_ => [ $gf->{$_}{size}, $gf->{$_}{etag}, $gc ] } keys %$gf }, 'ls REPO --json: size, etag and commit of each file';

$r = hfc('show', 'test-org/tiny-space', '--type', 'space');
is $r->{rc}, 0, 'show: exit status 0';
like $r->{out}, qr{\Arepository:    test-org/tiny-space
type:          space
distribution:  public
revisions:     main -> $sc \(resolved \d{4}-[^)]+\)
commits:       1
files:         2
size:          64 B \(64 B used by no other repository\)
hits:          0
last stored:   \d{4}-\d\d-\d\d \d\d:\d\d:\d\d
last served:   -

commit $sc \(main\): 2 files, 64 B
  PATH       SIZE  ETAG          HITS  STORED               LAST SERVED
  README\.md  33 B  \Q${\ substr($sf->{'README.md'}{etag}, 0, 12)}\E     0  [-\d: ]+  -
  app\.py     31 B  \Q${\ substr($sf->{'app.py'}{etag}, 0, 12)}\E     0  [-\d: ]+  -
\z}, 'show: the repository, its revisions, its commit and files';
$r = hfc('show', 'test-org/tiny-space');
is $r->{rc}, 1, 'show of a space as a model (no --type): exit status 1';
like $r->{err}, qr{^hf-cache: model test-org/tiny-space: not in the cache$}m, 'show: not in the cache, said so';
$r = hfc('show', 'gpt2@' . substr($gc, 0, 10));
is $r->{rc}, 0, 'show REPO@commit prefix';
like $r->{out}, qr{^commit $gc \(main\): 2 files}m, 'show REPO@commit prefix: that commit';
$r = hfc('show', 'gpt2@v9');
is $r->{rc}, 1, 'show of a revision not cached: exit status 1';
like $r->{err}, qr{gpt2\@v9: no such revision or commit in the cache}, 'show of a revision not cached: said so';

# copy-model's weights are tiny-model's: nobody else has them, yet
$r = hfc('du');
is $r->{rc}, 0, 'du: exit status 0';
is $r->{out}, <<'OUT', 'du: the repositories by size, and the total';
    SIZE       OWN  FILES  DIST    TYPE   REPO
300.0 kB  300.0 kB      1  public  model  test-org/copy-model
100.0 kB  100.0 kB      2  public  model  gpt2
    64 B      64 B      2  public  space  test-org/tiny-space
total: 3 repositories, 5 files, 5 blobs, 400.1 kB
OUT
$j = hfc_json('du');
is $j->{total}{size}, $gf->{'config.json'}{size} + $gf->{'model.safetensors'}{size}
                      + $cf->{'model.safetensors'}{size} + $sf->{'app.py'}{size} + $sf->{'README.md'}{size},
   'du --json: the total is the sum of the blobs';
--- no_error_log
[error]



=== TEST 4: purge: a blob shared with another repository stays; a purged file is fetched again; API answers go; nothing cached is an error
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- timeout: 60
--- perl
my ($tc, $tf) = repo_files('model', 'test-org/tiny-model', 'main');
my $shared = "hf:file:public:$tf->{'model.safetensors'}{sha256}";
my $r = hfc('warm', '--endpoint', cache_url(), 'test-org/tiny-model', 'test-org/copy-model');
is $r->{rc}, 0, 'warm both repositories';
ok -f cache_file($shared), 'the shared blob is in the cache';
ok +(() = api_entries('test-org/copy-model')) >= 2, 'copy-model\'s API answers are cached';

$r = hfc('purge', 'test-org/copy-model');
is $r->{rc}, 0, 'purge copy-model: exit status 0';
like $r->{out}, qr{\Apurged model test-org/copy-model \(public\): 1 file records, 1 revisions, 0 blobs \(0 B\); 1 blobs kept, used by other records
removed 1 file records, 1 revision records, 0 blobs \(0 cache files\) and 2 cached API answers \([\d.]+ kB\)\n\z},
   'purge copy-model: what was removed, what was kept';
ok -f cache_file($shared), 'the shared blob stays';
is_deeply [ api_entries('test-org/copy-model') ], [], 'copy-model\'s API answers are gone';
ok +(() = api_entries('test-org/tiny-model')) >= 2, 'tiny-model\'s stay';
$r = hfc('ls', 'test-org/copy-model');
is $r->{rc}, 1, 'ls of the purged repository: exit status 1';
like $r->{err}, qr{model test-org/copy-model: not in the cache}, 'ls of the purged repository: not in the cache';

my $cdn = hub_count('cdn', 'GET', '.');
my $g = http_get('/hf/test-org/copy-model/resolve/main/model.safetensors');
is $g->{status}, 200, 'copy-model again: 200';
is sha256_hex($g->{body}), $tf->{'model.safetensors'}{sha256}, 'copy-model again: bytes';
is hub_count('cdn', 'GET', '.'), $cdn, 'copy-model again: the blob came from the cache, not the CDN';

$r = hfc('purge', '--dry-run', 'test-org/tiny-model');
is $r->{rc}, 0, 'purge --dry-run: exit status 0';
like $r->{out}, qr{^would purge model test-org/tiny-model \(public\): 6 file records, 1 revisions, 5 blobs }m, 'purge --dry-run: what it would do';
ok -f cache_file($shared), 'purge --dry-run: nothing removed';

$r = hfc('purge', 'test-org/tiny-model@main');
is $r->{rc}, 0, 'purge tiny-model@main: exit status 0';
like $r->{out}, qr{^purged model test-org/tiny-model \(public\): 6 file records, 1 revisions, 5 blobs \([\d.]+ kB\); 1 blobs kept, used by other records$}m,
     'purge tiny-model@main: the weights stay (copy-model has them again)';
like $r->{out}, qr{^removed 6 file records, 1 revision records, 5 blobs \(5 cache files, [\d.]+ kB\) and \d+ cached API answers \([\d.]+ kB\)$}m, 'purge tiny-model@main: 5 cache files removed';
ok -f cache_file($shared), 'the shared blob stays';
ok !-e cache_file("hf:file:public:$tf->{'xet.bin'}{sha256}"), 'xet.bin\'s cache file is gone';
is_deeply [ api_entries('test-org/tiny-model') ], [], 'tiny-model\'s API answers at the commit are gone';

$r = hfc('purge', 'test-org/copy-model');
is $r->{rc}, 0, 'purge copy-model again (it was fetched again)';
like $r->{out}, qr{^purged model test-org/copy-model \(public\): 1 file records, \d revisions, 1 blobs \(300\.0 kB\)$}m, 'the last user of the weights: the blob goes';
ok !-e cache_file($shared), 'the shared blob\'s file is gone';

# a purged file is fetched again, from the CDN, and verified
$cdn = hub_count('cdn', 'GET', '.');
$g = http_get('/hf/test-org/tiny-model/resolve/main/model.safetensors');
is $g->{status}, 200, 'after purge: 200';
is sha256_hex($g->{body}), $tf->{'model.safetensors'}{sha256}, 'after purge: bytes';
is hub_count('cdn', 'GET', '.'), $cdn + 1, 'after purge: fetched again from the CDN';
ok wait_for(sub { -f cache_file($shared) }), 'after purge: cached again';

$r = hfc('purge', 'test-org/no-such-model');
is $r->{rc}, 1, 'purge of something not cached: exit status 1';
like $r->{err}, qr{^hf-cache: nothing cached matches model test-org/no-such-model$}m, 'purge of something not cached: said so';
$r = hfc('purge', 'gpt2@v9');
is $r->{rc}, 1, 'purge of a revision not cached: exit status 1';
$r = hfc('purge');
is $r->{rc}, 2, 'purge of nothing: exit status 2';
$r = hfc('purge', '--older-than', '3 days');
is $r->{rc}, 2, 'purge --older-than "3 days": exit status 2';
like $r->{err}, qr{--older-than "3 days": not a duration}, 'a bad duration: said so';
--- no_error_log
[error]



=== TEST 5: purge --older-than: by last served, else stored; nothing that old is an error
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- perl
my $r = hfc('warm', '--endpoint', cache_url(), 'gpt2');
is $r->{rc}, 0, 'warm gpt2';
$r = hfc('warm', '--endpoint', cache_url(), '--type', 'dataset', 'test-org/tiny-dataset');
is $r->{rc}, 0, 'warm a dataset';
$r = hfc('purge', '--older-than', '1h');
is $r->{rc}, 1, 'nothing older than an hour: exit status 1';
like $r->{err}, qr{^hf-cache: nothing cached was last served \(or stored, if never served\) more than 1h ago$}m,
     'nothing older than an hour: said so';

# the records are stored in the past second at the latest: a second and
# a bit later, "older than 0s" is every one of them
Time::HiRes::sleep(1.2);
$r = hfc('purge', '--older-than', '0s', '--type', 'dataset');
is $r->{rc}, 0, 'purge --older-than 0s --type dataset: exit status 0';
like $r->{out}, qr{\Apurged dataset test-org/tiny-dataset \(public\): 2 file records, 1 revisions, 2 blobs \([\d.]+ kB\)\nremoved }, 'only the dataset';
$r = hfc('ls');
like $r->{out}, qr{^public  model  gpt2 }m, 'gpt2 stays';
unlike $r->{out}, qr{tiny-dataset}, 'the dataset is gone';
--- no_error_log
[error]
