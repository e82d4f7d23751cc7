"""The repo API on the hub port: /api/whoami-v2, and under
/api/{type}/{repo}: repo info and /revision/{rev}, /tree/{rev}[/{path}]
(pages and their Link), POST /paths-info/{rev}, /xet-read-token/{rev}.
Renamed repos answer their 307 through access. /api/resolve-cache/ is
routes_resolve's; writes and unknown paths are routes'.
"""

import base64
import json
import time
import urllib.parse

from access import WWW_AUTH, access, rev_error, token_state
from content import sha1_hex
from messages import error_resp, json_resp, not_found, truthy
from repo_urls import API_KIND, join_path, pick_repo_index, split_rev

DEFAULT_PAGE_SIZE = 1000
# Words that follow the repo id in /api/{type}s/{repo}/<word>/...
API_ACTIONS = {"revision", "tree", "paths-info", "xet-read-token", "commit",
               "preupload", "refs", "commits", "branch", "tag", "settings"}


def api_route(app, req, segs, path, query):
    """/api/<segs...> (segs without "api"), or None when no API route takes it."""
    m = req.method
    if segs == ["whoami-v2"] and m in ("GET", "HEAD"):
        return whoami(app, req)
    if len(segs) >= 2 and segs[0] in API_KIND:
        kind, rest = API_KIND[segs[0]], segs[1:]
        cands = [i for i in (1, 2) if len(rest) > i and rest[i] in API_ACTIONS]
        if cands:
            idx = pick_repo_index(app, kind, rest, cands)
            action, args = rest[idx], rest[idx + 1:]
        elif len(rest) in (1, 2):
            idx, action, args = len(rest), None, []
        else:
            idx, action, args = None, None, []
        readable = (m in ("GET", "HEAD") and action in (None, "revision", "tree",
                                                        "xet-read-token"))
        if idx is not None and (readable or (m == "POST" and action == "paths-info")):
            return api_repo(app, req, kind, segs[0], rest, idx, action, args, path, query)
    return None


def whoami(app, req):
    tok = token_state(app, req)
    if tok == "invalid":
        return error_resp(401, None, "Invalid credentials in Authorization header")
    if tok == "none":
        return error_resp(401, None, "Invalid username or password.",
                          [("WWW-Authenticate", WWW_AUTH)])
    name = "test-user" if tok == "valid" else "test-noaccess-user"
    return json_resp({"type": "user", "name": name,
                      "auth": {"type": "access_token",
                               "accessToken": {"displayName": "test", "role": "read"}}})


def api_repo(app, req, kind, type_seg, rest, idx, action, args, path, query):
    rid = join_path(rest[:idx])

    def moved(new_id):
        loc = "/api/%s/%s" % (type_seg, new_id)
        if rest[idx:]:
            loc += "/" + "/".join(rest[idx:])
        return loc + ("?" + query if query else "")

    repo, err = access(app, req, kind, rid, moved)
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
        return rev_error(rev)
    q = urllib.parse.parse_qs(query, keep_blank_values=True)
    if action in (None, "revision"):
        return json_resp(info_json(repo, cid, truthy(q.get("blobs", "false"))),
                         headers=[("X-Repo-Commit", cid)])
    if action == "tree":
        return tree(app, repo, cid, join_path(args), q, path, query)
    if action == "paths-info":
        return paths_info(req, repo, cid)
    return xet_read_token(app, cid)


def xet_read_token(app, cid):
    # Tests assert nobody asks for it through the cache.
    exp = int(time.time()) + 3600
    token = "xet_" + sha1_hex(("%s:%d" % (cid, exp)).encode())
    return json_resp({"accessToken": token, "exp": exp, "casUrl": app.cdn_base},
                     headers=[("X-Xet-Cas-Url", app.cdn_base),
                              ("X-Xet-Access-Token", token),
                              ("X-Xet-Token-Expiration", str(exp))])


def info_json(repo, cid, blobs):
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


def subtree_sig(commit, path):
    pre = path + "/"
    return tuple(sorted((p, fe.git_sha1) for p, fe in commit.files.items()
                        if p == path or p.startswith(pre)))


def last_commit(repo, cid, path):
    """The oldest ancestor from which `path` (file or dir) is unchanged."""
    cur = repo.commits[cid]
    sig = subtree_sig(cur, path)
    while cur.parent and subtree_sig(repo.commits[cur.parent], path) == sig:
        cur = repo.commits[cur.parent]
    return {"id": cur.id, "title": cur.title, "date": cur.date}


def entry_json(repo, cid, path, fe, expand):
    if fe is None:
        d = {"type": "directory",
             "oid": sha1_hex(repr(subtree_sig(repo.commits[cid], path)).encode()),
             "size": 0, "path": path}
    else:
        d = {"type": "file", "oid": fe.git_sha1, "size": fe.size, "path": path}
        if fe.storage != "regular":
            d["lfs"] = {"oid": fe.sha256, "size": fe.size, "pointerSize": fe.pointer_size}
        if fe.storage == "xet":
            d["xetHash"] = fe.xet_hash
    if expand:
        d["lastCommit"] = last_commit(repo, cid, path)
    return d


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


def tree(app, repo, cid, tpath, q, path, query):
    entries = list_dir(repo.commits[cid], tpath, truthy(q.get("recursive", "false")))
    if entries is None:
        return error_resp(404, "EntryNotFound", "Entry not found", [("X-Repo-Commit", cid)])
    offset = 0
    if "cursor" in q:
        try:
            raw = q["cursor"][-1]
            offset = int(json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["o"])
        except (ValueError, KeyError, TypeError):
            return json_resp({"error": "Invalid cursor"}, 400)
    size = max(1, int(app.page_size))
    try:   # `limit` may lower the page size, never raise it; bad values are ignored
        limit = int(q["limit"][-1]) if "limit" in q else 0
    except ValueError:
        limit = 0
    if limit >= 1:
        size = min(size, limit)
    expand = truthy(q.get("expand", "false"))
    page = [entry_json(repo, cid, p, fe, expand) for p, fe in entries[offset:offset + size]]
    headers = [("X-Repo-Commit", cid)]
    if offset + size < len(entries):
        cursor = base64.urlsafe_b64encode(json.dumps({"o": offset + size}).encode())
        cursor = cursor.decode().rstrip("=")
        # Absolute URL: same path, the query without the old limit and
        # cursor, then limit=<page size>&cursor=<next> (as huggingface.co).
        parts = [p for p in query.split("&") if p and urllib.parse.unquote(
            p.partition("=")[0]) not in ("limit", "cursor")]
        parts += ["limit=%d" % size, "cursor=" + cursor]
        headers.append(("Link", '<%s%s?%s>; rel="next"' % (app.hub_base, path, "&".join(parts))))
    return json_resp(page, headers=headers)


def paths_info(req, repo, cid):
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
            out.append(entry_json(repo, cid, p, commit.files[p], expand))
        elif p and list_dir(commit, p, False) is not None:
            out.append(entry_json(repo, cid, p, None, expand))
    return json_resp(out, headers=[("X-Repo-Commit", cid)])
