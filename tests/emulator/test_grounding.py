"""Google Search grounding: deterministic queries, sources, supports and Google's chip HTML."""

from __future__ import annotations

from google import genai

from tests.emulator.calls import MODEL, image_config


def test_grounding_metadata_shape(client: genai.Client) -> None:
    config = image_config(grounding=True)
    response = client.models.generate_content(
        model=MODEL, contents="the 5-day weather forecast for San Francisco", config=config
    )
    metadata = response.candidates[0].grounding_metadata
    assert metadata is not None
    assert metadata.web_search_queries and metadata.web_search_queries[0] == "5-day weather forecast san francisco"
    chunks = metadata.grounding_chunks or []
    assert 1 <= len(chunks) <= 3
    for chunk in chunks:
        assert (
            chunk.web
            and chunk.web.uri
            and chunk.web.uri.startswith("https://vertexaisearch.cloud.google.com/grounding-api-redirect/")
        )
        assert chunk.web.title and "." in chunk.web.title and " " not in chunk.web.title
    supports = metadata.grounding_supports or []
    assert supports and supports[0].grounding_chunk_indices == list(range(len(chunks)))
    html = metadata.search_entry_point.rendered_content
    assert html and html.startswith("<style>") and '<div class="container">' in html
    assert 'href="https://www.google.com/search?q=5-day+weather+forecast+san+francisco' in html


def test_grounding_is_deterministic_and_absent_without_the_tool(client: genai.Client) -> None:
    config = image_config(grounding=True)
    first = client.models.generate_content(model=MODEL, contents="the eiffel tower at night", config=config)
    second = client.models.generate_content(model=MODEL, contents="the eiffel tower at night", config=config)
    assert first.candidates[0].grounding_metadata == second.candidates[0].grounding_metadata
    plain = client.models.generate_content(model=MODEL, contents="the eiffel tower at night", config=image_config())
    assert plain.candidates[0].grounding_metadata is None


def test_search_query_text_is_escaped_in_the_chip(client: genai.Client) -> None:
    response = client.models.generate_content(
        model=MODEL, contents="<script>alert(1)</script> poster", config=image_config(grounding=True)
    )
    html = response.candidates[0].grounding_metadata.search_entry_point.rendered_content
    assert html and "<script>" not in html
