"""Every number and fixed string of the Segmind wire that more than one module needs.

Taken from the vendor SDK's defaults and Segmind's docs (see shared/segmind-contract.md);
the reasons for our own choices sit beside them.
"""

from __future__ import annotations

DEFAULT_API_BASE = "https://api.segmind.com"
DEFAULT_STORAGE_BASE = "https://workflows-api.segmind.com"
USER_AGENT = "gpt-image-edit-explorer/2.0 (+python-requests)"

# Per-request timeouts, and how long a job is followed: the SDK's 600 s deadline and 1 s cadence.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
DEADLINE = 600.0
POLL_INTERVAL = 1.0

# HTTP answers that say "not now" rather than "no": a request that got one may be tried again
# (a paid submit only after 429, which means it was refused), and a job being followed is
# waited out through them. The one place this set is written.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})

# The longest pause between status polls while the status endpoint is in trouble.
MAX_TROUBLE_WAIT = 30.0
MAX_REDIRECTS = 5
# A result larger than this is refused rather than held in memory.
MAX_OUTPUT_BYTES = 64 * 1024 * 1024

# How long Segmind keeps things, and the sentence every message uses for it. A job's record (what
# the status and result URLs answer) lives one hour counted from its *submission*, finished or not;
# the output files a finished record links to sit on a separate storage host and stay downloadable
# for about seven days. So an expired request id does not mean a lost image if its URL was kept.
RESULT_RETENTION_SECONDS = 3600
OUTPUT_RETENTION_SECONDS = 7 * 24 * 3600
RESULT_RETENTION = (
    "Segmind keeps a job's record (status and result) for one hour from submission; "
    "its output files stay downloadable for about 7 days"
)

# Headers whose values never reach a log.
SENSITIVE_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie"})
# A header whose name contains one of these may carry a credential: a capture file leaves it out whole.
KEY_LIKE_HEADER_PARTS = ("key", "token", "secret", "auth", "cookie", "password", "session", "signature")

# Rate-limit manners (see polling.RateLimitMemory): the slowest the poll schedule of an account is pushed
# by 429s; the factor each successful poll takes off that floor; and the half-life of the floor while the
# account is idle.
MAX_RATE_LIMITED_INTERVAL = 30.0
RATE_LIMIT_RECOVERY = 0.95
RATE_LIMIT_HALF_LIFE = 600.0

# A capture file keeps a long base64 string (an uploaded or returned image) as a prefix and its length.
CAPTURE_TEXT_PREFIX = 64
CAPTURE_MAX_TEXT = 4096
