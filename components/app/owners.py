"""Whose runs are whose: owner ids this server makes and signs, so a page can't make one up.

A browser keeps a token, `<owner id>.<signature>`. Gradio keeps it (encrypted) in the browser's
storage, but the key for that is served to every page, so the encryption only hides it from a
casual look: what stops a visitor claiming an id they chose is the signature, which only this
server can make. Stolen tokens are still bearer tokens (as a cookie is); nothing the app lets a
visitor download contains one.

A visitor signed in with Hugging Face (on a Space with `hf_oauth: true`) owns their runs as that
account, on every browser and device. The account's owner id is derived, not stored: an HMAC of the
account's Hugging Face user id under this server's secret, so it is the same after a restart and on
any device, and nobody without the secret can compute it. It never leaves the server: no token
names an account. A request is the account's only while Gradio's signed session cookie says the
visitor is signed in as it; the browser's own token stays what it was, so after signing out the
page is that browser's again, never the account's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Callable, Mapping

OWNER_ID = re.compile(r"[A-Za-z0-9_-]{24}")
SIGNATURE_CHARS = 32  # 192 bits of HMAC-SHA256, base64url


@dataclass(frozen=True)
class Account:
    """A Hugging Face account, as its OAuth profile names it.

    `subject` is Hugging Face's user id (the OpenID `sub`), which outlives a rename; a username alone
    would hand an account's history to whoever takes the name it gave up.
    """
    subject: str
    username: str

    @classmethod
    def from_profile(cls, profile: Mapping[str, object] | None) -> Account | None:
        """The account an OpenID profile (Gradio's OAuthProfile is one) names; None when signed out."""
        if not profile:
            return None
        username = str(profile.get("preferred_username") or "")
        subject = str(profile.get("sub") or "")
        if not username and not subject:
            return None
        # Hugging Face always sends `sub`; a profile without one is keyed by its username, in its own domain.
        return cls(f"sub:{subject}" if subject else f"user:{username}", username or subject)


@dataclass(frozen=True)
class Owner:
    """Whose runs a request works on.

    `id` is what runs are stored under: the browser's own id, or the signed-in account's. `token` is
    what the browser keeps, its own signed id, whether or not it is signed in.
    """
    id: str
    token: str
    account: Account | None = None

    @property
    def signed_in(self) -> bool:
        return self.account is not None


class OwnerIds:
    """Makes, signs and checks owner tokens with one secret that outlives restarts.

    `known(id)` says whether an id already has runs: a browser from before ids were signed keeps
    its history (its plain id is signed on its next visit), while a made-up plain id gets a new one.
    """

    def __init__(self, secret: str, known: Callable[[str], bool] = lambda owner: False) -> None:
        self._key = secret.encode()
        self._known = known

    def _mac(self, domain: bytes, text: str) -> str:
        digest = hmac.new(self._key, domain + text.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()

    def _signature(self, owner: str) -> str:
        return self._mac(b"owner:", owner)[:SIGNATURE_CHARS]

    def account_id(self, account: Account) -> str:
        """The owner id an account's runs are kept under: the same on every device and after restarts."""
        return self._mac(b"hf-account:", account.subject)[:24]

    def token(self, owner: str) -> str:
        if not OWNER_ID.fullmatch(owner):
            raise ValueError("not an owner id")
        return f"{owner}.{self._signature(owner)}"

    def browser_of(self, token: object) -> str | None:
        """The browser owner id a token was signed for; None for anything this server did not sign."""
        if not isinstance(token, str) or len(token) != 24 + 1 + SIGNATURE_CHARS:
            return None
        owner, _, signature = token.partition(".")
        if not OWNER_ID.fullmatch(owner):
            return None
        return owner if hmac.compare_digest(signature, self._signature(owner)) else None

    def owner_of(self, token: object, account: Account | None = None) -> str | None:
        """Whose runs a request may read: the signed-in account's, else the browser's (None if unsigned)."""
        return self.account_id(account) if account is not None else self.browser_of(token)

    def new(self) -> Owner:
        owner = secrets.token_urlsafe(18)
        return Owner(owner, self.token(owner))

    def browser(self, token: object) -> Owner:
        """This browser's own owner: the one its token names, its old unsigned id if that has runs, or a new one."""
        owner = self.browser_of(token)
        if owner is not None:
            return Owner(owner, token)  # type: ignore[arg-type]  # browser_of checked it is a str
        if isinstance(token, str) and OWNER_ID.fullmatch(token) and self._known(token):
            return Owner(token, self.token(token))
        return self.new()

    def ensure(self, token: object, account: Account | None = None) -> Owner:
        """Whose runs a request makes: the signed-in account's, else the browser's (made if it has none).

        The token returned is always the browser's own, for the browser to keep.
        """
        browser = self.browser(token)
        if account is None:
            return browser
        return Owner(self.account_id(account), browser.token, account)
