"""The CDN: signed, expiring URLs (sign, used by the hub's 302s) and the CDN
port's routes, /lfs/<sha256> and /xet-bridge/<sha256>, which serve the
large files' bytes (app.blobs). No rate limits, no common hub headers.
"""

import hashlib
import hmac
import re
import time
import urllib.parse

from messages import not_found, ranged, text_resp

DEFAULT_URL_TTL = 3600
# Fixed secret: signed CDN URLs stay valid across a restart of the hub.
CDN_SECRET = b"fake-hub-cdn-signing-secret"


def signature(path, expires):
    msg = ("%s?expires=%s" % (path, expires)).encode()
    return hmac.new(CDN_SECRET, msg, hashlib.sha256).hexdigest()


def sign(app, path):
    """The absolute CDN URL of path, valid app.url_ttl seconds."""
    expires = int(time.time()) + int(app.url_ttl)
    return "%s%s?expires=%d&sig=%s" % (app.cdn_base, path, expires,
                                       signature(path, str(expires)))


def cdn_route(app, req):
    path, _, query = req.raw.partition("?")
    m = re.fullmatch(r"/(lfs|xet-bridge)/([0-9a-f]{64})", path)
    if not m or req.method not in ("GET", "HEAD"):
        return not_found()
    q = urllib.parse.parse_qs(query)
    expires = (q.get("expires") or [""])[-1]
    sig = (q.get("sig") or [""])[-1]
    if not expires.isdigit() or not hmac.compare_digest(signature(path, expires), sig):
        return text_resp(403, "Signature mismatch")
    if time.time() > int(expires):
        return text_resp(403, "Request has expired")
    fe = app.blobs.get(m.group(2))
    if fe is None:
        return not_found()
    # Like the Xet bridge: the ETag is the Xet hash, never the sha256.
    headers = [("Content-Type", "application/octet-stream"),
               ("ETag", '"%s"' % fe.xet_hash), ("Accept-Ranges", "bytes")]
    return ranged(req, headers, fe.src)
