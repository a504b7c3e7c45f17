"""Google-format error bodies, with the messages the real API sends."""

from __future__ import annotations

from typing import Any

STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

RATE_LIMIT_DOCS = "https://ai.google.dev/gemini-api/docs/rate-limits"
SIGNATURE_DOCS = "https://ai.google.dev/gemini-api/docs/thought-signatures#model-behavior"


class ApiError(Exception):
    """An error the emulator answers with, shaped as Google shapes it."""

    def __init__(self, code: int, message: str, *, status: str | None = None, details: list[Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_BY_CODE.get(code, "UNKNOWN")
        self.details = details
        self.headers: dict[str, str] | None = None  # e.g. Retry-After

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid_argument(message: str) -> ApiError:
    return ApiError(400, message)


def field_violation(message: str, field: str) -> ApiError:
    detail = {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": field, "description": message}],
    }
    return ApiError(400, message, details=[detail])


def unknown_field(name: str, at: str) -> ApiError:
    where = f" at '{at}'" if at else ""
    return field_violation(f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.', at)


def bad_api_key() -> ApiError:
    return ApiError(
        400,
        "API key not valid. Please pass a valid API key.",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": "API key not valid. Please pass a valid API key.",
            },
        ],
    )


def missing_api_key() -> ApiError:
    return ApiError(
        403,
        "Method doesn't allow unregistered callers (callers without established identity)."
        " Please use API Key or other form of API consumer identity to call this API.",
    )


def model_not_found(model: str, version: str, method: str) -> ApiError:
    return ApiError(
        404,
        f"models/{model} is not found for API version {version}, or is not supported for {method}."
        " Call ListModels to see the list of available models and their supported methods.",
    )


def quota_exhausted(model: str, retry_delay_s: int) -> ApiError:
    return ApiError(
        429,
        "You exceeded your current quota, please check your plan and billing details. For more information"
        f" on this error, head to: {RATE_LIMIT_DOCS}. To monitor your current usage, head to:"
        " https://ai.dev/usage?tab=rate-limit. ",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{"description": "Learn more about Gemini API quotas", "url": RATE_LIMIT_DOCS}],
            },
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_paid_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-PaidTier",
                        "quotaDimensions": {"location": "global", "model": model},
                        "quotaValue": "20",
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_delay_s}s"},
        ],
    )


def server_fault(code: int) -> ApiError:
    messages = {
        500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        502: "The service is currently unavailable.",
        503: "The model is overloaded. Please try again later.",
        504: "The request timed out. Please try again.",
        408: "Request timed out.",
    }
    return ApiError(code, messages.get(code, "An internal error has occurred."))


def fault(code: int, model: str, retry_delay_s: int) -> ApiError:
    return quota_exhausted(model, retry_delay_s) if code == 429 else server_fault(code)


def missing_signature(kind: str, content_position: int, part_position: int) -> ApiError:
    return invalid_argument(
        f"{kind} part is missing a thought_signature in content position {content_position},"
        f" part position {part_position}. Please refer to {SIGNATURE_DOCS} for more details."
    )


def file_not_accessible(file_id: str) -> ApiError:
    return ApiError(403, f"You do not have permission to access the File {file_id} or it may not exist.")
