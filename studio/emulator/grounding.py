"""Deterministic Google Search grounding metadata, shaped like Google's (GEMINI_API.md section 5.1)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import Any
from urllib.parse import quote_plus

REDIRECT_PREFIX = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/"
SOURCES = (
    "wikipedia.org",
    "britannica.com",
    "nationalgeographic.com",
    "nasa.gov",
    "weather.gov",
    "bbc.com",
    "reuters.com",
    "smithsonianmag.com",
    "nature.com",
    "apnews.com",
)
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "with",
        "by",
        "from",
        "as",
        "is",
        "are",
        "be",
        "it",
        "this",
        "that",
        "make",
        "draw",
        "show",
        "me",
        "my",
        "our",
        "please",
        "image",
        "picture",
        "photo",
        "create",
        "generate",
        "into",
        "like",
    ]
)

_STYLE = (
    "<style>.container{align-items:center;border-radius:8px;display:flex;font-family:Google Sans,Roboto,sans-serif;"
    "font-size:14px;line-height:20px;padding:8px 12px;}.chip{display:inline-block;border:solid 1px;"
    "border-radius:16px;min-width:14px;padding:5px 16px;text-align:center;user-select:none;margin:0 8px;"
    "-webkit-tap-highlight-color:transparent;}.carousel{overflow:auto;scrollbar-width:none;white-space:nowrap;"
    "margin-right:-12px;}.headline{display:flex;margin-right:4px;}.gradient-container{position:relative;}"
    ".gradient{position:absolute;transform:translate(3px,-9px);height:36px;width:9px;}"
    "@media (prefers-color-scheme: light){.container{background-color:#fafafa;box-shadow:0 0 0 1px #0000000f;}"
    ".headline-label{color:#1f1f1f;}.chip{background-color:#ffffff;border-color:#d2d2d2;color:#5e5e5e;"
    "text-decoration:none;}.chip:hover{background-color:#f2f2f2;}.chip:focus{background-color:#f2f2f2;}"
    ".chip:active{background-color:#d8d8d8;border-color:#b6b6b6;}.logo-dark{display:none;}"
    ".gradient{background:linear-gradient(90deg,#fafafa 15%,#fafafa00 100%);}}"
    "@media (prefers-color-scheme: dark){.container{background-color:#1f1f1f;box-shadow:0 0 0 1px #ffffff26;}"
    ".headline-label{color:#fff;}.chip{background-color:#2c2c2c;border-color:#3c4043;color:#fff;"
    "text-decoration:none;}.chip:hover{background-color:#353536;}.chip:focus{background-color:#353536;}"
    ".chip:active{background-color:#464849;border-color:#53575b;}.logo-light{display:none;}"
    ".gradient{background:linear-gradient(90deg,#1f1f1f 15%,#1f1f1f00 100%);}}</style>"
)
_LOGO = (
    '<svg class="logo-{mode}" width="18" height="18" viewBox="0 0 48 48" xmlns="http://www.w3.org/2000/svg">'
    '<path fill="#EA4335" d="M24 9.5c3.5 0 6.7 1.2 9.2 3.6l6.9-6.9C35.9 2.4 30.5 0 24 0 14.6 0 6.6 5.4 2.7 13.3l8 6.2'
    'C12.5 13.6 17.8 9.5 24 9.5z"/><path fill="#4285F4" d="M46.1 24.5c0-1.6-.1-3.1-.4-4.5H24v9h12.4c-.5 2.9-2.2 5.4'
    '-4.7 7l7.6 5.9c4.4-4.1 6.8-10.1 6.8-17.4z"/><path fill="#FBBC05" d="M10.7 28.6A14.4 14.4 0 0 1 9.5 24c0-1.6.3-3.2'
    '.8-4.6l-8-6.2A24 24 0 0 0 0 24c0 3.9.9 7.5 2.6 10.7l8.1-6.1z"/><path fill="#34A853" d="M24 48c6.5 0 11.9-2.1'
    ' 15.9-5.8l-7.6-5.9c-2.1 1.4-4.9 2.3-8.3 2.3-6.2 0-11.5-4.1-13.3-9.8l-8.1 6.1C6.6 42.6 14.6 48 24 48z"/></svg>'
)


def search_queries(prompt: str) -> list[str]:
    words = [w for w in re.findall(r"[\w'-]+", prompt.lower()) if w not in STOPWORDS]
    if not words:
        return ["latest news"]
    main = " ".join(words[:6])
    queries = [main]
    if len(words) > 2:
        queries.append(" ".join(words[:3]) + " facts")
    return queries


def rendered_content(queries: list[str]) -> str:
    chips = "".join(
        f'<a class="chip" href="https://www.google.com/search?q={quote_plus(q)}&amp;client=app-vertex-grounding'
        f'&amp;safesearch=active">{html.escape(q)}</a>'
        for q in queries
    )
    logos = _LOGO.format(mode="light") + _LOGO.format(mode="dark")
    return (
        f'{_STYLE}<div class="container"><div class="headline">{logos}'
        f'<div class="gradient-container"><div class="gradient"></div></div></div>'
        f'<div class="carousel">{chips}</div></div>'
    )


def grounding_metadata(prompt: str, digest: bytes, answer_text: str) -> dict[str, Any]:
    queries = search_queries(prompt)
    count = 3
    start = digest[0] % len(SOURCES)
    chunks = []
    for index in range(count):
        domain = SOURCES[(start + index * 3) % len(SOURCES)]
        token = base64.urlsafe_b64encode(hashlib.sha256(digest + domain.encode()).digest() * 3).decode().rstrip("=")
        chunks.append({"web": {"uri": REDIRECT_PREFIX + token, "title": domain}})
    metadata: dict[str, Any] = {
        "searchEntryPoint": {"renderedContent": rendered_content(queries)},
        "groundingChunks": chunks,
        "webSearchQueries": queries,
    }
    if answer_text:
        end = len(answer_text.encode())
        metadata["groundingSupports"] = [
            {
                "segment": {"startIndex": 0, "endIndex": end, "text": answer_text},
                "groundingChunkIndices": list(range(count)),
            }
        ]
    return metadata
