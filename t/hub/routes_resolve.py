"""File downloads on the hub port: /{prefix}{repo}/resolve/{rev}/{path}
(regular files: the resolve-cache 307 or the direct 200, by
app.resolve_mode; LFS and Xet files: 302 to the CDN, Xet file info) and
its target /api/resolve-cache/{type}/{repo}/{commit}/{path}.
"""

import urllib.parse

from access import access, rev_error
from cdn import sign
from messages import (Resp, content_disposition, content_type, error_resp, etag_matches,
                      json_resp, not_found, ranged)
from repo_urls import (API_KIND, HEX40, KIND_API, URL_PREFIX_KIND, join_path,
                       pick_repo_index, split_rev)

# How /resolve/ answers for regular files: "cache307" (huggingface.co since
# 2025-07: relative 307 to /api/resolve-cache/...), "cache307-linked" (the
# same 307 plus X-Linked-Etag), "direct" (2024: 200 with the bytes).
RESOLVE_MODES = ("cache307", "cache307-linked", "direct")
DEFAULT_RESOLVE_MODE = "cache307"


def resolve_route(app, req, segs, query):
    """GET|HEAD /{prefix}{repo}/resolve/{rev}/{path}, or None if not one."""
    kind, prefix = "model", ""
    if segs and segs[0] in URL_PREFIX_KIND:
        kind, prefix = URL_PREFIX_KIND[segs[0]], segs[0] + "/"
        segs = segs[1:]
    cands = [i for i in (1, 2) if len(segs) > i + 1 and segs[i] == "resolve"]
    if not cands:
        return None
    idx = pick_repo_index(app, kind, segs, cands)
    rid = join_path(segs[:idx])
    rev, rest = split_rev(segs[idx + 1:])
    fpath = join_path(rest)

    def moved(new_id):
        loc = "/" + prefix + new_id + "/" + "/".join(segs[idx:])
        return loc + ("?" + query if query else "")

    repo, err = access(app, req, kind, rid, moved)
    if err:
        return err
    cid = repo.resolve(rev)
    if cid is None:
        return rev_error(rev)
    fe = repo.commits[cid].files.get(fpath)
    if fe is None:
        return error_resp(404, "EntryNotFound", "Entry not found",
                          [("X-Repo-Commit", cid)])
    if fe.storage == "regular":
        if redirects_to_cache(app, repo, fe):
            return cache_redirect(app, req, repo, cid, fpath, fe, query)
        return ranged(req, regular_headers(fpath, fe, cid), fe.src)
    linked = [("X-Repo-Commit", cid), ("X-Linked-Etag", '"%s"' % fe.sha256),
              ("X-Linked-Size", str(fe.size)), ("ETag", '"%s"' % fe.sha256)]
    if fe.storage == "lfs":
        return Resp(302, [("Location", sign(app, "/lfs/" + fe.sha256))] + linked +
                    [("Content-Type", "text/plain; charset=utf-8")])
    # Xet: the headers that would let a client bypass a proxy.
    route = "/api/%s/%s/xet-read-token/%s" % (KIND_API[kind], repo.id, cid)
    refresh = app.hub_base + route
    recon = "%s/reconstructions/%s" % (app.cdn_base, fe.xet_hash)
    xet = [("X-Xet-Hash", fe.xet_hash), ("X-Xet-Refresh-Route", route),
           ("Link", '<%s>; rel="xet-auth", <%s>; rel="xet-reconstruction-info"'
            % (refresh, recon))]
    if "application/vnd.xet-fileinfo+json" in (req.headers.get("Accept") or ""):
        info = {"hash": fe.xet_hash, "refreshUrl": refresh, "reconstructionUrl": recon,
                "etag": fe.sha256, "size": fe.size}
        return json_resp(info, 200, linked + xet, ctype="application/vnd.xet-fileinfo+json")
    return Resp(302, [("Location", sign(app, "/xet-bridge/" + fe.sha256))] + linked + xet +
                [("Content-Type", "text/plain; charset=utf-8")])


def regular_headers(fpath, fe, cid):
    """Headers of a regular file's 200 (direct /resolve/ and resolve-cache)."""
    return [("Content-Type", content_type(fpath)), ("ETag", '"%s"' % fe.git_sha1),
            ("X-Repo-Commit", cid), ("Accept-Ranges", "bytes")]


def redirects_to_cache(app, repo, fe):
    """Does /resolve/ answer this regular file with the resolve-cache 307?

    Not in "direct" mode; never (as on huggingface.co) for private or
    gated repos, single-segment repo ids or empty files: those get the
    direct 200 in every mode.
    """
    return (app.resolve_mode != "direct" and not repo.private and not repo.gated
            and "/" in repo.id and fe.size > 0)


def cache_redirect(app, req, repo, cid, fpath, fe, query):
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
    if app.resolve_mode == "cache307-linked":
        headers.append(("X-Linked-Etag", '"%s"' % fe.git_sha1))
    return Resp(307, headers, ("Temporary Redirect. Redirecting to %s" % loc).encode())


def resolve_cache(app, req, segs, query):
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
    known = [i for i in cands if (kind, join_path(rest[:i])) in app.repos
             or (kind, join_path(rest[:i])) in app.renamed]
    commits = [i for i in cands if HEX40.fullmatch(rest[i])]
    idx = (known or commits or cands[-1:])[0]
    rid = join_path(rest[:idx])
    rev = urllib.parse.unquote(rest[idx])
    fpath = join_path(rest[idx + 1:])

    def moved(new_id):
        loc = "/api/resolve-cache/%s/%s/%s" % (type_seg, new_id, "/".join(rest[idx:]))
        return loc + ("?" + query if query else "")

    repo, err = access(app, req, kind, rid, moved)
    if err:
        return err
    if not HEX40.fullmatch(rev) or rev not in repo.commits:
        return rev_error(rev)
    fe = repo.commits[rev].files.get(fpath)
    if fe is None or fe.storage != "regular":
        return error_resp(404, "EntryNotFound", "Entry not found", [("X-Repo-Commit", rev)])
    headers = regular_headers(fpath, fe, rev)
    if etag_matches(req.headers.get("If-None-Match"), fe.git_sha1):
        return Resp(304, headers)
    return ranged(req, headers, fe.src)
