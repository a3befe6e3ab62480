"""Azure OpenAI: OpenAI's chat completions at a deployment of the user's
resource, chosen by the model the user picked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson

from chatgate.errors import BadRequest
from chatgate.providers.chat import (
    Access,
    ChatRequest,
    UpstreamCall,
    no_event_text,
    only_status_401,
)
from chatgate.providers.openai import END_MARKER, build_payload, delta_text
from chatgate.providers.urls import check_root_url

# The models Chatbot UI's profile has a deployment field for.
PROFILE_DEPLOYMENTS = {
    "gpt-3.5-turbo": "azure_openai_35_turbo_id",
    "gpt-4-turbo-preview": "azure_openai_45_turbo_id",
    "gpt-4-vision-preview": "azure_openai_45_vision_id",
}
# Deployment names go into the URL path: nothing that could add a segment or a query.
DEPLOYMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
RESOURCES_NOT_FOUND = "Azure resources not found"


def deployment_for(
    model: str, profile: Mapping[str, str], operator_deployments: Mapping[str, str]
) -> str:
    """The user's deployment for the model, else the operator's (CHATGATE_AZURE_DEPLOYMENTS)."""
    field = PROFILE_DEPLOYMENTS.get(model)
    if field is None and model not in operator_deployments:
        raise BadRequest("Model not found")
    deployment = (profile.get(field) if field else None) or operator_deployments.get(model)
    if not deployment:
        raise BadRequest(RESOURCES_NOT_FOUND)
    if not DEPLOYMENT_NAME.fullmatch(deployment):
        raise BadRequest(f"The Azure deployment name for {model} is not valid")
    return deployment


def endpoint_of(profile: Mapping[str, str]) -> str:
    endpoint = profile.get("azure_openai_endpoint")
    if not endpoint:
        raise BadRequest(RESOURCES_NOT_FOUND)
    try:
        return check_root_url(endpoint)
    except ValueError as exc:
        raise BadRequest(f"The Azure OpenAI endpoint {exc}") from exc


def deployment_url(model: str, access: Access, operation: str) -> str:
    deployment = deployment_for(model, access.profile, access.options.azure_deployments)
    endpoint = endpoint_of(access.profile)
    version = quote(access.options.azure_api_version, safe="")
    return f"{endpoint}/openai/deployments/{deployment}/{operation}?api-version={version}"


def request_headers(access: Access, accept: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": accept}
    if access.api_key is not None:
        headers["api-key"] = access.api_key.get_secret_value()
    return headers


def build_embeddings_call(body: Mapping[str, Any], model: str, access: Access) -> UpstreamCall:
    return UpstreamCall(
        url=deployment_url(model, access, "embeddings"),
        headers=request_headers(access, "application/json"),
        body=orjson.dumps({key: value for key, value in body.items() if key != "model"}),
        key_rejected=only_status_401,
        event_text=no_event_text,
    )


def build_call(chat: ChatRequest, access: Access) -> UpstreamCall:
    deployment = deployment_for(chat.model, access.profile, access.options.azure_deployments)
    return UpstreamCall(
        url=deployment_url(chat.model, access, "chat/completions"),
        headers=request_headers(access, "text/event-stream"),
        # Azure ignores the model field; Chatbot UI sends the deployment there.
        body=build_payload(chat, model=deployment),
        key_rejected=only_status_401,
        # Its content-filter chunks have no choices: delta_text reads them as "".
        event_text=delta_text,
        end_marker=END_MARKER,
    )
