"""How URLs name repositories: the kinds of repository (their URL prefix and
API type), and reading a repo id, a revision and a file path out of the
segments of a request path. A new kind is one row of KINDS.
"""

import re
import urllib.parse

# (kind, URL prefix of /resolve/ and the Hub's pages, type in /api/{type}/)
KINDS = (
    ("model", "", "models"),
    ("dataset", "datasets/", "datasets"),
    ("space", "spaces/", "spaces"),
    ("kernel", "kernels/", "kernels"),
)
KIND_PREFIX = {kind: prefix for kind, prefix, _ in KINDS}
KIND_API = {kind: api for kind, _, api in KINDS}
API_KIND = {v: k for k, v in KIND_API.items()}
# The first segment of /{prefix}{repo}/resolve/... -> kind (models have none).
URL_PREFIX_KIND = {prefix.rstrip("/"): kind for kind, prefix, _ in KINDS if prefix}
HEX40 = re.compile(r"[0-9a-f]{40}")


def kinds_text():
    """"model, dataset, space or kernel": the kinds, for error messages."""
    names = [kind for kind, _, _ in KINDS]
    return "%s or %s" % (", ".join(names[:-1]), names[-1])


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


def pick_repo_index(app, kind, segs, candidates):
    """Where the repo id ends when both `x/<word>` and `x/y/<word>` parse:
    the first candidate naming a known (or renamed) repo, else the first."""
    for i in candidates:
        rid = join_path(segs[:i])
        if (kind, rid) in app.repos or (kind, rid) in app.renamed:
            return i
    return candidates[0]
