"""File contents of the fake hub: bytes held in memory, or bytes generated
from a seed and streamed from any offset, and their hashes (sha256, git
blob sha1). Knows nothing of repositories or HTTP.
"""

import hashlib
import json
import threading


def sha1_hex(data):
    return hashlib.sha1(data).hexdigest()


def git_blob_sha1(data):
    return sha1_hex(b"blob %d\0" % len(data) + data)


class BytesSource:
    """Content held in memory (regular files, JSON bodies)."""

    def __init__(self, data):
        self.data = bytes(data)
        self.size = len(self.data)

    def chunks(self, start, end, chunk=1 << 20):
        mv = memoryview(self.data)
        for pos in range(start, end, chunk):
            yield mv[pos:min(end, pos + chunk)]


def text_source(s):
    """A text, stored UTF-8."""
    return BytesSource(s.encode())


def json_source(obj):
    """An object as indented JSON text (the fixtures' config.json files)."""
    return text_source(json.dumps(obj, indent=2, sort_keys=True) + "\n")


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
