"""The app as MCP tools: `edit_image` and `get_job`, thin wrappers over the edit service.

With Gradio's MCP server on (GRADIO_MCP_SERVER=true, or `launch(mcp_server=True)`), Gradio makes a tool of
every public endpoint (gradio/mcp.py): named after the function, described by the event's `api_description`,
each parameter by its line under `Args:` in the function's docstring, typed by its input component. Here one
list of ToolParams per tool makes all three (the hidden components, the function's signature, its docstring),
and every sentence in them is written from the registry (schema.MODELS: parameters, help, prices, latency),
the app's limits and its settings, so what an agent reads is what the app does. `/edit` stays an endpoint for
programs but is no tool (`only_these_tools`): these two are the only ones.

How a call arrives: the endpoints are not queued, so Gradio's MCP server calls them directly with the MCP
request itself (a queued one it would resubmit through a loopback Gradio client, whose answer Gradio 6.31
flattens into one text when a tool has two outputs). So a visitor's Segmind key comes as the x-api-key
header in gr.Request, exactly as for `/edit`, never as an argument an agent might log or repeat; and the
client address is the caller's. Unqueued, the calls are bounded by the service's own live-run limits
(per address and in all), which bound `/edit` and the tabs too. A tool returns once, when the run ends:
Gradio sends an MCP client no more than "Processing" in between anyway.

Images come in as text, not as Gradio file inputs: Gradio 6.31's MCP layer gives a list of files a schema
with a dangling `$ref` (the `mcp` server's input check fails every call on it) and never converts the
list's items, and for a single file it downloads any public URL itself, with no bound on the size. So each
image is a string the app reads by its own rules (the Edit tab's URL box's): an http(s) URL goes to Segmind
untouched (this server never fetches it; a file uploaded to the Space's /gradio_api/upload has such a URL),
and a data: URI is decoded and checked here, within the usual byte bound. Nothing is read as a path on this
machine. The result goes back as a Gradio file: the MCP client gets the image itself and its URL.

Owners and capacity, as for `/edit`: each call's run is kept under a fresh owner nobody else holds, so the
per-owner bound never bites and the per-address one does. The owner's random part goes back to the agent
as the `job_token`, a bearer token like a browser's owner id: with it, get_job follows that run again by its
request id. Without it, only the visitor's own key can follow a request id (the service's rule for a job it
did not start for that owner). Deployer limits count per client address, since an MCP call belongs to no
Gradio session.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence

import gradio as gr
from gradio.components.api_component import Api
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE

from components.api import errors, schema
from components.api.constants import RESULT_RETENTION
from components.api.schema import ParamType, ValidationIssue
from components.app.backend import BackendKind
from components.app.owners import OWNER_ID
from components.app.runs import ResultNotKept, Run, RunUpdate
from components.app.service import EditService
from components.app.settings import AppSettings
from components.media.images import MAX_INPUT_SIDE, EditRequest, UrlText
from components.ui import copy
from components.ui.api_endpoint import status_record
from components.ui.errors import as_gr_error
from components.ui.guard import SMALL_BODY_BYTES
from components.ui.form import IMAGE_PARAMS, client_address, visitor_key_from
from components.ui.models import lifecycle
from components.ui.serving import servable
from components.ui.status import money, seconds

# A tool call's whole body: the MCP SDK's own bound (4 MiB), under this app's for in-memory routes. Inline
# images travel base64-encoded, a third larger than the image.
MCP_CALL_BYTES = min(SMALL_BODY_BYTES, DEFAULT_MAX_REQUEST_BODY_SIZE)
# The MCP tools, by their endpoints' names: the only public endpoints the MCP server offers.
TOOL_NAMES = ("edit_image", "get_job")
# MCP runs' owners: never a browser's (a browser's owner id is 24 characters with no prefix, see app/owners.py).
OWNER_PREFIX = "mcp-"
# Errors whose job may still be collected: the remedy then names the get_job call that does it.
COLLECTABLE = (errors.DeadlineExceededError, errors.PollingStoppedError, errors.OutputError, ResultNotKept)

Outputs = tuple[str | None, str]
Body = Callable[[gr.Request, dict[str, Any]], Awaitable[Outputs]]


class ToolError(gr.Error):
    """A gr.Error that an agent reads as it is: the MCP server hands the agent str() of the exception, and
    gr.Error's str() is its message's repr (quoted, its quotes escaped)."""

    def __str__(self) -> str:
        return str(self.message)


def tool_error(exc: BaseException, hint: str = "") -> ToolError:
    """Any failure as the agent reads it, in the tools' terms (`images`, the x-api-key header, get_job)."""
    if isinstance(exc, errors.ValidationError):
        # The registry names the images `image_urls` or `image`, as Segmind does; the tool calls them `images`.
        exc = errors.ValidationError([ValidationIssue("images" if issue.param in IMAGE_PARAMS - {"mask"}
                                                      else issue.param, issue.message) for issue in exc.issues])
    error = as_gr_error(exc, wording=lambda known: " ".join(filter(None, [copy.mcp_error_message(known), hint])))
    return ToolError(error.message, title=error.title, print_exception=False)


@dataclass(frozen=True)
class ToolParam:
    """One tool parameter: its JSON schema, its one-line description, and its default when it may be left out."""

    name: str
    json_schema: dict[str, Any]
    description: str
    required: bool = False
    default: Any = None

    def component(self) -> Api:
        """The hidden input that gives the endpoint (and so the tool) this parameter's schema, and passes the
        value on as the client sent it: Gradio's own component for typed API endpoints (gr.api's)."""
        return Api(self.default, self.json_schema, label=self.name)


def tool_function(name: str, params: Sequence[ToolParam], body: Body) -> Callable[..., Awaitable[Outputs]]:
    """The function Gradio makes a tool of: named `name`, with one keyword parameter per ToolParam (their
    descriptions under `Args:`, where Gradio reads them), handing the values to `body` as one dict."""

    async def tool(request: gr.Request, **values: Any) -> Outputs:
        return await body(request, values)

    tool.__name__ = tool.__qualname__ = name
    tool.__doc__ = "\n".join([f"The {name} MCP tool.", "", "Args:",
                              *(f"    {param.name}: {param.description}" for param in params)])
    keyword = inspect.Parameter.KEYWORD_ONLY
    tool.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.Request),
        *(inspect.Parameter(p.name, keyword) if p.required else inspect.Parameter(p.name, keyword, default=None)
          for p in params)])
    return tool


# What the tools say --------------------------------------------------------------------------------------


def named(slugs: Sequence[str]) -> str:
    return ", ".join(f"`{slug}`" for slug in slugs)


def price_text(model: schema.Model) -> str:
    """The model's list prices per quality, as the cost estimate computes them."""
    pricing = model.pricing
    square = ", ".join(f"`{quality}` {money(prices[0])}" for quality, prices in pricing.per_quality.items())
    if pricing.by_area:
        text = copy.MCP_PRICE_AREA.format(prices=square, size="x".join(map(str, schema.PRICED_SIZE)))
    else:
        oblong = ", ".join(money(prices[1]) for prices in pricing.per_quality.values())
        text = copy.MCP_PRICE_SQUARE.format(prices=square, oblong=oblong)
    quality = model.params_by_name.get("quality")
    for unpriced in (choice for choice in (quality.choices if quality else ()) if choice not in pricing.per_quality):
        text += copy.MCP_PRICE_ESTIMATE.format(quality=unpriced, estimated=pricing.estimated_quality)
    size = model.params_by_name.get("size")
    if size is not None and schema.AUTO_SIZE in size.choices:
        sizes = [f"{width}x{height}" for width, height in model.auto_sizes()]
        text += copy.MCP_PRICE_AUTO.format(sizes=", ".join(sizes[:-1]) + f" or {sizes[-1]}")
    return text


def model_text(model: schema.Model, today: date | None = None) -> str:
    """One line on a model: what it takes, its sizes, what it costs, how long it takes and until when."""
    takes = (copy.MCP_TAKES_REFERENCES.format(count=model.max_images) if model.takes_references
             else copy.MCP_TAKES_ONE_IMAGE)
    text = copy.MCP_MODEL.format(
        slug=model.slug, label=model.label, summary=model.summary, takes=takes,
        mask=copy.MCP_TAKES_MASK if model.takes_mask else copy.MCP_TAKES_NO_MASK,
        sizes=copy.MCP_CUSTOM_SIZES.format(rule=model.size_rule.describe()) if model.size_rule else "",
        prices=price_text(model), latency=seconds(model.latency_prior))
    when = lifecycle(model, today)
    if when:
        successor = copy.MCP_SUCCESSOR.format(successor=model.successor) if model.successor else ""
        text += copy.MCP_LIFECYCLE.format(when=when[:1].upper() + when[1:], successor=successor)
    return text


def option_groups(name: str, models: Sequence[schema.Model]) -> dict[schema.Param, list[str]]:
    """The option's declarations among `models`, each with the models that declare it so."""
    groups: dict[schema.Param, list[str]] = {}
    for model in models:
        if name in model.params_by_name:
            groups.setdefault(model.params_by_name[name], []).append(model.slug)
    return groups


def option_text(name: str, models: Sequence[schema.Model]) -> str:
    """An option's help, values and default, per model where the models differ."""
    def text(param: schema.Param) -> str:
        if param.type is ParamType.INTEGER:
            values = copy.MCP_OPTION_RANGE.format(minimum=param.minimum, maximum=param.maximum, default=param.default)
        else:
            values = copy.MCP_OPTION_CHOICES.format(choices=", ".join(f"`{c}`" for c in param.choices),
                                                    default=param.default)
        return f"{param.help} {values}"

    groups = option_groups(name, models)
    if len(groups) == 1:
        body = text(next(iter(groups)))
    else:
        body = " ".join(copy.MCP_OPTION_FOR.format(models=named(slugs), text=text(param))
                        for param, slugs in groups.items())
    return f"{body} {copy.MCP_OPTION_OMIT}"


def option_schema(name: str, models: Sequence[schema.Model]) -> dict[str, Any]:
    """A whole number in the range some model allows, an enum where every model lists the same values, or else
    text (a custom size): which value each model takes is the validator's to say, in the registry's words."""
    params = list(option_groups(name, models))
    if all(p.type is ParamType.INTEGER for p in params):
        return {"type": "integer", "minimum": min(p.minimum for p in params),
                "maximum": max(p.maximum for p in params)}
    if all(p.custom is None for p in params) and len({p.choices for p in params}) == 1 and params[0].choices:
        return {"type": "string", "enum": list(params[0].choices)}
    return {"type": "string"}


def service_text(service: EditService) -> str:
    """Who answers and pays: the emulator or Segmind, the visitor's own key, the deployer's limits."""
    backend = service.backend
    parts = [copy.MCP_SIMULATED if backend.kind is BackendKind.EMULATOR else copy.MCP_LIVE]
    quota = backend.quota
    if quota.require_visitor_keys:
        parts.append(copy.MCP_KEY_REQUIRED.format(header=copy.VISITOR_KEY_HEADER))
    else:
        limits = [copy.MCP_QUOTA_PER_CLIENT.format(count=quota.per_session) if quota.per_session is not None else "",
                  copy.MCP_QUOTA_PER_HOUR.format(count=quota.per_hour) if quota.per_hour is not None else ""]
        if any(limits) and backend.kind is BackendKind.SEGMIND:
            parts.append(copy.MCP_QUOTA.format(limits=" and ".join(part for part in limits if part)))
        parts.append(copy.MCP_OWN_KEY.format(header=copy.VISITOR_KEY_HEADER) if backend.allow_visitor_keys
                     else copy.MCP_NO_OWN_KEY)
    return " ".join(parts)


def edit_description(models: Sequence[schema.Model], default: str, service: EditService, deadline: float) -> str:
    limits = copy.MCP_LIMITS.format(
        prompt=schema.MAX_PROMPT_CHARS, types=", ".join(schema.INPUT_IMAGE_TYPES),
        image_mb=schema.MAX_IMAGE_BYTES // 2**20, side=MAX_INPUT_SIDE, mask_mb=schema.MAX_MASK_BYTES // 2**20,
        alpha=" or ".join(f"`{fmt}`" for fmt in sorted(schema.ALPHA_FORMATS)),
        per_address=service.max_runs_per_address)
    return "\n\n".join([
        copy.MCP_EDIT_SUMMARY,
        "\n".join([copy.MCP_MODELS.format(default=default), *(model_text(model, service.today()) for model in models)]),
        copy.MCP_PRICE_BASIS, limits, copy.MCP_FILES.format(inline_mb=MCP_CALL_BYTES // 2**20, image_mb=MCP_CALL_BYTES * 3 // 4 // 2**20),
        copy.MCP_DEADLINE.format(deadline=deadline, retention=RESULT_RETENTION), service_text(service)])


def get_job_description(service: EditService) -> str:
    return "\n\n".join([copy.MCP_GET_JOB_SUMMARY, f"{RESULT_RETENTION}.", service_text(service)])


# What the tools do -----------------------------------------------------------------------------------------


class McpTools:
    """The two tools' bodies: start or resume a run through the service, then follow it to its image."""

    def __init__(self, service: EditService, default_model: str, deadline: float) -> None:
        self.service = service
        self.default_model = default_model
        self.deadline = deadline

    async def edit_image(self, request: gr.Request, values: dict[str, Any]) -> Outputs:
        token = secrets.token_urlsafe(18)
        address = client_address(self.service, request)
        run = await self.start(self.service.start_edit, self.edit_request(values), owner=OWNER_PREFIX + token,
                               visitor_key=visitor_key_from(request, None), deadline=self.checked_deadline(values),
                               quota_session=f"mcp:{address}", address=address)
        return await self.follow(run, token)

    async def get_job(self, request: gr.Request, values: dict[str, Any]) -> Outputs:
        request_id = str(values.get("request_id") or "").strip()
        token = str(values.get("job_token") or "").strip()
        if not request_id:
            raise ToolError(copy.MCP_NO_REQUEST_ID, title="Not started", print_exception=False)
        if token and not OWNER_ID.fullmatch(token):
            raise ToolError(copy.MCP_BAD_TOKEN.format(token=token[:40]), title="Not started", print_exception=False)
        # Without a token, a new owner: only the visitor's own key can then follow the request id.
        token = token or secrets.token_urlsafe(18)
        address = client_address(self.service, request)
        run = await self.start(self.service.resume, request_id, owner=OWNER_PREFIX + token,
                               visitor_key=visitor_key_from(request, None), deadline=self.checked_deadline(values),
                               quota_session=f"mcp:{address}", address=address)
        return await self.follow(run, token)

    def edit_request(self, values: dict[str, Any]) -> EditRequest:
        """The edit the arguments describe; an option left out is the model's default.

        Every image is UrlText: a URL or a data URI, never a path on this machine, whatever it says.
        """
        model = values.get("model") or self.default_model
        model = model if isinstance(model, str) else repr(model)  # the validator names what is wrong with it
        given = {name: values[name] for name in schema.ALL_OPTION_NAMES if values.get(name) is not None}
        defaults = schema.MODELS[model].option_defaults() if model in schema.MODELS else {}
        images = values.get("images") or []
        images = images if isinstance(images, list) else [images]
        mask = values.get("mask")
        return EditRequest(values.get("prompt") or "", [UrlText(str(image)) for image in images],
                           UrlText(str(mask)) if mask else None, {**defaults, **given}, model=model)

    def checked_deadline(self, values: dict[str, Any]) -> float:
        deadline = values.get("deadline")
        deadline = self.deadline if deadline is None else deadline
        if isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or deadline <= 0:
            raise tool_error(errors.ValidationError([ValidationIssue("deadline", copy.DEADLINE_PROBLEM)]))
        return float(deadline)

    @staticmethod
    async def start(call: Callable[..., Run], *args: Any, **kwargs: Any) -> Run:
        """Start a run off the event loop (checking the inputs decodes images); any refusal is a tool error."""
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure reaches the agent as a tool error
            raise tool_error(exc) from None

    @staticmethod
    async def follow(run: Run, token: str) -> Outputs:
        """The run's image when it ends, and its status as JSON (with the token that collects it again)."""
        last = None
        try:
            async for update in run.subscribe():
                last = update
        except Exception as exc:  # noqa: BLE001 - every failure reaches the agent as a tool error
            collect = isinstance(exc, COLLECTABLE) and run.record.request_id
            raise tool_error(exc, copy.MCP_COLLECT.format(request_id=run.record.request_id, token=token)
                             if collect else "") from None
        finally:
            # A call cancelled means stop, as for `/edit`; the job_token can still collect the job later.
            if not run.done:
                run.stop()
        status = {**status_record(last or RunUpdate(run.status, 0.0), run), "job_token": token}
        return (servable(run.result_path) if run.result_path else None), json.dumps(status)


@contextlib.asynccontextmanager
async def only_these_tools(app: Any) -> AsyncIterator[None]:
    """At start-up, take every public endpoint but TOOL_NAMES' off the MCP server: `/edit` is for programs.

    Gradio's MCP server makes a tool of every public endpoint and keeps them by name in `tool_to_endpoint`
    (gradio/mcp.py), which list_tools, call_tool and the schema route behind the API page's MCP tab all read;
    the server exists once the app does, so a lifespan (launch_options passes this one) is the place.
    """
    server = getattr(app.get_blocks(), "mcp_server_obj", None)
    if server is not None:
        server.tool_to_endpoint = {tool: endpoint for tool, endpoint in server.tool_to_endpoint.items()
                                   if endpoint.lstrip("/") in TOOL_NAMES}
    yield


def add_mcp_tools(service: EditService, settings: AppSettings) -> None:
    """The `edit_image` and `get_job` endpoints, which Gradio's MCP server offers as tools."""
    models = [schema.model(slug) for slug in settings.offered_models]
    deadline = service.backend.settings.deadline
    mask_takers = [model.slug for model in models if model.takes_mask]
    text = {"type": "string"}
    edit_params = [
        ToolParam("prompt", text, copy.MCP_PROMPT.format(help=schema.PROMPT.help, limit=schema.MAX_PROMPT_CHARS),
                  required=True),
        ToolParam("images", {"type": "array", "items": text, "minItems": 1,
                             "maxItems": max(model.max_images for model in models)},
                  copy.MCP_IMAGES.format(help=schema.IMAGE_URLS.help,
                                         counts="; ".join(f"`{model.slug}` {model.max_images}" for model in models)),
                  required=True),
        ToolParam("mask", text, " ".join([schema.MASK.help, copy.MCP_MASK_FORM, *(
            [] if len(mask_takers) == len(models) else [copy.MCP_MASK.format(models=named(mask_takers))])])),
        ToolParam("model", {"type": "string", "enum": list(settings.offered_models)},
                  copy.MCP_MODEL_PARAM.format(choices=named(settings.offered_models), default=settings.model),
                  default=settings.model),
        *(ToolParam(name, option_schema(name, models), option_text(name, models))
          for name in schema.ALL_OPTION_NAMES if option_groups(name, models)),
    ]
    job_params = [
        ToolParam("request_id", text, copy.MCP_REQUEST_ID, required=True),
        ToolParam("job_token", text, copy.MCP_JOB_TOKEN.format(header=copy.VISITOR_KEY_HEADER)),
    ]
    deadline_param = ToolParam("deadline", {"type": "number", "exclusiveMinimum": 0},
                               copy.MCP_DEADLINE_PARAM.format(deadline=deadline), default=deadline)
    tools = McpTools(service, settings.model, deadline)
    edit_image, get_job = TOOL_NAMES
    endpoints = [(edit_image, [*edit_params, deadline_param], tools.edit_image,
                  edit_description(models, settings.model, service, deadline)),
                 (get_job, [*job_params, deadline_param], tools.get_job, get_job_description(service))]
    with gr.Column(visible=False):
        result = gr.File(label="image_file")
        status = gr.Textbox(label="status")
        for name, params, body, description in endpoints:
            inputs = {param.name: param.component() for param in params}
            gr.Button(name).click(tool_function(name, params, body), inputs_kwargs=inputs, outputs=[result, status],
                                  api_name=name, api_description=description, queue=False)
