"""The /_control/ endpoints the tests drive the hub with (never logged,
counted or faulted): ping, reset, log, fixtures, content, config,
ratelimit, tokens, move, add_file, fault. Each reads or changes the App's
state under app.lock; a refused request is a ControlError (its status and
{"error": message}).
"""

import base64
import urllib.parse

from content import BytesSource, GenSource, sha1_hex, text_source
from faults import BadFault, make_fault
from fixtures import DAY, T0, FileEntry, Repo
from messages import Resp, json_resp, truthy
from ratelimit import DEFAULT_QUOTA, counters, restart_window
from repo_urls import API_KIND, KIND_API, kinds_text
from routes_resolve import DEFAULT_RESOLVE_MODE, RESOLVE_MODES

# The keys of a log entry (hub_http writes the entries).
LOG_KEYS = ("server", "method", "path", "auth", "range", "accept", "if_none_match",
            "status", "bytes", "complete")


class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def control(app, name, data, query):
    """The answer of /_control/<name> (data: the JSON body, query: raw)."""
    fn = ENDPOINTS.get(name.replace("-", "_"))
    if fn is None:
        return json_resp({"error": "unknown control endpoint"}, 404)
    try:
        return fn(app, data, urllib.parse.parse_qs(query))
    except ControlError as e:
        return json_resp({"error": str(e)}, e.status)


def norm_kind(kind):
    """"model" or "models" -> "model" (any kind of repo_urls.KINDS)."""
    kind = str(kind)
    if kind in API_KIND:
        return API_KIND[kind]
    if kind not in KIND_API:
        raise ControlError(400, "kind must be %s" % kinds_text())
    return kind


def repo_arg(app, args):
    kind = norm_kind(args.get("kind") or "model")
    rid = args.get("repo")
    repo = app.repos.get((kind, rid))
    if repo is None:
        raise ControlError(404, "unknown repo %s/%s" % (kind, rid))
    return repo


def ctl_ping(app, data, q):
    return json_resp({"ok": True})


def ctl_reset(app, data, q):
    app.reset()
    return json_resp({"ok": True})


def ctl_log(app, data, q):
    with app.lock:
        entries = [{k: e[k] for k in LOG_KEYS} for e in app.log]
    return json_resp(entries)


def ctl_fixtures(app, data, q):
    out = []
    with app.lock:
        for (kind, rid), r in app.repos.items():
            commits = {}
            for cid, c in r.commits.items():
                commits[cid] = {
                    "label": c.label, "parent": c.parent, "title": c.title,
                    "date": c.date,
                    "files": {p: fe.fixture_json() for p, fe in sorted(c.files.items())}}
            out.append({"kind": kind, "id": rid, "private": r.private, "gated": r.gated,
                        "disabled": r.disabled, "refs": dict(r.refs), "commits": commits})
        for (kind, rid), new in app.renamed.items():
            out.append({"kind": kind, "id": rid, "renamed_to": new, "refs": {},
                        "commits": {}})
    return json_resp({"repos": out, "hub_port": app.hub_port, "cdn_port": app.cdn_port,
                      "tokens": list(app.tokens),
                      "noaccess_tokens": list(app.noaccess_tokens)})


def ctl_content(app, data, q):
    args = {k: v[-1] for k, v in q.items()}
    args.update(data)
    with app.lock:
        repo = repo_arg(app, args)
        cid = repo.find_commit(args.get("commit") or args.get("rev") or "main")
        if cid is None:
            raise ControlError(404, "unknown commit")
        fe = repo.commits[cid].files.get(args.get("path", ""))
    if fe is None:
        raise ControlError(404, "unknown path")
    return Resp(200, [("Content-Type", "application/octet-stream"),
                      ("ETag", '"%s"' % fe.etag)], src=fe.src)


def ctl_config(app, data, q):
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
        url_ttl = int(data.get("url_ttl", app.url_ttl))
        page_size = max(1, int(data.get("page_size", app.page_size)))
    except (TypeError, ValueError):
        raise ControlError(400, "quotas, quota_window, url_ttl and page_size must be integers")
    if min(list(quota.values()) + [0]) < 0 or window < 1:
        raise ControlError(400, "quotas must be >= 0 and quota_window >= 1")
    with app.lock:
        if "url_ttl" in data:
            app.url_ttl = url_ttl
        if "page_size" in data:
            app.page_size = page_size
        if "resolve_mode" in data:
            app.resolve_mode = mode
        app.quota.update(quota)   # counters are kept
        if "quota_window" in data:
            app.quota_window = window
            restart_window(app)
        return json_resp({"url_ttl": app.url_ttl, "page_size": app.page_size,
                          "resolve_mode": app.resolve_mode, "quota": dict(app.quota),
                          "quota_window": app.quota_window})


def ctl_ratelimit(app, data, q):
    """The rate-limit counters of the current window (not counted)."""
    return json_resp(counters(app))


def ctl_tokens(app, data, q):
    lists = {k: data[k] for k in ("tokens", "noaccess_tokens") if k in data}
    if not lists or not all(isinstance(v, list) for v in lists.values()):
        raise ControlError(400, "tokens and/or noaccess_tokens must be given, as lists")
    with app.lock:
        if "tokens" in lists:
            app.tokens = [str(t) for t in lists["tokens"]]
        if "noaccess_tokens" in lists:
            app.noaccess_tokens = [str(t) for t in lists["noaccess_tokens"]]
        return json_resp({"ok": True, "tokens": list(app.tokens),
                          "noaccess_tokens": list(app.noaccess_tokens)})


def ctl_move(app, data, q):
    with app.lock:
        repo = repo_arg(app, data)
        ref = data.get("ref") or "main"
        cid = repo.find_commit(str(data.get("commit", "")))
        if cid is None:
            raise ControlError(404, "unknown commit")
        repo.refs[ref] = cid
    return json_resp({"ok": True, "ref": ref, "commit": cid})


def ctl_add_file(app, data, q):
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
        src = text_source(str(data["content"]))
        seed = "content:" + sha1_hex(src.data)
    else:
        seed = str(data.get("seed") or "%s/%s/%s" % (kind, rid, path))
        src = GenSource(seed, int(data.get("size", 0)))
    # Hash outside the lock: a multi-GiB file takes seconds.
    fe = FileEntry(path, src, storage)
    ref = data.get("ref") or "main"
    with app.lock:
        repo = app.repos.get((kind, rid))
        if repo is None:   # extension: unknown repos are created (public)
            repo = app.repos[(kind, rid)] = Repo(kind, rid)
        # A new ref forks from main.
        parent_id = repo.find_commit(ref) or repo.refs.get("main")
        parent = repo.commits.get(parent_id) if parent_id else None
        files = dict(parent.files) if parent else {}
        files[path] = fe
        label = "add:%s:%s:%s:%d:%s" % (parent_id, path, seed, src.size, storage)
        ts = parent.ts + DAY if parent else T0 + 100 * DAY
        c = repo.add_commit(label, parent_id, "Add %s" % path, ts, files)
        repo.refs[ref] = c.id
        app.register_blobs(c)
    return json_resp({"commit": c.id, "sha256": fe.sha256, "git_sha1": fe.git_sha1,
                      "size": fe.size, "etag": fe.etag})


def ctl_fault(app, data, q):
    try:
        f = make_fault(data)
    except BadFault as e:
        raise ControlError(400, str(e))
    with app.lock:
        app.faults.append(f)
    return json_resp({"ok": True})


ENDPOINTS = {
    "ping": ctl_ping, "reset": ctl_reset, "log": ctl_log, "fixtures": ctl_fixtures,
    "content": ctl_content, "config": ctl_config, "ratelimit": ctl_ratelimit,
    "tokens": ctl_tokens, "move": ctl_move, "add_file": ctl_add_file, "fault": ctl_fault,
}
