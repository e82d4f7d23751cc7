"""The App: the one object holding the fake hub's state, shared by both
listeners and every concern, all of it behind app.lock (an RLock):

  repos, renamed   fixtures.build_fixtures(), then add_file / move
  blobs            sha256 -> FileEntry of every LFS/Xet file (what the CDN serves)
  tokens, noaccess_tokens                       (access; /_control/tokens)
  url_ttl, page_size, resolve_mode, quota, quota_window   (/_control/config)
  rate_start, rate_index, rate_used             (ratelimit)
  faults           (faults; /_control/fault)
  log              (hub_http appends, /_control/log reads)

reset() puts all of it back to the defaults each concern declares.
"""

import threading

from access import DEFAULT_NOACCESS_TOKENS, DEFAULT_TOKENS
from cdn import DEFAULT_URL_TTL
from fixtures import build_fixtures
from ratelimit import DEFAULT_QUOTA, DEFAULT_QUOTA_WINDOW, restart_window
from routes_api import DEFAULT_PAGE_SIZE
from routes_resolve import DEFAULT_RESOLVE_MODE


class App:
    def __init__(self, host, verbose=False):
        self.host, self.verbose = host, verbose
        self.hub_port = self.cdn_port = None
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        repos, renamed = build_fixtures()
        with self.lock:
            self.repos, self.renamed = repos, renamed
            self.blobs = {}   # sha256 -> FileEntry, what the CDN serves
            for r in repos.values():
                for c in r.commits.values():
                    self.register_blobs(c)
            self.tokens = list(DEFAULT_TOKENS)
            self.noaccess_tokens = list(DEFAULT_NOACCESS_TOKENS)
            self.url_ttl = DEFAULT_URL_TTL
            self.page_size = DEFAULT_PAGE_SIZE
            self.resolve_mode = DEFAULT_RESOLVE_MODE
            self.quota = dict(DEFAULT_QUOTA)
            self.quota_window = DEFAULT_QUOTA_WINDOW
            restart_window(self)
            self.faults = []
            self.log = []

    def register_blobs(self, commit):
        """Let the CDN serve the commit's LFS/Xet files."""
        for fe in commit.files.values():
            if fe.storage != "regular":
                self.blobs[fe.sha256] = fe

    @property
    def hub_base(self):
        return "http://%s:%d" % (self.host, self.hub_port)

    @property
    def cdn_base(self):
        return "http://%s:%d" % (self.host, self.cdn_port)
