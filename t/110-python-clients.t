# The real Python clients through the cache, against the local hub:
# huggingface_hub (hf_hub_download, snapshot_download, list_repo_tree,
# repo_info, HfFileSystem), transformers (AutoConfig, AutoTokenizer) and
# datasets (load_dataset), with HF_ENDPOINT at the cache's /hf/ and hf_xet
# installed (as by default). Bytes checked against the hub's fixtures, the
# exceptions the clients raise against huggingface.co, no request anywhere
# but the cache (no xet-read-token, no Xet reconstruction), a rate-limited
# hub; then the hub is stopped and the same downloads work again from the
# cache alone.
#
# The clients are the pinned packages of t/clients/requirements.txt,
# installed into build/pyenv by `make test-deps`. Each run is a
# t/clients/hf_clients.py process (a fresh HF_HOME: the client's own cache
# never helps) that prints its results as JSON; the checks are made here.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;
use JSON::PP;
use HTTP::Tiny;
use MIME::Base64 qw(encode_base64);
use File::Path qw(make_path);
use Cwd qw(abs_path);
use POSIX ();
use Time::HiRes ();

our $Root   = abs_path('.');
our $Python = "$Root/build/pyenv/bin/python";
our $Driver = "$Root/t/clients/hf_clients.py";
unless (-x $Python && -f "$Root/build/pyenv/.installed") {
    my $why = 'build/pyenv is missing: run `make test-deps`';
    # CI runs `make test`, whose test-deps installs it: never skip there
    plan(skip_all => $why) unless ($ENV{CI} // 'false') ne 'false';
    fail($why);
    done_testing();
    exit 1;
}

our $Run = 0;
our $Json = JSON::PP->new->utf8->canonical;

sub slurp { my $f = shift; open(my $fh, '<:raw', $f) or return ''; local $/; <$fh> // '' }

sub cache_url { 'http://127.0.0.1:' . server_port() . '/hf' }

# run_py('download', {files => [...]}, NAME => value...): the driver's JSON
# result, or {ok => 0, error => ...} when it printed none. Every run has a
# fresh HF_HOME, no token, telemetry off.
sub run_py {
    my ($scenario, $args, %env) = @_;
    my $dir = servroot() . '/clients/' . ++$Run . "-$scenario";
    make_path($dir);
    my $t0 = Time::HiRes::time();
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        delete @ENV{grep { /^(HF_|HUGGING_FACE_|TRANSFORMERS_|PYTHON)/ } keys %ENV};
        %ENV = (%ENV,
                HF_ENDPOINT => cache_url(),
                HF_HOME => "$dir/hf-home", XDG_CACHE_HOME => "$dir/xdg-cache",
                HF_HUB_DISABLE_TELEMETRY => 1, HF_HUB_DISABLE_PROGRESS_BARS => 1,
                HF_CLIENT_TIMEOUT => 60, %env);
        chdir $dir or POSIX::_exit(126);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/out.json";
        open STDERR, '>', "$dir/err.log";
        exec('timeout', '-k', '5', '90', $Python, $Driver, $scenario, $Json->encode($args // {}))
            or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $rc = $?;
    my $res = eval { JSON::PP->new->utf8->decode(slurp("$dir/out.json")) };
    unless (ref $res eq 'HASH') {
        my @err = split /^/m, slurp("$dir/err.log");
        $res = { ok => 0, error => "hf_clients.py $scenario: exit status $rc, no JSON result; stderr:\n"
                                   . join('', @err > 30 ? @err[-30 .. -1] : @err) };
    }
    $res->{wall} = sprintf '%.1f', Time::HiRes::time() - $t0;
    note("hf_clients.py $scenario ($dir): $res->{wall} s, " . scalar(@{ $res->{requests} // [] }) . ' requests');
    diag("hf_clients.py $scenario: $res->{error}") unless $res->{ok};
    return $res;
}

sub req_line {
    my $r = shift;
    return "[$r->{op}] $r->{method} $r->{url}" . ($r->{range} ? " (Range: $r->{range})" : '')
         . ' -> ' . ($r->{status} // $r->{error} // 'no answer')
         . ($r->{location} ? " Location: $r->{location}" : '')
         . ($r->{x_error_message} ? " ($r->{x_error_message})" : '')
         . ($r->{authorization} ? ' [Authorization]' : '');
}

# The requests a client is known to make outside HF_ENDPOINT whatever it is
# pointed at (the driver refuses them: no network beyond the loopback):
# datasets' download counter (a HEAD on S3, unless HF_UPDATE_DOWNLOAD_COUNTS=0)
# and its dataset-viewer probe (HF_ENDPOINT with "datasets-server." put before
# the host). Both are optional for datasets, which goes on without them.
our @DatasetsOutside = (
    qr{^HEAD https://s3\.amazonaws\.com/datasets\.huggingface\.co/datasets/datasets/},
    qr{^GET http://datasets-server\.127\.0\.0\.1:\d+/hf/info\?dataset=},
);

# ok when the list is empty, else every line (counted) in the diagnostics
sub none_of {
    my ($lines, $name) = @_;
    my (%n, @order);
    $n{$_}++ or push @order, $_ for @$lines;
    ok !@$lines, $name
        or diag(join "\n", map { ($n{$_} > 1 ? "$n{$_} x " : '') . $_ } @order[0 .. ($#order > 39 ? 39 : $#order)]);
}

# every request of a run went to the cache (but the known ones above, which
# must have been refused), none for a Xet token, none with a token, none
# refused by the cache as not served, none answered 5xx
sub check_requests {
    my ($res, $what, %opt) = @_;
    my $base = cache_url() . '/';
    my @r = @{ $res->{requests} // [] };
    ok @r > 0, "$what: the client made requests";
    my @outside = grep { index($_->{url}, $base) != 0 } @r;
    my @known = map { my $r = $_; (grep { "$r->{method} $r->{url}" =~ $_ } @{ $opt{outside} // [] }) ? $r : () } @outside;
    none_of [map { req_line($_) } grep { my $r = $_; !grep { $_ == $r } @known } @outside],
            "$what: every request to the cache";
    none_of [map { req_line($_) } grep { ($_->{error} // '') !~ /^refused/ } @known],
            "$what: the known requests outside HF_ENDPOINT were never sent" if @known;
    none_of [map { "$_->{host}:$_->{port}" } grep { $_->{port} != server_port() || $_->{host} ne '127.0.0.1' }
                @{ $res->{connections} // [] }], "$what: every connection to the cache's port";
    none_of [map { req_line($_) } grep { $_->{url} =~ /xet-read-token|reconstruction/ } @r],
            "$what: no Xet token or reconstruction asked";
    none_of [map { req_line($_) } grep { $_->{authorization} } @r], "$what: no Authorization sent";
    none_of [map { req_line($_) } grep { ($_->{x_error_message} // '') =~ /not served by the cache|read-only/ } @r],
            "$what: no request refused by the cache";
    none_of [map { req_line($_) } grep { ($_->{status} // 0) >= 500 } @r], "$what: no 5xx answer";
    none_of [map { req_line($_) } grep { defined $_->{location} && $_->{location} !~ m{^(/hf/|\Q$base\E)} } @r],
            "$what: no redirect out of the cache";
}

# the hub's log of this block so far (read it before hub_stop)
sub check_hub_log {
    my $what = shift;
    my $log = hub_log();
    none_of [map { "$_->{method} $_->{path}" } grep { $_->{path} =~ /xet-read-token/ } @$log],
            "$what: no xet-read-token request at the hub";
    none_of [map { "$_->{method} $_->{path}" } grep { $_->{path} =~ m{/reconstructions?/} } @$log],
            "$what: no Xet reconstruction request at the CDN";
    is scalar(grep { $_->{server} eq 'cdn' && defined $_->{auth} } @$log), 0, "$what: no Authorization at the CDN";
    ok scalar(grep { $_->{server} eq 'hub' } @$log) > 0, "$what: the hub was asked";
}

# no "hf: refused" in the error log of this block: no client request hit an
# endpoint the cache does not serve
sub check_refused {
    my $what = shift;
    none_of [grep { /hf: refused/ } split /\n/, error_log_text()], "$what: nothing refused in error.log";
}

sub commit_of { my ($kind, $repo, $ref) = @_; hub_file($kind, $repo, $ref, (sort keys %{ files_at($kind, $repo, $ref) })[0])->{commit} }

sub files_at {
    my ($kind, $repo, $ref) = @_;
    my ($r) = grep { $_->{kind} eq $kind && $_->{id} eq $repo } @{ hub_fixtures()->{repos} };
    my $c = $r->{refs}{$ref} // $ref;
    return $r->{commits}{$c}{files};
}

sub hub_content {     # the raw bytes of a file (hub up)
    my ($kind, $repo, $rev, $path) = @_;
    my $u = hub_url() . '/_control/content?' . join '&', map { "$_->[0]=" . uri_escape($_->[1]) }
        ['kind', $kind], ['repo', $repo], ['commit', $rev], ['path', $path];
    my $r = HTTP::Tiny->new(timeout => 30)->get($u);
    die "hub content $u: $r->{status}\n" unless $r->{success};
    return $r->{content};
}

sub uri_escape { my $s = shift; $s =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge; $s }

sub add_b64 {       # a fixture file of the driver into the hub
    my ($kind, $repo, $f, %o) = @_;
    my $r = hub_control('add_file', { kind => $kind, repo => $repo, path => $f->{path},
                                      content_b64 => $f->{content_b64}, ref => $o{ref} // 'main',
                                      ($o{lfs} ? (lfs => JSON::PP::true) : ()) });
    is $r->{sha256}, $f->{sha256}, "add_file $kind $repo $f->{path}" . ($o{lfs} ? ' (LFS)' : '');
    return $r;
}

# ----------------------------------------------------------------- downloads

# [kind, repo, revision (a ref or "commit:<ref>" for the ref's commit id), path]
our @Files = (
    ['model', 'test-org/tiny-model', 'commit:v1.0', 'config.json'],
    ['model', 'test-org/tiny-model', 'commit:v1.0', 'README.md'],
    ['model', 'test-org/tiny-model', 'commit:main', 'xet.bin'],
    ['model', 'test-org/tiny-model', 'commit:main', 'with space & more.txt'],
    ['model', 'test-org/tiny-model', 'main', 'config.json'],
    ['model', 'test-org/tiny-model', 'main', 'README.md'],
    ['model', 'test-org/tiny-model', 'main', 'model.safetensors'],
    ['model', 'test-org/tiny-model', 'main', 'xet.bin'],
    ['model', 'test-org/tiny-model', 'main', 'empty.txt'],
    ['model', 'test-org/tiny-model', 'main', 'sub/dir/nested.txt'],
    ['model', 'test-org/tiny-model', 'main', 'with space & more.txt'],
    ['model', 'test-org/tiny-model', 'v1.0', 'config.json'],
    ['model', 'test-org/tiny-model', 'v1.0', 'model.safetensors'],
    ['model', 'test-org/tiny-model', 'refs/pr/1', 'pr-only.txt'],
    ['model', 'test-org/tiny-model', 'refs/pr/1', 'config.json'],
    ['model', 'gpt2', 'main', 'config.json'],
    ['model', 'gpt2', 'main', 'model.safetensors'],
    ['dataset', 'test-org/tiny-dataset', 'commit:v1.0', 'README.md'],
    ['dataset', 'test-org/tiny-dataset', 'commit:v1.0', 'data/train-00000.parquet'],
    ['dataset', 'test-org/tiny-dataset', 'commit:refs/pr/1', 'data/with space & more.csv'],
    ['dataset', 'test-org/tiny-dataset', 'commit:main', 'README.md'],
    ['dataset', 'test-org/tiny-dataset', 'main', 'README.md'],
    ['dataset', 'test-org/tiny-dataset', 'main', 'data/train-00000.parquet'],
    ['dataset', 'test-org/tiny-dataset', 'main', 'empty.txt'],
    ['dataset', 'test-org/tiny-dataset', 'main', 'data/with space & more.csv'],
    ['dataset', 'test-org/tiny-dataset', 'v1.0', 'README.md'],
    ['dataset', 'test-org/tiny-dataset', 'v1.0', 'data/train-00000.parquet'],
    ['dataset', 'test-org/tiny-dataset', 'refs/pr/1', 'pr-only.txt'],
    ['dataset', 'test-org/tiny-dataset', 'refs/pr/1', 'data/with space & more.csv'],
    ['dataset', 'test-org/tiny-dataset', 'refs/pr/1', 'data/train-00000.parquet'],
    ['space', 'test-org/tiny-space', 'commit:v1.0', 'app.py'],
    ['space', 'test-org/tiny-space', 'commit:refs/pr/1', 'demo.safetensors'],
    ['space', 'test-org/tiny-space', 'commit:refs/pr/1', 'with space & more.txt'],
    ['space', 'test-org/tiny-space', 'commit:main', 'app.py'],
    ['space', 'test-org/tiny-space', 'main', 'app.py'],
    ['space', 'test-org/tiny-space', 'main', 'README.md'],
    ['space', 'test-org/tiny-space', 'main', 'demo.safetensors'],
    ['space', 'test-org/tiny-space', 'main', 'empty.txt'],
    ['space', 'test-org/tiny-space', 'main', 'with space & more.txt'],
    ['space', 'test-org/tiny-space', 'v1.0', 'app.py'],
    ['space', 'test-org/tiny-space', 'v1.0', 'README.md'],
    ['space', 'test-org/tiny-space', 'v1.0', 'demo-v1.safetensors'],
    ['space', 'test-org/tiny-space', 'refs/pr/1', 'pr-only.txt'],
    ['space', 'test-org/tiny-space', 'refs/pr/1', 'with space & more.txt'],
    ['space', 'test-org/tiny-space', 'refs/pr/1', 'demo.safetensors'],
);

# Added to main by TEST 1, as tiny-model's empty.txt (the fixtures' main of
# the dataset and the space stays as other tests count it): [kind, repo,
# path, the ref whose file is merged into main, or none for an empty file]
our @AddToMain = (
    ['model', 'test-org/tiny-model', 'empty.txt'],
    ['dataset', 'test-org/tiny-dataset', 'empty.txt'],
    ['dataset', 'test-org/tiny-dataset', 'data/with space & more.csv', 'refs/pr/1'],
    ['space', 'test-org/tiny-space', 'empty.txt'],
    ['space', 'test-org/tiny-space', 'with space & more.txt', 'refs/pr/1'],
    ['space', 'test-org/tiny-space', 'demo.safetensors', 'refs/pr/1'],
);

sub add_to_main {
    for (@AddToMain) {
        my ($kind, $repo, $path, $from) = @$_;
        my $f = $from ? hub_file($kind, $repo, $from, $path) : { sha256 => sha256_hex('') };
        my $r = hub_control('add_file', { kind => $kind, repo => $repo, path => $path,
                                          content_b64 => encode_base64($from ? hub_content($kind, $repo, $from, $path) : '', ''),
                                          ($f->{lfs} ? (lfs => JSON::PP::true) : ()) });
        is $r->{sha256}, $f->{sha256}, "add_file $kind $repo $path" . ($from ? " (as on $from)" : '');
    }
}

sub rev_of { my ($kind, $repo, $rev) = @_; $rev =~ /^commit:(.*)$/ ? commit_of($kind, $repo, $1) : $rev }

sub file_specs {
    return [map {
        my ($kind, $repo, $rev, $path) = @$_;
        { repo_type => $kind, repo_id => $repo, revision => rev_of($kind, $repo, $rev), filename => $path,
          label => "$kind:$repo\@$rev:$path" }
    } @_];
}

# the bytes of every hf_hub_download, at the right commit
sub check_downloads {
    my ($res, $what, @files) = @_;
    ok $res->{ok}, "$what: the client ran" or return;
    my %got = map { ($_->{label} => $_) } @{ $res->{files} };
    for (@files) {
        my ($kind, $repo, $rev, $path) = @$_;
        my $label = "$kind:$repo\@$rev:$path";
        my $f = hub_file($kind, $repo, rev_of($kind, $repo, $rev), $path);
        my $g = $got{$label} // {};
        is_deeply [$g->{sha256} // $g->{error}, $g->{size}, $g->{commit}], [$f->{sha256}, $f->{size}, $f->{commit}],
                  "$what: hf_hub_download $label: bytes, size, commit";
    }
}

# [label, spec, expected class, class expected in the cause chain]
our @Errors = (
    ['missing repo', { repo_id => 'test-org/does-not-exist', filename => 'config.json' }, 'RepositoryNotFoundError'],
    ['missing dataset', { repo_type => 'dataset', repo_id => 'test-org/no-dataset', filename => 'README.md' },
     'RepositoryNotFoundError'],
    ['private repo on the public distribution', { repo_id => 'test-org/private-model', filename => 'config.json' },
     'RepositoryNotFoundError'],
    ['gated repo', { repo_id => 'test-org/gated-model', filename => 'config.json' }, 'GatedRepoError'],
    ['missing revision', { repo_id => 'test-org/tiny-model', filename => 'config.json', revision => 'no-such-branch' },
     'RevisionNotFoundError'],
    ['missing file', { repo_id => 'test-org/tiny-model', filename => 'no-such-file.txt' }, 'RemoteEntryNotFoundError'],
    ['missing file at a commit', { repo_id => 'test-org/tiny-model', filename => 'xet.bin', revision => 'commit:v1.0' },
     'RemoteEntryNotFoundError'],
    # huggingface_hub wraps a 403 into LocalEntryNotFoundError, against the Hub too
    ['disabled repo', { repo_id => 'test-org/disabled-model', filename => 'config.json' },
     'LocalEntryNotFoundError', 'DisabledRepoError'],
);

our @ApiErrors = (
    ['repo_info: missing repo', { repo_id => 'test-org/does-not-exist' }, 'RepositoryNotFoundError'],
    ['repo_info: private repo', { repo_id => 'test-org/private-model' }, 'RepositoryNotFoundError'],
    ['repo_info: missing revision', { repo_id => 'test-org/tiny-model', revision => 'no-such-branch' },
     'RevisionNotFoundError'],
);

sub error_specs {
    return [map {
        my ($label, $s) = @$_;
        my %s = (%$s, label => $label);
        $s{revision} = rev_of($s{repo_type} // 'model', $s{repo_id}, $s{revision}) if $s{revision};
        \%s
    } @_];
}

sub check_errors {
    my ($got, $what, @errors) = @_;
    my %got = map { ($_->{label} => $_) } @$got;
    for (@errors) {
        my ($label, undef, $class, $cause) = @$_;
        my $g = $got{$label} // {};
        is $g->{error_class} // ('no error: ' . ($g->{sha256} // $g->{sha} // 'no result')), $class, "$what: $label: $class"
            or diag(join "\n", map { "  $_->{class} $_->{status}: $_->{message}" } @{ $g->{chain} // [] });
        if ($cause) {
            ok scalar(grep { $_->{class} eq $cause } @{ $g->{chain} // [] }), "$what: $label: caused by $cause";
        }
    }
}

# ----------------------------------------------------------------- snapshot

our @SnapshotRepos = (['model', 'test-org/tiny-model'], ['dataset', 'test-org/tiny-dataset'],
                      ['space', 'test-org/tiny-space']);

sub check_snapshot {
    my ($res, $what) = @_;
    ok $res->{ok}, "$what: the client ran" or return;
    for (@SnapshotRepos) {
        my ($kind, $repo) = @$_;
        my $r = $res->{repos}{"$kind:$repo\@main"} // {};
        my $files = files_at($kind, $repo, 'main');
        my $commit = commit_of($kind, $repo, 'main');
        my @paths = sort keys %$files;
        my %dirs = map { my @p = split m{/}; map { (join('/', @p[0 .. $_]) => 1) } 0 .. $#p - 1 } @paths;

        is_deeply [$r->{info}{sha} // $r->{info}{error}, $r->{info}{siblings}], [$commit, \@paths],
                  "$what: $repo: repo_info: sha, siblings";
        my @tree = @{ $r->{tree}{entries} // [] };
        diag("$what: $repo: list_repo_tree: $r->{tree}{error}") if $r->{tree}{error};
        is_deeply [map { $_->{path} } grep { $_->{type} eq 'file' } @tree], \@paths,
                  "$what: $repo: list_repo_tree: every file";
        is_deeply [map { $_->{path} } grep { $_->{type} eq 'directory' } @tree], [sort keys %dirs],
                  "$what: $repo: list_repo_tree: every directory";
        is_deeply [map { "$_->{path}: size $_->{size}, lfs " . ($_->{lfs}{sha256} // 'none') } grep {
            my $f = $files->{ $_->{path} };
            $f && ($_->{size} != $f->{size} || (($f->{lfs} || $f->{xet}) ? ($_->{lfs}{sha256} // '') ne $f->{sha256}
                                                                          : defined $_->{lfs}))
        } @tree], [], "$what: $repo: list_repo_tree: sizes and LFS sha256";
        is_deeply [map { $_->{path} } grep { exists $_->{xet_hash} } @tree], [], "$what: $repo: list_repo_tree: no xetHash";
        is $r->{snapshot}{commit} // $r->{snapshot}{error}, $commit, "$what: $repo: snapshot_download: at main's commit";
        is_deeply { map { ($_ => $r->{snapshot}{files}{$_}{sha256}) } keys %{ $r->{snapshot}{files} // {} } },
                  { map { ($_ => $files->{$_}{sha256}) } @paths }, "$what: $repo: snapshot_download: every file, byte-exact";
    }
    for my $op ('list_repo_tree', 'snapshot_download') {
        my $pages = grep { $_->{op} eq "model:test-org/tiny-model\@main $op" && $_->{url} =~ m{/hf/api/models/test-org/tiny-model/tree/} }
                    @{ $res->{requests} };
        ok $pages >= 4, "$what: $op: tiny-model's tree in pages of 2, through the cache ($pages requests)";
    }
}

# [label, kind, repo, rev, path, offset, length]
our @Reads = (
    ['lfs', 'model', 'test-org/tiny-model', 'main', 'model.safetensors', 1000, 5000],
    ['xet', 'model', 'test-org/tiny-model', 'main', 'xet.bin', 7, 100],
    ['regular at a tag', 'model', 'test-org/tiny-model', 'v1.0', 'config.json', 10, 20],
    ['regular in a PR', 'model', 'test-org/tiny-model', 'refs/pr/1', 'pr-only.txt', 3, 10],
    ['dataset tail', 'dataset', 'test-org/tiny-dataset', 'main', 'data/train-00000.parquet', 149000, 5000],
    ['dataset at a tag', 'dataset', 'test-org/tiny-dataset', 'v1.0', 'README.md', 2, 20],
    ['space lfs in a PR', 'space', 'test-org/tiny-space', 'refs/pr/1', 'demo.safetensors', 60000, 3000],
);

sub fs_reads {
    return { reads => [map {
        my ($label, $kind, $repo, $rev, $path, $off, $len) = @$_;
        { label => $label, repo_type => $kind, repo_id => $repo, filename => $path,
          ($rev ne 'main' ? (revision => $rev) : ()), offset => $off, length => $len }
    } @Reads] };
}

sub fs_expected {     # label => sha256 of the bytes (hub up)
    return { map {
        my ($label, $kind, $repo, $rev, $path, $off, $len) = @$_;
        my $c = hub_content($kind, $repo, $rev, $path);
        ($label => sha256_hex(substr($c, $off, $len)))
    } @Reads };
}

sub check_fs {
    my ($res, $what, $exp) = @_;
    ok $res->{ok}, "$what: the client ran" or return;
    my %got = map { ($_->{label} => $_) } @{ $res->{reads} };
    for (@Reads) {
        my $l = $_->[0];
        for my $how ('open_seek_read', 'read_block') {
            my $g = $got{$l}{$how} // {};
            is $g->{sha256} // $g->{error}, $exp->{$l}, "$what: HfFileSystem $how $l ($_->[4] \[$_->[5] +$_->[6]])";
        }
    }
    my @ranged = grep { $_->{range} } @{ $res->{requests} };
    ok @ranged >= @Reads, "$what: HfFileSystem read ranges (" . scalar(@ranged) . ' Range requests)';
}

run_tests();

__DATA__

=== TEST 1: hf_hub_download: regular, LFS, Xet, empty and oddly named files of models, datasets and spaces by branch, tag, PR and commit; the Hub's exceptions; without Xet; again with the hub down
--- http_config eval: $::HttpConfig . "hf_revision_ttl 1s;"
--- config eval: $::Config
--- perl
main::add_to_main();
hub_fixtures(1);
my $files = main::file_specs(@::Files);

my $online = main::run_py('download', { files => $files });
main::check_downloads($online, 'online', @::Files);
main::check_requests($online, 'online');
is_deeply $online->{xet}, { available => JSON::PP::true, disabled => JSON::PP::false }, 'online: hf_xet installed and on';

my $err = main::run_py('download', { files => main::error_specs(@::Errors) });
ok $err->{ok}, 'errors: the client ran';
main::check_errors($err->{files}, 'errors', @::Errors);
main::check_requests($err, 'errors: hf_hub_download');
my $api = main::run_py('info', { repos => main::error_specs(@::ApiErrors) });
main::check_errors($api->{infos}, 'errors', @::ApiErrors);
main::check_requests($api, 'errors: repo_info');

my $noxet = main::run_py('download', { files => $files }, HF_HUB_DISABLE_XET => 1);
main::check_downloads($noxet, 'HF_HUB_DISABLE_XET=1', @::Files);
main::check_requests($noxet, 'HF_HUB_DISABLE_XET=1');
is $noxet->{xet}{disabled}, JSON::PP::true, 'HF_HUB_DISABLE_XET=1: Xet off in the client';

main::check_hub_log('online');
main::check_refused('online');
hub_stop();
sleep 2;                                # past hf_revision_ttl: main must be revalidated, and cannot be
my $offline = main::run_py('download', { files => $files });
main::check_downloads($offline, 'hub down', @::Files);
main::check_requests($offline, 'hub down');



=== TEST 2: snapshot_download (tree in pages of 2), list_repo_tree, repo_info, HfFileSystem ranges; without Xet; again with the hub down
--- http_config eval: $::HttpConfig . "hf_revision_ttl 1s;"
--- config eval: $::Config
--- hub_control
config {"page_size": 2}
--- perl
hub_fixtures(1);
my $exp = main::fs_expected();
my $repos = { repos => [map { { repo_type => $_->[0], repo_id => $_->[1] } } @::SnapshotRepos] };

my $snap = main::run_py('snapshot', $repos);
main::check_snapshot($snap, 'online');
main::check_requests($snap, 'online: snapshot');
my $fs = main::run_py('fs', main::fs_reads());
main::check_fs($fs, 'online', $exp);
main::check_requests($fs, 'online: HfFileSystem');

my $noxet = main::run_py('snapshot', $repos, HF_HUB_DISABLE_XET => 1);
main::check_snapshot($noxet, 'HF_HUB_DISABLE_XET=1');
main::check_requests($noxet, 'HF_HUB_DISABLE_XET=1: snapshot');
my $fs_noxet = main::run_py('fs', main::fs_reads(), HF_HUB_DISABLE_XET => 1);
main::check_fs($fs_noxet, 'HF_HUB_DISABLE_XET=1', $exp);
main::check_requests($fs_noxet, 'HF_HUB_DISABLE_XET=1: HfFileSystem');
is $fs_noxet->{xet}{disabled}, JSON::PP::true, 'HF_HUB_DISABLE_XET=1: Xet off in HfFileSystem\'s client';

main::check_hub_log('online');
main::check_refused('online');
hub_stop();
sleep 2;
my $snap2 = main::run_py('snapshot', $repos);
main::check_snapshot($snap2, 'hub down');
main::check_requests($snap2, 'hub down: snapshot');
my $fs2 = main::run_py('fs', main::fs_reads());
main::check_fs($fs2, 'hub down', $exp);
main::check_requests($fs2, 'hub down: HfFileSystem');



=== TEST 3: transformers AutoConfig / AutoTokenizer and datasets.load_dataset of repos made here; again with the hub down
--- http_config eval: $::HttpConfig . "hf_revision_ttl 1s;"
--- config eval: $::Config
--- perl
my $fx = main::run_py('fixtures', {});
ok $fx->{ok}, 'the driver made the fixtures' or return;
my ($tok, $ds) = ('test-org/py-tokenizer', 'test-org/py-dataset');
# config.json of the tag v1.0 first, then main's files
main::add_b64('model', $tok, $_) for @{ $fx->{files}{'tokenizer_v1.0'} };
my $v1 = hub_control('move', { kind => 'model', repo => $tok, ref => 'v1.0', commit => 'main' });
main::add_b64('model', $tok, $_) for @{ $fx->{files}{tokenizer} };
main::add_b64('dataset', $ds, $_, lfs => 1) for @{ $fx->{files}{dataset} };
hub_control('add_file', { kind => 'dataset', repo => $ds, path => 'README.md',
                          content => "---\nlicense: mit\n---\n# py-dataset\n\nMade by t/110-python-clients.t.\n" });
hub_fixtures(1);
my $x = $fx->{expect};

my $check = sub {
    my ($what, $tr, $dsr) = @_;
    if (ok $tr->{ok}, "$what: transformers ran") {
        is_deeply [map { my $c = $tr->{configs}{$_}; [$c->{class} // $c->{error}, $c->{hf_cache_test}, $c->{hidden_size}] } 'main', 'v1.0'],
                  [['BertConfig', 'main', 32], ['BertConfig', 'v1.0', 16]], "$what: AutoConfig at main and at the tag v1.0";
        my $t = $tr->{tokenizer};
        is_deeply [$t->{tokens} // $t->{error}, $t->{input_ids}], [$x->{tokens}, $x->{input_ids}],
                  "$what: AutoTokenizer: the tokens and ids of the tokenizers package";
        like $t->{decoded} // '', qr/^hello world\b.*\bcache works\b/, "$what: AutoTokenizer: decode";
    }
    main::check_requests($tr, "$what: transformers");      # also after a timeout: what it waited for
    if (ok $dsr->{ok}, "$what: datasets ran") {
        my $d = $dsr->{dataset};
        is_deeply [$d->{num_rows} // $d->{error}, $d->{columns}], [scalar @{ $x->{rows} }, ['id', 'text', 'score']],
                  "$what: load_dataset: rows and columns";
        is_deeply $d->{rows}, $x->{rows}, "$what: load_dataset: every row, as written";
    }
    main::check_requests($dsr, "$what: datasets", outside => \@::DatasetsOutside);
};
my @targs = ('transformers', { repo_id => $tok, text => $x->{text}, revisions => ['main', 'v1.0'] });
my @dargs = ('datasets', { repo_id => $ds });
$check->('online', main::run_py(@targs), main::run_py(@dargs));
$check->('HF_HUB_DISABLE_XET=1', main::run_py(@targs, HF_HUB_DISABLE_XET => 1),
         main::run_py(@dargs, HF_HUB_DISABLE_XET => 1));
main::check_hub_log('online');
main::check_refused('online');
hub_stop();
sleep 2;
$check->('hub down', main::run_py(@targs), main::run_py(@dargs));



=== TEST 4: rate limited by the hub (429, RateLimit r=0): cached files still download, an uncached one fails with the client's own 429 error, then works once the limit clears; everything again with the hub down
--- http_config eval: $::HttpConfig . "hf_revision_ttl 1s;"
--- config eval: $::Config
--- perl
hub_fixtures(1);
my @cached = (['model', 'test-org/tiny-model', 'main', 'config.json'],
              ['model', 'test-org/tiny-model', 'main', 'model.safetensors'],
              ['model', 'test-org/tiny-model', 'commit:main', 'README.md'],
              ['dataset', 'test-org/tiny-dataset', 'main', 'data/train-00000.parquet']);
my @uncached = (['model', 'test-org/tiny-model', 'main', 'sub/dir/nested.txt']);
my $first = main::run_py('download', { files => main::file_specs(@cached) });
main::check_downloads($first, 'before the limit', @cached);

# every hub request answers 429 "resolvers";r=0;t=1 from now on
hub_control('fault', { server => 'hub', kind => 'ratelimit', reset => 1, count => 0 });
sleep 2;                                # past hf_revision_ttl: main must be revalidated, and is limited
my $limited = main::run_py('download', { files => main::file_specs(@cached, @uncached) });
main::check_downloads($limited, 'rate limited: cached', @cached);
my ($u) = grep { $_->{label} =~ /nested/ } @{ $limited->{files} // [] };
my ($e429) = grep { $_->{class} eq 'HfHubHTTPError' && ($_->{status} // 0) == 429 } @{ $u->{chain} // [] };
ok $e429, 'rate limited: uncached: the client raises HfHubHTTPError 429'
    or diag(explain($u));
like $e429->{message} // '', qr/rate limit/, "rate limited: uncached: the client's rate-limit message";
like $e429->{headers}{ratelimit} // '', qr/^"resolvers";r=0;t=\d+$/, 'rate limited: uncached: RateLimit passed on';
my @heads = grep { $_->{op} eq $u->{op} && $_->{method} eq 'HEAD' } @{ $limited->{requests} };
note(sprintf 'the client asked %d times for the uncached file, in %.1f s', scalar @heads, $u->{seconds} // -1);
ok @heads >= 2 && $u->{seconds} < 60, 'rate limited: uncached: the client retried and gave up (' . scalar(@heads) . ' HEADs)';
main::none_of [map { main::req_line($_) } grep { $_->{op} eq $u->{op} && ($_->{status} // 0) != 429 } @{ $limited->{requests} }],
              'rate limited: uncached: every answer a 429';
my $hub_asked = grep { $_->{server} eq 'hub' && $_->{path} =~ /nested/ } @{ hub_log() };
note("the cache asked the hub $hub_asked times for it");
ok $hub_asked <= @heads, "rate limited: uncached: the cache asked the limiting hub no more than the client asked it ($hub_asked)";
main::check_requests($limited, 'rate limited');
main::check_hub_log('rate limited');
main::check_refused('rate limited');

hub_control('reset');                   # the limit clears (the fixtures are the same)
my $after = main::run_py('download', { files => main::file_specs(@uncached) });
main::check_downloads($after, 'after the limit', @uncached);
main::check_requests($after, 'after the limit');

hub_stop();
sleep 2;                                # past hf_revision_ttl
my $offline = main::run_py('download', { files => main::file_specs(@cached, @uncached) });
main::check_downloads($offline, 'hub down', @cached, @uncached);
main::check_requests($offline, 'hub down');
