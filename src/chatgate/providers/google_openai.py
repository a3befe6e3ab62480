"""OpenAI's chat completions in Gemini's generateContent, both ways.

A request: system messages become ``systemInstruction``, assistant
``tool_calls`` ``functionCall`` parts of a model turn, ``role: tool`` messages
``functionResponse`` parts of a user turn (named after the call they answer);
``tools`` become ``functionDeclarations`` and ``tool_choice`` a function
calling mode; ``response_format`` becomes ``responseMimeType`` (and a
``json_schema``'s schema ``responseJsonSchema``, which takes JSON Schema as
OpenAI's clients write it). Gemini's function calls carry no id: chatgate
makes one, and a call's ``thoughtSignature`` rides in it to the client and
back, since chatgate keeps no conversations.

More than one choice (``n``) is refused: chatgate always streams from Gemini,
and its streamed answers cannot be relied on for several candidates (Gemini 3
models refuse ``candidateCount`` > 1; Gemini 2.5 is reported to return fewer
candidates than asked, or to fold their texts into the first)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import orjson

from chatgate.errors import BadRequest, InvalidField, UpstreamError
from chatgate.models import rule_for
from chatgate.providers.chat import Access, TranslatedCall, UpstreamCall, no_event_text
from chatgate.providers.events import Event, Finish, ToolCallPart, Usage, token_count
from chatgate.providers.google import MODEL_NAME, WITHHELD, gemini_key_rejected, openai_parts

FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}
# A call id is "call_<random>", or "call_<random>.<thoughtSignature>".
SIGNATURE_SEPARATOR = "."
MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}


def call_id(signature: str | None) -> str:
    made = "call_" + secrets.token_hex(6)
    return made + SIGNATURE_SEPARATOR + signature if signature else made


def function_call_part(call: Any, index: int) -> dict[str, Any]:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise BadRequest(f"messages[{index}].tool_calls must name each function")
    try:
        args = orjson.loads(function.get("arguments") or "{}")
    except orjson.JSONDecodeError:
        raise BadRequest(f"messages[{index}].tool_calls arguments are not JSON") from None
    part: dict[str, Any] = {"functionCall": {"name": function["name"], "args": args}}
    _, separator, signature = str(call.get("id") or "").partition(SIGNATURE_SEPARATOR)
    if separator and signature:
        part["thoughtSignature"] = signature
    return part


def function_response_part(
    message: Mapping[str, Any], index: int, names: Mapping[str, str]
) -> dict[str, Any]:
    name = names.get(str(message.get("tool_call_id")))
    if name is None:
        raise BadRequest(
            f"messages[{index}].tool_call_id names no tool call of an earlier assistant message"
        )
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return {"functionResponse": {"name": name, "response": {"content": content}}}


def add_turn(turns: list[dict[str, Any]], role: str, parts: list[Any]) -> None:
    if turns and turns[-1]["role"] == role:
        turns[-1]["parts"].extend(parts)
    else:
        turns.append({"role": role, "parts": parts})


def translate_messages(messages: Any) -> tuple[str, list[dict[str, Any]]]:
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name
    for index, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role in ("system", "developer"):
            system.extend(p["text"] for p in openai_parts(content, index) if "text" in p)
        elif role == "tool":
            add_turn(turns, "user", [function_response_part(message, index, names)])
        elif role == "assistant":
            parts = openai_parts(content, index) if content else []
            for call in message.get("tool_calls") or ():
                parts.append(function_call_part(call, index))
                names[str(call.get("id"))] = parts[-1]["functionCall"]["name"]
            add_turn(turns, "model", parts)
        elif role == "user":
            add_turn(turns, "user", openai_parts(content, index))
        else:
            raise BadRequest(f"messages[{index}].role {role!r} is not one chatgate knows")
    return "\n\n".join(system), turns


def generation_config(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    config: dict[str, Any] = {}
    limit = (
        body.get("max_completion_tokens") or body.get("max_tokens") or rule_for(model).max_tokens
    )
    if limit:
        config["maxOutputTokens"] = limit
    for ours, theirs in (("temperature", "temperature"), ("top_p", "topP"), ("seed", "seed")):
        if body.get(ours) is not None:
            config[theirs] = body[ours]
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else stop
    config.update(response_config(body.get("response_format")))
    return config


def response_config(response_format: Any) -> dict[str, Any]:
    """OpenAI's ``response_format`` as Gemini's JSON output. Which JSON Schema
    keywords Gemini honours is Gemini's to judge: the schema goes as it came."""
    if response_format is None:
        return {}
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        config: dict[str, Any] = {"responseMimeType": "application/json"}
        if isinstance(schema, dict):
            config["responseJsonSchema"] = schema
        return config
    raise InvalidField(
        "response_format", "response_format.type must be text, json_object or json_schema"
    )


def translate_tools(body: Mapping[str, Any]) -> dict[str, Any]:
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools:
        return {}
    declarations = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict):
            raise BadRequest("tools must be functions: {type: function, function: {...}}")
        declared = {k: function[k] for k in ("name", "description", "parameters") if k in function}
        declarations.append(declared)
    payload: dict[str, Any] = {"tools": [{"functionDeclarations": declarations}]}
    choice = body.get("tool_choice")
    if isinstance(choice, str) and choice in MODES:
        payload["toolConfig"] = {"functionCallingConfig": {"mode": MODES[choice]}}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        named = {"mode": "ANY", "allowedFunctionNames": [choice["function"].get("name")]}
        payload["toolConfig"] = {"functionCallingConfig": named}
    return payload


def translate_request(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    choices = body.get("n")
    if isinstance(choices, int) and choices > 1:
        raise InvalidField(
            "n",
            "Google Gemini's streamed answers cannot be relied on for more than one"
            " candidate: send n: 1, or several requests",
        )
    system, contents = translate_messages(body["messages"])
    payload: dict[str, Any] = {"contents": contents}
    if system:
        payload["systemInstruction"] = {"parts": [{"text": system}]}
    config = generation_config(body, model)
    if config:
        payload["generationConfig"] = config
    payload.update(translate_tools(body))
    return payload


class GeminiEvents:
    """Reads one answer's candidate chunks; each function call arrives whole
    and gets the next tool-call index."""

    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, event: Any, out: list[Event]) -> bool:
        if not isinstance(event, dict):
            return False
        error = event.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            status = code if isinstance(code, int) and 400 <= code <= 599 else 502
            message = str(error.get("message") or "Google Gemini reported an error")
            raise UpstreamError(message, status=status)
        feedback = event.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            out.append(Finish("content_filter"))
            return True
        self.read_usage(event.get("usageMetadata"), out)
        candidates = event.get("candidates")
        if (
            not candidates
            or not isinstance(candidates, list)
            or not isinstance(candidates[0], dict)
        ):
            return False
        candidate = candidates[0]
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else ():
            if isinstance(part, dict):
                self.read_part(part, out)
        reason = candidate.get("finishReason")
        if not reason:
            return False
        withheld = reason in WITHHELD
        out.append(Finish("content_filter" if withheld else FINISH_REASONS.get(reason, "stop")))
        return True

    def read_part(self, part: dict[str, Any], out: list[Event]) -> None:
        text = part.get("text")
        if isinstance(text, str) and text and not part.get("thought"):
            out.append(text)
        call = part.get("functionCall")
        if isinstance(call, dict):
            signature = part.get("thoughtSignature")
            out.append(
                ToolCallPart(
                    index=self.calls,
                    id=call_id(signature if isinstance(signature, str) else None),
                    name=str(call.get("name", "")),
                    arguments=orjson.dumps(call.get("args") or {}).decode(),
                )
            )
            self.calls += 1

    @staticmethod
    def read_usage(usage: Any, out: list[Event]) -> None:
        if not isinstance(usage, dict):
            return
        cached = usage.get("cachedContentTokenCount")
        out.append(
            Usage(
                prompt_tokens=token_count(usage.get("promptTokenCount")),
                # Thinking is paid as output: it counts as completion.
                completion_tokens=token_count(usage.get("candidatesTokenCount"))
                + token_count(usage.get("thoughtsTokenCount")),
                cached_tokens=cached if isinstance(cached, int) else None,
            )
        )


def translate_call(body: Mapping[str, Any], model: str, access: Access) -> TranslatedCall:
    model = model.removeprefix("models/")
    if not MODEL_NAME.fullmatch(model):
        raise BadRequest("model is not a Gemini model name (letters, digits, '.', '-', '_')")
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if access.api_key is not None:
        headers["x-goog-api-key"] = access.api_key.get_secret_value()
    call = UpstreamCall(
        url=f"{access.base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse",
        headers=headers,
        body=orjson.dumps(translate_request(body, model)),
        key_rejected=gemini_key_rejected,
        event_text=no_event_text,
    )
    return TranslatedCall(call=call, read_event=GeminiEvents())
