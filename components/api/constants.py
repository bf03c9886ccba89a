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

# How long Segmind keeps a job's result, and the sentence every message uses for it.
RESULT_RETENTION_SECONDS = 3600
RESULT_RETENTION = "Segmind keeps a job's result for one hour"

# Headers whose values never reach a log.
SENSITIVE_HEADERS = frozenset({"x-api-key", "authorization", "cookie"})
