"""Every sentence the UI shows that is not a parameter's own help text (that is in the schema)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from components.api import errors, schema
from components.api.constants import RESULT_RETENTION
from components.app import refusals
from components.app.backend import Backend, BackendKind
from components.app.grid import PROMPT_AXIS, TAKES_AXIS
from components.app.history import amount
from components.app.runs import CancelledBeforeSubmit
from components.app.service import Claimed
from components.app.settings import Storage

TITLE = "GPT Image Edit explorer"
PHOTO_LABEL = "1 · Photo to edit"
EDITOR_LABEL = "2 · Paint the area to change"
# What the editor refuses (only a script sends these: the page paints on a working copy).
EDITOR_IMAGE_NAME = "The painted image"
EDITOR_IMAGE_TOO_LARGE = "The painted image is {size} pixels; the editor takes at most {side} px a side. Reload the page."
EDITOR_REFUSED_TITLE = "Not a usable painting"
EDITOR_BLOB_TOO_LARGE = "That painting is too large to receive. Reload the page and paint again."
EDITOR_TOO_MANY_LAYERS = "That painting has more layers than this editor has. Reload the page and paint again."
TOO_MANY_REQUESTS = "Too many requests from your network address at once. Wait a few seconds and try again."
# A file input sent as a URL, which Gradio fetches before the app sees it.
URL_INPUT_TITLE = "File not fetched"
URL_INPUT_REFUSED = "The file at that URL was not fetched: {reason}. Upload the file instead."
URL_INPUT_TOO_LARGE = "it is {size}, and this app takes files up to {limit}"
URL_INPUT_NOT_PUBLIC = "its address is not on the public internet"
URL_INPUT_NO_HOST = "the URL names no host"
URL_INPUT_STATUS = "its server answered HTTP {status}"
URL_INPUT_REDIRECTS = "it redirected too many times"
MASK_HELP = ("Paint over what should change; the paint becomes the mask (transparent where painted), scaled to the "
             "photo's own pixel size when it is sent. **The model takes the mask as guidance, not an exact "
             "boundary** (tick *Keep the original outside the mask* to hold it to one). Paint nothing to let it edit "
             "the whole image. The brush size is a share of the image: change it with the brush's size control.")
KEY_ACCORDION = "API key and deadline"

# Keeping the original outside the mask, and the mask tools beside the editor.
KEEP_OUTSIDE_LABEL = "Keep the original outside the mask"
KEEP_OUTSIDE_INFO = ("The model may change pixels outside the mask. With this on, its result is laid over your photo "
                     "through the mask: outside it, your photo's own pixels, exactly. Its raw output is kept too.")
FEATHER_LABEL = "Feather (pixels of the photo)"
FEATHER_INFO = "Softens the mask's edge by this much, on both sides of it. 0: a hard edge."
MASK_TOOLS = "Mask tools"
INVERT = "Invert"
GROW = "Grow"
SHRINK = "Shrink"
CLEAR_MASK = "Clear"
MASK_STEP_LABEL = "Grow or shrink by (pixels of the photo)"
MASK_STEP_INFO = "Rounded to the editor's lighter copy of the photo: at least one of its pixels."
EARLIER_MASK_LABEL = "Load the mask of an earlier run"
EARLIER_MASK_INFO = "Your runs that had a mask (painted or uploaded), newest first."
NO_EARLIER_MASKS = "None of your runs has a mask yet."
NEEDS_PHOTO = "Upload a photo first: the mask tools work on the paint over it."
MASK_FILE_WINS = ("An uploaded mask file is used instead of the painting: remove it (under *Mask that will be sent*) "
                  "to use the painted mask.")
EARLIER_MASK_SHAPE = ("That run's mask was made for a {mask} image; this photo is {photo}. Load a mask painted on a "
                      "photo of the same shape.")
EARLIER_MASK_GONE = "That run's mask is no longer kept."
KEPT_OUTSIDE = "your photo's own pixels (the result laid over it through the mask, feather {feather} px)"
RAW_DOWNLOAD = "Download the model's raw output"
NOT_KEPT_TITLE = "Original not kept outside the mask"
RECORD_COMPOSITE = ("- Original kept outside the mask (feather {feather} px): `{composite}`; the model's raw output "
                    "is `{result}`")
RECORD_NO_COMPOSITE = "- Original not kept outside the mask: {note}"
FEATHER_SHOWN = " The preview shows the {feather} px feather."
KEEPS_OUTSIDE = " Outside it, your photo is kept exactly."

# Takes: the same edit run several times (GPT Image takes no seed, so each take differs).
TAKES_LABEL = "Takes"
TAKES_INFO = "Run it this many times"
TAKES_PROBLEM = "must be 1 to {limit}"
TAKE_LABEL = "take {index} of {count}"
TAKE_NAME = "Take {index}"
TAKES_PRICE = " × {takes} takes = about **{total}**"
TAKES_GALLERY = "Takes"
TAKES_RUNNING = "{finished} of {count} takes finished."
TAKES_FINISHED = "{completed} of {count} takes completed. Click one to see it, then continue from it."
TAKES_NONE_COMPLETED = "None of the {count} takes completed: their errors are listed below."
TAKES_MORE_JOBS = " These {count} takes count as {count} jobs: fewer takes may still fit."
TAKE_CHOSEN = "{take} is shown below."

# Continuing from a result: it becomes the photo being edited, with no mask; prompt and settings stay.
SENDING_FORM = "sending and checking the photo, the painting and the settings…"
CONTINUE_RESULT = "Continue from this result"
CONTINUE_THIS_RESULT = "this result"
CONTINUE_CELL_PICK = "Click a result above to continue from it"
CONTINUE_CELL = "Continue from {label}"
CONTINUE_TAKE = "Continue from {take}"
CONTINUE_PICK = "Click a take above to continue from it"
CONTINUES_FROM_COMPOSITE = ("Continuing uses the image shown: the result laid over your photo through the mask, not "
                            "the model's raw output.")
CONTINUES_FROM_RESULT = "Continuing uses the model's result, as shown."
CONTINUED = ("Now editing **{name}** ({which}): it is the photo now, with nothing painted; the prompt and settings "
             "are as they were. Paint what to change next and Run: History keeps the chain of versions.")
CONTINUED_COMPOSITE = "the image with your photo kept outside the mask, as you saw it"
CONTINUED_RESULT = "the model's result"
CONTINUE_TITLE = "Continue from a result"
CONTINUE_NOTHING = "Select one of your runs with a result first."
CONTINUE_NO_RESULT = "This run has no result to continue from."
CONTINUE_GONE = "That run's result is no longer kept, so there is nothing to continue from."

# The model picker and what follows it (facts come from the registry; these are the words around them).
MODEL_LABEL = "Model"
MODEL_INFO = "The Segmind model this edit runs on. Sweep compares several."
RETIRED_ON = "retired by OpenAI on {date}"
RETIRES_ON = "OpenAI retires it on {date}"
RETIRED_TAG = "retired {date}"
RETIRES_TAG = "retires {date}"
TAKES_REFERENCES = "Takes the photo plus up to {count} images in all (references after the photo)."
TAKES_ONE_IMAGE = "Takes **one image**, the photo: no references."
TAKES_MASK = "Takes a mask."
TAKES_NO_MASK = "Takes **no mask**: a painted mask is kept with the run but not sent."
CUSTOM_SIZES = "Sizes: the listed ones, or a custom width × height ({rule})."
NO_TRANSPARENCY = "OpenAI documents no transparent output for it: `transparent` gives an opaque image."
PRICE_BASIS = "OpenAI's list price for this model, quality and size, before input tokens"
PRICE_LINE = "Estimated price per image on `{model}`: about **{each}**{total} ({notes})."
PRICE_QUALITY_ESTIMATED = "quality `{quality}` estimated as {estimated}"
# Size `auto` lets the model pick by the photo's shape (schema.Model.auto_size).
PRICE_AUTO_FOR_PHOTO = "size `auto` priced at {size}, the size the model picks for this photo's shape"
PRICE_AUTO_NO_PHOTO = ("size `auto` follows the photo's shape: priced at {size} until a photo is chosen, "
                       "up to {dearest} for a landscape or portrait one")
PRICE_SIZE_UNKNOWN = "size `{size}` estimated as {square}"
CUSTOM_SIZE_LABEL = "custom width × height"
CUSTOM_SIZE_NUMBERS = "Enter a width and a height in pixels."
CUSTOM_WIDTH = "Width (px)"
CUSTOM_HEIGHT = "Height (px)"
REFERENCES_LABEL = "Reference images (sent after the photo, in this order)"
NO_REFERENCES_LABEL = "Reference images: {model} takes none (switch model to use them)"
NO_MASK_NOTE = ("**{model} takes no mask:** your painting is kept with the run (History shows it) but not sent; "
                "the model may change the whole image. Tick **Keep the original outside the mask** to keep your "
                "photo wherever you did not paint.")
# Beside the mask preview: where the mask comes from.
MASK_FROM_FILE = "Mask from the uploaded file: {size} PNG"
MASK_FROM_PAINTING = "Mask from your painting (scaled to the photo's own size when sent)"
YOUR_PAINTING = "Your painting"  # on a model that takes no mask, then one of:
PAINT_NOT_SENT = (" Not sent: {model} takes no mask and may change the whole image; tick **Keep the original outside "
                  "the mask** to make your painting count.")
PAINT_KEPT_BY_APP = " Not sent ({model} takes no mask): the app lays the result over your photo through it."
SWITCH_TO = "Switch to {label} and keep this form"
RETIRED_RUN = ("`{model}` has been retired (HTTP 410; nothing was charged). Its successor is `{successor}`: "
               "use the button below to switch and keep everything you entered.")
RETIRED_NO_SUCCESSOR = "`{model}` has been retired (HTTP 410; nothing was charged). Choose another model."
RETIRED_DEFAULT = ("**`{model}`, this app's default model, has been retired** (Segmind answered 410). "
                   "This page starts on its successor, `{successor}`; pick another model above if you prefer.")
SWITCHED = "Switched to `{model}`. Everything else in the form is as you left it: press Run."
RETENTION = f"{RESULT_RETENTION}."

# History, Sweep and Copy as code.
HISTORY_KEPT = ("kept on the server (results, inputs and a JSON record each) so nothing you paid for is lost when the "
                "tab closes. Click a run to see it; **Restore** puts its prompt, images and settings back into the "
                "form, and **Continue from this result** edits its result further (the details show each run's chain "
                "of versions).")
HISTORY_INTRO = f"Every run from this browser, {HISTORY_KEPT}"
HISTORY_INTRO_SIGN_IN = f"Every run of yours (this browser's, or your account's while you are signed in), {HISTORY_KEPT}"
NO_JOBS = "No jobs running."
ZIP_TOO_LARGE = "These runs come to about {size}, more than the {limit} this server hands out as one file.{advice}"
COMPARE_UNREADABLE = "One of the two images could not be read, so there is nothing to compare."
NO_RESULT_TO_COMPARE = "This run has no result to compare."
COMPARE_INFO = "Its input (or the version it continued from, and the original photo), or another run's result."
COMPARE_PARENT = "The version it continued from ({caption})"
COMPARE_ORIGINAL = "The original photo (before version 1)"
CONTINUE_HISTORY = "Continue from this result"
RECORD_CONTINUED_FROM = "- Continued from: {parent}"
RECORD_PARENT_GONE = "- Continued from a run that is no longer kept"
RECORD_VERSIONS = "- Versions: {chain}"
RECORD_CONTINUED_IN = "- Continued in: {children}"
ORIGINAL_PHOTO = "original photo"
THIS_VERSION = "**v{number}, this run**"
NOTHING_SENT = "Nothing was sent."
BAD_DEADLINE = f"Set a positive deadline (under {KEY_ACCORDION})."

# The Sweep tab: the form's request over a grid of one or two axes. Validation messages are plain text.
SWEEP_INTRO = ("Run the **Edit** tab's image, mask, references, prompt and settings as a grid: pick what changes "
               "across the columns and, if you like, what changes down the rows (an option, the model, prompt "
               "variants, or takes of the same request). Every cell is one job: each is checked before any is "
               "sent, and each is billed. The table fills in as they finish.")
COLUMNS_LABEL = "Columns vary"
ROWS_LABEL = "Rows vary"
NO_ROWS_CHOICE = "Nothing (one row)"
PROMPT_AXIS_CHOICE = "Prompt variants"
TAKES_AXIS_CHOICE = "Takes (the same request again)"
AXIS_TITLES = {PROMPT_AXIS: "Prompt", TAKES_AXIS: "Take"}  # a table's corner names its axes; options by their label
COLUMN_VALUES = "Column values"
# A Model axis's note on the models it leaves unticked, each with its reason.
MODELS_UNTICKED = "Left unticked: {models}. Tick one to try it anyway."
UNTICKED_410 = "retired: Segmind answered 410 for it"
ROW_VALUES = "Row values"
TYPED_NUMBERS = "{label} values ({minimum}-{maximum}, comma-separated)"
TYPED_TAKES = "How many takes (1-{limit}): GPT Image has no seed, so each take is a new draw"
DEFAULT_TAKES = "3"
PROMPT_VARIANT = "Prompt variant {n}"
AT_A_TIME = "At most this many at a time"
RUN_GRID = "Run grid"
STOP_GRID = "Stop grid"
GRID_RESULTS = "Grid results (click one to enlarge)"

NOT_AN_AXIS = "{name!r} is not something a grid can vary."
NO_COLUMNS = "Pick what the columns vary."
SAME_AXIS = "The rows and the columns both vary {name}: pick something else for one of them."
NO_VALUES = "Pick at least one value (or write at least one prompt variant)."
BAD_TAKES = "Takes: write a whole number from 1 to {limit}."
NOT_OFFERED = "{name!r} is not a model this app offers."
TOO_MANY_VALUES = "An axis takes at most {limit} values; {name} has {count}."
TOO_MANY_CELLS = "A grid runs at most {limit} jobs; this one has {count}."
EVERY_VARIANT = "Every cell ({labels}): {problem}"
NO_COST_YET = "No cells yet: nothing to run."
COST_NOTE = "OpenAI's list prices, before input tokens"
# Boards (History and Sweep): runs exported for people who were not there.
BOARD_ACCORDION = "Board for stakeholders (one HTML file, or a contact sheet)"
BOARD_INTRO = ("Pick runs here, or select one in the gallery above and press **Add the selected run**. **Export board** "
               "makes one HTML file that opens in any browser, offline, without this app: each result with a "
               "before/after slider against its photo, and each run's prompt, model, every parameter, time and "
               "cost. **Contact sheet** makes one labelled PNG of the results. Neither holds your key or anything "
               "that identifies you.")
BOARD_RUNS = "Runs on the board, in this order"
BOARD_ADD = "Add the selected run"
BOARD_LAYOUT = "Lay them out"
BOARD_SELECTION = "Side by side"
BOARD_CHAIN = "As versions, oldest first (one run brings its whole chain)"
BOARD_TITLE = "Title"
BOARD_TITLE_PLACEHOLDER = "Edits"
BOARD_HTML = "Export board (HTML)"
BOARD_PNG = "Contact sheet (PNG)"
BOARD_FILE = "Board"
BOARD_NOT_MADE = "No board"
BOARD_SELECT_FIRST = "Select a run in the gallery first."
BOARD_TOO_LARGE = ("This board comes to {size}, more than the {limit} this server hands out as one file. Put fewer "
                   "runs on it.")
SWEEP_BOARD_INTRO = ("Share this sweep as one HTML file (opens offline, with a before/after slider on each result) "
                     "or one contact-sheet PNG.")
SWEEP_BOARD_TITLE = "Sweep: {varies}"
SWEEP_BOARD_SAME = "repeats"
NO_SWEEP_YET = "Run a sweep on this page first: the board shows its variants."
GRID_COST = "**{jobs}** ({shape}) · estimated **{total}** ({each})"
GRID_EACH_SAME = "{price} each"
GRID_EACH_RANGE = "{low} to {high} each"
CONFIRM_ABOVE = "Above {threshold}: *{run}* asks you to confirm first."
COST_SIMULATED = "Simulated: the built-in emulator answers these jobs and bills nothing."
CONFIRM_BUTTON = "Confirm: send {jobs} for about {total}"
CONFIRM_ASK = ("**Confirm this grid:** {jobs} for about {total}, more than the {threshold} this app sends without "
               "asking. Nothing was sent yet: press *Confirm* to send them, or change the grid.")
CONFIRM_SIMULATED = (" That is what Segmind would charge; here the built-in emulator answers, so the cost is simulated "
                     "and nothing is billed.")
GRID_PROGRESS = "{done} of {cells} cells done{detail} · {cost} so far · {elapsed}"
GRID_PROGRESS_DETAIL = " ({completed} completed{failed})"
GRID_FINISHED = "All {cells} cells done in {elapsed}: {completed} completed{failed} · {cost} in all{simulated}."
GRID_FAILED_PART = ", {count} did not"
GRID_SIMULATED_PART = " (simulated, nothing billed)"
GRID_STOPPED = ("Stopped following {count} cell(s). Jobs already submitted may still finish and be billed; find "
                "their request ids in *History*.")


def jobs(count: int) -> str:
    return f"{count} job{'s' if count != 1 else ''}"


CODE_HELP = ("Code that sends exactly this request and saves the result next to it. Your key is read from "
             "`SEGMIND_API_KEY`, never written out. Files are named as in a run's zip (*History*): "
             "`image-1.<ext>` is the photo, `image-2.<ext>`, … the uploaded references in order, "
             "and `mask.png` the mask shown above.")

UNEXPECTED = ("Something went wrong inside this app (it has been logged). If a job was submitted, its request "
              "id is in the status line above; otherwise nothing was sent.")
NO_HISTORY = "This browser has no history yet: reload the page."
INSIGHTS_TITLE = "Insights: time and cost from your runs"
INSIGHTS_EMPTY = ("No completed runs yet. Each completed run adds to these charts: how long each model, quality and "
                  "size took, and what it cost, from your own runs.")
INSIGHTS_SECONDS_TITLE = "Time per image"
INSIGHTS_COST_TITLE = "Cost per image"
INSIGHTS_SUMMARY = ("From {runs} in {groups}: fastest **{fastest}** ({seconds} s median), "
                    "cheapest **{cheapest}** ({cost}).")
INSIGHTS_SECONDS_AXIS = "seconds (median)"
INSIGHTS_COST_AXIS = "US$ (median)"
INSIGHTS_SHARED = "All {groups}: {shared}."
INSIGHTS_SIMULATED = "These runs were simulated by the emulator: its times and costs are estimates, not Segmind's."
DEADLINE_PROBLEM = "must be a positive number of seconds"

# Sign in with Hugging Face (only on a Space with `hf_oauth: true`).
SIGN_IN = "Sign in with Hugging Face"
SIGN_OUT = "Sign out ({})"
SIGNED_IN = "Signed in as **{username}**: your history follows your account to any browser or device."
SIGNED_OUT = ("Not signed in: your history stays in this browser. Sign in to keep it with your Hugging Face account, "
              "on any device.")
SIGNED_OUT_REQUIRED = ("Not signed in: your history stays in this browser, and this Space's key runs edits only for "
                       f"visitors signed in with Hugging Face (or bring your own key under *{KEY_ACCORDION}*).")
CLAIMED_TITLE = "Your runs"


def claimed_runs(claimed: Claimed) -> str:
    """What signing in did with the runs this browser made while signed out ("" when it had none)."""
    if claimed.moved:
        runs = "1 run" if claimed.moved == 1 else f"{claimed.moved} runs"
        return f"{runs} from this browser {'is' if claimed.moved == 1 else 'are'} now in your account's history."
    if claimed.kept:
        runs = "1 run" if claimed.kept == 1 else f"{claimed.kept} runs"
        return (f"{runs} from this browser stayed with this browser: {'it comes' if claimed.kept == 1 else 'they come'}"
                f" to {amount(claimed.needed)}, and your account's share of this server's storage has "
                f"{amount(claimed.room)} left. Sign out to see {'it' if claimed.kept == 1 else 'them'} (and download "
                "them from *History*).")
    return ""


def account_status(username: str | None, claimed: Claimed, *, require_login: bool) -> str:
    """The line beside the sign-in button: whose history this page shows, and what signing in moved."""
    if username is None:
        return SIGNED_OUT_REQUIRED if require_login else SIGNED_OUT
    moved = claimed_runs(claimed)
    return SIGNED_IN.format(username=username) + (f" {moved}" if moved else "")


CANCELLED_BEFORE_SUBMIT = "Cancelled before the job was submitted: nothing was sent to Segmind."
CANCELLED_IN_FLIGHT = ("Stopped. The submit was already on its way; if Segmind received it, its request id will "
                       "appear in *History*.")


def intro(models: Sequence[str]) -> str:
    names = ", ".join(f"`{slug}`" for slug in models)
    return (f"# {TITLE}\nEdit and compose images with GPT Image on Segmind ({names}): paint where to change, "
            "add references, compare models, and see what every parameter does.")


def storage_note(storage: Storage, folder: Path) -> str:
    """Where runs are kept, and whether they survive a restart."""
    if storage is Storage.SPACE_PERSISTENT:
        return (f"💾 Runs are kept on this Space's persistent storage (`{folder}`): they survive restarts and "
                "rebuilds.")
    if storage is Storage.SPACE_EPHEMERAL:
        return ("⚠️ **Runs here are lost when this Space restarts.** It has no persistent storage, so its runs live "
                "on the Space's own disk, which is wiped at every restart, rebuild or sleep. Download the runs you "
                "want to keep (*Download all runs*). The Space's owner can make them last by attaching persistent "
                "storage at `/data` (in the Space's settings, a storage bucket mounted as a volume there).")
    if storage is Storage.SPACE_CHOSEN:
        return (f"Runs are kept in `{folder}`, the folder this Space's owner chose: they survive a restart only if "
                "that folder is on storage attached to the Space.")
    return f"Runs are kept in the folder `{folder}` on this machine, until you delete them."


def footer(slug: str, backend: Backend) -> str:
    """Which model the form is on (with its page on Segmind) and who answers runs."""
    model = schema.model(slug)
    if backend.kind is BackendKind.EMULATOR:
        who = "the **built-in emulator** (simulated results, not the model's work)"
        if backend.allow_visitor_keys:
            who += ", or Segmind itself when you enter your own key"
    else:
        where = "" if backend.is_default_api else f" at `{backend.settings.api_base}`"
        who = f"**Segmind's API**{where}"
    return f"Model: [{model.label} · `{model.slug}`]({model.page_url}) on Segmind. Runs are answered by {who}."


# The API page (`/?view=api`) shows these as plain text: no Markdown.
EDIT_API_EXAMPLE_PROMPT = "Paint the bus bright yellow, keep everything else as it is"
EDIT_API_PROMPT_NOTE = "What to change, in words."


def edit_api_description(backend: Backend) -> str:
    """What `/edit` does, for the API page."""
    if backend.kind is BackendKind.EMULATOR:
        answered = "this app's built-in emulator (simulated results)"
        answered += ", or by Segmind when you send your own key" if backend.allow_visitor_keys else ""
    elif backend.quota.require_visitor_keys or backend.quota.require_sign_in:
        # A program cannot sign in: with sign-in required, the app's key pays only for people on the page.
        answered = "Segmind's API, on your own key only"
    else:
        answered = "Segmind's API, billed to this app's key"
        answered += " unless you send your own" if backend.allow_visitor_keys else ""
    own_key = ""
    if backend.allow_visitor_keys:
        own_key = " To pay with your own Segmind key, send it as a header: Client(url, headers={'x-api-key': '...'})."
    return ("Edit an image with GPT Image on Segmind. Give a prompt, the photo to edit (then any reference "
            "images) and optionally a mask; the other parameters are the model's own, and model defaults to this "
            "app's. The job streams its states and returns (image_file, status): status is a JSON object with "
            "status, request_id, backend, inference_time, elapsed, cost and remaining_credits. A failed job raises "
            f"an error with Segmind's detail. Runs here are answered by {answered}.{own_key} Each call's inputs and "
            "result are kept on this app's server, where no browser can list them.")


def edit_api_images_note() -> str:
    one_image = ", ".join(slug for slug, model in schema.MODELS.items() if not model.takes_references)
    return (f"The photo to edit first, then reference images in order: {schema.MAX_IMAGES} at most, PNG, JPEG or "
            f"WebP. {one_image} takes the photo only.")


def edit_api_mask_note() -> str:
    no_mask = ", ".join(slug for slug, model in schema.MODELS.items() if not model.takes_mask)
    return ("Optional. A PNG the size of the photo, transparent where the image should change. Leave it out to "
            f"let the model edit the whole image. {no_mask} takes no mask: one sent is kept with the run, not sent "
            "(status.notes says so).")


def cancelled_after_submit(request_id: str) -> str:
    return (f"Stopped following request `{request_id}`. Segmind has no cancel endpoint, so the job may still finish "
            f"and be billed. {RETENTION} Resume it from *History* with this request id.")


def banner(backend: Backend) -> str:
    """Who answers runs, without any secret."""
    if backend.kind is BackendKind.EMULATOR:
        text = ("**Simulated results.** No `SEGMIND_API_KEY` is configured, so runs go to the built-in "
                "Segmind emulator: it follows the real API's flow, but its images are stamped "
                "re-renders of your input, not the model's work.")
        if backend.allow_visitor_keys:
            text += f" Enter your own Segmind key under *{KEY_ACCORDION}* to use the real service."
        return text
    where = "" if backend.is_default_api else f" at `{backend.settings.api_base}`"
    text = f"**Live:** runs go to Segmind's API{where} and are billed."
    quota = backend.quota
    if quota.require_visitor_keys:
        return text + f" **Use your own Segmind key** under *{KEY_ACCORDION}*: this Space does not pay."
    if quota.require_sign_in:
        text += " The Space's key pays only for visitors **signed in with Hugging Face**."
    limits = [f"{quota.per_session} per session" if quota.per_session is not None else "",
              f"{quota.per_hour} per hour" if quota.per_hour is not None else "",
              f"{quota.per_account_per_day} per account a day" if quota.per_account_per_day is not None else ""]
    if any(limits):
        text += f" The Space's key pays for at most {' and '.join(part for part in limits if part)} jobs."
    if backend.allow_visitor_keys:
        text += f" You may use your own key under *{KEY_ACCORDION}*."
    return text


def hours(wait_seconds: float) -> str:
    if wait_seconds < 3600:
        return f"{max(1, round(wait_seconds / 60))} minutes"
    return f"{wait_seconds / 3600:.0f} hours" if wait_seconds >= 5400 else "an hour"


def refusal_message(refusal: refusals.Refusal) -> str:
    if isinstance(refusal, refusals.VisitorKeyRequired):
        return (f"This Space asks each visitor to use their own Segmind key: enter it under *{KEY_ACCORDION}* "
                "(it stays in your browser tab).")
    if isinstance(refusal, refusals.SignInRequired):
        if refusal.offered:
            return ("This Space's key runs edits only for visitors signed in with Hugging Face: **sign in** with the "
                    f"button at the top of the page, or enter your own Segmind key under *{KEY_ACCORDION}* "
                    "(programs: an x-api-key header). Nothing was sent.")
        return ("This app's key runs edits only for visitors signed in with Hugging Face, and sign-in is not set up "
                f"here: enter your own Segmind key under *{KEY_ACCORDION}* (programs: an x-api-key header). "
                "Nothing was sent.")
    if isinstance(refusal, refusals.AccountQuotaUsed):
        return (f"Your Hugging Face account has used its {refusal.limit} jobs on the Space's key for the last 24 "
                f"hours. The next one frees up in about {hours(refusal.wait_seconds)}; or enter your own Segmind "
                f"key under *{KEY_ACCORDION}* to keep going. Nothing was sent.")
    if isinstance(refusal, refusals.SessionQuotaUsed):
        return (f"This session has used its {refusal.limit} jobs on the Space's key. Enter your own Segmind key "
                f"under *{KEY_ACCORDION}* to keep going.")
    if isinstance(refusal, refusals.HourlyQuotaUsed):
        return (f"The Space's key has paid for its {refusal.limit} jobs this hour. Try again in about "
                f"{refusal.wait_seconds / 60:.0f} minutes, or enter your own Segmind key.")
    if isinstance(refusal, refusals.TooManyRuns):
        whose = {refusals.Share.OWNER: "You have", refusals.Share.ADDRESS: "Your network address has",
                 refusals.Share.SERVER: "This server has"}[refusal.share]
        return (f"{whose} {refusal.limit} jobs running already. Wait for some to finish (see *History*: Still "
                "running), then try again. Nothing was sent.")
    if isinstance(refusal, refusals.UnknownRequestId):
        return ("This app did not start that job for this browser, so it can only follow it with your own "
                "Segmind key: enter the key that submitted it, then resume. Nothing was sent.")
    if isinstance(refusal, refusals.NoStorageRoom):
        return f"Not started: {refusal.detail} Nothing was sent."
    return f"Not started: {refusal}. Nothing was sent."



def takes_refusal(refusal: refusals.Refusal, count: int) -> str:
    """A refusal of several takes: a limit on jobs counts each take, so fewer may still fit."""
    text = refusal_message(refusal)
    counted = (refusals.SessionQuotaUsed, refusals.HourlyQuotaUsed, refusals.AccountQuotaUsed, refusals.TooManyRuns)
    if count > 1 and isinstance(refusal, counted):
        text += TAKES_MORE_JOBS.format(count=count)
    return text

# Where the API's remedy names no place in this UI, these say where to go instead.
UI_REMEDIES: dict[type[errors.SegmindError], str] = {
    errors.DeadlineExceededError: ("It may still finish on Segmind's side (and be billed): resume it from *History* "
                                   f"with its request id. {RETENTION}"),
    errors.PollingStoppedError: ("Segmind has no cancel endpoint: the job may still finish and be billed. Resume "
                                 f"it from *History* with its request id. {RETENTION}"),
    errors.OutputError: f"If the job finished, fetch its result again from *History* → Resume. {RETENTION}",
    errors.RequestExpiredError: f"The id is wrong or its result has expired: {RETENTION}",
}


def error_message(exc: BaseException) -> str:
    """What a person reads for any exception: the server's words and what to do, never a traceback."""
    if isinstance(exc, errors.ValidationError):
        return "Nothing was sent. Fix: " + "; ".join(str(issue) for issue in exc.issues)
    if isinstance(exc, refusals.Refusal):
        return refusal_message(exc)
    if isinstance(exc, CancelledBeforeSubmit):
        return CANCELLED_BEFORE_SUBMIT
    if isinstance(exc, errors.SegmindError):
        remedy = next((text for cls, text in UI_REMEDIES.items() if isinstance(exc, cls)), None)
        return exc.message if remedy is None else exc.message.replace(exc.remedy, remedy)
    return UNEXPECTED


# The MCP tools (components/ui/mcp_tools.py). An agent reads these: facts come from the registry, the app's
# settings and its limits; these are the words around them. A parameter's line must stay one line.
# The header a program or MCP client sends a visitor's Segmind key in (never a tool argument an agent might log).
VISITOR_KEY_HEADER = "x-api-key"
MCP_EDIT_SUMMARY = ("Edit or compose images with OpenAI's GPT Image models on Segmind. Give a prompt and one or "
                    "more images; get back the edited image and a JSON status (status, request_id, job_token, cost "
                    "in USD, timings, notes on anything changed to fit the model).")
MCP_GET_JOB_SUMMARY = ("Collect a job started earlier (for instance one that outlived edit_image's deadline): follow "
                       "it until it ends and return its image and JSON status, as edit_image does. Pass the "
                       "request_id and the job_token that came with it.")
MCP_MODELS = "Models (the `model` parameter; default `{default}`):"
MCP_MODEL = "- `{slug}` ({label}): {summary}. {takes} {mask}{sizes} Price per image: {prices}. Usually about {latency}."
MCP_TAKES_REFERENCES = "Takes up to {count} images: the first is edited, the others are references."
MCP_TAKES_ONE_IMAGE = "Takes one image and no references."
MCP_TAKES_MASK = "Takes a mask."
MCP_TAKES_NO_MASK = "Takes no mask (one given is kept with the run, not sent)."
MCP_CUSTOM_SIZES = " Sizes: the listed ones, or any WIDTHxHEIGHT with {rule}."
MCP_LIFECYCLE = " {when}{successor}."
MCP_SUCCESSOR = "; its successor is `{successor}`"
MCP_PRICE_SQUARE = "{prices} for a square image; {oblong} for other sizes"
MCP_PRICE_AREA = "{prices} at {size}, in proportion to the output's area"
MCP_PRICE_ESTIMATE = "; quality `{quality}` is estimated as {estimated}"
MCP_PRICE_AUTO = "; size `auto` is priced at the size it picks for the first image's shape ({sizes})"
MCP_PRICE_BASIS = ("Prices are OpenAI's list prices per output image, before input tokens; the status's `cost` is what "
                   "Segmind billed.")
MCP_LIMITS = ("Limits: the prompt up to {prompt:,} characters; images {types}, up to {image_mb} MB each (other formats "
              "are converted to PNG, and a side over {side} px is reduced); a mask is a PNG with an alpha channel, "
              "the first image's size, up to {mask_mb} MB; `transparent` needs output_format {alpha}. At most "
              "{per_address} jobs run at once from one client address.")
MCP_FILES = ("Images and the mask are http(s) URLs, which Segmind fetches itself (this server never does), or "
             "`data:image/...;base64,...` URIs, which are checked here (a call's arguments take {inline_mb} MB at "
             "most, so an inline image of about {image_mb} MB; send a larger photo as a URL). To send a local file, upload it to this "
             "server (POST it as `files` to /gradio_api/upload, as Gradio's upload_file_to_gradio tool does) and pass "
             "`<server>/gradio_api/file=<the path it answers>`: Segmind fetches it from there, so that works only "
             "where Segmind can reach this server (a public Space). The result comes back as an image file.")
MCP_DEADLINE = ("This call follows the job for `deadline` seconds at most (default {deadline:g}). If the job is still "
                "running then, the call fails with its request_id and job_token: the job goes on at Segmind, and "
                "get_job collects it. {retention}.")
MCP_SIMULATED = ("This server has no Segmind key: jobs go to a built-in emulator. Its results are simulated (stamped "
                 "re-renders of the input, not the model's work), and so is the cost it reports: nothing is billed.")
MCP_LIVE = "Jobs go to Segmind's API and are billed."
MCP_OWN_KEY = ("To be billed on your own Segmind account, send your key in the `{header}` HTTP header of the MCP "
               "connection (never as a tool argument).")
MCP_NO_OWN_KEY = "This server does not take visitors' Segmind keys."
MCP_KEY_REQUIRED = "This server pays for no jobs: every call needs your own Segmind key in the `{header}` header."
MCP_QUOTA = "The server's key pays for at most {limits} jobs."
MCP_QUOTA_PER_CLIENT = "{count} per client address"
MCP_QUOTA_PER_HOUR = "{count} per hour across everyone"

MCP_PROMPT = "{help} Up to {limit:,} characters."
MCP_IMAGES = ("{help} Each an http(s) URL or a data: URI (see the tool's description). How many each model takes: "
              "{counts}.")
MCP_MASK_FORM = "An http(s) URL or a data: URI, as for images."
MCP_MASK = "Only {models} take one."
MCP_MODEL_PARAM = ("The model that runs the edit: {choices}. Default `{default}`. The tool's description says what "
                   "each takes and costs.")
MCP_OPTION_FOR = "{models}: {text}"
MCP_OPTION_CHOICES = "One of {choices}; default `{default}`."
MCP_OPTION_RANGE = "A whole number from {minimum} to {maximum}; default {default}."
MCP_OPTION_OMIT = "Leave it out for the model's default."
MCP_DEADLINE_PARAM = ("Seconds to follow the job before giving up with its request_id and job_token, which get_job "
                      "collects it with (default {deadline:g}); keep it under your MCP client's tool-call timeout.")
MCP_REQUEST_ID = "The job's request_id, from edit_image's status or error."
MCP_JOB_TOKEN = ("The job_token that came with that request_id. Without it only a job your own Segmind key submitted "
                 "can be collected (send that key in the `{header}` header).")

MCP_NO_REQUEST_ID = "request_id: give the request id of the job to collect."
MCP_BAD_TOKEN = "job_token: {token!r} is not a token this app gives out."
MCP_COLLECT = "Collect it with get_job(request_id={request_id!r}, job_token={token!r})."
MCP_UNEXPECTED = "Something went wrong inside this app (it has been logged)."


def mcp_refusal_message(refusal: refusals.Refusal) -> str:
    """A refusal in an agent's terms: where the page says "enter your key", an agent sends a header."""
    key = f"send your own Segmind key in the `{VISITOR_KEY_HEADER}` header"
    if isinstance(refusal, refusals.VisitorKeyRequired):
        return f"This server pays for no jobs: {key}. Nothing was sent."
    if isinstance(refusal, refusals.SessionQuotaUsed):
        return f"Your {refusal.limit} jobs on the server's key are used: {key} to keep going. Nothing was sent."
    if isinstance(refusal, refusals.HourlyQuotaUsed):
        return (f"The server's key has paid for its {refusal.limit} jobs this hour. Try again in about "
                f"{refusal.wait_seconds / 60:.0f} minutes, or {key}. Nothing was sent.")
    if isinstance(refusal, refusals.TooManyRuns):
        return (f"{refusal.limit} jobs are running already {refusal.share.value}. Wait for some to finish, then try "
                "again. Nothing was sent.")
    if isinstance(refusal, refusals.UnknownRequestId):
        return ("This app did not start that job for this job_token, so it can only follow it with the Segmind key "
                f"that submitted it: pass the job_token that came with the request_id, or send that key in the "
                f"`{VISITOR_KEY_HEADER}` header. Nothing was sent.")
    return refusal_message(refusal)


def mcp_error_message(exc: BaseException) -> str:
    """What an agent reads for any exception: the API's own words (which name no page), never a traceback."""
    if isinstance(exc, refusals.Refusal):
        return mcp_refusal_message(exc)
    if isinstance(exc, errors.ValidationError | CancelledBeforeSubmit):
        return error_message(exc)
    if isinstance(exc, errors.SegmindError):
        return exc.message
    return MCP_UNEXPECTED
