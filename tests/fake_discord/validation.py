"""Checks Discord applies to bodies, answered as Discord answers them (400 / 50035 with ``errors``).

Only the limits that a bot can realistically trip are checked: message content and embed
lengths, embed URLs, component shapes, allowed_mentions, autocomplete choices, modals,
application command definitions, and uploaded files (``files[n]`` parts, their ``attachments``
metadata, the request size, and embeds showing them through ``attachment://``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from .faults import EMPTY_MESSAGE, INVALID_FORM_BODY, MAX_ATTACHMENTS_REACHED, REQUEST_ENTITY_TOO_LARGE
from .records import IS_COMPONENTS_V2, RecordedFile


class DiscordError(Exception):
    """Raised by handlers; turned into a Discord-style JSON error response."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def invalid_form(field: str, code: str, message: str) -> DiscordError:
    """A 400 / 50035 "Invalid Form Body" error about one field."""
    errors = {field: {"_errors": [{"code": code, "message": message}]}}
    return DiscordError(400, INVALID_FORM_BODY, "Invalid Form Body", errors)


class FormErrors:
    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def add(self, path: list[str | int], code: str, message: str) -> None:
        node = self.errors
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_len(self, path: list[str | int], value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def required(self, path: list[str | int], value: Any) -> bool:
        if value is None or (isinstance(value, str) and not value):
            self.add(path, "BASE_TYPE_REQUIRED", "This field is required")
            return False
        return True

    def raise_if_any(self) -> None:
        if self.errors:
            raise DiscordError(400, INVALID_FORM_BODY, "Invalid Form Body", self.errors)


def _check_url(errs: FormErrors, path: list[str | int], url: Any, *, allow_attachment: bool = False) -> None:
    if url is None:
        return
    if not isinstance(url, str):
        errs.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")
        return
    parsed = urlparse(url)
    schemes = ("http", "https", "attachment") if allow_attachment else ("http", "https")
    if parsed.scheme not in schemes:
        errs.add(
            path,
            "URL_TYPE_INVALID_SCHEME",
            f"Scheme \"{parsed.scheme}\" is not supported. Scheme must be one of ('http', 'https').",
        )
    elif parsed.scheme != "attachment" and not parsed.netloc:
        errs.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")
    if len(url) > 2048:
        errs.add(path, "BASE_TYPE_MAX_LENGTH", "Must be 2048 or fewer in length.")


def validate_embeds(errs: FormErrors, embeds: Any) -> None:
    if embeds is None:
        return
    if not isinstance(embeds, list):
        errs.add(["embeds"], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType.")
        return
    if len(embeds) > 10:
        errs.add(["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for i, e in enumerate(embeds):
        p: list[str | int] = ["embeds", i]
        title = e.get("title")
        desc = e.get("description")
        errs.max_len([*p, "title"], title, 256)
        errs.max_len([*p, "description"], desc, 4096)
        total += len(title or "") + len(desc or "")
        _check_url(errs, [*p, "url"], e.get("url"))
        color = e.get("color")
        if color is not None and (not isinstance(color, int) or not 0 <= color <= 0xFFFFFF):
            errs.add([*p, "color"], "NUMBER_TYPE_MAX", "int value should be less than or equal to 16777215.")
        ts = e.get("timestamp")
        if ts is not None and not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", str(ts)):
            errs.add([*p, "timestamp"], "DATE_TYPE_PARSE", "Could not parse timestamp.")
        fields = e.get("fields") or []
        if len(fields) > 25:
            errs.add([*p, "fields"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for j, f in enumerate(fields):
            fp: list[str | int] = [*p, "fields", j]
            if errs.required([*fp, "name"], f.get("name")):
                errs.max_len([*fp, "name"], f["name"], 256)
            if errs.required([*fp, "value"], f.get("value")):
                errs.max_len([*fp, "value"], f["value"], 1024)
            total += len(str(f.get("name") or "")) + len(str(f.get("value") or ""))
        footer = e.get("footer")
        if footer:
            if errs.required([*p, "footer", "text"], footer.get("text")):
                errs.max_len([*p, "footer", "text"], footer["text"], 2048)
            total += len(footer.get("text") or "")
            _check_url(errs, [*p, "footer", "icon_url"], footer.get("icon_url"), allow_attachment=True)
        author = e.get("author")
        if author:
            if errs.required([*p, "author", "name"], author.get("name")):
                errs.max_len([*p, "author", "name"], author["name"], 256)
            total += len(author.get("name") or "")
            _check_url(errs, [*p, "author", "url"], author.get("url"))
            _check_url(errs, [*p, "author", "icon_url"], author.get("icon_url"), allow_attachment=True)
        for key in ("image", "thumbnail"):
            media = e.get(key)
            if media:
                _check_url(errs, [*p, key, "url"], media.get("url"), allow_attachment=True)
    if total > 6000:
        errs.add(["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")


def validate_components(errs: FormErrors, components: Any, flags: int) -> None:
    if not components:
        return
    if flags & IS_COMPONENTS_V2:
        return  # layout components: not modelled beyond being echoed back
    if len(components) > 5:
        errs.add(["components"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    seen: set[str] = set()
    for i, row in enumerate(components):
        p: list[str | int] = ["components", i]
        if row.get("type") != 1:
            errs.add(
                [*p, "type"], "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "Top level components must be action rows."
            )
            continue
        children = row.get("components") or []
        if not children:
            errs.add([*p, "components"], "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
        has_select = any(c.get("type") in (3, 5, 6, 7, 8) for c in children)
        if len(children) > 5 or (has_select and len(children) > 1):
            errs.add(
                [*p, "components"],
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        for j, c in enumerate(children):
            cp: list[str | int] = [*p, "components", j]
            custom_id = c.get("custom_id")
            if c.get("type") == 2:
                errs.max_len([*cp, "label"], c.get("label"), 80)
                if c.get("style") == 5:
                    if not c.get("url"):
                        errs.add([*cp, "url"], "BASE_TYPE_REQUIRED", "This field is required")
                    else:
                        _check_url(errs, [*cp, "url"], c.get("url"))
                    if custom_id:
                        errs.add(
                            [*cp, "custom_id"],
                            "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                            "Link buttons cannot have a custom_id",
                        )
                    continue
                if c.get("style") == 6:
                    continue  # premium button
            if c.get("type") == 3:
                options = c.get("options") or []
                if not 1 <= len(options) <= 25:
                    errs.add([*cp, "options"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 25 in length.")
            if not custom_id:
                errs.add([*cp, "custom_id"], "BASE_TYPE_REQUIRED", "This field is required")
                continue
            errs.max_len([*cp, "custom_id"], custom_id, 100)
            if custom_id in seen:
                errs.add(
                    [*cp, "custom_id"],
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                )
            seen.add(custom_id)


def validate_allowed_mentions(errs: FormErrors, am: Any) -> None:
    if am is None:
        return
    parse = am.get("parse") or []
    for i, p in enumerate(parse):
        if p not in ("users", "roles", "everyone"):
            errs.add(
                ["allowed_mentions", "parse", i],
                "BASE_TYPE_CHOICES",
                "Value must be one of {'users', 'roles', 'everyone'}.",
            )
    for kind in ("users", "roles"):
        ids = am.get(kind)
        if ids and kind in parse:
            errs.add(
                ["allowed_mentions"],
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )
        if ids and len(ids) > 100:
            errs.add(["allowed_mentions", kind], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")


def validate_message(
    payload: dict[str, Any], *, has_files: bool, creating: bool, existing: dict[str, Any] | None = None
) -> None:
    """Validate a create/edit message body; raises DiscordError like Discord would."""
    errs = FormErrors()
    content = payload.get("content")
    flags = int(payload.get("flags") or (existing or {}).get("flags") or 0)
    if content is not None and not isinstance(content, str):
        errs.add(["content"], "BASE_TYPE_STRING", "Must be a string.")
    errs.max_len(["content"], content, 2000)
    validate_embeds(errs, payload.get("embeds"))
    validate_components(errs, payload.get("components"), flags)
    validate_allowed_mentions(errs, payload.get("allowed_mentions"))
    if flags & IS_COMPONENTS_V2 and (payload.get("content") or payload.get("embeds")):
        errs.add(
            ["content"],
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "The 'content' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
        )
    nonce = payload.get("nonce")
    if nonce is not None and len(str(nonce)) > 25:
        errs.add(["nonce"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    errs.raise_if_any()

    merged = dict(existing or {})
    merged.update(
        {
            k: v
            for k, v in payload.items()
            if k in ("content", "embeds", "components", "attachments", "sticker_ids", "poll")
        }
    )
    has_content = bool((merged.get("content") or "").strip())
    has_other = bool(
        merged.get("embeds")
        or merged.get("components")
        or merged.get("sticker_ids")
        or merged.get("poll")
        or has_files
        or (not creating and merged.get("attachments"))
    )
    if not has_content and not has_other:
        raise DiscordError(400, EMPTY_MESSAGE, "Cannot send an empty message")


FILE_FIELD = re.compile(r"^files\[(\d+)\]$")
# discord.py (File.uri): "the filename must be ASCII alphanumeric with underscores, dashes, and periods";
# Discord's docs: only .jpg, .jpeg, .png, .webp and .gif may be shown in an embed.
EMBED_FILENAME = re.compile(r"^[A-Za-z0-9_.-]+\.(?:png|jpe?g|gif|webp)$", re.IGNORECASE)
MAX_FILES = 10
ATTACHMENT_DESCRIPTION_LIMIT = 1024
# Where an embed may show an uploaded file.
EMBED_MEDIA_URLS = (("image", "url"), ("thumbnail", "url"), ("footer", "icon_url"), ("author", "icon_url"))


def file_index(f: RecordedFile) -> int | None:
    """The ``n`` of a ``files[n]`` part; None for any other field name."""
    match = FILE_FIELD.match(f.field_name)
    return int(match.group(1)) if match else None


def uploaded_filenames(payload: dict[str, Any], files: list[RecordedFile]) -> list[str]:
    """The names the uploaded files get: the ``attachments`` entry's filename, else the part's."""
    meta = {str(a.get("id")): a for a in payload.get("attachments") or [] if isinstance(a, dict)}
    return [str(meta.get(str(file_index(f)), {}).get("filename") or f.filename) for f in files]


def validate_upload(
    payload: dict[str, Any],
    files: list[RecordedFile],
    *,
    limit_bytes: int,
    existing: list[dict[str, Any]] | None = None,
) -> None:
    """Files of a create/edit message body, as Discord checks them; raises DiscordError.

    - the whole upload within ``limit_bytes`` (413 / 40005 "Request entity too large"),
      at most 10 files (400 / 30015);
    - every file a ``files[n]`` part with a unique ``n`` and a filename;
    - every ``attachments`` entry names a new file by its ``n`` (or, when editing, an attachment the
      message has), description up to 1,024 characters (else 50035 ``ATTACHMENT_NOT_FOUND`` /
      ``BASE_TYPE_MAX_LENGTH``);
    - an embed's ``attachment://name`` names an image file of this message (stricter than Discord,
      which shows the embed without the image: a bot bug tests should see).
    """
    total = sum(f.size for f in files)
    if total > limit_bytes:
        raise DiscordError(413, REQUEST_ENTITY_TOO_LARGE, "Request entity too large")
    if len(files) > MAX_FILES:
        raise DiscordError(
            400, MAX_ATTACHMENTS_REACHED, f"Maximum number of attachments in a message reached ({MAX_FILES})"
        )
    errs = FormErrors()
    indexes: set[int] = set()
    for f in files:
        n = file_index(f)
        if n is None:
            errs.add([f.field_name], "FILE_FIELD_NAME_INVALID", "File fields must be named files[n].")
        elif n in indexes:
            errs.add([f.field_name], "FILE_FIELD_NAME_DUPLICATED", "File field names must be unique.")
        else:
            indexes.add(n)
        if not f.filename:
            errs.add([f.field_name], "BASE_TYPE_REQUIRED", "A file must have a filename.")
    existing_ids = {str(a.get("id")) for a in existing or []}
    attachments = payload.get("attachments")
    for i, entry in enumerate(attachments or []):
        if not isinstance(entry, dict):
            errs.add(["attachments", i], "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            continue
        aid = str(entry.get("id"))
        if not (aid.isdigit() and int(aid) in indexes) and aid not in existing_ids:
            errs.add(["attachments", i], "ATTACHMENT_NOT_FOUND", "Attachment data not found")
        errs.max_len(["attachments", i, "description"], entry.get("description"), ATTACHMENT_DESCRIPTION_LIMIT)
    kept = existing or []
    if attachments is not None:
        kept = [a for a in kept if str(a.get("id")) in {str(e.get("id")) for e in attachments if isinstance(e, dict)}]
    names = {*uploaded_filenames(payload, files), *(str(a.get("filename")) for a in kept)}
    for i, embed in enumerate(payload.get("embeds") or []):
        for key, url_key in EMBED_MEDIA_URLS:
            media = embed.get(key)
            url = media.get(url_key) if isinstance(media, dict) else None
            if not isinstance(url, str) or not url.startswith("attachment://"):
                continue
            name = url.removeprefix("attachment://")
            path: list[str | int] = ["embeds", i, key, url_key]
            if not EMBED_FILENAME.match(name):
                errs.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")
            elif name not in names:
                errs.add(
                    path,
                    "ATTACHMENT_NOT_FOUND",
                    f"fake discord: no file named {name!r} in this message "
                    "(Discord would show the embed without it)",
                )
    errs.raise_if_any()


def validate_choices(choices: Any) -> None:
    errs = FormErrors()
    if not isinstance(choices, list):
        errs.add(["data", "choices"], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType.")
        errs.raise_if_any()
    if len(choices) > 25:
        errs.add(["data", "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for i, c in enumerate(choices):
        name = c.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            errs.add(
                ["data", "choices", i, "name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        value = c.get("value")
        if isinstance(value, str) and len(value) > 100:
            errs.add(
                ["data", "choices", i, "value"], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length."
            )
    errs.raise_if_any()


def validate_modal(data: Any) -> None:
    errs = FormErrors()
    if not isinstance(data, dict):
        raise DiscordError(
            400,
            INVALID_FORM_BODY,
            "Invalid Form Body",
            {
                "data": {
                    "_errors": [
                        {
                            "code": "MODEL_TYPE_CONVERT",
                            "message": "Only dictionaries may be used in a ModelType",
                        }
                    ]
                }
            },
        )
    if errs.required(["data", "title"], data.get("title")):
        errs.max_len(["data", "title"], data["title"], 45)
    if errs.required(["data", "custom_id"], data.get("custom_id")):
        errs.max_len(["data", "custom_id"], data["custom_id"], 100)
    comps = data.get("components") or []
    if not 1 <= len(comps) <= 5:
        errs.add(["data", "components"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    errs.raise_if_any()


_NAME_RE = re.compile(r"^[-_'\w]{1,32}$")


def _validate_option(errs: FormErrors, p: list[str | int], opt: dict[str, Any], depth: int) -> None:
    name = opt.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name) or name != name.lower():
        errs.add([*p, "name"], "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}")
    desc = opt.get("description")
    if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
        errs.add([*p, "description"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    choices = opt.get("choices") or []
    if len(choices) > 25:
        errs.add([*p, "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    if choices and opt.get("autocomplete"):
        errs.add(
            [*p, "autocomplete"],
            "APPLICATION_COMMAND_OPTION_CHOICES_AND_AUTOCOMPLETE",
            "Autocomplete cannot be set with choices",
        )
    subs = opt.get("options") or []
    if opt.get("type") in (1, 2):
        if depth >= 2 and opt.get("type") == 2:
            errs.add(
                [*p, "type"],
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-command groups cannot be nested",
            )
        _validate_options(errs, [*p, "options"], subs, depth + 1)


def _validate_options(
    errs: FormErrors, p: list[str | int], options: list[dict[str, Any]], depth: int
) -> None:
    if len(options) > 25:
        errs.add(p, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    names: set[str] = set()
    seen_optional = False
    for i, opt in enumerate(options):
        _validate_option(errs, [*p, i], opt, depth)
        n = opt.get("name")
        if n in names:
            errs.add(
                [*p, i, "name"],
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option name already exists",
            )
        names.add(n)
        if opt.get("type") in (1, 2):
            continue
        if opt.get("required"):
            if seen_optional:
                errs.add(
                    [*p, i, "required"],
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True


def validate_commands(commands: Any) -> None:
    errs = FormErrors()
    if not isinstance(commands, list):
        raise DiscordError(400, INVALID_FORM_BODY, "Invalid Form Body")
    if sum(1 for c in commands if c.get("type", 1) == 1) > 100:
        errs.add([], "APPLICATION_COMMANDS_TOO_MANY", "Maximum number of application commands reached (100)")
    seen: set[tuple[str, int]] = set()
    for i, cmd in enumerate(commands):
        ctype = cmd.get("type", 1)
        name = cmd.get("name")
        key = (name, ctype)
        if key in seen:
            errs.add(
                [i, "name"],
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {name}",
            )
        seen.add(key)
        if ctype == 1:
            if not isinstance(name, str) or not _NAME_RE.match(name) or name != name.lower():
                errs.add(
                    [i, "name"], "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}"
                )
            desc = cmd.get("description")
            if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
                errs.add([i, "description"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            _validate_options(errs, [i, "options"], cmd.get("options") or [], 0)
        elif not isinstance(name, str) or not 1 <= len(name) <= 32:
            errs.add([i, "name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    errs.raise_if_any()
