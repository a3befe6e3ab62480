"""POST /v1/embeddings through the openai SDK: passed through to the providers
that have them in OpenAI's form, counted in the ledger."""

from __future__ import annotations

import openai
import pytest
from sqlalchemy import select

from chatgate.db.usage_tables import usage
from tests.api.conftest import Gate
from tests.api.test_v1 import sdk


async def test_embeddings_pass_through_with_the_clients_model_name(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-emb-0001")
    async with sdk(gate, token) as client:
        result = await client.embeddings.create(
            model="openai/text-embedding-3-small", input=["one two", "three"], dimensions=8
        )
    assert result.model == "openai/text-embedding-3-small"
    assert [item.index for item in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 8
    assert result.data[0].embedding != result.data[1].embedding
    assert result.usage.prompt_tokens == 3
    sent = await gate.upstream.last_request()
    assert sent["path"] == "/v1/embeddings"
    assert sent["body"]["model"] == "text-embedding-3-small"
    assert sent["body"]["dimensions"] == 8
    assert sent["headers"]["Authorization"] == "Bearer sk-emb-0001"
    assert await gate.runtime.usage.ledger.flush()
    async with gate.runtime.db.engine.connect() as conn:
        [row] = (await conn.execute(select(usage))).all()
    assert (row.route, row.provider, row.model) == (
        "/v1/embeddings",
        "openai",
        "text-embedding-3-small",
    )
    assert (row.prompt_tokens, row.completion_tokens, row.outcome) == (3, 0, "complete")


async def test_azure_embeddings_go_to_the_deployment(gate: Gate) -> None:
    token = await gate.create_user(
        azure_openai_api_key="az-emb-0002", azure_openai_endpoint=gate.upstream.root
    )
    async with sdk(gate, token) as client:
        result = await client.embeddings.create(model="azure/gpt-4o", input="hello")
    assert result.model == "azure/gpt-4o"
    sent = await gate.upstream.last_request()
    assert sent["path"].startswith("/openai/deployments/team-4o/embeddings?api-version=")
    assert sent["headers"]["api-key"] == "az-emb-0002"


async def test_custom_model_embeddings(gate: Gate) -> None:
    token = await gate.create_user()
    await gate.create_custom_model(
        token, name="Embedder", base_url=gate.upstream.root + "/local/v1", model_id="nomic-embed"
    )
    async with sdk(gate, token) as client:
        result = await client.embeddings.create(model="custom/Embedder", input="hello")
    assert len(result.data) == 1
    assert (await gate.upstream.last_request())["body"]["model"] == "nomic-embed"


async def test_providers_without_openai_embeddings_are_a_bad_request(gate: Gate) -> None:
    token = await gate.create_user(anthropic_api_key="sk-ant-emb-0003")
    async with sdk(gate, token) as client:
        with pytest.raises(openai.BadRequestError) as bad:
            await client.embeddings.create(model="anthropic/claude-sonnet-4-5", input="hi")
        assert "Anthropic has no embeddings" in bad.value.message
        with pytest.raises(openai.BadRequestError) as empty:
            await client.embeddings.create(model="openai/text-embedding-3-small", input=[])
    assert isinstance(empty.value.body, dict)
    assert empty.value.body["param"] == "input"


async def test_a_wrong_provider_key_is_an_authentication_error(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-emb-bad")
    async with sdk(gate, token) as client:
        with pytest.raises(openai.AuthenticationError) as refused:
            await client.embeddings.create(model="openai/text-embedding-3-small", input="hi")
    assert "OpenAI API Key is incorrect" in refused.value.message
