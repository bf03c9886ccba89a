"""Sign in with Hugging Face in Chromium: the signed-out page, signing in, and the account on a second device.

The login round trip (the redirect to huggingface.co, the consent page, the callback that exchanges the code)
needs Hugging Face's servers, which this machine cannot reach, so it is the one step not run here. What the
callback leaves behind is: Gradio stores Hugging Face's userinfo in Starlette's session cookie, signed with a
key it derives from the Space's OAuth client secret, and every handler reads the profile from that cookie.
The test writes that cookie itself, with the same format and key, and gives it to the browser.

The app runs as on a Space with `hf_oauth: true`: the settings see SYSTEM, SPACE_ID and the four OAUTH_*
variables, and so build the LoginButton. Gradio reads the OAUTH_* variables when it is imported and decides
whether it runs on a Space from SYSTEM, which also switches on its Spaces hot-reloader; so its OAuth module
alone is told, for this test, that it runs on a Space and what the variables are.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import gradio.oauth
import pytest
from itsdangerous import TimestampSigner

from components.app.backend import Backend
from components.app.owners import Account
from components.app.settings import OAUTH_VARIABLES, AppSettings
from components.ui import build_app, copy, launch_options
from tests.conftest import edit_inputs, png_bytes

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SPACE = {"SYSTEM": "spaces", "SPACE_ID": "tester/explorer", "OAUTH_CLIENT_ID": "test-client-id",
         "OAUTH_CLIENT_SECRET": "test-client-secret", "OAUTH_SCOPES": "openid profile",
         "OPENID_PROVIDER_URL": "https://huggingface.co"}
USERINFO = {"sub": "6512f0c2a1b2c3d4e5f60718", "name": "Ada Lovelace", "preferred_username": "ada",
            "profile": "https://huggingface.co/ada", "picture": "https://cdn-avatars.huggingface.co/ada.png"}


def session_cookie(userinfo: dict) -> str:
    """The cookie Gradio's /login/callback leaves: Starlette's session (base64 JSON, signed by itsdangerous's
    TimestampSigner) under the key Gradio's attach_oauth derives from the OAuth client secret."""
    key = hashlib.sha256((SPACE["OAUTH_CLIENT_SECRET"] + "-v4").encode()).hexdigest()
    session = {"oauth_info": {"access_token": "hf_oauth_not_a_real_token", "token_type": "bearer",
                              "scope": SPACE["OAUTH_SCOPES"], "expires_at": int(time.time()) + 3600,
                              "userinfo": userinfo}}
    return TimestampSigner(key).sign(base64.b64encode(json.dumps(session).encode())).decode()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("sign-in")
    env = {**SPACE, "OUTPUT_DIR": str(root / "outputs"), "EMULATOR_LATENCY": "0.3", "EMULATOR_QUEUE_SECONDS": "0"}
    settings = AppSettings.from_env(env, data_root=root / "no-persistent-disk")
    assert settings.hf_sign_in
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gradio.oauth, "get_space", lambda: SPACE["SPACE_ID"])
        for name in OAUTH_VARIABLES:
            patch.setattr(gradio.oauth, name, SPACE[name])
        backend = Backend.from_settings(settings)
        demo = build_app(backend, settings=settings)
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        try:
            yield url, demo
        finally:
            demo.close()
            backend.close()


def open_page(browser, url: str, size: tuple[int, int], signed_in: bool):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    if signed_in:
        context.add_cookies([{"name": "session", "value": session_cookie(USERINFO), "url": url}])
    page = context.new_page()
    page.goto(url)
    page.locator("#run").wait_for()
    return context, page


def account_line(page, says: str) -> str:
    page.locator("#account-status").get_by_text(says).wait_for(timeout=15_000)
    return page.locator("#account-status").inner_text()


def history_runs(page, count: int) -> None:
    page.get_by_role("tab", name="History").click()
    page.wait_for_function(f"() => document.querySelectorAll('#history-gallery img').length === {count}",
                           timeout=15_000)


def test_signed_out_then_signed_in_the_history_follows_the_account_to_another_device(app, browser):
    url, demo = app
    ARTIFACTS.mkdir(exist_ok=True)
    service = demo.service
    account_id = service.owners.account_id(Account.from_profile(USERINFO))
    # A run the account made earlier on another device.
    earlier = service.start_edit(edit_inputs("on my phone", [png_bytes(color=(200, 40, 40))]), owner=account_id,
                                 signed_in=True)
    assert earlier.wait(20) and earlier.record.result

    # Signed out: the button, the line saying history stays in this browser, and a run of this browser's own.
    context, page = open_page(browser, url, (1280, 900), signed_in=False)
    assert page.locator("#login").inner_text().strip() == copy.SIGN_IN
    account_line(page, "Not signed in")
    page.screenshot(path=str(ARTIFACTS / "sign-in-signed-out-1280.png"))
    page.locator('#photo input[type="file"]').set_input_files(str(ROOT / "examples" / "mug.png"))
    page.locator("#input-view img").wait_for(timeout=20_000)
    page.locator("#prompt textarea").fill("A striped mug")
    page.locator("#run").click()
    page.locator("#status").get_by_text("COMPLETED").wait_for(timeout=30_000)
    assert len(demo.history.records(account_id)) == 1  # the browser's run is its own, not yet the account's

    # Signed in (the cookie the callback would leave), the page reloads: the browser's run moves to the account.
    context.add_cookies([{"name": "session", "value": session_cookie(USERINFO), "url": url}])
    page.reload(wait_until="commit")
    line = account_line(page, "Signed in as")
    assert "Signed in as ada" in line and "1 run from this browser is now in your account's history" in line
    page.locator("#login").get_by_text("Sign out (ada)").wait_for()
    assert len(demo.history.records(account_id)) == 2
    page.screenshot(path=str(ARTIFACTS / "sign-in-signed-in-1280.png"))
    context.close()

    # A phone, signed in: the same two runs, in its History tab.
    context, page = open_page(browser, url, (390, 844), signed_in=True)
    account_line(page, "Signed in as")
    page.screenshot(path=str(ARTIFACTS / "sign-in-signed-in-390.png"))
    history_runs(page, 2)
    # Signing out (Gradio's /logout, which needs no Hugging Face server): this device's page is its own again.
    # The button's label comes from a load event of its own, and its click goes where the label says.
    page.locator("#login").get_by_text("Sign out (ada)").wait_for()
    page.locator("#login").click()
    account_line(page, "Not signed in")
    page.locator("#login").get_by_text(copy.SIGN_IN).wait_for()
    page.screenshot(path=str(ARTIFACTS / "sign-in-signed-out-390.png"))
    context.close()
    assert len(demo.history.records(account_id)) == 2
