"""OpenAI's chat completions in Anthropic's messages API, both ways.

A request: system messages become ``system``, assistant ``tool_calls`` become
``tool_use`` blocks and ``role: tool`` messages ``tool_result`` blocks of a user
turn; ``tools``, ``tool_choice``, ``stop``, ``max_tokens`` follow, and a
``json_schema`` response format becomes Anthropic's JSON output
(``output_config.format``). What Anthropic cannot do is refused rather than
quietly dropped: more than one choice (``n``), and JSON without a schema. The
answer: Anthropic's events read into chatgate's events (text, tool-call
fragments with a stable index, the finish reason in OpenAI's words, usage)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from chatgate.errors import BadRequest, InvalidField, UpstreamError
from chatgate.models import DEFAULT_MAX_TOKENS, rule_for
from chatgate.providers.anthropic import ERROR_STATUSES, anthropic_message, request_headers
from chatgate.providers.chat import (
    Access,
    TranslatedCall,
    UpstreamCall,
    no_event_text,
    only_status_401,
)
from chatgate.providers.events import Event, Finish, ToolCallPart, Usage, token_count

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def tool_use_block(call: Any, index: int) -> dict[str, Any]:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise BadRequest(f"messages[{index}].tool_calls must name each function")
    try:
        arguments = orjson.loads(function.get("arguments") or "{}")
    except orjson.JSONDecodeError:
        raise BadRequest(f"messages[{index}].tool_calls arguments are not JSON") from None
    return {"type": "tool_use", "id": call.get("id"), "name": function["name"], "input": arguments}


def tool_result_block(message: Mapping[str, Any], index: int) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(message.get("tool_call_id"), str):
        raise BadRequest(f"messages[{index}].tool_call_id is required for a tool message")
    return {"type": "tool_result", "tool_use_id": message["tool_call_id"], "content": content}


def add_turn(turns: list[dict[str, Any]], role: str, blocks: list[Any]) -> None:
    """Consecutive turns of one role become one, as Anthropic wants them."""
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def translate_messages(messages: Any) -> tuple[str, list[dict[str, Any]]]:
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        if role in ("system", "developer"):
            content = message.get("content")
            if isinstance(content, list):
                content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
            system.append(content if isinstance(content, str) else "")
        elif role == "tool":
            add_turn(turns, "user", [tool_result_block(message, index)])
        elif role == "assistant":
            blocks: list[Any] = []
            if message.get("content"):
                blocks = anthropic_message(message, index)["content"]
            blocks += [tool_use_block(c, index) for c in message.get("tool_calls") or ()]
            add_turn(turns, "assistant", blocks)
        elif role == "user":
            add_turn(turns, "user", anthropic_message(message, index)["content"])
        else:
            raise BadRequest(f"messages[{index}].role {role!r} is not one chatgate knows")
    return "\n\n".join(system), turns


def translate_tools(body: Mapping[str, Any]) -> dict[str, Any]:
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools:
        return {}
    payload: dict[str, Any] = {"tools": []}
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict):
            raise BadRequest("tools must be functions: {type: function, function: {...}}")
        declared = {
            "name": function.get("name"),
            "input_schema": function.get("parameters") or {"type": "object"},
        }
        if function.get("description"):
            declared["description"] = function["description"]
        payload["tools"].append(declared)
    choice = body.get("tool_choice")
    chosen: dict[str, Any] | None = None
    if choice == "auto":
        chosen = {"type": "auto"}
    elif choice == "required":
        chosen = {"type": "any"}
    elif choice == "none":
        chosen = {"type": "none"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        chosen = {"type": "tool", "name": choice["function"].get("name")}
    if body.get("parallel_tool_calls") is False:
        chosen = {**(chosen or {"type": "auto"}), "disable_parallel_tool_use": True}
    if chosen is not None:
        payload["tool_choice"] = chosen
    return payload


def output_config(body: Mapping[str, Any]) -> dict[str, Any]:
    """Anthropic's JSON output for OpenAI's ``response_format``: only with a schema,
    since Anthropic has no JSON mode without one; a client that asked for JSON
    must not get prose back."""
    response_format = body.get("response_format")
    if response_format is None:
        return {}
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return {}
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if isinstance(schema, dict):
            return {"output_config": {"format": {"type": "json_schema", "schema": schema}}}
    if kind in ("json_object", "json_schema"):
        raise InvalidField(
            "response_format",
            "Anthropic has no JSON mode without a schema: send response_format"
            " {type: json_schema, json_schema: {name, schema}}, or text",
        )
    raise InvalidField(
        "response_format", "response_format.type must be text, json_object or json_schema"
    )


def translate_request(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    choices = body.get("n")
    if isinstance(choices, int) and choices > 1:
        raise InvalidField(
            "n", "Anthropic answers one choice per request: send n: 1, or several requests"
        )
    system, messages = translate_messages(body["messages"])
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    payload: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": limit or rule_for(model).max_tokens or DEFAULT_MAX_TOKENS,
        "stream": True,
    }
    if system:
        payload["system"] = system
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            payload[name] = body[name]
    stop = body.get("stop")
    if stop:
        payload["stop_sequences"] = [stop] if isinstance(stop, str) else stop
    payload.update(translate_tools(body))
    payload.update(output_config(body))
    return payload


class AnthropicEvents:
    """Reads one answer's events; Anthropic's content block indexes become
    tool-call indexes counted from 0, and its usage arrives in two parts."""

    __slots__ = ("cached_tokens", "prompt_tokens", "tool_indexes")

    def __init__(self) -> None:
        self.prompt_tokens = 0
        self.cached_tokens: int | None = None
        self.tool_indexes: dict[int, int] = {}

    def __call__(self, event: Any, out: list[Event]) -> bool:
        if not isinstance(event, dict):
            return False
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event.get("delta")
            delta = delta if isinstance(delta, dict) else {}
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                out.append(delta["text"])
            elif delta.get("type") == "input_json_delta":
                index = self.tool_indexes.get(event.get("index", -1))
                if index is not None and isinstance(delta.get("partial_json"), str):
                    out.append(ToolCallPart(index=index, arguments=delta["partial_json"]))
        elif kind == "content_block_start":
            self.block_start(event, out)
        elif kind == "message_start":
            message = event.get("message")
            self.read_prompt_usage(message.get("usage") if isinstance(message, dict) else None)
        elif kind == "message_delta":
            self.message_delta(event, out)
        elif kind == "message_stop":
            return True
        elif kind == "error":
            error = event.get("error")
            error = error if isinstance(error, dict) else {}
            message = error.get("message")
            raise_error(message, status=ERROR_STATUSES.get(str(error.get("type")), 502))
        return False

    def block_start(self, event: dict[str, Any], out: list[Event]) -> None:
        block = event.get("content_block")
        if not isinstance(block, dict):
            return
        if block.get("type") == "tool_use":
            index = self.tool_indexes[event.get("index", 0)] = len(self.tool_indexes)
            out.append(ToolCallPart(index=index, id=block.get("id"), name=block.get("name")))
        elif block.get("type") == "text" and block.get("text"):
            out.append(str(block["text"]))

    def read_prompt_usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        cached = token_count(usage.get("cache_read_input_tokens"))
        # Anthropic counts cache writes and reads apart from the rest of the prompt.
        self.prompt_tokens = (
            token_count(usage.get("input_tokens"))
            + token_count(usage.get("cache_creation_input_tokens"))
            + cached
        )
        if "cache_read_input_tokens" in usage:
            self.cached_tokens = cached

    def message_delta(self, event: dict[str, Any], out: list[Event]) -> None:
        delta = event.get("delta")
        reason = delta.get("stop_reason") if isinstance(delta, dict) else None
        if isinstance(reason, str):
            out.append(Finish(FINISH_REASONS.get(reason, "stop")))
        usage = event.get("usage")
        if isinstance(usage, dict):
            if "input_tokens" in usage:
                self.read_prompt_usage(usage)
            # A running total, not an increment.
            completion = token_count(usage.get("output_tokens"))
            out.append(Usage(self.prompt_tokens, completion, self.cached_tokens))


def raise_error(message: Any, *, status: int) -> None:
    text = message if isinstance(message, str) and message else "Anthropic reported an error"
    raise UpstreamError(text, status=status)


def translate_call(body: Mapping[str, Any], model: str, access: Access) -> TranslatedCall:
    call = UpstreamCall(
        url=access.base_url + "/v1/messages",
        headers=request_headers(access),
        body=orjson.dumps(translate_request(body, model)),
        key_rejected=only_status_401,
        event_text=no_event_text,
    )
    return TranslatedCall(call=call, read_event=AnthropicEvents())
