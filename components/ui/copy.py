"""Every sentence the UI shows that is not a parameter's own help text (that is in the schema)."""

from __future__ import annotations

from typing import Sequence

from components.api import errors
from components.api.constants import RESULT_RETENTION
from components.app import refusals
from components.app.backend import Backend, BackendKind
from components.app.runs import CancelledBeforeSubmit

TITLE = "GPT Image Edit explorer"
PHOTO_LABEL = "1 · Photo to edit"
EDITOR_LABEL = "2 · Paint the area to change"
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
CUSTOM_SIZE_LABEL = "custom width × height"
CUSTOM_SIZE_NUMBERS = "Enter a width and a height in pixels."
CUSTOM_WIDTH = "Width (px)"
CUSTOM_HEIGHT = "Height (px)"
REFERENCES_LABEL = "Reference images (sent after the photo, in this order)"
NO_REFERENCES_LABEL = "Reference images: {model} takes none (switch model to use them)"
NO_MASK_NOTE = ("**{model} takes no mask:** your painting is kept with the run (History shows it) but not sent; "
                "the model may change the whole image.")
SWITCH_TO = "Switch to {label} and keep this form"
RETIRED_RUN = ("`{model}` has been retired (HTTP 410; nothing was charged). Its successor is `{successor}`: "
               "use the button below to switch and keep everything you entered.")
RETIRED_NO_SUCCESSOR = "`{model}` has been retired (HTTP 410; nothing was charged). Choose another model."
RETIRED_DEFAULT = ("**`{model}`, this app's default model, has been retired** (Segmind answered 410). "
                   "This page starts on its successor, `{successor}`; pick another model above if you prefer.")
SWITCHED = "Switched to `{model}`. Everything else in the form is as you left it: press Run."
RETENTION = f"{RESULT_RETENTION}."

# History, Sweep and Copy as code.
NO_JOBS = "No jobs running."
ZIP_TOO_LARGE = "These runs come to about {size}, more than the {limit} this server hands out as one file.{advice}"
COMPARE_UNREADABLE = "One of the two images could not be read, so there is nothing to compare."
NO_RESULT_TO_COMPARE = "This run has no result to compare."
COMPARE_INFO = "Its input, or another run's result."
NOTHING_SENT = "Nothing was sent."
NOT_SWEEPABLE = "{name!r} is not a parameter a sweep can vary."
BAD_DEADLINE = f"Set a positive deadline (under {KEY_ACCORDION})."
NO_VALUES = "Pick at least one value (or write at least one prompt variant) to sweep."
TOO_MANY = "A sweep runs at most {limit} variants; you picked {count}."
EVERY_VARIANT = "Every variant ({labels}): {problem}"
NO_COST_YET = "No variants picked yet: nothing to run."
COST_NOTE = "OpenAI's list prices, before input tokens"
CODE_HELP = ("Code that sends exactly this request and saves the result next to it. Your key is read from "
             "`SEGMIND_API_KEY`, never written out. Files are named as in a run's zip (*History*): "
             "`image-1.<ext>` is the photo, `image-2.<ext>`, … the uploaded references in order, "
             "and `mask.png` the mask shown above.")

UNEXPECTED = ("Something went wrong inside this app (it has been logged). If a job was submitted, its request "
              "id is in the status line above; otherwise nothing was sent.")
NO_HISTORY = "This browser has no history yet: reload the page."

CANCELLED_BEFORE_SUBMIT = "Cancelled before the job was submitted: nothing was sent to Segmind."
CANCELLED_IN_FLIGHT = ("Stopped. The submit was already on its way; if Segmind received it, its request id will "
                       "appear in *History*.")


def intro(models: Sequence[str]) -> str:
    names = ", ".join(f"`{slug}`" for slug in models)
    return (f"# {TITLE}\nEdit and compose images with GPT Image on Segmind ({names}): paint where to change, "
            "add references, compare models, and see what every parameter does.")


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
    limits = [f"{quota.per_session} per session" if quota.per_session is not None else "",
              f"{quota.per_hour} per hour" if quota.per_hour is not None else ""]
    if any(limits):
        text += f" The Space's key pays for at most {' and '.join(part for part in limits if part)} jobs."
    if backend.allow_visitor_keys:
        text += f" You may use your own key under *{KEY_ACCORDION}*."
    return text


def refusal_message(refusal: refusals.Refusal) -> str:
    if isinstance(refusal, refusals.VisitorKeyRequired):
        return (f"This Space asks each visitor to use their own Segmind key: enter it under *{KEY_ACCORDION}* "
                "(it stays in your browser tab).")
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
