"""Sign in with Hugging Face (#15, item 2): an account's history and caps follow it; a browser's runs move to it.

The profile is Gradio's own `gr.OAuthProfile`, as its handlers receive it. The login round trip (the redirect
to huggingface.co and back) needs Hugging Face's servers and is not tested here: everything after it is, from
the profile onwards. Runs go to the emulator over real HTTP, as the deployer's key or a visitor's.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import gradio as gr
import pytest

from components.api.config import ClientSettings, Secret
from components.app.backend import Backend
from components.app.history import HistoryStore
from components.app.owners import OWNER_ID, Account
from components.app.quota import DeployerQuota
from components.app.refusals import AccountQuotaUsed, SignInRequired
from components.app.service import EditService
from components.ui import copy
from components.ui.account import AccountHandlers
from components.ui.edit_tab import EditHandlers, build_edit_tab
from components.ui.form import ensure_owner, valid_owner
from components.ui.history_tab import HistoryHandlers, build_history_tab
from tests.conftest import KEY, edit_inputs, png_bytes
from tests.test_handlers import Request, drain, form_values


def profile(username: str = "ada", sub: str | None = "6512f0c2a1b2c3d4e5f60718", name: str = "Ada L.") -> gr.OAuthProfile:
    """What Gradio hands a handler for a signed-in visitor: Hugging Face's userinfo, as Gradio's own type."""
    info = {"name": name, "preferred_username": username, "profile": f"https://huggingface.co/{username}",
            "picture": f"https://cdn-avatars.huggingface.co/{username}.png"}
    if sub is not None:
        info["sub"] = sub
    return gr.OAuthProfile(info)


def make_service(emulator, root: Path, quota: DeployerQuota | None = None, **store) -> EditService:
    """The service as a Space runs it: the emulator stands for Segmind, paid with the deployer's key (KEY)."""
    settings = ClientSettings(api_base=emulator.url, storage_base=emulator.url, poll_interval=0.02,
                              api_key=Secret(KEY))
    return EditService(Backend(settings, quota=quota), HistoryStore(root, **store))


@pytest.fixture
def services(emulator, tmp_path):
    made = []

    def make(quota: DeployerQuota | None = None, root: Path | None = None, **store) -> EditService:
        service = make_service(emulator, root or tmp_path / f"history-{len(made)}", quota, **store)
        made.append(service)
        return service

    yield make
    for service in made:
        assert service.wait_idle(20)
        service.backend.close()


def finished_run(service: EditService, owner: str, colour: tuple[int, int, int], **kwargs):
    run = service.start_edit(edit_inputs("a run", [png_bytes(color=colour)]), owner=owner, **kwargs)
    assert run.wait(20) and run.record.result
    return run


# Profile to owner -------------------------------------------------------------------------------------


def test_a_profile_names_one_owner_on_every_device_and_after_restarts_unguessable_without_the_secret(tmp_path):
    store = HistoryStore(tmp_path / "a")
    ids = store.owner_ids()
    ada = Account.from_profile(profile())
    assert ada == Account("sub:6512f0c2a1b2c3d4e5f60718", "ada")
    laptop, phone = ids.new(), ids.new()  # two browsers, each with its own token
    on_laptop, on_phone = ids.ensure(laptop.token, ada), ids.ensure(phone.token, ada)
    assert on_laptop.id == on_phone.id and OWNER_ID.fullmatch(on_laptop.id)
    assert on_laptop.signed_in and on_laptop.account.username == "ada"
    # Each browser keeps its own token: no token ever names the account.
    assert (on_laptop.token, on_phone.token) == (laptop.token, phone.token)
    assert on_laptop.id not in (laptop.id, phone.id) and on_laptop.id not in on_laptop.token
    assert HistoryStore(tmp_path / "a").owner_ids().account_id(ada) == on_laptop.id  # a restart: the same
    assert HistoryStore(tmp_path / "b").owner_ids().account_id(ada) != on_laptop.id  # another server's secret

    # The account is Hugging Face's user id: a renamed account keeps its history, and a freed name taken by
    # someone else does not bring it to them.
    renamed = Account.from_profile(profile(username="ada-lovelace"))
    assert ids.account_id(renamed) == on_laptop.id
    newcomer = Account.from_profile(profile(username="ada", sub="0000aaaa1111bbbb2222cccc"))
    assert ids.account_id(newcomer) != on_laptop.id
    # A profile without Hugging Face's id (Gradio's type does not need one) is keyed by its username apart.
    bare = Account.from_profile(profile(sub=None))
    assert bare == Account("user:ada", "ada") and ids.account_id(bare) != on_laptop.id
    assert Account.from_profile(None) is None


def test_a_signed_out_page_never_reaches_the_accounts_runs(services, tmp_path):
    service = services()
    browser = service.owners.new()
    signed_in = ensure_owner(service, browser.token, profile())
    finished_run(service, signed_in.id, (200, 30, 30), signed_in=True)
    with gr.Blocks():
        build_history_tab("")
    handlers = HistoryHandlers(service, service.history)

    _, gallery, ids, _ = handlers.refresh_all(browser.token, None, profile())
    assert len(ids) == 1 and len(gallery["value"]) == 1
    assert handlers.zip_everything(browser.token, profile())["value"].endswith(".zip")

    # Signed out (the session no longer names the account), the same browser token is only the browser's.
    assert valid_owner(service, browser.token, None) == browser.id
    _, gallery, ids, _ = handlers.refresh_all(browser.token, None, None)
    assert ids == [] and gallery["value"] == []
    run_id = service.history.records(signed_in.id)[0].run_id
    assert handlers.owned(browser.token, run_id) is None and handlers.owned(browser.token, run_id, profile())
    with pytest.raises(gr.Error, match="No runs yet"):
        handlers.zip_everything(browser.token, None)
    # Nor does another account's profile, on the same browser.
    other = profile(username="grace", sub="ffff0000eeee1111dddd2222")
    assert handlers.refresh_all(browser.token, None, other)[2] == []
    # And the page's load, signed out, keeps the browser's own id.
    assert service.arrive(browser.token, None)[0].id == browser.id


# Claiming a browser's runs --------------------------------------------------------------------------------


def test_signing_in_moves_this_browsers_runs_with_their_byte_counts_and_says_so(services, tmp_path):
    service = services(root=tmp_path / "store")
    history = service.history
    ada = Account.from_profile(profile())
    account_id = service.owners.account_id(ada)
    shared = (10, 200, 10)  # the same input in both owners' runs: its blob counts once for the account
    finished_run(service, account_id, shared, signed_in=True)
    browser = service.owners.new()
    finished_run(service, browser.id, shared)
    finished_run(service, browser.id, (10, 10, 200))
    own_files = sum(history._usage[r.run_id].own_bytes for r in history.records(browser.id))
    blob = len(png_bytes(color=(10, 10, 200)))
    expected = history.size(account_id) + own_files + blob
    total = history.size()

    with gr.Blocks():
        handler = AccountHandlers(service, require_login=False)
    token, line = handler.open_page(browser.token, profile())
    assert token == browser.token
    assert "Signed in as **ada**" in line and "2 runs from this browser are now in your account's history" in line
    assert history.records(browser.id) == [] and history.version(browser.id) == 0 and history.size(browser.id) == 0
    moved = history.records(account_id)
    assert len(moved) == 3 and {r.owner for r in moved} == {account_id}
    assert history.size(account_id) == expected and history.size() == total  # nothing copied, nothing lost
    for record in moved:  # on disk too: a restart keeps them the account's
        assert json.loads((history.folder(record.run_id) / "record.json").read_text())["owner"] == account_id
    restarted = HistoryStore(tmp_path / "store")
    assert restarted.size(account_id) == expected and restarted.size() == total
    assert len(restarted.records(account_id)) == 3 and restarted.records(browser.id) == []

    # Next time there is nothing to move, and the line says only whose history it is.
    assert handler.open_page(browser.token, profile())[1] == copy.SIGNED_IN.format(username="ada")
    assert handler.open_page(browser.token, None)[1] == copy.SIGNED_OUT


def test_runs_the_accounts_share_cannot_hold_stay_with_the_browser_and_the_page_says_why(services, tmp_path):
    service = services()
    history = service.history
    ada = Account.from_profile(profile())
    account_id = service.owners.account_id(ada)
    finished_run(service, account_id, (1, 2, 3), signed_in=True)
    browser = service.owners.new()
    finished_run(service, browser.id, (4, 5, 6))
    history.owner_max_bytes = history.size(account_id) + history.size(browser.id) - 1  # one byte short
    account_before, browser_before = history.records(account_id), history.records(browser.id)

    owner, claimed = service.arrive(browser.token, ada)
    assert owner.id == account_id and claimed.moved == 0 and claimed.kept == 1
    assert claimed.needed > claimed.room
    assert history.records(account_id) == account_before and history.records(browser.id) == browser_before
    line = copy.account_status("ada", claimed, require_login=False)
    assert "1 run from this browser stayed with this browser" in line and "Sign out to see it" in line
    # Signed out again, the browser still has them.
    assert service.arrive(browser.token, None)[0].id == browser.id


# Deployer caps --------------------------------------------------------------------------------------------


def test_with_sign_in_required_the_deployers_key_runs_only_for_signed_in_visitors(services, emulator, tmp_path):
    service = services(DeployerQuota(require_sign_in=True, sign_in_offered=True))
    with gr.Blocks():
        tab = build_edit_tab(service.backend)
        owner = gr.BrowserState(None)
    handlers = EditHandlers(service, service.history, tab, owner)
    browser = service.owners.new()
    submits = len(emulator.jobs)

    with pytest.raises(gr.Error) as refused:
        asyncio.run(drain(handlers.run("t-signed-out", browser.token, 0.0, Request(), None, **form_values(tmp_path))))
    assert "sign in" in refused.value.message and "Nothing was sent" in refused.value.message
    assert len(emulator.jobs) == submits and service.history.records(browser.id) == []

    asyncio.run(drain(handlers.run("t-signed-in", browser.token, 0.0, Request(), profile(), **form_values(tmp_path))))
    account_id = service.owners.account_id(Account.from_profile(profile()))
    (record,) = service.history.records(account_id)
    assert record.result and service.history.records(browser.id) == []

    # A visitor's own key still works signed out: the deployer pays nothing for it.
    run = service.start_edit(edit_inputs("own key", [png_bytes(color=(3, 3, 3))]), owner=browser.id, visitor_key=KEY)
    assert run.wait(20) and run.record.result
    # Programs (/edit) cannot sign in: on the deployer's key they are refused, with a way on.
    with pytest.raises(SignInRequired) as caught:
        service.start_edit(edit_inputs("api", [png_bytes(color=(4, 4, 4))]), owner="api-x", quota_session="api:x")
    assert "x-api-key" in copy.error_message(caught.value)
    assert "signed in with Hugging Face" in copy.banner(service.backend)


def test_sign_in_required_where_sign_in_is_not_offered_says_to_bring_a_key():
    with pytest.raises(SignInRequired) as caught:
        DeployerQuota(require_sign_in=True, sign_in_offered=False).take("browser")
    message = copy.error_message(caught.value)
    assert "not set up here" in message and "own Segmind key" in message


def test_each_account_gets_its_own_days_worth_of_deployer_paid_jobs(services):
    service = services(DeployerQuota(per_account_per_day=3))
    ada = service.owners.account_id(Account.from_profile(profile()))
    grace = service.owners.account_id(Account.from_profile(profile("grace", "ffff0000eeee1111dddd2222")))
    finished_run(service, ada, (20, 20, 20), signed_in=True)
    service.start_sweep([("a", edit_inputs("s", [png_bytes(color=(21, 21, 21))])),
                         ("b", edit_inputs("s", [png_bytes(color=(22, 22, 22))]))], owner=ada, limit=2,
                        signed_in=True)
    with pytest.raises(AccountQuotaUsed) as caught:
        service.start_edit(edit_inputs("one more", [png_bytes(color=(23, 23, 23))]), owner=ada, signed_in=True)
    message = copy.error_message(caught.value)
    assert "3 jobs" in message and "24 hours" in message and re.search(r"about (23|24) hours", message)
    finished_run(service, grace, (24, 24, 24), signed_in=True)  # another account has its own count
    finished_run(service, "anonymous-browser", (25, 25, 25))   # not signed in: not an account's job
    run = service.start_edit(edit_inputs("own key", [png_bytes(color=(26, 26, 26))]), owner=ada, signed_in=True,
                             visitor_key=KEY)  # the account's own key: not the deployer's to count
    assert run.wait(20) and run.record.result
    assert "3 per account a day" in copy.banner(service.backend)


def test_the_live_run_limit_counts_an_account_on_all_its_devices_together(services):
    service = services()
    service.max_runs_per_owner = 1
    ada = Account.from_profile(profile())
    laptop = ensure_owner(service, service.owners.new().token, profile())
    phone = ensure_owner(service, service.owners.new().token, profile())
    assert laptop.id == phone.id == service.owners.account_id(ada)
    service.start_edit(edit_inputs("slow", [png_bytes(color=(30, 30, 30))]), owner=laptop.id, signed_in=True)
    with pytest.raises(Exception, match="1 runs are live for this browser"):
        service.start_edit(edit_inputs("slow", [png_bytes(color=(31, 31, 31))]), owner=phone.id, signed_in=True)


# The Space ------------------------------------------------------------------------------------------------


def test_the_space_asks_for_oauth_and_installs_what_gradios_oauth_extra_needs():
    """Without authlib and itsdangerous a Space with hf_oauth fails at start-up, where no test here runs."""
    import importlib.metadata

    import yaml

    root = Path(__file__).resolve().parents[1]
    front = yaml.safe_load((root / "README.md").read_text().split("---", 2)[1])
    assert front["hf_oauth"] is True
    pins = dict(line.split("==") for line in (root / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    extra = [re.split(r"[ ;<>=\[]", requirement)[0] for requirement in importlib.metadata.requires("gradio")
             if re.search(r"extra == .oauth.", requirement)]
    assert extra and all(pins.get(name) == importlib.metadata.version(name) for name in extra), (extra, pins)
