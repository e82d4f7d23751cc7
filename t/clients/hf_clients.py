#!/usr/bin/env python3
"""The real Python Hugging Face clients, for t/110-python-clients.t.

Run with the pinned virtual environment (make test-deps):

    HF_ENDPOINT=http://127.0.0.1:PORT/hf HF_HOME=/tmp/x \\
        build/pyenv/bin/python t/clients/hf_clients.py SCENARIO ['JSON ARGS']

Prints ONE JSON object on stdout and nothing else (the libraries' output
goes to stderr):

    {"ok": true|false, "error": ..., "scenario": ..., "versions": {...},
     "xet": {...}, <the scenario's results>, "requests": [...],
     "connections": [...]}

- "requests": every HTTP request huggingface_hub's httpx2 clients (the
  shared sync client and the async ones; transformers, datasets and
  HfFileSystem all go through them) sent, redirect hops included:
  {"op", "method", "url", "range", "authorization" (bool), "status",
  "location", "error", and on a 4xx/5xx "x_error_code", "x_error_message",
  "ratelimit", "retry_after"}. Recorded with event hooks added to the clients that
  huggingface_hub's own factories build (set_client_factory /
  set_async_client_factory), so its own hooks still run.
- "connections": every TCP connection any Python code opened
  (socket.connect): {"op", "host", "port"}. Anything but the loopback is
  refused (no network beyond it, ever). hf_xet's own (Rust) requests are not
  seen here: the test checks the hub's log for those.
- A failed call is recorded, not raised: {"error": "...", "error_class",
  "error_classes" (the class's MRO names), "status" (HTTP status if any),
  "chain": [{"class", "status", "message"}, ...] (__cause__/__context__)}.
- The whole run is bounded by HF_CLIENT_TIMEOUT seconds (default 60).

Scenarios (ARGS is a JSON object):

  download   {"files": [{"repo_id", "repo_type", "filename", "revision",
             "label"}...]}: hf_hub_download of each, in order; results
             "files": [{"label", ..., "sha256", "size", "commit" (from the
             snapshot path), "seconds"} or an error].
  snapshot   {"repos": [{"repo_id", "repo_type", "revision"}]}: for each,
             repo_info, list_repo_tree(recursive), snapshot_download; results
             "repos": {"kind:repo@rev": {"info", "tree": {"entries"},
             "snapshot": {"commit", "files": {path: {sha256, size}}}}}.
  info       {"repos": [{"repo_id", "repo_type", "revision", "label"}]}:
             repo_info of each; results "infos".
  fs         {"reads": [{"repo_id", "repo_type", "revision", "filename",
             "offset", "length", "label"}]}: HfFileSystem on
             "[datasets/]repo[@rev]/filename": fs.open().seek(offset).read(length)
             and fs.read_block(offset, length), each hashed; results "reads".
  transformers {"repo_id", "text", "revisions": [...]}: AutoConfig and
             AutoTokenizer from_pretrained; results "configs", "tokenizer".
  datasets   {"repo_id", "revision", "split"}: datasets.load_dataset;
             results "dataset": {"num_rows", "columns", "rows"}.
  fixtures   {}: makes the files of a tiny tokenizer repo (tokenizer.json
             built with the tokenizers package, tokenizer_config.json,
             config.json; "tokenizer_v1.0": another config.json for a tag)
             and of a parquet dataset (pyarrow), no network; results
             "files": {name: [{"path", "content_b64", "sha256", "size"}]},
             "expect": {text, tokens, input_ids, rows}.
"""

import base64
import hashlib
import io
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
from urllib.parse import urlsplit

# stdout carries the one JSON document: keep the original for it, and send
# everything else any library prints to stderr.
_OUT = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr

LOOPBACK = ("127.0.0.1", "localhost", "::1")
REQUESTS = []
CONNECTIONS = []
_CURRENT_OP = [None]          # the op running now (threads of a download too)
_LOCK = threading.Lock()


def op_label():
    return _CURRENT_OP[0]


# ------------------------------------------------------------ sockets

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(sock, address):
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host, port = address[0], address[1]
    with _LOCK:
        CONNECTIONS.append({"op": op_label(), "host": host, "port": port})
    if host not in LOOPBACK and not str(host).startswith("127."):
        raise ConnectionRefusedError(f"hf_clients.py refused a connection to {host}:{port}: loopback only")


def _connect(self, address):
    _check_address(self, address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    _check_address(self, address)
    return _real_connect_ex(self, address)


socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex


# ------------------------------------------------------------ environment

ENDPOINT = os.environ.get("HF_ENDPOINT", "").rstrip("/")
if not ENDPOINT or urlsplit(ENDPOINT).hostname not in LOOPBACK:
    sys.stderr.write(f"HF_ENDPOINT must be a loopback http URL, got {ENDPOINT!r}\n")
    sys.exit(2)
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.pop(name, None)


class ScriptTimeout(BaseException):
    """HF_CLIENT_TIMEOUT ran out (a BaseException: no library swallows it)."""


def _timeout(signum, frame):
    raise ScriptTimeout("hf_clients.py: HF_CLIENT_TIMEOUT (%s s) exceeded" % os.environ.get("HF_CLIENT_TIMEOUT"))


signal.signal(signal.SIGALRM, _timeout)
signal.alarm(int(os.environ.get("HF_CLIENT_TIMEOUT", "60")))

import httpx2  # noqa: E402  (after the socket patch)
import huggingface_hub  # noqa: E402
from huggingface_hub import constants  # noqa: E402
from huggingface_hub.utils import _http as hf_http  # noqa: E402


# ------------------------------------------------------------ HTTP recording

def _entry_for(request):
    return request.extensions.get("hf_clients_entry")


def _record_request(request):
    headers = request.headers
    entry = {
        "op": op_label(),
        "method": request.method,
        "url": str(request.url),
        "range": headers.get("range"),
        "authorization": "authorization" in headers,
        "status": None,
    }
    with _LOCK:
        REQUESTS.append(entry)
    request.extensions["hf_clients_entry"] = entry
    if request.url.host not in LOOPBACK:
        entry["error"] = "refused: not a loopback address"
        raise httpx2.ConnectError(f"hf_clients.py refused a request to {request.url}: loopback only",
                                  request=request)


def _record_response(response):
    entry = _entry_for(response.request)
    if entry is None:
        return
    entry["status"] = response.status_code
    if "location" in response.headers:
        entry["location"] = response.headers["location"]
    if response.status_code >= 400:
        for h in ("x-error-code", "x-error-message", "ratelimit", "retry-after"):
            if h in response.headers:
                entry[h.replace("-", "_")] = response.headers[h]


async def _arecord_request(request):
    _record_request(request)


async def _arecord_response(response):
    _record_response(response)


def _client_factory():
    client = hf_http.default_client_factory()
    hooks = client.event_hooks
    hooks["request"].append(_record_request)
    hooks["response"].append(_record_response)
    client.event_hooks = hooks
    return client


def _async_client_factory():
    client = hf_http.default_async_client_factory()
    hooks = client.event_hooks
    hooks["request"].append(_arecord_request)
    hooks["response"].append(_arecord_response)
    client.event_hooks = hooks
    return client


huggingface_hub.set_client_factory(_client_factory)
huggingface_hub.set_async_client_factory(_async_client_factory)

# a request that fails before any answer keeps its error (each hop of a
# redirect is one _send_single_request)
_real_send_single = httpx2.Client._send_single_request


def _send_single(self, request, *args, **kwargs):
    try:
        return _real_send_single(self, request, *args, **kwargs)
    except Exception as e:
        entry = _entry_for(request)
        if entry is not None and entry.get("status") is None:
            entry.setdefault("error", f"{type(e).__name__}: {e}")
        raise


httpx2.Client._send_single_request = _send_single


# ------------------------------------------------------------ helpers

def describe_error(e):
    def status_of(x):
        r = getattr(x, "response", None)
        return getattr(r, "status_code", None)

    chain, seen, cur = [], set(), e
    while cur is not None and id(cur) not in seen and len(chain) < 8:
        seen.add(id(cur))
        r = getattr(cur, "response", None)
        item = {"class": type(cur).__name__, "status": status_of(cur), "message": str(cur)[:600]}
        if r is not None:
            item["url"] = str(getattr(r, "url", ""))
            item["headers"] = {k: v for k, v in r.headers.items()
                               if k.lower() in ("x-error-code", "x-error-message", "ratelimit", "retry-after")}
        chain.append(item)
        cur = cur.__cause__ or cur.__context__
    return {
        "error": f"{type(e).__name__}: {str(e)[:600]}",
        "error_class": type(e).__name__,
        "error_classes": [c.__name__ for c in type(e).__mro__ if c not in (object, BaseException)],
        "status": status_of(e),
        "chain": chain,
    }


def run_op(label, fn):
    """fn() -> dict; errors recorded; the requests it made carry its label."""
    _CURRENT_OP[0] = label
    t0 = time.monotonic()
    try:
        res = fn()
    except ScriptTimeout as e:
        e.op = label
        raise
    except Exception as e:  # noqa: BLE001 - every failure is a result
        res = describe_error(e)
        traceback.print_exc()
    finally:
        _CURRENT_OP[0] = None
    res["seconds"] = round(time.monotonic() - t0, 3)
    res["op"] = label
    return res


def file_digest(path):
    n = os.path.getsize(path)
    h, g = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % n)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            g.update(chunk)
    return {"sha256": h.hexdigest(), "git_sha1": g.hexdigest(), "size": n}


def commit_of(path):
    parts = os.path.normpath(path).split(os.sep)
    if "snapshots" in parts:
        i = len(parts) - 1 - parts[::-1].index("snapshots")
        if i + 1 < len(parts):
            return parts[i + 1]
    return None


def walk(folder):
    out = {}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            out[os.path.relpath(p, folder).replace(os.sep, "/")] = file_digest(p)  # follows the symlinks
    return out


def rtype(spec):
    return spec.get("repo_type") or "model"


# ------------------------------------------------------------ scenarios

def sc_download(args):
    from huggingface_hub import hf_hub_download

    out = []
    for i, f in enumerate(args.get("files", [])):
        label = f.get("label") or f"{rtype(f)}:{f['repo_id']}@{f.get('revision') or 'main'}:{f['filename']}"

        def one(f=f):
            path = hf_hub_download(repo_id=f["repo_id"], filename=f["filename"], repo_type=rtype(f),
                                   revision=f.get("revision"))
            return {**file_digest(path), "commit": commit_of(path)}

        r = run_op(label, one)
        r.update({"label": label, "repo_id": f["repo_id"], "repo_type": rtype(f),
                  "revision": f.get("revision"), "filename": f["filename"]})
        out.append(r)
    return {"files": out}


def _tree_entry(e):
    d = {"path": e.path, "type": "directory" if e.__class__.__name__ == "RepoFolder" else "file"}
    if d["type"] == "file":
        d["size"] = e.size
        d["blob_id"] = e.blob_id
        if e.lfs is not None:
            d["lfs"] = {"sha256": e.lfs.sha256, "size": e.lfs.size}
        if getattr(e, "xet_hash", None):
            d["xet_hash"] = e.xet_hash
    return d


def sc_snapshot(args):
    from huggingface_hub import HfApi, snapshot_download

    api = HfApi()
    out = {}
    for r in args.get("repos", []):
        repo_id, kind, rev = r["repo_id"], rtype(r), r.get("revision")
        label = f"{kind}:{repo_id}@{rev or 'main'}"

        def info():
            i = api.repo_info(repo_id, repo_type=kind, revision=rev, files_metadata=True)
            return {"id": i.id, "sha": i.sha, "private": i.private,
                    "siblings": sorted(s.rfilename for s in (i.siblings or []))}

        def tree():
            return {"entries": sorted((_tree_entry(e) for e in api.list_repo_tree(
                repo_id, repo_type=kind, revision=rev, recursive=True)), key=lambda d: d["path"])}

        def snap():
            folder = snapshot_download(repo_id, repo_type=kind, revision=rev)
            return {"commit": os.path.basename(folder.rstrip(os.sep)), "files": walk(folder)}

        out[label] = {"info": run_op(f"{label} repo_info", info),
                      "tree": run_op(f"{label} list_repo_tree", tree),
                      "snapshot": run_op(f"{label} snapshot_download", snap)}
    return {"repos": out}


def sc_info(args):
    from huggingface_hub import HfApi

    api = HfApi()
    out = []
    for r in args.get("repos", []):
        label = r.get("label") or f"{rtype(r)}:{r['repo_id']}@{r.get('revision') or 'main'}"

        def one(r=r):
            i = api.repo_info(r["repo_id"], repo_type=rtype(r), revision=r.get("revision"))
            return {"id": i.id, "sha": i.sha}

        res = run_op(label, one)
        res["label"] = label
        out.append(res)
    return {"infos": out}


def sc_fs(args):
    from urllib.parse import quote

    from huggingface_hub import HfFileSystem

    fs = HfFileSystem()
    out = []
    for r in args.get("reads", []):
        kind, rev = rtype(r), r.get("revision")
        path = ("" if kind == "model" else kind + "s/") + r["repo_id"] \
            + ("@" + quote(rev, safe="") if rev else "") + "/" + r["filename"]
        label = r.get("label") or f"{path}[{r['offset']}+{r['length']}]"

        def seek_read(path=path, r=r):
            with fs.open(path, "rb") as f:
                f.seek(r["offset"])
                data = f.read(r["length"])
                size = f.size
            return {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data), "file_size": size}

        def read_block(path=path, r=r):
            data = fs.read_block(path, r["offset"], r["length"])
            return {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}

        out.append({"label": label, "path": path,
                    "open_seek_read": run_op(label + " open/seek/read", seek_read),
                    "read_block": run_op(label + " read_block", read_block)})
    return {"reads": out}


def sc_transformers(args):
    from transformers import AutoConfig, AutoTokenizer

    repo_id, text = args["repo_id"], args.get("text", "")
    configs = {}
    for rev in args.get("revisions") or ["main"]:
        def cfg(rev=rev):
            c = AutoConfig.from_pretrained(repo_id, revision=rev)
            d = c.to_dict()
            return {"class": type(c).__name__,
                    **{k: d.get(k) for k in ("model_type", "hidden_size", "vocab_size", "hf_cache_test")}}
        configs[rev] = run_op(f"AutoConfig {rev}", cfg)

    def tok():
        t = AutoTokenizer.from_pretrained(repo_id)
        ids = t(text, add_special_tokens=False)["input_ids"]
        return {"class": type(t).__name__, "tokens": t.tokenize(text), "input_ids": ids,
                "decoded": t.decode(ids)}

    return {"configs": configs, "tokenizer": run_op("AutoTokenizer", tok)}


def sc_datasets(args):
    import datasets

    datasets.disable_progress_bars()

    def load():
        ds = datasets.load_dataset(args["repo_id"], revision=args.get("revision"), split=args.get("split", "train"))
        return {"num_rows": ds.num_rows, "columns": list(ds.column_names), "rows": ds.to_list()}

    return {"dataset": run_op("load_dataset", load)}


# The tiny tokenizer and dataset the test uploads to the hub.
VOCAB = ["[UNK]", "[PAD]", "hello", "world", "the", "cache", "works", "!", "offline", "too"]
TEXT = "Hello world, the cache works!"
ROWS = [{"id": i, "text": f"row {i}: " + " ".join(VOCAB[2 + (i + j) % 8] for j in range(3)),
         "score": i / 4} for i in range(12)]


def sc_fixtures(args):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(VOCAB)}, unk_token="[UNK]"))
    tk.normalizer = normalizers.Lowercase()
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.add_special_tokens(["[UNK]", "[PAD]"])
    enc = tk.encode(TEXT, add_special_tokens=False)

    def f(path, data):
        if isinstance(data, str):
            data = data.encode()
        return {"path": path, "content_b64": base64.b64encode(data).decode(),
                "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def config(tag, hidden):
        return json.dumps({"model_type": "bert", "hidden_size": hidden, "num_hidden_layers": 1,
                           "num_attention_heads": 2, "intermediate_size": 37, "vocab_size": len(VOCAB),
                           "hf_cache_test": tag}, indent=2)

    tok_files = [
        f("config.json", config("main", 32)),
        f("tokenizer.json", tk.to_str(pretty=True)),
        f("tokenizer_config.json", json.dumps({"tokenizer_class": "PreTrainedTokenizerFast",
                                               "unk_token": "[UNK]", "pad_token": "[PAD]",
                                               "model_max_length": 128,
                                               "clean_up_tokenization_spaces": False}, indent=2)),
    ]
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(ROWS), buf)
    ds_files = [f("data/train-00000-of-00001.parquet", buf.getvalue())]
    return {"files": {"tokenizer": tok_files, "dataset": ds_files,
                      "tokenizer_v1.0": [f("config.json", config("v1.0", 16))]},
            "expect": {"text": TEXT, "tokens": enc.tokens, "input_ids": enc.ids, "rows": ROWS}}


SCENARIOS = {"download": sc_download, "snapshot": sc_snapshot, "info": sc_info, "fs": sc_fs,
             "transformers": sc_transformers, "datasets": sc_datasets, "fixtures": sc_fixtures}


def versions():
    out = {"python": sys.version.split()[0]}
    from importlib.metadata import PackageNotFoundError, version
    for p in ("huggingface_hub", "hf_xet", "httpx2", "transformers", "datasets", "tokenizers", "pyarrow"):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = None
    return out


def main():
    out = {"ok": False, "scenario": None}
    try:
        if len(sys.argv) < 2 or sys.argv[1] not in SCENARIOS:
            raise SystemExit(f"usage: hf_clients.py {{{'|'.join(SCENARIOS)}}} ['JSON ARGS']")
        out["scenario"] = sys.argv[1]
        args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
        from huggingface_hub.utils._runtime import is_xet_available
        out["versions"] = versions()
        out["endpoint"] = constants.ENDPOINT
        out["xet"] = {"available": bool(is_xet_available()), "disabled": bool(constants.HF_HUB_DISABLE_XET)}
        out.update(SCENARIOS[sys.argv[1]](args))
        out["ok"] = True
    except ScriptTimeout as e:
        out["error"] = f"ScriptTimeout: {e}, during {getattr(e, 'op', None)!r}"
    except BaseException as e:  # noqa: BLE001 - the JSON is printed whatever happens
        out["error"] = "".join(traceback.format_exception(e))[-3000:]
    signal.alarm(0)
    out["requests"] = REQUESTS
    out["connections"] = CONNECTIONS
    _OUT.write(json.dumps(out) + "\n")
    _OUT.flush()
    # no atexit hooks, threads or pools may hold the process (or print) now
    os._exit(0)


if __name__ == "__main__":
    main()
