"""Model text reaches the page escaped; only the markup we choose survives."""

from __future__ import annotations

from studio.chat.templatetags.studio_tags import filesize, thought_markup, usd, web_url


def test_thought_markup_escapes_everything_but_bold_and_breaks() -> None:
    html = thought_markup('**Plan**\n\n<img src=x onerror="alert(1)"> & more')
    assert html == "<strong>Plan</strong><br><br>&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; more"


def test_only_web_links_reach_an_href() -> None:
    assert web_url("https://vertexaisearch.cloud.google.com/x") == "https://vertexaisearch.cloud.google.com/x"
    assert web_url("javascript:alert(1)") == "#"
    assert web_url(" data:text/html,hi") == "#"
    assert web_url(None) == "#"


def test_money_and_sizes() -> None:
    assert usd(0.1342) == "$0.1342" and usd(12.5) == "$12.50"
    assert filesize(512) == "512 B" and filesize(65 * 1024) == "65.0 KB" and filesize(3 * 1024 * 1024) == "3.0 MB"
