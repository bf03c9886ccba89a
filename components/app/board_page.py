"""A board as one HTML file that opens anywhere, offline, with nothing but a browser.

Everything is inside the file: pictures as data: URIs (downscaled, see
`media/embedding.py`), the style and a small script. Nothing is loaded from
anywhere, and a Content-Security-Policy says so to the browser: no network
source at all, images from data: only, and only this page's own style and
script (by hash), so even a prompt that slipped past the escaping could not
run. Every text that came from a person (titles, prompts, labels, errors) is
escaped.

An input shared by many runs (a sweep sends one photo to every variant) is
embedded once, as a CSS class each run's "before" layer uses; each result once,
as an <img>. Without the script the results still show whole; with it, each
before/after pair gets its slider (a range input, so the keyboard moves it too,
and a drag on the picture).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from components.app.boards import (
    APP_NAME, NO_RESULT, SIMULATED_NOTE, Board, Layout, caption, cell_label, cost_text, embed_side, error_text,
    images_sent, model_label, run_count, settings, shared, short_prompt, simulated, started_text, status_text,
    times_text, total_cost, varied,
)
from components.app.history import HistoryStore, RunRecord
from components.app.status import seconds
from components.media.decoding import InputError
from components.media.embedding import Embedded, embeddable

EXPORTED = "Exported {when} UTC"
SAME_PROMPT = "Prompt"
SAME_MODEL = "Model"
SAME_SETTINGS = "Same for every run"
VARIES = "Varies"
SHOW_DETAILS = "Show every run's details"
HIDE_DETAILS = "Hide the details"
DETAILS = "Prompt and settings"
ENLARGE = "Enlarge"
CLOSE = "Close"
BEFORE = "Before"
AFTER = "After"
SLIDER = "Before and after"
SLIDER_LABEL = "Before and after, {what}: how much of the before picture shows, from the left"
BEFORE_PICTURE = "Before: the photo this run edited"
RESULT_PICTURE = "Result: {what}"
UNREADABLE = "This picture could not be read."
DEFAULT = "default"
NO_RUN = "—"
FOOTER = ("Made with {app}. This file is self-contained: it loads nothing from the network, and it holds no key and "
          "nothing that identifies who made the runs.")
FACTS = {"prompt": "Prompt", "model": "Model", "images": "Images sent", "status": "Status", "time": "Time",
         "cost": "Cost", "started": "Started", "notes": "Changed to fit the model", "error": "Error"}

CSS = """
:root { color-scheme: light; --ink: #1c1c20; --faint: #5f6470; --line: #d6d9e0; --panel: #f4f5f8;
        --accent: #3b5bdb; --letterbox: #1c1c20; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: #fff; }
header, main, footer { max-width: 1480px; margin: 0 auto; padding: 16px 20px; }
header .app { margin: 0; color: var(--faint); font-size: 13px; letter-spacing: .02em; }
h1 { margin: 4px 0 6px; font-size: 26px; line-height: 1.2; overflow-wrap: anywhere; }
.meta { margin: 0 0 10px; color: var(--faint); }
.shared { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0 0 10px; }
.shared dt { font-weight: 600; }
.shared dd { margin: 0; overflow-wrap: anywhere; white-space: pre-wrap; }
.note { margin: 0 0 10px; padding: 8px 12px; border-left: 5px solid #f5a623; background: #fff8e6; }
button { font: inherit; padding: 6px 12px; border: 1px solid var(--line); border-radius: 6px; background: #fff;
         color: var(--ink); cursor: pointer; }
button:hover { background: var(--panel); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.scroll { overflow-x: auto; }
table.grid { border-collapse: separate; border-spacing: 12px; margin: -12px; }
table.grid th { font-weight: 600; text-align: left; vertical-align: bottom; overflow-wrap: anywhere; }
table.grid th[scope=row] { vertical-align: top; padding-top: 8px; max-width: 180px; }
table.grid td { vertical-align: top; min-width: 220px; }
table.grid td.empty { color: var(--faint); text-align: center; }
.where { display: none; font-weight: 600; margin-bottom: 4px; }
ol.cards { list-style: none; margin: 0; padding: 0; display: grid; gap: 18px;
           grid-template-columns: repeat(auto-fill, minmax(min(100%, 300px), 1fr)); }
ol.chain .where { display: block; }
ol.chain li + li .where::before { content: "→ "; color: var(--faint); }
figure.run { margin: 0; }
.compare { position: relative; background: var(--letterbox); border-radius: 6px; overflow: hidden;
           touch-action: pan-y; user-select: none; -webkit-user-select: none; --split: 50%; }
.compare .after { display: block; width: 100%; height: auto; object-fit: contain; }
.compare .before { position: absolute; inset: 0; display: none; background-color: var(--letterbox);
                   background-position: center; background-size: contain; background-repeat: no-repeat;
                   clip-path: inset(0 calc(100% - var(--split)) 0 0); print-color-adjust: exact;
                   -webkit-print-color-adjust: exact; }
.js .compare.pair { cursor: ew-resize; }
.js .compare.pair .before { display: block; }
.js .compare.pair::after { content: ""; position: absolute; top: 0; bottom: 0; left: var(--split); width: 2px;
                           margin-left: -1px; background: #fff; box-shadow: 0 0 0 1px rgba(0,0,0,.35);
                           pointer-events: none; }
.tag { position: absolute; top: 6px; padding: 1px 7px; border-radius: 999px; font-size: 12px;
       background: rgba(0,0,0,.6); color: #fff; pointer-events: none; display: none; }
.js .pair .tag { display: block; }
.tag.before-tag { left: 6px; }
.tag.after-tag { right: 6px; }
.no-result { display: flex; align-items: center; justify-content: center; min-height: 160px; padding: 12px;
             color: var(--faint); background: var(--panel); border-radius: 6px; text-align: center; }
.slider { display: none; align-items: center; gap: 8px; margin-top: 6px; font-size: 13px; color: var(--faint); }
.js .slider { display: flex; }
.slider input { flex: 1; min-width: 0; accent-color: var(--accent); }
figcaption { margin-top: 6px; }
.caption { display: block; font-weight: 600; overflow-wrap: anywhere; }
.facts { display: block; color: var(--faint); font-size: 13px; }
.status { font-weight: 600; color: #b3261e; }
.actions { display: flex; gap: 8px; align-items: flex-start; margin-top: 6px; flex-wrap: wrap; }
.actions .enlarge { display: none; }
.js .actions .enlarge { display: inline-block; }
details { flex: 1 1 180px; }
summary { cursor: pointer; color: var(--accent); padding: 6px 0; }
details dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 4px 0 0; font-size: 13px; }
details dt { color: var(--faint); }
details dd { margin: 0; overflow-wrap: anywhere; white-space: pre-wrap; }
.default { color: var(--faint); font-size: 12px; }
dialog { width: min(96vw, 1600px); max-height: 94vh; padding: 12px; border: 0; border-radius: 10px; }
dialog::backdrop { background: rgba(0,0,0,.7); }
dialog .compare { margin: 0 auto; }
dialog .close { float: right; margin-bottom: 8px; }
dialog .title { font-weight: 600; margin: 4px 0 8px; overflow-wrap: anywhere; }
footer { color: var(--faint); font-size: 13px; border-top: 1px solid var(--line); margin-top: 24px; }
@media (max-width: 700px) {
  header, main, footer { padding: 12px; }
  h1 { font-size: 21px; }
  .shared { grid-template-columns: 1fr; gap: 0 0; }
  .shared dd { margin-bottom: 6px; }
  table.grid, table.grid tbody, table.grid tr, table.grid td { display: block; margin: 0; }
  table.grid thead, table.grid th { display: none; }
  table.grid td { min-width: 0; margin-bottom: 18px; }
  table.grid td.empty { display: none; }
  .where { display: block; }
}
@media print { .slider, .actions button, #toggle-details, dialog { display: none !important; } }
"""

SCRIPT = """
(() => {
  document.documentElement.classList.add('js');
  const place = (compare, value) => compare.style.setProperty('--split', value + '%');
  const pairOf = (element) => element.closest('.run, .large').querySelector('.compare');
  const rangeOf = (compare) => compare.parentElement.querySelector('.split');
  document.addEventListener('input', (event) => {
    if (event.target.matches('.split')) place(pairOf(event.target), event.target.value);
  });
  document.addEventListener('pointerdown', (event) => {
    const compare = event.target.closest('.compare.pair');
    if (!compare || event.button !== 0) return;
    const range = rangeOf(compare);
    const follow = (moved) => {
      const box = compare.getBoundingClientRect();
      const value = Math.round(Math.min(100, Math.max(0, (moved.clientX - box.left) / box.width * 100)));
      range.value = value;
      place(compare, value);
    };
    const stop = () => {
      compare.removeEventListener('pointermove', follow);
      compare.removeEventListener('pointerup', stop);
      compare.removeEventListener('pointercancel', stop);
    };
    event.preventDefault();
    compare.setPointerCapture(event.pointerId);
    follow(event);
    compare.addEventListener('pointermove', follow);
    compare.addEventListener('pointerup', stop);
    compare.addEventListener('pointercancel', stop);
  });
  const dialog = document.getElementById('large');
  const body = dialog.querySelector('.large');
  document.addEventListener('click', (event) => {
    const button = event.target.closest('.enlarge');
    if (!button) return;
    const run = button.closest('.run');
    const compare = run.querySelector('.compare').cloneNode(true);
    const title = document.createElement('p');
    title.className = 'title';
    title.textContent = run.querySelector('.caption').textContent;
    const parts = [title, compare];
    const slider = run.querySelector('.slider');
    if (slider) {
      const copy = slider.cloneNode(true);
      copy.querySelector('.split').value = slider.querySelector('.split').value;
      parts.push(copy);
    }
    body.replaceChildren(...parts);
    place(compare, slider ? slider.querySelector('.split').value : 50);
    const picture = compare.querySelector('.after');
    if (picture) {
      const ratio = picture.naturalWidth / picture.naturalHeight || 1;
      compare.style.width = `min(100%, calc((94vh - 140px) * ${ratio}))`;
    }
    dialog.showModal();
  });
  dialog.querySelector('.close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => body.replaceChildren());
  const toggle = document.getElementById('toggle-details');
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-pressed') !== 'true';
    document.querySelectorAll('figure.run details').forEach((details) => { details.open = open; });
    toggle.setAttribute('aria-pressed', String(open));
    toggle.textContent = open ? toggle.dataset.hide : toggle.dataset.show;
  });
})();
"""


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(style: str, script: str) -> str:
    """No network source of any kind; pictures from data: only; only this page's own style and script."""
    return (f"default-src 'none'; img-src data:; style-src {csp_hash(style)}; script-src {csp_hash(script)}; "
            "base-uri 'none'; form-action 'none'")


@dataclass
class _Pictures:
    """Each picture encoded once (by the digest of its file), and the "before" ones as CSS classes."""

    history: HistoryStore
    max_side: int
    encoded: dict[str, Embedded | None] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)   # digest -> CSS class name
    # A sweep's runs link one stored photo: each file (by inode) is read and hashed once.
    digests: dict[tuple[int, int, int, int], str] = field(default_factory=dict)

    def embed(self, path: Path | None) -> tuple[str, Embedded] | None:
        if path is None:
            return None
        try:
            stat = path.stat()
            where = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if where not in self.digests:
                self.digests[where] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None
        digest = self.digests[where]
        if digest not in self.encoded:
            try:
                self.encoded[digest] = embeddable(path, self.max_side)
            except (InputError, OSError, ValueError):
                self.encoded[digest] = None
        picture = self.encoded[digest]
        return (digest, picture) if picture is not None else None

    def before_class(self, digest: str) -> str:
        return self.classes.setdefault(digest, f"b{len(self.classes)}")

    def css(self) -> str:
        return "".join(f'.{name} {{ background-image: url("{self.encoded[digest].data_uri()}"); }}\n'
                       for digest, name in self.classes.items())


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _details(record: RunRecord) -> str:
    rows = [(FACTS["prompt"], _text(record.prompt)),
            (FACTS["model"], f"{_text(model_label(record))} (<code>{_text(record.model)}</code>)")]
    for setting in settings(record):
        mark = "" if setting.given else f' <span class="default">{DEFAULT}</span>'
        rows.append((_text(setting.name), _text(setting.value) + mark))
    rows += [(FACTS["images"], _text(images_sent(record))), (FACTS["status"], _text(record.status.value)),
             (FACTS["time"], _text(times_text(record))), (FACTS["cost"], _text(cost_text(record))),
             (FACTS["started"], _text(started_text(record)))]
    if record.notes:
        rows.append((FACTS["notes"], _text(" ".join(record.notes))))
    if record.error:
        rows.append((FACTS["error"], _text(error_text(record))))
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return f"<details><summary>{DETAILS}</summary><dl>{items}</dl></details>"


def _picture(record: RunRecord, what: str, pictures: _Pictures) -> str | None:
    """The run's result over its input (a before/after pair) or its result alone; None when it has no picture."""
    result = pictures.embed(pictures.history.path(record, record.result))
    if result is None:
        return None
    _, after = result
    image = (f'<img class="after" src="{after.data_uri()}" width="{after.width}" height="{after.height}" '
             f'alt="{_text(RESULT_PICTURE.format(what=what))}">')
    before = pictures.embed(pictures.history.path(record, record.inputs[0])) if record.inputs else None
    if before is None:
        return f'<div class="compare">{image}</div>'
    layer = (f'<div class="before {pictures.before_class(before[0])}" role="img" '
             f'aria-label="{_text(BEFORE_PICTURE)}"></div>')
    tags = f'<span class="tag before-tag">{BEFORE}</span><span class="tag after-tag">{AFTER}</span>'
    slider = (f'<label class="slider">{SLIDER}<input class="split" type="range" min="0" max="100" value="50" '
              f'step="1" aria-label="{_text(SLIDER_LABEL.format(what=what))}"></label>')
    return f'<div class="compare pair">{image}{layer}{tags}</div>{slider}'


def _no_picture(record: RunRecord, pictures: _Pictures) -> str:
    """What a run without a readable result shows in its picture's place: its status, or that it is unreadable."""
    said = status_text(record) or NO_RESULT
    if pictures.history.path(record, record.result) is not None:
        said = UNREADABLE
    return f'<div class="no-result"><span class="status">{_text(said)}</span></div>'


def _cell(board: Board, index: int, record: RunRecord, names: list[str], pictures: _Pictures) -> str:
    what = caption(record, names)
    where = cell_label(board, index)
    facts = f"{_text(model_label(record))} · {_text(seconds(record.total_time))} · {_text(cost_text(record))}"
    status = status_text(record)
    if status:
        facts += f' · <span class="status">{_text(status)}</span>'
    shown = _picture(record, what, pictures)
    enlarge = f'<button type="button" class="enlarge">{ENLARGE}</button>' if shown else ""
    return ('<figure class="run">'
            + (f'<div class="where">{_text(where)}</div>' if where else "")
            + (shown or _no_picture(record, pictures))
            + f'<figcaption><span class="caption">{_text(what)}</span><span class="facts">{facts}</span>'
            f'<div class="actions">{enlarge}{_details(record)}</div></figcaption></figure>')


def _grid(board: Board, names: list[str], pictures: _Pictures) -> str:
    head = "".join(f'<th scope="col">{_text(column)}</th>' for column in board.columns)
    has_rows = any(board.rows)
    body = []
    for row_index, row in enumerate(board.rows):
        cells = [f'<th scope="row">{_text(row)}</th>'] if has_rows else []
        for column_index in range(len(board.columns)):
            index = row_index * len(board.columns) + column_index
            record = board.cells[index]
            cells.append(f'<td class="empty">{NO_RUN}</td>' if record is None
                         else f"<td>{_cell(board, index, record, names, pictures)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    corner = "<td></td>" if has_rows else ""
    return (f'<div class="scroll"><table class="grid"><thead><tr>{corner}{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _cards(board: Board, names: list[str], pictures: _Pictures) -> str:
    items = "".join(f"<li>{_cell(board, index, record, names, pictures)}</li>"
                    for index, record in enumerate(board.cells) if record is not None)
    return f'<ol class="cards {board.layout.value}">{items}</ol>'


def _header(board: Board, names: list[str]) -> str:
    records = board.records
    common = shared(records)
    meta = f"{EXPORTED.format(when=f'{board.exported_at:%Y-%m-%d %H:%M}')} · {run_count(records)} · " \
           f"{total_cost(records)}"
    facts = []
    if "prompt" in common:
        facts.append((SAME_PROMPT, _text(common["prompt"])))
    if "model" in common:
        facts.append((SAME_MODEL, f"{_text(model_label(records[0]))} (<code>{_text(common['model'])}</code>)"))
    same = [f"{name}={value}" for name, value in common.items() if name not in ("prompt", "model")]
    if same and len(records) > 1:
        facts.append((SAME_SETTINGS, _text(", ".join(same))))
    if names:
        facts.append((VARIES, _text(", ".join(names))))
    listed = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    note = f'<p class="note">{_text(SIMULATED_NOTE)}</p>' if any(simulated(r) for r in records) else ""
    toggle = (f'<button type="button" id="toggle-details" aria-pressed="false" data-show="{_text(SHOW_DETAILS)}" '
              f'data-hide="{_text(HIDE_DETAILS)}">{SHOW_DETAILS}</button>')
    return (f'<header><p class="app">{_text(APP_NAME)}</p><h1>{_text(board.title)}</h1><p class="meta">{meta}</p>'
            f'<dl class="shared">{listed}</dl>{note}{toggle}</header>')


def board_html(board: Board, history: HistoryStore) -> str:
    """The whole page: one string, every picture inside it."""
    names = varied(board.records)
    pictures = _Pictures(history, embed_side(len(board.records)))
    main = _grid(board, names, pictures) if board.layout is Layout.GRID else _cards(board, names, pictures)
    style = CSS + pictures.css()
    title = f"{short_prompt(board.title)} · {APP_NAME}"
    dialog = (f'<dialog id="large" aria-label="{ENLARGE}"><button type="button" class="close">{CLOSE}</button>'
              '<div class="large"></div></dialog>')
    return ("<!doctype html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy(style, SCRIPT)}">'
            '<meta name="referrer" content="no-referrer">'
            f"<title>{_text(title)}</title><style>{style}</style></head>"
            f"<body>{_header(board, names)}<main>{main}</main>"
            f"<footer><p>{_text(FOOTER.format(app=APP_NAME))}</p></footer>{dialog}"
            f"<script>{SCRIPT}</script></body></html>\n")
