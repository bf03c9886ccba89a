"""Boards: one self-contained HTML file and one contact-sheet PNG of runs, with nothing in them that opens anything.

Runs are made through EditService against the emulator over real HTTP (the `service` fixture), or written
straight into a history where a test needs pictures of its own; no server is launched.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import gradio as gr
import pytest
from PIL import Image

from components.app import boards
from components.app.board_page import CSS, SCRIPT, board_html, csp_hash
from components.app.history import HistoryStore, RunRecord
from components.app.status import RunStatus
from components.media.contact_sheet import GAP, MARGIN, MAX_SHEET_SIDE, SUBTITLE_HEIGHT, TITLE_HEIGHT
from components.media.images import EditRequest
from components.ui.board_export import BoardHandlers
from components.ui.copy import NO_SWEEP_YET
from tests.conftest import KEY, edit_inputs, owner_id, owner_token, png_bytes

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
OWNER = owner_id("boards")
HOSTILE = '</script><script>alert(1)</script><img src=x onerror="alert(2)"> & <b>bold</b> https://evil.example/x'


class Page(HTMLParser):
    """Every element's tag and attributes, and the text of each <script> and <style>."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)


def picture(size: tuple[int, int], colour: tuple[int, ...], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def kept_run(history: HistoryStore, prompt: str, *, options=None, result: bytes | None = None,
             status=RunStatus.COMPLETED, backend="emulator", cost=0.011, label="", urls=()) -> RunRecord:
    """A finished run written straight into the history: the photo (and any URL inputs), its result, its facts."""
    images = [png_bytes((96, 64), (200, 40, 40)), *urls]
    record = history.create(owner=OWNER, inputs=edit_inputs(prompt, images, options=options), label=label)
    record.status, record.backend, record.cost = status, backend, cost
    record.request_id = f"request-{record.run_id}"
    record.inference_time, record.queue_time, record.total_time = 3.2, 0.4, 4.1
    if result is not None:
        history.add_result(record, "result.png", result)
    else:
        record.error = "The job failed: content policy."
        history.save(record)
    return record


@pytest.fixture
def history(tmp_path) -> HistoryStore:
    return HistoryStore(tmp_path / "history")


def test_a_sweep_board_says_everything_about_each_run_and_nothing_that_opens_anything(service):
    """Real runs on the emulator: every run's prompt, parameters, times and cost are on the page; the owner id,
    its token, the request ids and the key are not."""
    photo = png_bytes((160, 120), (30, 90, 200))
    runs = service.start_sweep([(f"quality={q}", EditRequest("make the sky pink", [photo], None, {"quality": q}))
                                for q in ("low", "high")], owner=OWNER, limit=2, deadline=30)
    failed = service.start_edit(EditRequest("please #fail", [photo], None, {}), owner=OWNER, deadline=30)
    assert service.wait_idle(20)
    records = [service.history.get(run.run_id) for run in [*runs, failed]]
    board = boards.selection("Quality", records)
    page = board_html(board, service.history)
    sheet = boards.contact_sheet(board, service.history)

    for secret in (OWNER, owner_token(service, "boards"), KEY, *(r.request_id for r in records if r.request_id)):
        assert secret not in page and secret.encode() not in sheet
    figures = re.findall(r'<figure class="run">.*?</figure>', page)
    assert len(figures) == 3
    for record, figure in zip(records, figures):
        assert record.prompt in figure and f"<code>{record.model}</code>" in figure
        for setting in boards.settings(record):   # every parameter of the model, sent or its default
            assert f"<dt>{setting.name}</dt><dd>{setting.value}" in figure
        assert boards.times_text(record) in figure and boards.cost_text(record) in figure
    # The 4:3 photo at size `auto` is rendered 1536x1024, and billed at that size's (oblong) price.
    assert "quality=low" in figures[0] and "$0.016" in figures[0] and "$0.25" in figures[1]
    assert "FAILED" in figures[2] and "compare" not in figures[2]  # no result: its status instead of a picture
    assert page.count('class="compare pair"') == 2   # a before/after slider for each edit with a result
    assert len(re.findall(r"background-image", page)) == 1  # the photo the sweep shared, embedded once


def test_the_page_loads_nothing_and_runs_only_its_own_script(history):
    remote = "https://images.example.com/photo.png?X-Amz-Signature=abc"
    records = [kept_run(history, "a lamp on the desk", result=picture((150, 100), (20, 160, 60))),
               kept_run(history, "the same, with a remote reference", result=picture((100, 150), (20, 60, 160)),
                        urls=[remote])]
    page = board_html(boards.selection("Lamps", records), history)
    parsed = Page(page)
    assert not re.search(r"https?://", page), "no URL of any kind, a remote input's included"
    assert "1 by URL" in page  # said, never shown
    for tag, attributes in parsed.elements:
        assert "href" not in attributes and "srcset" not in attributes and "action" not in attributes
        if "src" in attributes:
            assert tag == "img" and attributes["src"].startswith("data:image/")
        assert not any(name.startswith("on") for name in attributes), (tag, attributes)
    assert "@import" not in page and not re.search(r"url\((?!\"data:image/)", page)
    (policy,) = [a["content"] for t, a in parsed.elements if a.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in policy and "img-src data:" in policy and "connect-src" not in policy
    (script,), (style,) = parsed.scripts, parsed.styles
    assert script == SCRIPT and style.startswith(CSS)
    assert f"script-src {csp_hash(script)}" in policy and f"style-src {csp_hash(style)}" in policy


def test_a_hostile_prompt_title_and_label_are_text(history):
    record = kept_run(history, HOSTILE, label=HOSTILE, result=picture((64, 64), (9, 9, 9)))
    page = board_html(boards.selection(HOSTILE, [record]), history)
    parsed = Page(page)
    assert HOSTILE not in page and "</script><script>" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert [tag for tag, _ in parsed.elements].count("script") == 1 and parsed.scripts == [SCRIPT]
    assert not any(tag == "b" for tag, _ in parsed.elements)
    assert all(not name.startswith("on") for _, attributes in parsed.elements for name in attributes)
    assert not any(tag == "img" and not attributes["src"].startswith("data:") for tag, attributes in parsed.elements
                   if "src" in attributes)


def test_pictures_are_downscaled_and_keep_their_transparency(history):
    opaque = kept_run(history, "big", result=picture((3000, 2000), (200, 100, 0)))
    clear = kept_run(history, "cut-out", options={"background": "transparent"},
                     result=picture((300, 300), (0, 0, 0, 0), "RGBA"))
    page = board_html(boards.selection("Sizes", [opaque, clear]), history)
    images = [a for t, a in Page(page).elements if t == "img"]
    assert [a["src"].split(";")[0] for a in images] == ["data:image/jpeg", "data:image/webp"]
    assert (images[0]["width"], images[0]["height"]) == ("1600", "1067")   # the board's bound, the shape kept
    assert boards.embed_side(24) < boards.embed_side(6)  # a larger board, smaller pictures
    assert "transparent" in page and "(simulated)" not in page and "$0.011 simulated" in page


def test_a_grid_puts_each_run_at_its_crossing_and_leaves_missing_ones_empty(history):
    runs = {(q, s): kept_run(history, "grid", options={"quality": q, "size": s}, result=picture((60, 40), (1, 2, 3)))
            for q in ("low", "high") for s in ("1024x1024", "1536x1024") if (q, s) != ("high", "1536x1024")}
    board = boards.grid("Grid", ["low", "high"], ["1024x1024", "1536x1024"], runs)
    assert board.cells[3] is None and [r.run_id for r in board.records] == [r.run_id for r in runs.values()]
    page = board_html(board, history)
    assert '<th scope="col">1536x1024</th>' in page and '<th scope="row">high</th>' in page
    assert page.count('<td class="empty">') == 1
    assert "<dt>Varies</dt><dd>size, quality</dd>" in page   # in the model's order of parameters
    assert boards.caption(runs["high", "1024x1024"], boards.varied(board.records)) == "size=1024x1024 · quality=high"
    with pytest.raises(boards.BoardError, match="Pick at least one run"):
        boards.selection("", [])
    with pytest.raises(boards.BoardError, match="at most 64"):
        boards.selection("", [runs["low", "1024x1024"]] * 65)


def test_the_contact_sheet_is_labelled_and_bounded(history):
    run = kept_run(history, "sheet", result=picture((150, 100), (40, 40, 200)))
    failed = kept_run(history, "sheet #fail", status=RunStatus.FAILED, result=None)
    rows, columns = [f"row {n}" for n in range(8)], [f"column {n}" for n in range(8)]
    cells = {(r, c): run for r in rows for c in columns}
    cells[rows[0], columns[1]] = failed
    with Image.open(io.BytesIO(boards.contact_sheet(boards.grid("Sixty-four", rows, columns, cells), history))) as big:
        assert big.format == "PNG" and max(big.size) <= MAX_SHEET_SIDE
    small = boards.grid("Two", rows[:1], columns[:2], cells)
    plain = boards.selection("Two", small.records)
    ARTIFACTS.mkdir(exist_ok=True)
    with Image.open(io.BytesIO(boards.contact_sheet(small, history))) as sheet, \
            Image.open(io.BytesIO(boards.contact_sheet(plain, history))) as unlabelled:
        # Row labels take a column of their own, left of the cells; column labels a band above them.
        label_width, band = sheet.width - unlabelled.width, sheet.height - unlabelled.height
        assert label_width > 0 and band > 0
        ink = sheet.convert("L")
        top = MARGIN + TITLE_HEIGHT + SUBTITLE_HEIGHT + GAP  # below the title and subtitle
        assert ink.crop((0, top + band, label_width - 4, sheet.height - 80)).getextrema()[0] < 100, "row label"
        cell = (sheet.width - label_width) // 2
        for column in range(2):
            left = label_width + column * cell
            assert ink.crop((left, top - 10, left + cell - 20, top + band - 10)).getextrema()[0] < 100, column
        assert sheet.getpixel((sheet.width - 60, top + band + 80))[:3] != (40, 40, 200)  # the failed run: no picture
        sheet.save(ARTIFACTS / "contact-sheet-labelled.png")


def test_a_versions_board_is_a_real_chain_in_the_order_the_versions_were_made(history):
    """'Each made from the one before' must be true: runs picked in any order are put in the order they were
    made, one run brings its whole chain, and runs that are not versions of one another are refused."""
    first = kept_run(history, "v1", result=picture((60, 40), (1, 1, 1)))
    second = kept_run(history, "v2", result=picture((60, 40), (2, 2, 2)))
    third = kept_run(history, "v3", result=picture((60, 40), (3, 3, 3)))
    second.parent, third.parent = first.run_id, second.run_id
    history.save(second)
    history.save(third)
    stranger = kept_run(history, "a sibling", result=picture((60, 40), (4, 4, 4)))
    ids = lambda records: [record.run_id for record in records]  # noqa: E731
    assert ids(boards.versions(history, [third, first])) == ids([first, third])  # picked backwards, a gap allowed
    assert ids(boards.versions(history, [third])) == ids([first, second, third])  # one run: its whole chain
    assert ids(boards.versions(history, [stranger])) == ids([stranger])
    with pytest.raises(boards.BoardError, match="is not a version of .*a sibling|a sibling.* is not a version"):
        boards.versions(history, [first, stranger, third])
    page = board_html(boards.chain("", boards.versions(history, [third, second])), history)
    assert page.index("Step 1") < page.index("v2") < page.index("Step 2") < page.index("v3") and "v1" not in page


def test_the_export_handlers_take_only_the_callers_runs(service):
    handlers = BoardHandlers(service, service.history)
    mine = kept_run(service.history, "mine", result=picture((60, 40), (5, 5, 5)))
    theirs = service.history.create(owner=owner_id("someone else"), inputs=edit_inputs("theirs", [png_bytes()]))
    token = owner_token(service, "boards")
    file = handlers.picked_html(token, [theirs.run_id, mine.run_id, mine.run_id, "../../etc"], "chain", "")
    page = Path(file["value"]).read_text()
    assert "mine" in page and "theirs" not in page and page.count('<figure class="run">') == 1
    assert Path(file["value"]).name == "board-versions.html"   # a chain's default title
    with pytest.raises(gr.Error, match="Pick at least one run"):
        handlers.picked_png(owner_token(service, "someone else"), [mine.run_id], "selection", "")
    with pytest.raises(gr.Error, match=re.escape(NO_SWEEP_YET)):
        handlers.sweep_html(token, [])
    # An X/Y sweep's grid by run id: a cell naming someone else's run stays empty.
    grid = handlers.grid_board(token, "X/Y", ["low"], ["a", "b"], {("low", "a"): mine.run_id, ("low", "b"): theirs.run_id})
    assert grid.cells == (mine, None) and grid.layout is boards.Layout.GRID
    sheet = handlers.sweep_png(token, [mine.run_id])
    with Image.open(sheet["value"]) as image:
        assert image.format == "PNG"
