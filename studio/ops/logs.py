"""Logs an operator can act on: every line carries the request id, user id and path of the request
it belongs to (never its body: no prompt text, no secrets), as text or as one JSON object a line
(STUDIO_LOG_FORMAT=json) for log shippers."""

from __future__ import annotations

import contextvars
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class RequestContext:
    request_id: str = "-"
    user_id: str = "-"
    method: str = "-"
    path: str = "-"


NO_REQUEST = RequestContext()
current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("studio_request", default=NO_REQUEST)


class RequestContextFilter(logging.Filter):
    """Copies the current request's id, user and path onto every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current.get()
        record.request_id = context.request_id
        record.user_id = context.user_id
        record.method = context.method
        record.path = context.path
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s user=%(user_id)s %(method)s %(path)s] %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "user_id": getattr(record, "user_id", "-"),
            "method": getattr(record, "method", "-"),
            "path": getattr(record, "path", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def logging_config(*, fmt: str, level: str) -> dict[str, object]:
    """Django's LOGGING: request errors, unhandled exceptions and the studio's own lines to the console."""
    formatter = {"()": "studio.ops.logs.JsonFormatter"} if fmt == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": "studio.ops.logs.RequestContextFilter"}},
        "formatters": {"studio": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request"], "formatter": "studio"}},
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            "studio": {"handlers": ["console"], "level": level, "propagate": False},
            # 4xx as warnings and every unhandled exception (500) with its traceback.
            "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
            "django.security": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        },
    }
