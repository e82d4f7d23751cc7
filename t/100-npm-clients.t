# The real npm clients through the cache, against the local hub:
# @huggingface/hub (listFiles with pagination, fileDownloadInfo,
# downloadFile, snapshotDownload with hubUrl) and @huggingface/transformers
# (AutoConfig / AutoTokenizer from_pretrained with env.remoteHost, its own
# caches off). Bytes checked against the hub's fixtures, no Xet bypass, no
# Authorization at the CDN; then the hub is stopped and the same downloads
# work again from the cache alone.
#
# The clients are the pinned packages of t/clients (package-lock.json),
# installed by `make test-deps` (npm ci). Each run is a node process that
# prints its results as JSON; the checks are made here.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Hf;
use HfConf;
use JSON::PP;
use File::Path qw(make_path);
use Cwd qw(abs_path);
use POSIX ();

our $Clients = abs_path('t/clients');
our $Node    = (grep { -x "$_/node" } split /:/, $ENV{PATH} // '')[0];
$Node &&= "$Node/node";
unless ($Node && -d "$Clients/node_modules/\@huggingface/hub"
        && -d "$Clients/node_modules/\@huggingface/transformers") {
    my $why = (!$Node ? 'node is not installed' : 't/clients/node_modules is missing')
            . ': run `make test-deps`';
    # CI runs `make test`, whose test-deps install both: never skip there
    plan(skip_all => $why) unless ($ENV{CI} // 'false') ne 'false';
    fail($why);
    done_testing();
    exit 1;
}

our $Run = 0;

sub slurp { my $f = shift; open(my $fh, '<:raw', $f) or return ''; local $/; <$fh> // '' }

# run_client('hub.mjs', NAME => value...): the script's JSON result, or
# {ok => 0, error => ...} when it did not print one.
sub run_client {
    my ($script, %env) = @_;
    my $dir = servroot() . '/clients/' . ++$Run . "-$script";
    make_path("$dir/work");
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        delete @ENV{qw(HF_TOKEN HF_ACCESS_TOKEN HF_ENDPOINT HF_HUB_OFFLINE NODE_OPTIONS)};
        %ENV = (%ENV, %env,
                HF_CACHE_URL => 'http://127.0.0.1:' . server_port() . '/hf',
                HF_CLIENT_DIR => "$dir/work",
                HF_CLIENT_TIMEOUT_MS => 60000,
                HF_HOME => "$dir/hf-home", XDG_CACHE_HOME => "$dir/xdg-cache");
        chdir $Clients or POSIX::_exit(126);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/out.json";
        open STDERR, '>', "$dir/err.log";
        exec('timeout', '-k', '5', '90', $Node, "$Clients/$script") or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $rc = $?;
    my $res = eval { JSON::PP->new->utf8->decode(slurp("$dir/out.json")) };
    unless (ref $res eq 'HASH') {
        my @err = split /^/m, slurp("$dir/err.log");
        $res = { ok => 0, error => "node $script: exit status $rc, no JSON result; stderr:\n"
                                   . join('', @err > 30 ? @err[-30 .. -1] : @err) };
    }
    diag("$script: $res->{error}") unless $res->{ok};
    return $res;
}

# (commit, {path => fixture}) of a repo at a ref; the fixtures are read
# once per block, with the hub up (hub_fixtures(1) after add_file)
sub fixture_files {
    my ($kind, $repo, $ref) = @_;
    my ($r) = grep { $_->{kind} eq $kind && $_->{id} eq $repo } @{ hub_fixtures()->{repos} };
    my $commit = $r->{refs}{$ref};
    return ($commit, $r->{commits}{$commit}{files});
}

sub unquote { my $e = shift // ''; $e =~ s/^W\///; $e =~ s/^"(.*)"$/$1/; $e }

# every request of a client went to the cache, was not redirected away
# from it, and carried no token
sub fetch_line {
    my $f = shift;
    return "$f->{method} $f->{url}" . ($f->{range} ? " (Range: $f->{range})" : '')
         . ' -> ' . ($f->{status} // $f->{error} // 'no answer')
         . ($f->{final_url} ? " at $f->{final_url}" : '') . ($f->{authorization} ? ' [Authorization]' : '');
}

sub check_fetches {
    my ($res, $what) = @_;
    my $base = 'http://127.0.0.1:' . server_port() . '/hf/';
    my @f = @{ $res->{fetches} // [] };
    ok @f > 0, "$what: the client made requests";
    is_deeply [map { fetch_line($_) } grep { index($_->{url}, $base) != 0 } @f], [],
              "$what: every request to the cache";
    is_deeply [map { fetch_line($_) } grep { $_->{final_url} } @f], [], "$what: no redirect out of the cache";
    is_deeply [map { fetch_line($_) } grep { $_->{authorization} } @f], [], "$what: no Authorization sent";
    is_deeply [map { fetch_line($_) } grep { !defined $_->{status} || $_->{status} >= 300 } @f], [],
              "$what: every answer 2xx";
}

# no Xet bypass, no token at the CDN (hub log of this block so far)
sub check_hub_log {
    my $what = shift;
    my $log = hub_log();
    is scalar(grep { $_->{path} =~ /xet-read-token/ } @$log), 0, "$what: no xet-read-token request";
    is scalar(grep { $_->{path} =~ m{reconstructions} } @$log), 0, "$what: no Xet reconstruction request";
    is scalar(grep { $_->{server} eq 'cdn' && defined $_->{auth} } @$log), 0, "$what: no Authorization at the CDN";
    ok scalar(grep { $_->{server} eq 'hub' } @$log) > 0, "$what: the hub was asked";
}

our @HubRepos = (['model', 'test-org/tiny-model', 'models'], ['dataset', 'test-org/tiny-dataset', 'datasets']);

sub check_hub_client {
    my ($res, $what) = @_;
    ok $res->{ok}, "$what: the client ran" or return;
    my $base = 'http://127.0.0.1:' . server_port() . '/hf/';
    for (@HubRepos) {
        my ($kind, $repo, $plural) = @$_;
        my $r = $res->{repos}{"$kind:$repo"};
        my ($commit, $files) = fixture_files($kind, $repo, 'main');
        my @paths = sort keys %$files;
        my %dirs = map { my @p = split m{/}; map { (join('/', @p[0 .. $_]) => 1) } 0 .. $#p - 1 } @paths;

        # listFiles
        is_deeply [map { $_->{path} } grep { $_->{type} eq 'file' } @{ $r->{list} }], \@paths,
                  "$what: $repo: listFiles: every file";
        is_deeply [map { $_->{path} } grep { $_->{type} eq 'directory' } @{ $r->{list} }], [sort keys %dirs],
                  "$what: $repo: listFiles: every directory";
        my @bad = map { "$_->{path}: size $_->{size}, lfs oid " . ($_->{lfs}{oid} // 'none') } grep {
            my $f = $files->{ $_->{path} };
            $f && ($_->{size} != $f->{size} || (($f->{lfs} || $f->{xet}) && ($_->{lfs}{oid} // '') ne $f->{sha256}))
        } @{ $r->{list} };
        is_deeply \@bad, [], "$what: $repo: listFiles: sizes and LFS oids";
        is_deeply [map { $_->{path} } grep { exists $_->{xetHash} } @{ $r->{list} }], [],
                  "$what: $repo: listFiles: no xetHash";

        # fileDownloadInfo, downloadFile
        for my $p (@paths) {
            my ($f, $i, $d) = ($files->{$p}, $r->{info}{$p}, $r->{download}{$p});
            is_deeply [$i->{size}, unquote($i->{etag}), $i->{xet} ? 'xet' : 'no xet'],
                      [$f->{size}, $f->{etag}, 'no xet'], "$what: $repo: fileDownloadInfo $p";
            like $i->{url} // '', qr{^\Q$base\E}, "$what: $repo: fileDownloadInfo $p: url at the cache";
            is $d->{sha256} // $d->{error}, $f->{sha256}, "$what: $repo: downloadFile $p: bytes";
        }

        # snapshotDownload
        (my $folder = "${plural}--$repo") =~ s{/}{--}g;
        is $r->{snapshot}{folder} // $r->{snapshot}{error}, "$folder/snapshots/$commit",
           "$what: $repo: snapshotDownload: at main's commit";
        is_deeply $r->{snapshot}{files}, { map { ($_ => $files->{$_}{sha256}) } @paths },
                  "$what: $repo: snapshotDownload: every file, byte-exact";
    }
    my $tree = 'http://127.0.0.1:' . server_port() . '/hf/api/models/test-org/tiny-model/tree/';
    my $pages = grep { index($_->{url}, $tree) == 0 } @{ $res->{fetches} };
    ok $pages >= 2 * 4, "$what: tiny-model's tree listed in pages of 2, through the cache ($pages requests)";
    check_fetches($res, $what);
}

# A minimal WordLevel tokenizer for transformers.js
our $Vocab = { '[UNK]' => 0, '[PAD]' => 1, hello => 2, world => 3, the => 4, cache => 5,
               works => 6, '!' => 7, offline => 8, too => 9 };
our $TokenizerJson = JSON::PP->new->canonical->pretty->encode({
    version => '1.0', truncation => undef, padding => undef,
    added_tokens => [ map { { id => $Vocab->{$_}, content => $_, single_word => JSON::PP::false,
                              lstrip => JSON::PP::false, rstrip => JSON::PP::false,
                              normalized => JSON::PP::false, special => JSON::PP::true } } '[UNK]', '[PAD]' ],
    normalizer => { type => 'Lowercase' },
    pre_tokenizer => { type => 'Whitespace' },
    post_processor => undef,
    decoder => undef,
    model => { type => 'WordLevel', vocab => $Vocab, unk_token => '[UNK]' },
});
our $TokenizerConfigJson = JSON::PP->new->canonical->pretty->encode({
    tokenizer_class => 'PreTrainedTokenizerFast', unk_token => '[UNK]', pad_token => '[PAD]',
    model_max_length => 128, clean_up_tokenization_spaces => JSON::PP::false,
});
our $Text = 'Hello world, the cache works!';
our @Tokens = ('hello', 'world', ',', 'the', 'cache', 'works', '!');   # ',' is not in the vocabulary

sub add_tokenizer {
    for (['tokenizer.json', $TokenizerJson], ['tokenizer_config.json', $TokenizerConfigJson]) {
        my $r = hub_control('add_file', { kind => 'model', repo => 'test-org/tiny-model', path => $_->[0],
                                          content => $_->[1], ref => 'main' });
        is $r->{sha256}, sha256_hex($_->[1]), "add_file $_->[0]";
    }
}

sub check_transformers_client {
    my ($res, $what) = @_;
    ok $res->{ok}, "$what: the client ran" or return;
    is_deeply $res->{config}, { model_type => 'tiny', hidden_size => 128, revision => 'c2' },
              "$what: AutoConfig at main";
    is_deeply $res->{config_tag}, { model_type => 'tiny', hidden_size => 64, revision => 'c1' },
              "$what: AutoConfig at the tag v1.0";
    is_deeply $res->{tokenizer}{tokens}, \@Tokens, "$what: AutoTokenizer: tokens";
    is_deeply $res->{tokenizer}{input_ids}, [map { $Vocab->{$_} // $Vocab->{'[UNK]'} } @Tokens],
              "$what: AutoTokenizer: ids";
    like $res->{tokenizer}{decoded} // '', qr/^hello world\b.*\bcache works\b/, "$what: AutoTokenizer: decode";
    is $res->{cache_dir_files}, 0, "$what: nothing in transformers.js's own cache";

    # the bytes transformers.js received: every whole file, hashed
    my (undef, $files) = fixture_files('model', 'test-org/tiny-model', 'main');
    my (undef, $c1files) = fixture_files('model', 'test-org/tiny-model', 'v1.0');
    my $base = 'http://127.0.0.1:' . server_port() . '/hf/test-org/tiny-model/resolve/';
    my %got;
    for my $f (@{ $res->{fetches} }) {
        next unless $f->{sha256};
        my ($rev, $path) = substr($f->{url}, length $base) =~ m{^([^/]+)/(.+)$} or next;
        $got{"$rev/$path"} = $f->{sha256};
    }
    is_deeply \%got, {
        'main/config.json'           => $files->{'config.json'}{sha256},
        'v1.0/config.json'           => $c1files->{'config.json'}{sha256},
        'main/tokenizer.json'        => sha256_hex($TokenizerJson),
        'main/tokenizer_config.json' => sha256_hex($TokenizerConfigJson),
    }, "$what: every file fetched whole, byte-exact";
    check_fetches($res, $what);
}

run_tests();

__DATA__

=== TEST 1: @huggingface/hub: listFiles, fileDownloadInfo, downloadFile, snapshotDownload; again with the hub down
--- http_config eval: $::HttpConfig . "hf_revision_ttl 1s;"
--- config eval: $::Config
--- hub_control
config {"page_size": 2}
--- perl
hub_fixtures(1);
my $online = main::run_client('hub.mjs');
main::check_hub_client($online, 'online');
main::check_hub_log('online');
hub_stop();
sleep 2;                                # past hf_revision_ttl: main must be revalidated, and cannot be
my $offline = main::run_client('hub.mjs');
main::check_hub_client($offline, 'hub down');
is_deeply [map { $offline->{repos}{$_}{list} } sort keys %{ $offline->{repos} }],
          [map { $online->{repos}{$_}{list} } sort keys %{ $online->{repos} }], 'hub down: the same listings';



=== TEST 2: @huggingface/transformers: AutoConfig, AutoTokenizer through env.remoteHost; again with the hub down
--- http_config eval: $::HttpConfig . "hf_revision_ttl 1s;"
--- config eval: $::Config
--- perl
main::add_tokenizer();
hub_fixtures(1);
my $online = main::run_client('transformers.mjs', HF_MODEL => 'test-org/tiny-model', HF_TEXT => $::Text);
main::check_transformers_client($online, 'online');
main::check_hub_log('online');
hub_stop();
sleep 2;
my $offline = main::run_client('transformers.mjs', HF_MODEL => 'test-org/tiny-model', HF_TEXT => $::Text);
main::check_transformers_client($offline, 'hub down');
