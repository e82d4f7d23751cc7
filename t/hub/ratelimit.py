"""Rate limits: the three buckets (resolvers, api, pages), their fixed
windows and counters, the RateLimit / RateLimit-Policy headers and the 429
of an exhausted bucket. The counters and quotas live in the App
(app.quota, app.quota_window, app.rate_*); this module is their only
writer besides App.reset and /_control/config.
"""

import math
import time

from messages import error_resp

# Fixed windows (seconds) counted from start/reset, one counter per bucket;
# quotas are huggingface.co's anonymous per-IP ones.
DEFAULT_QUOTA_WINDOW = 300
DEFAULT_QUOTA = {"api": 500, "resolvers": 3000, "pages": 100}
RATE_ACTION = {"api": "api", "resolvers": "resolve", "pages": "pages"}
DEFAULT_RATELIMIT_RESET = 52   # `t` of the ratelimit fault's 429


def rate_bucket(path):
    """The rate-limit bucket of a hub request path (no query)."""
    if path.startswith("/api/resolve-cache/"):
        return "resolvers"
    if path == "/api" or path.startswith("/api/"):
        return "api"
    if "/resolve/" in path:
        return "resolvers"
    return "pages"


def restart_window(app):
    """A new window starts now, counters zeroed (start, reset, new window length)."""
    app.rate_start = time.monotonic()
    app.rate_index = 0
    app.rate_used = dict.fromkeys(DEFAULT_QUOTA, 0)


def current_window(app):
    """Roll the fixed window if it ended; seconds left in the current one."""
    now = time.monotonic()
    n = int((now - app.rate_start) // app.quota_window)
    if n != app.rate_index:
        app.rate_index, app.rate_used = n, dict.fromkeys(DEFAULT_QUOTA, 0)
    end = app.rate_start + (n + 1) * app.quota_window
    return max(1, int(math.ceil(end - now)))


def count_request(app, path):
    """Count one hub request in its bucket.

    Returns {"bucket", "quota", "remaining", "reset" (seconds to the end of
    the window), "exceeded" (the request is over the quota: answer 429)}.
    """
    with app.lock:
        reset = current_window(app)
        bucket = rate_bucket(path)
        app.rate_used[bucket] += 1
        used, quota = app.rate_used[bucket], app.quota[bucket]
        return {"bucket": bucket, "quota": quota, "remaining": max(0, quota - used),
                "reset": reset, "exceeded": used > quota}


def rate_headers(app, bucket, remaining, reset):
    return [("RateLimit", '"%s";r=%d;t=%d' % (bucket, remaining, reset)),
            ("RateLimit-Policy", '"fixed window";"%s";q=%d;w=%d'
             % (bucket, app.quota[bucket], app.quota_window))]


def too_many(app, bucket, reset, retry_after=None):
    """The 429 of an exhausted bucket (r=0); Retry-After only when given."""
    msg = ("You have exceeded our hourly quotas for action '%s'. We invite you to "
           "retry later or on a new IP address." % RATE_ACTION[bucket])
    headers = rate_headers(app, bucket, 0, reset)
    if retry_after is not None:
        headers.append(("Retry-After", str(retry_after)))
    return error_resp(429, None, msg, headers)


def counters(app):
    """The counters of the current window (GET /_control/ratelimit)."""
    with app.lock:
        reset = current_window(app)
        buckets = {b: {"quota": app.quota[b], "used": app.rate_used[b],
                       "remaining": max(0, app.quota[b] - app.rate_used[b])}
                   for b in DEFAULT_QUOTA}
        return {"window": app.quota_window, "reset": reset, "buckets": buckets}
