"""Fetching an output image without letting a server point this machine at its own network."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

from components.api import errors
from components.api.constants import MAX_OUTPUT_BYTES, MAX_REDIRECTS
from components.api.transport import Transport


def is_internal(host: str) -> bool:
    """True when the host is, or resolves to, an address that is not on the public internet."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return False  # unresolvable: the download fails on its own, with its own message
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global or ip.is_multicast:
            return True
    return False


def check_download_target(url: str, api_base: str) -> None:
    """Refuse to fetch from this machine's network (a server could point `output` anywhere).

    Private, loopback, link-local and other special addresses are refused unless the
    configured API is itself on such an address (the emulator, a test server).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.OutputError("the output is not an http(s) URL")
    if is_internal(urlsplit(api_base).hostname or ""):
        return
    if is_internal(parts.hostname):
        raise errors.OutputError("refused to download the output from a private or local address")


def download(transport: Transport, url: str, api_base: str) -> bytes:
    """An output image, capped in size and time; the key goes only to the hosts the transport trusts.

    Redirects (to a CDN, say) are followed here, one hop at a time, so each hop is
    checked and gets the headers chosen for its own host.
    """
    for _ in range(MAX_REDIRECTS + 1):
        check_download_target(url, api_base)
        response = transport.request("GET", url, idempotent=True, stream=True)
        if response.is_redirect and response.headers.get("Location"):
            url = urljoin(url, response.headers["Location"])
            response.close()
            continue
        break
    else:
        raise errors.OutputError("the output URL redirected too many times")
    with response:
        if not response.ok:
            raise errors.OutputError(f"downloading the output answered HTTP {response.status_code}")
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind and not (kind.startswith("image/") or kind == "application/octet-stream"):
            raise errors.OutputError(f"the output URL served {kind}, not an image")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_OUTPUT_BYTES:
            raise errors.OutputError("the output image is larger than this app accepts")
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_OUTPUT_BYTES:
                raise errors.OutputError("the output image is larger than this app accepts")
            chunks.append(chunk)
    return b"".join(chunks)
