#!/usr/bin/env python3
"""A local fake of the Hugging Face Hub for the tests.

Specification: docs/test-hub.md (protocol background: docs/hub-protocol.md,
revision 2; the 2024 answers stay available through /_control/config).
Python 3 standard library only. Two listeners on loopback:

  hub  the API, /resolve/, /api/resolve-cache/ and the /_control/ endpoints
       used by the tests (every answer but /_control/ is rate-limited);
  cdn  signed, expiring LFS / Xet-bridge downloads (the 302 targets).

Usage: python3 t/hub/hub.py [--port P] [--cdn-port Q] [--host 127.0.0.1]
Prints "READY hub=<port> cdn=<port>" once both sockets listen.
"""

import argparse
import base64
import hashlib
import hmac
import json
import math
import os
import re
import select
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Tokens with access to every repo, private and gated ones included.
DEFAULT_TOKENS = (
    "hf_testtoken0123456789abcdefghijklmn",
    "hf_rotatedtoken0123456789abcdefghij",
)
# Valid tokens without access to private or gated repos (a fine-grained
# token scoped to other repos, or a user who did not accept a gate).
DEFAULT_NOACCESS_TOKENS = ("hf_noaccesstoken0123456789abcdefghij",)
DEFAULT_URL_TTL = 3600
DEFAULT_PAGE_SIZE = 1000
# How /resolve/ answers for regular files: "cache307" (huggingface.co since
# 2025-07: relative 307 to /api/resolve-cache/...), "cache307-linked" (the
# same 307 plus X-Linked-Etag), "direct" (2024: 200 with the bytes).
RESOLVE_MODES = ("cache307", "cache307-linked", "direct")
DEFAULT_RESOLVE_MODE = "cache307"
# Rate limits: fixed windows (seconds) counted from start/reset, one counter
# per bucket; quotas are huggingface.co's anonymous per-IP ones.
DEFAULT_QUOTA_WINDOW = 300
DEFAULT_QUOTA = {"api": 500, "resolvers": 3000, "pages": 100}
RATE_ACTION = {"api": "api", "resolvers": "resolve", "pages": "pages"}
DEFAULT_RATELIMIT_RESET = 52   # `t` of the ratelimit fault's 429
ANON_WARNING = "unauthenticated; Authenticate with a token to get higher rate limits."
HUB_VARY = "Origin, Accept"
WWW_AUTH = 'Bearer realm="Authentication required", charset="UTF-8"'
# Fixed secret: signed CDN URLs stay valid across a restart of the hub.
CDN_SECRET = b"fake-hub-cdn-signing-secret"
# Request bodies larger than this are read and thrown away (uploads).
MAX_KEPT_BODY = 16 << 20

KIND_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
KIND_API = {"model": "models", "dataset": "datasets", "space": "spaces"}
API_KIND = {v: k for k, v in KIND_API.items()}
URL_PREFIX_KIND = {"datasets": "dataset", "spaces": "space"}
# Words that follow the repo id in /api/{type}s/{repo}/<word>/...
API_ACTIONS = {"revision", "tree", "paths-info", "xet-read-token", "commit",
               "preupload", "refs", "commits", "branch", "tag", "settings"}
FAULT_KINDS = {"status", "ratelimit", "reset", "truncate", "corrupt", "slow", "hang",
               "close"}
HEX40 = re.compile(r"[0-9a-f]{40}")


def sha1_hex(data):
    return hashlib.sha1(data).hexdigest()


def git_blob_sha1(data):
    return sha1_hex(b"blob %d\0" % len(data) + data)


def iso_date(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def rate_bucket(path):
    """The rate-limit bucket of a hub request path (no query)."""
    if path.startswith("/api/resolve-cache/"):
        return "resolvers"
    if path == "/api" or path.startswith("/api/"):
        return "api"
    if "/resolve/" in path:
        return "resolvers"
    return "pages"


def etag_matches(header, tag):
    """Does an If-None-Match value (list, quoted or W/ tags, or *) match tag?"""
    if header is None:
        return False
    for t in header.split(","):
        t = t.strip()
        if t == "*":
            return True
        if t.startswith("W/"):
            t = t[2:]
        if t.strip('"') == tag:
            return True
    return False


def content_disposition(name):
    """inline; filename*=UTF-8''<quoted>; filename="<ascii>"; (the Hub's shape)."""
    ascii_name = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in name)
    return "inline; filename*=UTF-8''%s; filename=\"%s\";" % (
        urllib.parse.quote(name, safe=""), ascii_name)


def truthy(value):
    if isinstance(value, list):
        value = value[-1] if value else None
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


# ---------------------------------------------------------------------------
# File contents: small byte strings, or bytes generated from a seed.

class BytesSource:
    """Content held in memory (regular files, JSON bodies)."""

    def __init__(self, data):
        self.data = bytes(data)
        self.size = len(self.data)

    def chunks(self, start, end, chunk=1 << 20):
        mv = memoryview(self.data)
        for pos in range(start, end, chunk):
            yield mv[pos:min(end, pos + chunk)]


GEN_BLOCK = 1 << 20   # size of the per-seed base block
GEN_ROTATE = 7919     # block n is the base rotated left by n*7919 bytes
_bases = {}
_bases_lock = threading.Lock()


def _doubled_base(seed):
    """base+base for a seed, so any rotation of base is one zero-copy slice.

    base = sha256(seed + b"\\0" + counter as 8 bytes big-endian) for
    counter = 0, 1, ... concatenated to GEN_BLOCK bytes.
    """
    with _bases_lock:
        mv = _bases.get(seed)
    if mv is None:
        key = seed.encode() + b"\0"
        base = b"".join(hashlib.sha256(key + i.to_bytes(8, "big")).digest()
                        for i in range(GEN_BLOCK // 32))
        with _bases_lock:
            mv = _bases.setdefault(seed, memoryview(base + base))
    return mv


class GenSource:
    """Deterministic content of any size, streamed from any offset.

    Block n (GEN_BLOCK bytes) is the seed's base block rotated by
    (n * GEN_ROTATE) % GEN_BLOCK; the content is the blocks concatenated and
    cut to `size`. Nothing but the 2 MiB doubled base is held in memory.
    """

    def __init__(self, seed, size):
        self.seed = str(seed)
        self.size = int(size)

    def chunks(self, start, end, chunk=1 << 20):
        mv = _doubled_base(self.seed)
        pos = start
        while pos < end:
            n, off = divmod(pos, GEN_BLOCK)
            r = (n * GEN_ROTATE) % GEN_BLOCK
            take = min(GEN_BLOCK - off, end - pos, chunk)
            yield mv[r + off:r + off + take]
            pos += take


_digests = {}
_digests_lock = threading.Lock()


def digest(src, algo):
    """sha256 of the content, or ("git") its git blob sha1.

    Cached per (seed, size) for generated content: a multi-GiB file is hashed
    once per process, even across /_control/reset.
    """
    key = (src.seed, src.size, algo) if isinstance(src, GenSource) else None
    if key is not None:
        with _digests_lock:
            if key in _digests:
                return _digests[key]
    if algo == "git":
        h = hashlib.sha1(b"blob %d\0" % src.size)
    else:
        h = hashlib.sha256()
    for c in src.chunks(0, src.size):
        h.update(c)
    value = h.hexdigest()
    if key is not None:
        with _digests_lock:
            _digests[key] = value
    return value


class FileEntry:
    """One file of one commit. storage: "regular", "lfs" or "xet"."""

    def __init__(self, path, src, storage):
        self.path, self.src, self.storage, self.size = path, src, storage, src.size
        self.sha256 = digest(src, "sha256")
        self.xet_hash = None
        self.pointer_size = None
        if storage == "regular":
            self.git_sha1 = digest(src, "git")
        else:
            # git stores the LFS pointer: its blob sha1 is the tree "oid".
            pointer = ("version https://git-lfs.github.com/spec/v1\n"
                       "oid sha256:%s\nsize %d\n" % (self.sha256, self.size)).encode()
            self.pointer_size = len(pointer)
            self.git_sha1 = git_blob_sha1(pointer)
            # Every large file has a Xet-style hash: the CDN's ETag (LFS files
            # are served from Xet storage too). Only Xet files advertise it
            # (X-Xet-Hash, tree xetHash).
            self.xet_hash = hashlib.sha256(b"xet:" + bytes.fromhex(self.sha256)).hexdigest()

    @property
    def etag(self):
        return self.git_sha1 if self.storage == "regular" else self.sha256

    def fixture_json(self):
        d = {"size": self.size, "sha256": self.sha256, "git_sha1": self.git_sha1,
             "lfs": self.storage == "lfs", "xet": self.storage == "xet",
             "etag": self.etag}
        if self.xet_hash:
            d["xet_hash"] = self.xet_hash
        return d


# ---------------------------------------------------------------------------
# Repositories and the fixtures.

class Commit:
    def __init__(self, cid, label, parent, title, ts, files):
        self.id, self.label, self.parent, self.title = cid, label, parent, title
        self.ts, self.files = ts, files

    @property
    def date(self):
        return iso_date(self.ts)


class Repo:
    def __init__(self, kind, rid, private=False, gated=False, disabled=False):
        self.kind, self.id = kind, rid
        self.private, self.gated, self.disabled = private, gated, disabled
        self.refs = {}       # branch / tag / refs/pr/N -> commit id
        self.commits = {}    # commit id -> Commit

    def commit_id(self, label):
        return sha1_hex(("%s/%s@%s" % (self.kind, self.id, label)).encode())

    def add_commit(self, label, parent, title, ts, files):
        cid = self.commit_id(label)
        if cid not in self.commits:
            self.commits[cid] = Commit(cid, label, parent, title, ts, dict(files))
        return self.commits[cid]

    def resolve(self, rev):
        """Branch, tag, refs/pr/N, refs/heads|tags/X or a full commit id."""
        if rev in self.refs:
            return self.refs[rev]
        for prefix in ("refs/heads/", "refs/tags/"):
            if rev.startswith(prefix) and rev[len(prefix):] in self.refs:
                return self.refs[rev[len(prefix):]]
        if HEX40.fullmatch(rev) and rev in self.commits:
            return rev
        return None

    def find_commit(self, ref):
        """For the control endpoints: commit id, label or ref name."""
        if ref in self.commits:
            return ref
        for c in self.commits.values():
            if c.label == ref:
                return c.id
        return self.resolve(ref)


def _text(s):
    return BytesSource(s.encode())


def _json_text(obj):
    return _text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


DAY = 86400
T0 = 1704067200  # 2024-01-01T00:00:00Z


def build_fixtures():
    """All repos of docs/test-hub.md. Returns (repos, renamed)."""
    repos = {}

    def repo(kind, rid, **kw):
        r = Repo(kind, rid, **kw)
        repos[(kind, rid)] = r
        return r

    def files(**spec):
        out = {}
        for path, (storage, src) in spec.items():
            out[path] = FileEntry(path, src, storage)
        return out

    def reg(text):
        return ("regular", _text(text))

    # test-org/tiny-model: c1 <- c2 (main) <- pr1 (refs/pr/1); v1.0 -> c1.
    r = repo("model", "test-org/tiny-model")
    weights = ("lfs", GenSource("tiny-weights", 300000))
    readme = reg("# tiny-model\n\nA tiny model for the tests.\n")
    c1_files = {
        "config.json": ("regular", _json_text({"model_type": "tiny", "hidden_size": 64,
                                               "revision": "c1"})),
        "README.md": readme,
        "model.safetensors": weights,
    }
    c2_files = dict(c1_files)
    c2_files.update({
        "config.json": ("regular", _json_text({"model_type": "tiny", "hidden_size": 128,
                                               "num_layers": 2, "revision": "c2"})),
        "xet.bin": ("xet", GenSource("tiny-xet", 200000)),
        "sub/dir/nested.txt": reg("a nested file\n"),
        "with space & more.txt": reg("a file name with spaces and an ampersand\n"),
    })
    pr1_files = dict(c2_files)
    pr1_files["pr-only.txt"] = reg("only on refs/pr/1\n")
    c1 = r.add_commit("c1", None, "Initial commit", T0, files(**c1_files))
    c2 = r.add_commit("c2", c1.id, "Update config, add xet.bin and more", T0 + 31 * DAY,
                      files(**c2_files))
    pr1 = r.add_commit("pr1", c2.id, "Add pr-only.txt", T0 + 60 * DAY, files(**pr1_files))
    r.refs = {"main": c2.id, "v1.0": c1.id, "refs/pr/1": pr1.id}

    def simple(kind, rid, spec, ts, **kw):
        rr = repo(kind, rid, **kw)
        c = rr.add_commit("c1", None, "Initial commit", ts, files(**spec))
        rr.refs = {"main": c.id}

    simple("model", "gpt2", {
        "config.json": ("regular", _json_text({"model_type": "gpt2", "n_layer": 2})),
        "model.safetensors": ("lfs", GenSource("gpt2-weights", 100000)),
    }, T0 + 1 * DAY)
    simple("model", "test-org/copy-model", {
        "model.safetensors": ("lfs", GenSource("tiny-weights", 300000)),
    }, T0 + 2 * DAY)
    simple("dataset", "test-org/tiny-dataset", {
        "README.md": reg("# tiny-dataset\n\nA tiny dataset for the tests.\n"),
        "data/train-00000.parquet": ("lfs", GenSource("ds-train", 150000)),
    }, T0 + 3 * DAY)
    simple("space", "test-org/tiny-space", {
        "app.py": reg("print('hello from tiny-space')\n"),
        "README.md": reg("---\nsdk: gradio\n---\n# tiny-space\n"),
    }, T0 + 4 * DAY)
    simple("model", "test-org/private-model", {
        "config.json": ("regular", _json_text({"model_type": "private"})),
        "weights.bin": ("lfs", GenSource("private-weights", 50000)),
    }, T0 + 5 * DAY, private=True)
    simple("model", "test-org/gated-model", {
        "config.json": ("regular", _json_text({"model_type": "gated"})),
    }, T0 + 6 * DAY, gated=True)
    simple("model", "test-org/disabled-model", {
        "config.json": ("regular", _json_text({"model_type": "disabled"})),
    }, T0 + 7 * DAY, disabled=True)

    renamed = {("model", "old-org/old-name"): "test-org/tiny-model",
               ("dataset", "old-org/old-dataset"): "test-org/tiny-dataset"}
    return repos, renamed


# ---------------------------------------------------------------------------
# Responses.

class Resp:
    """Status, headers, and a body: bytes, or src[start:end] streamed."""

    def __init__(self, status, headers=(), body=b"", src=None, start=0, end=None):
        self.status = status
        self.headers = list(headers)
        if src is None:
            src = BytesSource(body)
        self.src, self.start = src, start
        self.end = src.size if end is None else end


def json_resp(obj, status=200, headers=(), ctype="application/json", compact=False):
    body = json.dumps(obj, separators=(",", ":") if compact else None).encode()
    return Resp(status, [("Content-Type", ctype)] + list(headers), body)


def error_resp(status, code, message, headers=()):
    """The Hub's error shape: X-Error-Code (if any), X-Error-Message, and a
    compact JSON body {"error":"<message>"}."""
    h = [("X-Error-Message", message)]
    if code:
        h.insert(0, ("X-Error-Code", code))
    return json_resp({"error": message}, status, h + list(headers), compact=True)


def text_resp(status, text):
    return Resp(status, [("Content-Type", "text/plain; charset=utf-8")], text.encode())


def not_found():
    return json_resp({"error": "Not Found"}, 404)


def content_type(path):
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if ext == "json":
        return "application/json"
    if ext in ("txt", "md", "py"):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


def parse_range(value, size):
    """One "bytes=" range -> (start, end) half-open, "unsat", or None (ignore).

    Several ranges or a malformed header are ignored (full 200 answer).
    """
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value or "")
    if not m or m.group(1) == m.group(2) == "":
        return None
    first, last = m.groups()
    if first == "":
        n = int(last)
        if n == 0 or size == 0:
            return "unsat"
        return (max(0, size - n), size)
    first = int(first)
    if last != "" and int(last) < first:
        return None
    if first >= size:
        return "unsat"
    end = size if last == "" else min(int(last) + 1, size)
    return (first, end)


def ranged(req, headers, src):
    """200 with the whole content, or 206 / 416 for a single Range."""
    rng = parse_range(req.headers.get("Range"), src.size) if "Range" in req.headers else None
    if rng is None:
        return Resp(200, headers, src=src)
    if rng == "unsat":
        return Resp(416, headers + [("Content-Range", "bytes */%d" % src.size)])
    start, end = rng
    headers = headers + [("Content-Range", "bytes %d-%d/%d" % (start, end - 1, src.size))]
    return Resp(206, headers, src=src, start=start, end=end)


class Request:
    def __init__(self, method, raw, headers, body):
        self.method, self.raw, self.headers, self.body = method, raw, headers, body


def split_rev(segs):
    """First raw segment(s) -> (revision, rest). Accepts an unencoded refs/pr/N."""
    if not segs:
        return None, []
    rev = urllib.parse.unquote(segs[0])
    if rev == "refs" and len(segs) >= 3 and segs[1] in ("pr", "heads", "tags"):
        return "refs/%s/%s" % (segs[1], urllib.parse.unquote(segs[2])), segs[3:]
    return rev, segs[1:]


def join_path(segs):
    return "/".join(urllib.parse.unquote(s) for s in segs).strip("/")


# ---------------------------------------------------------------------------
# The application: state, hub routes, CDN routes, control endpoints.

class App:
    def __init__(self, host, verbose=False):
        self.host, self.verbose = host, verbose
        self.hub_port = self.cdn_port = None
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        repos, renamed = build_fixtures()
        with self.lock:
            self.repos, self.renamed = repos, renamed
            self.blobs = {}   # sha256 -> FileEntry, what the CDN serves
            for r in repos.values():
                for c in r.commits.values():
                    self._register_blobs(c)
            self.tokens = list(DEFAULT_TOKENS)
            self.noaccess_tokens = list(DEFAULT_NOACCESS_TOKENS)
            self.url_ttl = DEFAULT_URL_TTL
            self.page_size = DEFAULT_PAGE_SIZE
            self.resolve_mode = DEFAULT_RESOLVE_MODE
            self.quota = dict(DEFAULT_QUOTA)
            self.quota_window = DEFAULT_QUOTA_WINDOW
            self._restart_rate_window()
            self.faults = []
            self.log = []

    def _register_blobs(self, commit):
        for fe in commit.files.values():
            if fe.storage != "regular":
                self.blobs[fe.sha256] = fe

    @property
    def hub_base(self):
        return "http://%s:%d" % (self.host, self.hub_port)

    @property
    def cdn_base(self):
        return "http://%s:%d" % (self.host, self.cdn_port)

    # -- faults and log -----------------------------------------------------

    def take_fault(self, server, method, raw):
        """First matching fault (consumed when its count runs out), or None."""
        with self.lock:
            for f in self.faults:
                if f["server"] not in ("any", server):
                    continue
                if f.get("method") and f["method"].upper() != method:
                    continue
                if not f["re"].search(raw):
                    continue
                if f["count"] > 0:
                    f["count"] -= 1
                    if f["count"] == 0:
                        self.faults.remove(f)
                return f
        return None

    # -- rate limits ----------------------------------------------------------

    def _restart_rate_window(self):
        self.rate_start = time.monotonic()
        self.rate_index = 0
        self.rate_used = dict.fromkeys(DEFAULT_QUOTA, 0)

    def _rate_window(self):
        """Roll the fixed window if it ended; seconds left in the current one."""
        now = time.monotonic()
        n = int((now - self.rate_start) // self.quota_window)
        if n != self.rate_index:
            self.rate_index, self.rate_used = n, dict.fromkeys(DEFAULT_QUOTA, 0)
        end = self.rate_start + (n + 1) * self.quota_window
        return max(1, int(math.ceil(end - now)))

    def count_request(self, path):
        """Count one hub request in its bucket.

        Returns {"bucket", "quota", "remaining", "reset" (seconds to the end of
        the window), "exceeded" (the request is over the quota: answer 429)}.
        """
        with self.lock:
            reset = self._rate_window()
            bucket = rate_bucket(path)
            self.rate_used[bucket] += 1
            used, quota = self.rate_used[bucket], self.quota[bucket]
            return {"bucket": bucket, "quota": quota, "remaining": max(0, quota - used),
                    "reset": reset, "exceeded": used > quota}

    def rate_headers(self, bucket, remaining, reset):
        return [("RateLimit", '"%s";r=%d;t=%d' % (bucket, remaining, reset)),
                ("RateLimit-Policy", '"fixed window";"%s";q=%d;w=%d'
                 % (bucket, self.quota[bucket], self.quota_window))]

    def too_many(self, bucket, reset, retry_after=None):
        """The 429 of an exhausted bucket (r=0); Retry-After only when given."""
        msg = ("You have exceeded our hourly quotas for action '%s'. We invite you to "
               "retry later or on a new IP address." % RATE_ACTION[bucket])
        headers = self.rate_headers(bucket, 0, reset)
        if retry_after is not None:
            headers.append(("Retry-After", str(retry_after)))
        return error_resp(429, None, msg, headers)

    def hub_headers(self, req, resp, rate):
        """Add what every hub answer carries, unless the answer has it already
        (a fault's own headers win): Vary, RateLimit, RateLimit-Policy, and
        X-HF-Warning when no valid token was sent."""
        extra = [("Vary", HUB_VARY)]
        extra += self.rate_headers(rate["bucket"], rate["remaining"], rate["reset"])
        if self.token_state(req) in ("none", "invalid"):
            extra.append(("X-HF-Warning", ANON_WARNING))
        have = {k.lower() for k, _ in resp.headers}
        resp.headers += [(k, v) for k, v in extra if k.lower() not in have]

    # -- auth -----------------------------------------------------------------

    def token_state(self, req):
        """"none", "valid" (full access), "noaccess" (valid, but no access to
        private or gated repos) or "invalid" (header present, not a valid Bearer)."""
        auth = req.headers.get("Authorization")
        if auth is None:
            return "none"
        m = re.fullmatch(r"\s*Bearer\s+(\S+)\s*", auth, re.I)
        token = m.group(1) if m else None
        if token in self.tokens:
            return "valid"
        if token in self.noaccess_tokens:
            return "noaccess"
        return "invalid"

    def access(self, req, kind, rid, moved_location):
        """(repo, None) when the request may see the repo, else (None, Resp).

        moved_location(new_id) builds the relative 307 target for renamed repos.
        The error shapes are huggingface.co's (hub-protocol.md section 3).
        """
        tok = self.token_state(req)
        if tok == "invalid":
            return None, error_resp(401, None, "Invalid credentials in Authorization header")
        if (kind, rid) in self.renamed:
            loc = moved_location(self.renamed[(kind, rid)])
            return None, Resp(307, [("Location", loc),
                                    ("Content-Type", "text/plain; charset=utf-8")])
        repo = self.repos.get((kind, rid))
        if repo is None or (repo.private and tok != "valid"):
            if tok == "none":
                # The Hub does not tell an anonymous client whether the repo
                # exists: no X-Error-Code.
                return None, error_resp(401, None, "Invalid username or password.",
                                        [("WWW-Authenticate", WWW_AUTH)])
            return None, error_resp(404, "RepoNotFound", "Repository not found")
        if repo.disabled:
            return None, error_resp(403, None, "Access to this resource is disabled.")
        if repo.gated and tok != "valid":
            if tok == "none":
                return None, error_resp(
                    401, "GatedRepo",
                    "Access to %s %s is restricted. You must have access to it and be "
                    "authenticated to access it. Please log in." % (kind, rid))
            return None, error_resp(
                403, "GatedRepo",
                "Access to %s %s is restricted and you are not in the authorized list. "
                "Visit https://huggingface.co/%s%s to ask for access."
                % (kind, rid, KIND_PREFIX[kind], rid))
        return repo, None

    def pick_repo_index(self, kind, segs, candidates):
        """Where the repo id ends when both `x/<word>` and `x/y/<word>` parse."""
        for i in candidates:
            rid = join_path(segs[:i])
            if (kind, rid) in self.repos or (kind, rid) in self.renamed:
                return i
        return candidates[0]

    def rev_error(self, rev):
        return error_resp(404, "RevisionNotFound", "Invalid rev id: %s" % rev)

    # -- hub ------------------------------------------------------------------

    def hub_route(self, req):
        path, _, query = req.raw.partition("?")
        segs = path.split("/")[1:]
        if segs and segs[0] == "api":
            return self.api_route(req, segs[1:], path, query)
        if req.method in ("GET", "HEAD"):
            return self.resolve_route(req, segs, query) or not_found()
        if req.method == "OPTIONS":
            return Resp(204, [("Allow", "GET, HEAD, POST, PUT, DELETE")])
        return self.write_ok()

    def write_ok(self):
        # Writes are not implemented: tests only check they were (not) sent.
        return json_resp({"ok": True})

    def resolve_route(self, req, segs, query):
        kind, prefix = "model", ""
        if segs and segs[0] in URL_PREFIX_KIND:
            kind, prefix = URL_PREFIX_KIND[segs[0]], segs[0] + "/"
            segs = segs[1:]
        cands = [i for i in (1, 2) if len(segs) > i + 1 and segs[i] == "resolve"]
        if not cands:
            return None
        idx = self.pick_repo_index(kind, segs, cands)
        rid = join_path(segs[:idx])
        rev, rest = split_rev(segs[idx + 1:])
        fpath = join_path(rest)

        def moved(new_id):
            loc = "/" + prefix + new_id + "/" + "/".join(segs[idx:])
            return loc + ("?" + query if query else "")

        repo, err = self.access(req, kind, rid, moved)
        if err:
            return err
        cid = repo.resolve(rev)
        if cid is None:
            return self.rev_error(rev)
        fe = repo.commits[cid].files.get(fpath)
        if fe is None:
            return error_resp(404, "EntryNotFound", "Entry not found",
                              [("X-Repo-Commit", cid)])
        if fe.storage == "regular":
            if self.redirects_to_cache(repo, fe):
                return self.cache_redirect(req, repo, cid, fpath, fe, query)
            return ranged(req, self.regular_headers(fpath, fe, cid), fe.src)
        linked = [("X-Repo-Commit", cid), ("X-Linked-Etag", '"%s"' % fe.sha256),
                  ("X-Linked-Size", str(fe.size)), ("ETag", '"%s"' % fe.sha256)]
        if fe.storage == "lfs":
            return Resp(302, [("Location", self.sign("/lfs/" + fe.sha256))] + linked +
                        [("Content-Type", "text/plain; charset=utf-8")])
        # Xet: the headers that would let a client bypass a proxy.
        route = "/api/%s/%s/xet-read-token/%s" % (KIND_API[kind], repo.id, cid)
        refresh = self.hub_base + route
        recon = "%s/reconstructions/%s" % (self.cdn_base, fe.xet_hash)
        xet = [("X-Xet-Hash", fe.xet_hash), ("X-Xet-Refresh-Route", route),
               ("Link", '<%s>; rel="xet-auth", <%s>; rel="xet-reconstruction-info"'
                % (refresh, recon))]
        if "application/vnd.xet-fileinfo+json" in (req.headers.get("Accept") or ""):
            info = {"hash": fe.xet_hash, "refreshUrl": refresh, "reconstructionUrl": recon,
                    "etag": fe.sha256, "size": fe.size}
            return json_resp(info, 200, linked + xet, ctype="application/vnd.xet-fileinfo+json")
        return Resp(302, [("Location", self.sign("/xet-bridge/" + fe.sha256))] + linked + xet +
                    [("Content-Type", "text/plain; charset=utf-8")])

    @staticmethod
    def regular_headers(fpath, fe, cid):
        """Headers of a regular file's 200 (direct /resolve/ and resolve-cache)."""
        return [("Content-Type", content_type(fpath)), ("ETag", '"%s"' % fe.git_sha1),
                ("X-Repo-Commit", cid), ("Accept-Ranges", "bytes")]

    def redirects_to_cache(self, repo, fe):
        """Does /resolve/ answer this regular file with the resolve-cache 307?

        Not in "direct" mode; never (as on huggingface.co) for private or
        gated repos, single-segment repo ids or empty files: those get the
        direct 200 in every mode.
        """
        return (self.resolve_mode != "direct" and not repo.private and not repo.gated
                and "/" in repo.id and fe.size > 0)

    def cache_redirect(self, req, repo, cid, fpath, fe, query):
        """The relative 307 of a regular file to /api/resolve-cache/...

        Location: /api/resolve-cache/{type}/{repo}/{commit}/{path}?[{query}&]
        {the raw request path, fully percent-encoded}=&etag=%22{git sha1}%22.
        No ETag / X-Linked-* (X-Linked-Etag in "cache307-linked" mode).
        """
        raw_path = req.raw.partition("?")[0]
        params = [query] if query else []
        params += [urllib.parse.quote(raw_path, safe="") + "=",
                   "etag=" + urllib.parse.quote('"%s"' % fe.git_sha1, safe="")]
        loc = "/api/resolve-cache/%s/%s/%s/%s?%s" % (
            KIND_API[repo.kind], repo.id, cid, urllib.parse.quote(fpath, safe="/"),
            "&".join(params))
        headers = [("Content-Type", "text/plain; charset=utf-8"), ("Location", loc),
                   ("X-Repo-Commit", cid), ("Accept-Ranges", "bytes"),
                   ("X-Hub-Cache", "MISS"),
                   ("Content-Disposition", content_disposition(fpath.rsplit("/", 1)[-1]))]
        if self.resolve_mode == "cache307-linked":
            headers.append(("X-Linked-Etag", '"%s"' % fe.git_sha1))
        return Resp(307, headers, ("Temporary Redirect. Redirecting to %s" % loc).encode())

    def resolve_cache(self, req, segs, query):
        """GET|HEAD /api/resolve-cache/{type}/{repo}/{commit}/{path}[?...]

        The 307's target: the bytes of a regular file at a commit id (the
        query is ignored). Same access rules as /resolve/; the revision must
        be a 40-hex commit of the repo; LFS/Xet paths are 404 EntryNotFound
        (the Hub only redirects regular files here).
        """
        if len(segs) < 4 or segs[0] not in API_KIND:
            return not_found()
        kind, type_seg, rest = API_KIND[segs[0]], segs[0], segs[1:]
        cands = [i for i in (1, 2) if len(rest) > i + 1]
        known = [i for i in cands if (kind, join_path(rest[:i])) in self.repos
                 or (kind, join_path(rest[:i])) in self.renamed]
        commits = [i for i in cands if HEX40.fullmatch(rest[i])]
        idx = (known or commits or cands[-1:])[0]
        rid = join_path(rest[:idx])
        rev = urllib.parse.unquote(rest[idx])
        fpath = join_path(rest[idx + 1:])

        def moved(new_id):
            loc = "/api/resolve-cache/%s/%s/%s" % (type_seg, new_id, "/".join(rest[idx:]))
            return loc + ("?" + query if query else "")

        repo, err = self.access(req, kind, rid, moved)
        if err:
            return err
        if not HEX40.fullmatch(rev) or rev not in repo.commits:
            return self.rev_error(rev)
        fe = repo.commits[rev].files.get(fpath)
        if fe is None or fe.storage != "regular":
            return error_resp(404, "EntryNotFound", "Entry not found", [("X-Repo-Commit", rev)])
        headers = self.regular_headers(fpath, fe, rev)
        if etag_matches(req.headers.get("If-None-Match"), fe.git_sha1):
            return Resp(304, headers)
        return ranged(req, headers, fe.src)

    def sign(self, path):
        expires = int(time.time()) + int(self.url_ttl)
        return "%s%s?expires=%d&sig=%s" % (self.cdn_base, path, expires,
                                           self.signature(path, str(expires)))

    @staticmethod
    def signature(path, expires):
        msg = ("%s?expires=%s" % (path, expires)).encode()
        return hmac.new(CDN_SECRET, msg, hashlib.sha256).hexdigest()

    # -- API ------------------------------------------------------------------

    def api_route(self, req, segs, path, query):
        m = req.method
        if segs == ["whoami-v2"] and m in ("GET", "HEAD"):
            tok = self.token_state(req)
            if tok == "invalid":
                return error_resp(401, None, "Invalid credentials in Authorization header")
            if tok == "none":
                return error_resp(401, None, "Invalid username or password.",
                                  [("WWW-Authenticate", WWW_AUTH)])
            name = "test-user" if tok == "valid" else "test-noaccess-user"
            return json_resp({"type": "user", "name": name,
                              "auth": {"type": "access_token",
                                       "accessToken": {"displayName": "test", "role": "read"}}})
        if segs and segs[0] == "resolve-cache" and m in ("GET", "HEAD"):
            return self.resolve_cache(req, segs[1:], query)
        if len(segs) >= 2 and segs[0] in API_KIND:
            kind, rest = API_KIND[segs[0]], segs[1:]
            cands = [i for i in (1, 2) if len(rest) > i and rest[i] in API_ACTIONS]
            if cands:
                idx = self.pick_repo_index(kind, rest, cands)
                action, args = rest[idx], rest[idx + 1:]
            elif len(rest) in (1, 2):
                idx, action, args = len(rest), None, []
            else:
                idx, action, args = None, None, []
            readable = (m in ("GET", "HEAD") and action in (None, "revision", "tree",
                                                            "xet-read-token"))
            if idx is not None and (readable or (m == "POST" and action == "paths-info")):
                return self.api_repo(req, kind, segs[0], rest, idx, action, args, path, query)
        if m in ("GET", "HEAD"):
            return not_found()
        if m == "OPTIONS":
            return Resp(204, [("Allow", "GET, HEAD, POST, PUT, DELETE")])
        return self.write_ok()

    def api_repo(self, req, kind, type_seg, rest, idx, action, args, path, query):
        rid = join_path(rest[:idx])

        def moved(new_id):
            loc = "/api/%s/%s" % (type_seg, new_id)
            if rest[idx:]:
                loc += "/" + "/".join(rest[idx:])
            return loc + ("?" + query if query else "")

        repo, err = self.access(req, kind, rid, moved)
        if err:
            return err
        if action is None:
            rev, args = "main", []
        else:
            rev, args = split_rev(args)
            if rev is None:
                return not_found()
        cid = repo.resolve(rev)
        if cid is None:
            return self.rev_error(rev)
        q = urllib.parse.parse_qs(query, keep_blank_values=True)
        if action in (None, "revision"):
            return json_resp(self.info_json(repo, cid, truthy(q.get("blobs", "false"))),
                             headers=[("X-Repo-Commit", cid)])
        if action == "tree":
            return self.tree(repo, cid, join_path(args), q, path, query)
        if action == "paths-info":
            return self.paths_info(req, repo, cid)
        # xet-read-token: tests assert nobody asks for it through the cache.
        exp = int(time.time()) + 3600
        token = "xet_" + sha1_hex(("%s:%d" % (cid, exp)).encode())
        return json_resp({"accessToken": token, "exp": exp, "casUrl": self.cdn_base},
                         headers=[("X-Xet-Cas-Url", self.cdn_base),
                                  ("X-Xet-Access-Token", token),
                                  ("X-Xet-Token-Expiration", str(exp))])

    def info_json(self, repo, cid, blobs):
        c = repo.commits[cid]
        siblings = []
        for p in sorted(c.files):
            fe = c.files[p]
            s = {"rfilename": p}
            if blobs:
                s["size"] = fe.size
                s["blobId"] = fe.git_sha1
                if fe.storage != "regular":
                    s["lfs"] = {"sha256": fe.sha256, "size": fe.size,
                                "pointerSize": fe.pointer_size}
            siblings.append(s)
        return {"_id": sha1_hex(("%s/%s" % (repo.kind, repo.id)).encode())[:24],
                "id": repo.id, "sha": cid, "private": repo.private,
                "gated": "manual" if repo.gated else False,
                "lastModified": c.date, "xetEnabled": True, "siblings": siblings}

    @staticmethod
    def subtree_sig(commit, path):
        pre = path + "/"
        return tuple(sorted((p, fe.git_sha1) for p, fe in commit.files.items()
                            if p == path or p.startswith(pre)))

    def last_commit(self, repo, cid, path):
        """The oldest ancestor from which `path` (file or dir) is unchanged."""
        cur = repo.commits[cid]
        sig = self.subtree_sig(cur, path)
        while cur.parent and self.subtree_sig(repo.commits[cur.parent], path) == sig:
            cur = repo.commits[cur.parent]
        return {"id": cur.id, "title": cur.title, "date": cur.date}

    def entry_json(self, repo, cid, path, fe, expand):
        if fe is None:
            d = {"type": "directory",
                 "oid": sha1_hex(repr(self.subtree_sig(repo.commits[cid], path)).encode()),
                 "size": 0, "path": path}
        else:
            d = {"type": "file", "oid": fe.git_sha1, "size": fe.size, "path": path}
            if fe.storage != "regular":
                d["lfs"] = {"oid": fe.sha256, "size": fe.size, "pointerSize": fe.pointer_size}
            if fe.storage == "xet":
                d["xetHash"] = fe.xet_hash
        if expand:
            d["lastCommit"] = self.last_commit(repo, cid, path)
        return d

    @staticmethod
    def list_dir(commit, tpath, recursive):
        """Sorted [(path, FileEntry or None for a directory)], or None if no such dir."""
        pre = tpath + "/" if tpath else ""
        out = {}
        for p, fe in commit.files.items():
            if not p.startswith(pre):
                continue
            parts = p[len(pre):].split("/")
            if recursive:
                for i in range(1, len(parts)):
                    out.setdefault(pre + "/".join(parts[:i]), None)
                out[p] = fe
            elif len(parts) == 1:
                out[p] = fe
            else:
                out.setdefault(pre + parts[0], None)
        if tpath and not out:
            return None
        return sorted(out.items())

    def tree(self, repo, cid, tpath, q, path, query):
        entries = self.list_dir(repo.commits[cid], tpath, truthy(q.get("recursive", "false")))
        if entries is None:
            return error_resp(404, "EntryNotFound", "Entry not found", [("X-Repo-Commit", cid)])
        offset = 0
        if "cursor" in q:
            try:
                raw = q["cursor"][-1]
                offset = int(json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["o"])
            except (ValueError, KeyError, TypeError):
                return json_resp({"error": "Invalid cursor"}, 400)
        size = max(1, int(self.page_size))
        try:   # `limit` may lower the page size, never raise it; bad values are ignored
            limit = int(q["limit"][-1]) if "limit" in q else 0
        except ValueError:
            limit = 0
        if limit >= 1:
            size = min(size, limit)
        expand = truthy(q.get("expand", "false"))
        page = [self.entry_json(repo, cid, p, fe, expand) for p, fe in entries[offset:offset + size]]
        headers = [("X-Repo-Commit", cid)]
        if offset + size < len(entries):
            cursor = base64.urlsafe_b64encode(json.dumps({"o": offset + size}).encode())
            cursor = cursor.decode().rstrip("=")
            # Absolute URL: same path, the query without the old limit and
            # cursor, then limit=<page size>&cursor=<next> (as huggingface.co).
            parts = [p for p in query.split("&") if p and urllib.parse.unquote(
                p.partition("=")[0]) not in ("limit", "cursor")]
            parts += ["limit=%d" % size, "cursor=" + cursor]
            headers.append(("Link", '<%s%s?%s>; rel="next"' % (self.hub_base, path, "&".join(parts))))
        return json_resp(page, headers=headers)

    def paths_info(self, req, repo, cid):
        body = req.body or b""
        ctype = (req.headers.get("Content-Type") or "").lower()
        try:
            if "json" in ctype or body.lstrip().startswith(b"{"):
                data = json.loads(body or b"{}")
                paths, expand = data.get("paths") or [], truthy(data.get("expand", False))
            else:
                form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
                paths = form.get("paths", []) + form.get("paths[]", [])
                expand = truthy(form.get("expand", "false"))
        except (ValueError, AttributeError, UnicodeDecodeError):
            return json_resp({"error": "Invalid body"}, 400)
        if isinstance(paths, str):
            paths = [paths]
        commit = repo.commits[cid]
        out = []
        for p in paths:
            p = str(p).strip("/")
            if p in commit.files:
                out.append(self.entry_json(repo, cid, p, commit.files[p], expand))
            elif p and self.list_dir(commit, p, False) is not None:
                out.append(self.entry_json(repo, cid, p, None, expand))
        return json_resp(out, headers=[("X-Repo-Commit", cid)])

    # -- CDN ------------------------------------------------------------------

    def cdn_route(self, req):
        path, _, query = req.raw.partition("?")
        m = re.fullmatch(r"/(lfs|xet-bridge)/([0-9a-f]{64})", path)
        if not m or req.method not in ("GET", "HEAD"):
            return not_found()
        q = urllib.parse.parse_qs(query)
        expires = (q.get("expires") or [""])[-1]
        sig = (q.get("sig") or [""])[-1]
        if not expires.isdigit() or not hmac.compare_digest(self.signature(path, expires), sig):
            return text_resp(403, "Signature mismatch")
        if time.time() > int(expires):
            return text_resp(403, "Request has expired")
        fe = self.blobs.get(m.group(2))
        if fe is None:
            return not_found()
        # Like the Xet bridge: the ETag is the Xet hash, never the sha256.
        headers = [("Content-Type", "application/octet-stream"),
                   ("ETag", '"%s"' % fe.xet_hash), ("Accept-Ranges", "bytes")]
        return ranged(req, headers, fe.src)

    # -- control ----------------------------------------------------------------

    def control(self, name, data, query):
        fn = getattr(self, "ctl_" + name.replace("-", "_"), None)
        if fn is None:
            return json_resp({"error": "unknown control endpoint"}, 404)
        try:
            return fn(data, urllib.parse.parse_qs(query))
        except ControlError as e:
            return json_resp({"error": str(e)}, e.status)

    def ctl_ping(self, data, q):
        return json_resp({"ok": True})

    def ctl_reset(self, data, q):
        self.reset()
        return json_resp({"ok": True})

    def ctl_log(self, data, q):
        with self.lock:
            entries = [{k: e[k] for k in LOG_KEYS} for e in self.log]
        return json_resp(entries)

    def ctl_fixtures(self, data, q):
        out = []
        with self.lock:
            for (kind, rid), r in self.repos.items():
                commits = {}
                for cid, c in r.commits.items():
                    commits[cid] = {
                        "label": c.label, "parent": c.parent, "title": c.title,
                        "date": c.date,
                        "files": {p: fe.fixture_json() for p, fe in sorted(c.files.items())}}
                out.append({"kind": kind, "id": rid, "private": r.private, "gated": r.gated,
                            "disabled": r.disabled, "refs": dict(r.refs), "commits": commits})
            for (kind, rid), new in self.renamed.items():
                out.append({"kind": kind, "id": rid, "renamed_to": new, "refs": {},
                            "commits": {}})
        return json_resp({"repos": out, "hub_port": self.hub_port, "cdn_port": self.cdn_port,
                          "tokens": list(self.tokens),
                          "noaccess_tokens": list(self.noaccess_tokens)})

    def _repo_arg(self, args):
        kind = norm_kind(args.get("kind") or "model")
        rid = args.get("repo")
        repo = self.repos.get((kind, rid))
        if repo is None:
            raise ControlError(404, "unknown repo %s/%s" % (kind, rid))
        return repo

    def ctl_content(self, data, q):
        args = {k: v[-1] for k, v in q.items()}
        args.update(data)
        with self.lock:
            repo = self._repo_arg(args)
            cid = repo.find_commit(args.get("commit") or args.get("rev") or "main")
            if cid is None:
                raise ControlError(404, "unknown commit")
            fe = repo.commits[cid].files.get(args.get("path", ""))
        if fe is None:
            raise ControlError(404, "unknown path")
        return Resp(200, [("Content-Type", "application/octet-stream"),
                          ("ETag", '"%s"' % fe.etag)], src=fe.src)

    def ctl_config(self, data, q):
        # Validate everything first: a bad request changes nothing.
        mode = data.get("resolve_mode", DEFAULT_RESOLVE_MODE)
        if mode not in RESOLVE_MODES:
            raise ControlError(400, "resolve_mode must be one of %s" % list(RESOLVE_MODES))
        quota = data.get("quota", {})
        if not isinstance(quota, dict) or not set(quota) <= set(DEFAULT_QUOTA):
            raise ControlError(400, "quota must be an object with keys among %s"
                               % sorted(DEFAULT_QUOTA))
        try:
            quota = {k: int(v) for k, v in quota.items()}
            window = int(data.get("quota_window", 1))
            url_ttl = int(data.get("url_ttl", self.url_ttl))
            page_size = max(1, int(data.get("page_size", self.page_size)))
        except (TypeError, ValueError):
            raise ControlError(400, "quotas, quota_window, url_ttl and page_size must be integers")
        if min(list(quota.values()) + [0]) < 0 or window < 1:
            raise ControlError(400, "quotas must be >= 0 and quota_window >= 1")
        with self.lock:
            if "url_ttl" in data:
                self.url_ttl = url_ttl
            if "page_size" in data:
                self.page_size = page_size
            if "resolve_mode" in data:
                self.resolve_mode = mode
            self.quota.update(quota)   # counters are kept
            if "quota_window" in data:
                self.quota_window = window
                self._restart_rate_window()
            return json_resp({"url_ttl": self.url_ttl, "page_size": self.page_size,
                              "resolve_mode": self.resolve_mode, "quota": dict(self.quota),
                              "quota_window": self.quota_window})

    def ctl_ratelimit(self, data, q):
        """The rate-limit counters of the current window (not counted)."""
        with self.lock:
            reset = self._rate_window()
            buckets = {b: {"quota": self.quota[b], "used": self.rate_used[b],
                           "remaining": max(0, self.quota[b] - self.rate_used[b])}
                       for b in DEFAULT_QUOTA}
            return json_resp({"window": self.quota_window, "reset": reset,
                              "buckets": buckets})

    def ctl_tokens(self, data, q):
        lists = {k: data[k] for k in ("tokens", "noaccess_tokens") if k in data}
        if not lists or not all(isinstance(v, list) for v in lists.values()):
            raise ControlError(400, "tokens and/or noaccess_tokens must be given, as lists")
        with self.lock:
            if "tokens" in lists:
                self.tokens = [str(t) for t in lists["tokens"]]
            if "noaccess_tokens" in lists:
                self.noaccess_tokens = [str(t) for t in lists["noaccess_tokens"]]
            return json_resp({"ok": True, "tokens": list(self.tokens),
                              "noaccess_tokens": list(self.noaccess_tokens)})

    def ctl_move(self, data, q):
        with self.lock:
            repo = self._repo_arg(data)
            ref = data.get("ref") or "main"
            cid = repo.find_commit(str(data.get("commit", "")))
            if cid is None:
                raise ControlError(404, "unknown commit")
            repo.refs[ref] = cid
        return json_resp({"ok": True, "ref": ref, "commit": cid})

    def ctl_add_file(self, data, q):
        kind = norm_kind(data.get("kind") or "model")
        rid, path = data.get("repo"), str(data.get("path") or "").strip("/")
        if not rid or not path:
            raise ControlError(400, "repo and path are required")
        storage = "xet" if truthy(data.get("xet", False)) else (
            "lfs" if truthy(data.get("lfs", False)) else "regular")
        if "content_b64" in data:   # any bytes (binary), base64
            try:
                src = BytesSource(base64.b64decode(str(data["content_b64"]), validate=True))
            except ValueError:
                raise ControlError(400, "content_b64 is not valid base64")
            seed = "content:" + sha1_hex(src.data)
        elif "content" in data:   # explicit text
            src = _text(str(data["content"]))
            seed = "content:" + sha1_hex(src.data)
        else:
            seed = str(data.get("seed") or "%s/%s/%s" % (kind, rid, path))
            src = GenSource(seed, int(data.get("size", 0)))
        # Hash outside the lock: a multi-GiB file takes seconds.
        fe = FileEntry(path, src, storage)
        ref = data.get("ref") or "main"
        with self.lock:
            repo = self.repos.get((kind, rid))
            if repo is None:   # extension: unknown repos are created (public)
                repo = self.repos[(kind, rid)] = Repo(kind, rid)
            # A new ref forks from main.
            parent_id = repo.find_commit(ref) or repo.refs.get("main")
            parent = repo.commits.get(parent_id) if parent_id else None
            files = dict(parent.files) if parent else {}
            files[path] = fe
            label = "add:%s:%s:%s:%d:%s" % (parent_id, path, seed, src.size, storage)
            ts = parent.ts + DAY if parent else T0 + 100 * DAY
            c = repo.add_commit(label, parent_id, "Add %s" % path, ts, files)
            repo.refs[ref] = c.id
            self._register_blobs(c)
        return json_resp({"commit": c.id, "sha256": fe.sha256, "git_sha1": fe.git_sha1,
                          "size": fe.size, "etag": fe.etag})

    def ctl_fault(self, data, q):
        kind = data.get("kind")
        if kind not in FAULT_KINDS:
            raise ControlError(400, "kind must be one of %s" % sorted(FAULT_KINDS))
        server = data.get("server") or "any"
        if server not in ("hub", "cdn", "any"):
            raise ControlError(400, "server must be hub, cdn or any")
        try:
            rx = re.compile(data.get("match") or "")
        except re.error as e:
            raise ControlError(400, "bad regex: %s" % e)
        f = dict(data)
        if kind == "ratelimit":
            if data.get("bucket") not in (None,) + tuple(DEFAULT_QUOTA):
                raise ControlError(400, "bucket must be one of %s" % sorted(DEFAULT_QUOTA))
            try:
                f["reset"] = int(data.get("reset", DEFAULT_RATELIMIT_RESET))
                if data.get("retry_after") is not None:
                    f["retry_after"] = int(data["retry_after"])
            except (TypeError, ValueError):
                raise ControlError(400, "reset and retry_after must be integers")
        f.update({"server": server, "re": rx, "kind": kind,
                  "count": int(data.get("count", 1))})
        with self.lock:
            self.faults.append(f)
        return json_resp({"ok": True})


LOG_KEYS = ("server", "method", "path", "auth", "range", "accept", "if_none_match",
            "status", "bytes", "complete")


class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def norm_kind(kind):
    kind = str(kind)
    if kind in API_KIND:
        return API_KIND[kind]
    if kind not in KIND_API:
        raise ControlError(400, "kind must be model, dataset or space")
    return kind


# ---------------------------------------------------------------------------
# HTTP plumbing.

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-hub/1"
    sys_version = ""

    def setup(self):
        super().setup()
        # Headers and small bodies are separate writes: avoid Nagle stalls.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        if self.server.app.verbose:
            sys.stderr.write("%s %s\n" % (self.server.role, fmt % args))

    def _dispatch(self):
        app, role = self.server.app, self.server.role
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        raw = self.path
        req = Request(self.command, raw, self.headers, body)
        path = raw.partition("?")[0]
        if role == "hub" and (path == "/_control" or path.startswith("/_control/")):
            # Control traffic is neither logged nor subject to faults.
            try:
                data = json.loads(body) if body and body.strip() else {}
                if not isinstance(data, dict):
                    raise ValueError("body must be a JSON object")
            except ValueError as e:
                return self._send(json_resp({"error": "bad JSON: %s" % e}, 400))
            return self._send(app.control(path[len("/_control/"):], data,
                                          raw.partition("?")[2]))
        entry = {"server": role, "method": self.command, "path": raw,
                 "auth": self.headers.get("Authorization"),
                 "range": self.headers.get("Range"), "accept": self.headers.get("Accept"),
                 "if_none_match": self.headers.get("If-None-Match"),
                 "status": None, "bytes": 0, "complete": False}
        with app.lock:
            app.log.append(entry)
        # Every hub request uses quota, whatever its answer (faults included).
        rate = app.count_request(path) if role == "hub" else None
        fault = app.take_fault(role, self.command, raw)
        kind = fault["kind"] if fault else None
        if kind == "close":
            self.close_connection = True
            return
        if kind == "hang":
            return self._hang()
        if kind == "status":
            resp = Resp(int(fault.get("code", 503)), list((fault.get("headers") or {}).items()))
            fault = None
        elif kind == "ratelimit":
            bucket = fault.get("bucket") or rate_bucket(path)
            resp = app.too_many(bucket, fault["reset"], fault.get("retry_after"))
            fault = None
        elif rate is not None and rate["exceeded"]:
            resp = app.too_many(rate["bucket"], rate["reset"])
        else:
            with app.lock:
                resp = app.hub_route(req) if role == "hub" else app.cdn_route(req)
        if role == "hub":
            app.hub_headers(req, resp, rate)
        self._send(resp, entry, fault)

    def _safe_dispatch(self):
        self._headers_sent = False
        try:
            self._dispatch()
        except Exception:
            traceback.print_exc()
            self.close_connection = True
            if not self._headers_sent:
                try:
                    self._send(json_resp({"error": "internal error in fake hub"}, 500))
                except OSError:
                    pass

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _safe_dispatch

    def _read_body(self):
        """The request body (kept up to MAX_KEPT_BODY bytes), chunked or not."""
        kept = bytearray()
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ValueError("eof in chunked body")
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass   # trailers
                    return bytes(kept)
                self._read_exact(n, kept)
                self.rfile.readline(65537)
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0:
            raise ValueError("negative Content-Length")
        self._read_exact(n, kept)
        return bytes(kept)

    def _read_exact(self, n, kept):
        while n > 0:
            d = self.rfile.read(min(n, 1 << 20))
            if not d:
                raise ValueError("eof in body")
            n -= len(d)
            if len(kept) < MAX_KEPT_BODY:
                kept += d

    def _hang(self):
        # Never answer; wait until the client goes away.
        self.close_connection = True
        sock = self.connection
        while True:
            readable, _, _ = select.select([sock], [], [], 1.0)
            if readable:
                try:
                    if not sock.recv(65536):
                        return
                except OSError:
                    return

    def _abort(self):
        # SO_LINGER 0 + close sends a RST instead of a FIN.
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.rfile.close()   # its reference would defer the real close
            self.connection.close()
        except OSError:
            pass

    def _send(self, resp, entry=None, fault=None):
        kind = fault["kind"] if fault else None
        body_len = resp.end - resp.start
        headers = list(resp.headers)
        if resp.status != 304:   # a 304 has no body and no Content-Length
            headers.append(("Content-Length", str(body_len)))
        if kind in ("truncate", "reset"):
            self.close_connection = True
        if self.close_connection:
            headers.append(("Connection", "close"))
        try:
            phrase = HTTPStatus(resp.status).phrase
        except ValueError:
            phrase = "Unknown"
        lines = ["HTTP/1.1 %d %s\r\n" % (resp.status, phrase),
                 "Server: %s\r\n" % self.server_version,
                 "Date: %s\r\n" % self.date_time_string()]
        lines += ["%s: %s\r\n" % (k, v) for k, v in headers]
        head = ("".join(lines) + "\r\n").encode("latin-1", "replace")
        self.log_request(resp.status, body_len)
        if entry is not None:
            entry["status"] = resp.status

        limit = 0 if self.command == "HEAD" else body_len
        if kind in ("truncate", "reset"):
            limit = min(limit, int(fault.get("after", body_len // 2)))
        chunk = 1 << 20
        delay = 0
        if kind == "slow":
            chunk = max(1, int(fault.get("chunk", 16384)))
            delay = int(fault.get("delay_ms", 100)) / 1000.0
        corrupt_at = int(fault.get("offset", body_len // 2)) if kind == "corrupt" else -1

        written = 0
        pending = head
        self._headers_sent = True
        try:
            if limit == 0:
                self.connection.sendall(head)
            for mv in resp.src.chunks(resp.start, resp.start + limit, chunk):
                if written <= corrupt_at < written + len(mv):
                    mv = bytearray(mv)
                    mv[corrupt_at - written] ^= 0xFF
                if pending is not None:
                    if len(mv) <= 65536:   # one write for headers + small body
                        self.connection.sendall(pending + bytes(mv))
                    else:
                        self.connection.sendall(pending)
                        self.connection.sendall(mv)
                    pending = None
                else:
                    self.connection.sendall(mv)
                written += len(mv)
                if entry is not None:
                    entry["bytes"] = written
                if delay and written < limit:
                    time.sleep(delay)
        except OSError:
            self.close_connection = True
            return
        if entry is not None:
            entry["complete"] = self.command == "HEAD" or written == body_len
        if kind == "reset":
            self._abort()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def server_bind(self):
        # HTTPServer.server_bind would do a reverse DNS lookup: skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        # Clients going away mid-request are expected; stay quiet about them.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="Fake Hugging Face Hub for tests")
    ap.add_argument("--port", type=int, default=0, help="hub port (0: pick a free one)")
    ap.add_argument("--cdn-port", type=int, default=0, help="CDN port (0: pick a free one)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = ap.parse_args()

    # Block SIGTERM/SIGINT before any thread starts (threads inherit the
    # mask), then wait for them in the main thread: a Python handler would
    # not run while the main thread sleeps if a worker thread got the signal.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    app = App(args.host, args.verbose)
    servers = []
    for role, port in (("hub", args.port), ("cdn", args.cdn_port)):
        srv = Server((args.host, port), Handler)
        srv.app, srv.role = app, role
        servers.append(srv)
    app.hub_port = servers[0].server_address[1]
    app.cdn_port = servers[1].server_address[1]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("READY hub=%d cdn=%d" % (app.hub_port, app.cdn_port), flush=True)
    signal.sigwait(stop_signals)
    os._exit(0)


if __name__ == "__main__":
    main()
