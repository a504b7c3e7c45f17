"""Ask Gemini which models this account can call, and flag catalogue entries it no longer serves."""

from __future__ import annotations

import logging

from studio.catalogue.services import ServedReport, catalogue_mark_served

from .assembly import gemini_settings
from .gemini import GeminiClient

logger = logging.getLogger("studio.generation")


class CheckUnavailable(RuntimeError):
    """The model list could not be read (the reason is the message)."""


def check_served_models() -> ServedReport:
    """List the account's models through the SDK and record, per catalogue entry, whether it is served."""
    client = GeminiClient(gemini_settings(concurrency=1, quick=True))
    if client.is_vertex:
        raise CheckUnavailable("Vertex AI does not list publisher models for an account; check the Vertex console.")
    try:
        listed = client.list_model_ids()
    except Exception as error:
        raise CheckUnavailable(f"Could not list Gemini's models: {error}") from error
    report = catalogue_mark_served(listed=listed)
    if report.missing:
        logger.warning("model catalogue: %s", report.summary())
    return report
