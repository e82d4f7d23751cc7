# Self-test of the local fake Hub (t/hub/hub.py) that every other test uses.
use strict;
use warnings;
use Test::More;
use HTTP::Tiny;
use JSON::PP;
use Digest::SHA qw(sha256_hex);
use IO::Socket::INET;
use FindBin;

my $TOKEN = 'hf_testtoken0123456789abcdefghijklmn';

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

is_deeply(control('ping'), { ok => JSON::PP::true }, 'ping');

# Expectations come from the fixtures, not from hard-coded hashes.
my ($tiny) = grep { $_->{id} eq 'test-org/tiny-model' } @{ control('fixtures')->{repos} };
my $main = $tiny->{refs}{main};
my $files = $tiny->{commits}{$main}{files};

# Regular file: 200 with the git blob sha1 as ETag.
my $res = $http->head("$hub/test-org/tiny-model/resolve/main/config.json");
is($res->{status}, 200, 'regular file HEAD');
is($res->{headers}{etag}, qq("$files->{'config.json'}{git_sha1}"), 'ETag is the git sha1');
is($res->{headers}{'x-repo-commit'}, $main, 'X-Repo-Commit is main');
is($res->{headers}{'content-length'}, $files->{'config.json'}{size}, 'Content-Length');

# LFS file: 302 to the CDN, whose bytes hash to the fixture's sha256.
my $lfs = $files->{'model.safetensors'};
$res = $http->head("$hub/test-org/tiny-model/resolve/main/model.safetensors");
is($res->{status}, 302, 'LFS HEAD redirects');
like($res->{headers}{location}, qr{^http://127\.0\.0\.1:$cp/lfs/$lfs->{sha256}\?expires=\d+&sig=[0-9a-f]+$},
     'Location is a signed CDN URL');
is($res->{headers}{'x-linked-etag'}, qq("$lfs->{sha256}"), 'X-Linked-Etag');
is($res->{headers}{'x-linked-size'}, $lfs->{size}, 'X-Linked-Size');
my $loc = $res->{headers}{location};
$res = $http->get($loc);
is($res->{status}, 200, 'CDN GET');
is(sha256_hex($res->{content}), $lfs->{sha256}, 'CDN bytes have the right sha256');

# Ranges, on the hub and on the CDN.
$res = $http->get("$hub/test-org/tiny-model/resolve/main/config.json",
                  { headers => { Range => 'bytes=0-9' } });
is($res->{status}, 206, 'Range on a regular file');
is($res->{headers}{'content-range'}, "bytes 0-9/$files->{'config.json'}{size}", 'Content-Range');
is(length $res->{content}, 10, 'ten bytes');
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

# Tree pagination with an absolute Link.
control('config', { page_size => 2 });
$res = $http->get("$hub/api/models/test-org/tiny-model/tree/main?recursive=true");
is($res->{status}, 200, 'tree');
is(scalar @{ $json->decode($res->{content}) }, 2, 'two entries per page');
my ($next) = ($res->{headers}{link} // '') =~ /^<([^>]+)>; rel="next"$/;
like($next, qr{^\Q$hub\E/api/models/test-org/tiny-model/tree/main\?recursive=true&cursor=}, 'Link rel=next');
$res = $http->get($next);
is(scalar @{ $json->decode($res->{content}) }, 2, 'second page');
control('config', { page_size => 1000 });

# Private repo: RepoNotFound without a token, served with one.
my $priv = "$hub/test-org/private-model/resolve/main/config.json";
$res = $http->head($priv);
is($res->{status}, 401, 'private repo without token');
is($res->{headers}{'x-error-code'}, 'RepoNotFound', 'RepoNotFound');
$res = $http->head($priv, { headers => { Authorization => "Bearer $TOKEN" } });
is($res->{status}, 200, 'private repo with token');
$res = $http->head($priv, { headers => { Authorization => 'Bearer hf_nope' } });
is($res->{status}, 401, 'invalid token');

# The log counts hub and CDN requests, never control requests.
control('reset', {});
$http->head("$hub/gpt2/resolve/main/config.json");
$res = $http->head("$hub/gpt2/resolve/main/model.safetensors");
$http->get($res->{headers}{location});
control('ping');
my $log = control('log');
is(scalar @$log, 3, 'three requests logged');
is(join(',', map { "$_->{server}:$_->{method}:$_->{status}" } @$log),
   'hub:HEAD:200,hub:HEAD:302,cdn:GET:200', 'log entries');
is($log->[2]{bytes}, 100000, 'log counts body bytes');

# Keep-alive: two requests on one raw connection.
my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$hp", Timeout => 5) or die $!;
print $sock "HEAD /gpt2/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n" x 2;
my $raw = '';
while ((() = $raw =~ /HTTP\/1\.1 200/g) < 2) {
    last unless sysread($sock, $raw, 4096, length $raw);
}
is(scalar(() = $raw =~ /HTTP\/1\.1 200/g), 2, 'keep-alive answers both requests');
close $sock;

done_testing();
