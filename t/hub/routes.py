"""The hub port's routing: which concern answers which request
(routes_resolve, routes_api), what is left (unknown paths 404, OPTIONS,
writes answered 200 and only logged), and the headers every hub answer
carries (Vary, RateLimit, RateLimit-Policy, X-HF-Warning).
"""

from access import token_state
from messages import Resp, json_resp, not_found
from ratelimit import rate_headers
from routes_api import api_route
from routes_resolve import resolve_cache, resolve_route

HUB_VARY = "Origin, Accept"
ANON_WARNING = "unauthenticated; Authenticate with a token to get higher rate limits."


def hub_route(app, req):
    """The answer of a hub request (not /_control/; faults and 429s come first)."""
    path, _, query = req.raw.partition("?")
    segs = path.split("/")[1:]
    resp = None
    if segs and segs[0] == "api":
        api = segs[1:]
        if api and api[0] == "resolve-cache" and req.method in ("GET", "HEAD"):
            return resolve_cache(app, req, api[1:], query)
        resp = api_route(app, req, api, path, query)
    elif req.method in ("GET", "HEAD"):
        resp = resolve_route(app, req, segs, query)
    return resp or unrouted(req)


def unrouted(req):
    """What no route takes: 404 for GET/HEAD, 204 for OPTIONS, and writes."""
    if req.method in ("GET", "HEAD"):
        return not_found()
    if req.method == "OPTIONS":
        return Resp(204, [("Allow", "GET, HEAD, POST, PUT, DELETE")])
    # Writes are not implemented: tests only check they were (not) sent.
    return json_resp({"ok": True})


def hub_headers(app, req, resp, rate):
    """Add what every hub answer carries, unless the answer has it already
    (a fault's own headers win): Vary, RateLimit, RateLimit-Policy, and
    X-HF-Warning when no valid token was sent."""
    extra = [("Vary", HUB_VARY)]
    extra += rate_headers(app, rate["bucket"], rate["remaining"], rate["reset"])
    if token_state(app, req) in ("none", "invalid"):
        extra.append(("X-HF-Warning", ANON_WARNING))
    have = {k.lower() for k, _ in resp.headers}
    resp.headers += [(k, v) for k, v in extra if k.lower() not in have]
