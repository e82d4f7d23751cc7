"""The repositories of the fake hub: files (FileEntry), commits, repos with
their refs, and the fixtures every test starts from (build_fixtures, the
table of docs/test-hub.md). Deterministic: the same fixtures on every start
and every /_control/reset.
"""

import hashlib
import time

from content import GenSource, digest, git_blob_sha1, json_source, sha1_hex, text_source
from repo_urls import HEX40


def iso_date(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


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


class Commit:
    """One commit: id, label (c1, c2, pr1, add:...), parent, title, time, files."""

    def __init__(self, cid, label, parent, title, ts, files):
        self.id, self.label, self.parent, self.title = cid, label, parent, title
        self.ts, self.files = ts, files

    @property
    def date(self):
        return iso_date(self.ts)


class Repo:
    """One repository of a kind (repo_urls.KINDS): its refs and commits."""

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
        return ("regular", text_source(text))

    # test-org/tiny-model: c1 <- c2 (main) <- pr1 (refs/pr/1); v1.0 -> c1.
    r = repo("model", "test-org/tiny-model")
    weights = ("lfs", GenSource("tiny-weights", 300000))
    readme = reg("# tiny-model\n\nA tiny model for the tests.\n")
    c1_files = {
        "config.json": ("regular", json_source({"model_type": "tiny", "hidden_size": 64,
                                                 "revision": "c1"})),
        "README.md": readme,
        "model.safetensors": weights,
    }
    c2_files = dict(c1_files)
    c2_files.update({
        "config.json": ("regular", json_source({"model_type": "tiny", "hidden_size": 128,
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
        "config.json": ("regular", json_source({"model_type": "gpt2", "n_layer": 2})),
        "model.safetensors": ("lfs", GenSource("gpt2-weights", 100000)),
    }, T0 + 1 * DAY)
    simple("model", "test-org/copy-model", {
        "model.safetensors": ("lfs", GenSource("tiny-weights", 300000)),
    }, T0 + 2 * DAY)

    # test-org/tiny-dataset and test-org/tiny-space, as tiny-model:
    # c0 <- c1 (main) <- pr1 (refs/pr/1); v1.0 -> c0. main is c1 as it always
    # was (same id and files: other tests count them); c0 has an older
    # README.md / app.py; pr1 adds pr-only.txt, an oddly named file and (the
    # space) an LFS file.
    def tagged(kind, rid, ts, v1_spec, main_spec, main_title, pr_spec, pr_title):
        rr = repo(kind, rid)
        c0 = rr.add_commit("c0", None, "Initial commit", ts - DAY // 2, files(**v1_spec))
        c = rr.add_commit("c1", c0.id, main_title, ts, files(**main_spec))
        pr = rr.add_commit("pr1", c.id, pr_title, ts + DAY // 2,
                           files(**dict(main_spec, **pr_spec)))
        rr.refs = {"main": c.id, "v1.0": c0.id, "refs/pr/1": pr.id}

    ds_train = ("lfs", GenSource("ds-train", 150000))
    tagged("dataset", "test-org/tiny-dataset", T0 + 3 * DAY, {
        "README.md": reg("# tiny-dataset\n\nv1.0 of a tiny dataset.\n"),
        "data/train-00000.parquet": ds_train,
    }, {
        "README.md": reg("# tiny-dataset\n\nA tiny dataset for the tests.\n"),
        "data/train-00000.parquet": ds_train,
    }, "Update README.md", {
        "pr-only.txt": reg("only on the dataset's refs/pr/1\n"),
        "data/with space & more.csv": reg("id,text\n1,a file name with spaces and an ampersand\n"),
    }, "Add pr-only.txt and an oddly named file")
    space_readme = reg("---\nsdk: gradio\n---\n# tiny-space\n")
    tagged("space", "test-org/tiny-space", T0 + 4 * DAY, {
        "app.py": reg("print('hello from tiny-space v1.0')\n"),
        "README.md": space_readme,
        # an LFS file only the tag has (main dropped it): LFS by tag
        "demo-v1.safetensors": ("lfs", GenSource("space-demo-v1", 90000)),
    }, {
        "app.py": reg("print('hello from tiny-space')\n"),
        "README.md": space_readme,
    }, "Update app.py", {
        "pr-only.txt": reg("only on the space's refs/pr/1\n"),
        "with space & more.txt": reg("a space file name with spaces and an ampersand\n"),
        "demo.safetensors": ("lfs", GenSource("space-demo", 120000)),
    }, "Add pr-only.txt, an oddly named file and demo.safetensors")

    simple("model", "test-org/private-model", {
        "config.json": ("regular", json_source({"model_type": "private"})),
        "weights.bin": ("lfs", GenSource("private-weights", 50000)),
    }, T0 + 5 * DAY, private=True)
    simple("model", "test-org/gated-model", {
        "config.json": ("regular", json_source({"model_type": "gated"})),
    }, T0 + 6 * DAY, gated=True)
    simple("model", "test-org/disabled-model", {
        "config.json": ("regular", json_source({"model_type": "disabled"})),
    }, T0 + 7 * DAY, disabled=True)
    simple("kernel", "test-org/tiny-kernel", {
        "README.md": reg("---\nlicense: apache-2.0\n---\n# tiny-kernel\n\nA tiny kernel for the tests.\n"),
        "build/tiny_kernel.abi3.so": ("lfs", GenSource("tiny-kernel", 80000)),
    }, T0 + 8 * DAY)

    renamed = {("model", "old-org/old-name"): "test-org/tiny-model",
               ("dataset", "old-org/old-dataset"): "test-org/tiny-dataset"}
    return repos, renamed
