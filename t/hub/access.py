"""Who may see what: the tokens (full-access, no-access, invalid), and the
answers of a repo request before its file, in huggingface.co's order
(invalid token 401 -> renamed 307 -> missing or private 401/404 ->
disabled 403 -> gated 401/403 -> revision 404). The token lists live in the
App (app.tokens, app.noaccess_tokens); their defaults are here.
"""

import re

from messages import Resp, error_resp
from repo_urls import KIND_PREFIX

# Tokens with access to every repo, private and gated ones included.
DEFAULT_TOKENS = (
    "hf_testtoken0123456789abcdefghijklmn",
    "hf_rotatedtoken0123456789abcdefghij",
)
# Valid tokens without access to private or gated repos (a fine-grained
# token scoped to other repos, or a user who did not accept a gate).
DEFAULT_NOACCESS_TOKENS = ("hf_noaccesstoken0123456789abcdefghij",)
WWW_AUTH = 'Bearer realm="Authentication required", charset="UTF-8"'


def token_state(app, req):
    """"none", "valid" (full access), "noaccess" (valid, but no access to
    private or gated repos) or "invalid" (header present, not a valid Bearer)."""
    auth = req.headers.get("Authorization")
    if auth is None:
        return "none"
    m = re.fullmatch(r"\s*Bearer\s+(\S+)\s*", auth, re.I)
    token = m.group(1) if m else None
    if token in app.tokens:
        return "valid"
    if token in app.noaccess_tokens:
        return "noaccess"
    return "invalid"


def access(app, req, kind, rid, moved_location):
    """(repo, None) when the request may see the repo, else (None, Resp).

    moved_location(new_id) builds the relative 307 target for renamed repos.
    The error shapes are huggingface.co's (hub-protocol.md section 3).
    """
    tok = token_state(app, req)
    if tok == "invalid":
        return None, error_resp(401, None, "Invalid credentials in Authorization header")
    if (kind, rid) in app.renamed:
        loc = moved_location(app.renamed[(kind, rid)])
        return None, Resp(307, [("Location", loc),
                                ("Content-Type", "text/plain; charset=utf-8")])
    repo = app.repos.get((kind, rid))
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


def rev_error(rev):
    """The answer for a revision the repo does not have."""
    return error_resp(404, "RevisionNotFound", "Invalid rev id: %s" % rev)
