"""Sign in with Hugging Face: the button, the line saying whose history the page shows, and what a page
does as it opens (the runs a browser made while signed out move to the account it signs in to).

Built only where sign-in works, a Space with `hf_oauth: true` (see settings.py); anywhere else the page
has neither, and each browser keeps its own history as before. The login round trip itself (the
redirect to huggingface.co and back) is Gradio's: this module only reads the profile it leaves in the
session cookie, which Gradio hands to any handler with a parameter typed `gr.OAuthProfile | None`.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from components.app.owners import Account
from components.app.service import EditService
from components.ui import copy


@dataclass
class AccountHeader:
    button: gr.LoginButton
    status: gr.Markdown


def build_account_header() -> AccountHeader:
    """The button and the line under it, inside the caller's column. The line is written as the page
    loads, once the session says who is signed in (before that it would say so wrongly half the time)."""
    button = gr.LoginButton(copy.SIGN_IN, copy.SIGN_OUT, size="md", elem_id="login")
    status = gr.Markdown("", elem_id="account-status")
    return AccountHeader(button, status)


class AccountHandlers:
    def __init__(self, service: EditService, require_login: bool) -> None:
        self.service = service
        self.require_login = require_login

    def open_page(self, owner_token: object, profile: gr.OAuthProfile | None = None) -> tuple[str, str]:
        """A page opens: the browser's token to keep, and the account line. Signed in, the runs this browser
        made while signed out become the account's, and the line (and a toast) say how many."""
        account = Account.from_profile(profile)
        owner, claimed = self.service.arrive(owner_token, account)
        if claimed.moved or claimed.kept:
            gr.Info(copy.claimed_runs(claimed), title=copy.CLAIMED_TITLE)
        username = owner.account.username if owner.account else None
        return owner.token, copy.account_status(username, claimed, require_login=self.require_login)
