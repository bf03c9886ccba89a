"""Whose runs are whose: owner ids this server makes and signs, so a page can't make one up.

A browser keeps a token, `<owner id>.<signature>`. Gradio keeps it (encrypted) in the browser's
storage, but the key for that is served to every page, so the encryption only hides it from a
casual look: what stops a visitor claiming an id they chose is the signature, which only this
server can make. Stolen tokens are still bearer tokens (as a cookie is); nothing the app lets a
visitor download contains one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Callable

OWNER_ID = re.compile(r"[A-Za-z0-9_-]{24}")
SIGNATURE_CHARS = 32  # 192 bits of HMAC-SHA256, base64url


@dataclass(frozen=True)
class Owner:
    """A browser's owner: the id runs are stored under, and the signed token the browser keeps."""
    id: str
    token: str


class OwnerIds:
    """Makes, signs and checks owner tokens with one secret that outlives restarts.

    `known(id)` says whether an id already has runs: a browser from before ids were signed keeps
    its history (its plain id is signed on its next visit), while a made-up plain id gets a new one.
    """

    def __init__(self, secret: str, known: Callable[[str], bool] = lambda owner: False) -> None:
        self._key = secret.encode()
        self._known = known

    def _signature(self, owner: str) -> str:
        digest = hmac.new(self._key, b"owner:" + owner.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_CHARS]

    def token(self, owner: str) -> str:
        if not OWNER_ID.fullmatch(owner):
            raise ValueError("not an owner id")
        return f"{owner}.{self._signature(owner)}"

    def owner_of(self, token: object) -> str | None:
        """The owner id a token was signed for; None for anything this server did not sign."""
        if not isinstance(token, str) or len(token) != 24 + 1 + SIGNATURE_CHARS:
            return None
        owner, _, signature = token.partition(".")
        if not OWNER_ID.fullmatch(owner):
            return None
        return owner if hmac.compare_digest(signature, self._signature(owner)) else None

    def new(self) -> Owner:
        owner = secrets.token_urlsafe(18)
        return Owner(owner, self.token(owner))

    def ensure(self, token: object) -> Owner:
        """This browser's owner: the one its token names, its old unsigned id if that has runs, or a new one."""
        owner = self.owner_of(token)
        if owner is not None:
            return Owner(owner, token)  # type: ignore[arg-type]  # owner_of checked it is a str
        if isinstance(token, str) and OWNER_ID.fullmatch(token) and self._known(token):
            return Owner(token, self.token(token))
        return self.new()
