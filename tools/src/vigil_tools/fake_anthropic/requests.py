"""Validation of a Messages request, as the API does it, into a :class:`ParsedRequest`.

Raises :class:`ApiError` with the API's status and a message of the same form
(`max_tokens: Field required`, 404 `model: ...`). Checked: the required fields (`model`,
`max_tokens` unless counting tokens, `messages`), roles alternating from `user`, content
blocks (`text` non-empty, `image` with a base64 source of a supported media type that
actually decodes as that type, at most 5 MB and 8000 px a side, `tool_use`/`tool_result`),
`system` as a string or text blocks, at most 4 `cache_control` breakpoints, `tools` with a
name and an object `input_schema`, and `tool_choice` (`auto`, `any`, `tool` naming a given
tool, `none`). Images are decoded with Pillow to learn their size.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass, field
from typing import Any

import orjson
from PIL import Image, UnidentifiedImageError

from vigil_tools.fake_anthropic.errors import ApiError, invalid
from vigil_tools.fake_anthropic.usage import (
    MESSAGE_OVERHEAD,
    TOOL_PROMPT_AUTO,
    TOOL_PROMPT_FORCED,
    PromptBlock,
    image_tokens,
    text_tokens,
)

MEDIA_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_SIDE = 8000
MAX_BREAKPOINTS = 4


@dataclass
class ParsedRequest:
    """A valid request: what the answer and the usage need."""

    model: str
    max_tokens: int
    tools: dict[str, dict[str, Any]]
    tool_choice: dict[str, Any]
    blocks: list[PromptBlock] = field(default_factory=list)
    image_sizes: list[tuple[int, int]] = field(default_factory=list)


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _image(block: dict[str, Any], where: str) -> tuple[int, int]:
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") != "base64":
        raise invalid(f"{where}.source: only base64 image sources are supported")
    media = source.get("media_type")
    if media not in MEDIA_TYPES:
        raise invalid(f"{where}.source.media_type: Input should be {', '.join(MEDIA_TYPES)}")
    data = source.get("data")
    if not isinstance(data, str) or not data:
        raise invalid(f"{where}.source.data: Field required")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"{where}.source.data: invalid base64 data") from None
    if len(raw) > MAX_IMAGE_BYTES:
        raise invalid(f"{where}.source.base64: image exceeds 5 MB maximum: {len(raw)} bytes")
    try:
        with Image.open(io.BytesIO(raw)) as img:
            img.verify()
            size, fmt = img.size, img.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise invalid(f"{where}.source.base64.data: Could not process image") from None
    if fmt != MEDIA_TYPES[media]:
        raise invalid(
            f"{where}.source.base64.data: The image was specified using the {media} media "
            f"type, but the image appears to be a {fmt} image"
        )
    if max(size) > MAX_IMAGE_SIDE:
        raise invalid(
            f"{where}.source.base64.data: At least one of the image dimensions "
            f"exceed max allowed size: {MAX_IMAGE_SIDE} pixels"
        )
    return size


def _content_block(block: Any, where: str, parsed: ParsedRequest) -> PromptBlock:
    if not isinstance(block, dict):
        raise invalid(f"{where}: Input should be a valid dictionary")
    kind = block.get("type")
    cached = isinstance(block.get("cache_control"), dict)
    content = _canonical({k: v for k, v in block.items() if k != "cache_control"})
    if kind == "text":
        text = block.get("text")
        if not isinstance(text, str) or not text:
            raise invalid(f"{where}: text content blocks must be non-empty")
        return PromptBlock(text_tokens(text), content, cached)
    if kind == "image":
        size = _image(block, f"{where}.image")
        parsed.image_sizes.append(size)
        return PromptBlock(image_tokens(*size), content, cached)
    if kind in ("tool_use", "tool_result"):
        return PromptBlock(text_tokens(content.decode()), content, cached)
    raise invalid(
        f"{where}: Input tag '{kind}' found using 'type' does not match any of the expected "
        "tags: 'text', 'image', 'tool_use', 'tool_result'"
    )


def _messages(messages: Any, parsed: ParsedRequest) -> None:
    if not isinstance(messages, list) or not messages:
        raise invalid("messages: at least one message is required")
    previous = None
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if i == 0 and role != "user":
            raise invalid('messages: first message must use the "user" role')
        if role == previous:
            raise invalid(
                'messages: roles must alternate between "user" and "assistant", '
                f'but found multiple "{role}" roles in a row'
            )
        previous = role
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list) or not content:
            raise invalid(f"messages.{i}.content: Field required")
        parsed.blocks.append(PromptBlock(MESSAGE_OVERHEAD, role.encode()))
        for j, block in enumerate(content):
            parsed.blocks.append(_content_block(block, f"messages.{i}.content.{j}", parsed))


def _system(system: Any, parsed: ParsedRequest) -> None:
    if system is None:
        return
    if isinstance(system, str):
        if system:
            parsed.blocks.append(PromptBlock(text_tokens(system), system.encode()))
        return
    if not isinstance(system, list):
        raise invalid("system: Input should be a valid string or list of text blocks")
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise invalid(f"system.{i}.type: Input should be 'text'")
        parsed.blocks.append(_content_block(block, f"system.{i}", parsed))


def _tools(tools: Any, choice: Any, parsed: ParsedRequest) -> None:
    if tools is None:
        if choice is not None:
            raise invalid("tool_choice may only be specified while providing tools.")
        return
    if not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list")
    choice = choice if choice is not None else {"type": "auto"}
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind not in ("auto", "any", "tool", "none"):
        raise invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    forced = kind in ("any", "tool")
    overhead = TOOL_PROMPT_FORCED if forced else TOOL_PROMPT_AUTO
    parsed.blocks.append(PromptBlock(overhead if tools else 0, kind.encode()))
    for i, tool in enumerate(tools):
        name = tool.get("name") if isinstance(tool, dict) else None
        if not isinstance(name, str) or not name:
            raise invalid(f"tools.{i}.name: Field required")
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise invalid(f"tools.{i}.custom.input_schema.type: Input should be 'object'")
        parsed.tools[name] = schema
        parsed.blocks.append(_content_block_tool(tool))
    if kind == "tool" and choice.get("name") not in parsed.tools:
        raise invalid(f"tool_choice.name: Tool '{choice.get('name')}' not found in tools")
    parsed.tool_choice = choice


def _content_block_tool(tool: dict[str, Any]) -> PromptBlock:
    content = _canonical({k: v for k, v in tool.items() if k != "cache_control"})
    cached = isinstance(tool.get("cache_control"), dict)
    return PromptBlock(text_tokens(content.decode()), content, cached)


def _model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        raise invalid("model: Field required")
    if not isinstance(model, str) or not model.startswith("claude"):
        raise ApiError(404, f"model: {model}")
    return model


def _max_tokens(body: dict[str, Any], counting: bool) -> int:
    value = body.get("max_tokens")
    if counting:
        return 0
    if value is None:
        raise invalid("max_tokens: Field required")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise invalid("max_tokens: Input should be greater than or equal to 1")
    return value


def parse(body: Any, *, counting: bool = False) -> ParsedRequest:
    """Validate a Messages (or count_tokens) body; raise :class:`ApiError` as the API would."""
    if not isinstance(body, dict):
        raise invalid("There was an error parsing the body: expected a JSON object")
    parsed = ParsedRequest(_model(body), _max_tokens(body, counting), {}, {"type": "none"})
    if "messages" not in body:
        raise invalid("messages: Field required")
    _tools(body.get("tools"), body.get("tool_choice"), parsed)
    _system(body.get("system"), parsed)
    _messages(body["messages"], parsed)
    breakpoints = sum(block.breakpoint for block in parsed.blocks)
    if breakpoints > MAX_BREAKPOINTS:
        raise invalid(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {breakpoints}."
        )
    return parsed


def decode_json(raw: bytes) -> Any:
    """The request body as JSON, or the API's 400 for a body that does not parse."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"There was an error parsing the body: {exc}") from None
