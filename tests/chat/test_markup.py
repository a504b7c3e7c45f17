"""Model text reaches the page escaped; only the markup we choose survives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from studio.chat.templatetags.studio_tags import ago, filesize, thought_markup, usd, web_url


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


def test_ago_says_just_now_under_a_minute() -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert ago(now - timedelta(seconds=59), now) == "just now"
    assert ago(now - timedelta(minutes=3), now) == "3\xa0minutes ago"
    assert ago(now - timedelta(days=2, hours=5), now) == "2\xa0days, 5\xa0hours ago"
    assert ago(None) == ""
