"""What each way a response can end means for the person, and what to do next."""

from __future__ import annotations

MESSAGES = {
    "prompt_blocked": (
        "Google blocked this prompt ({detail}). Nothing was generated and no image is charged. "
        "Rephrase the prompt and send it again."
    ),
    "image_safety": (
        "Google's safety filter removed the image. The image is not charged; the prompt and thinking are. "
        "Try rephrasing the prompt, or choose a less strict safety threshold if your team allows it."
    ),
    "no_image": (
        "The model finished without drawing an image (finish reason {detail}). "
        "Try again, or say explicitly that you want an image."
    ),
    "refusal": "The model declined to make this image; its answer is above. Rephrase the prompt and try again.",
    "rate_limited": (
        "Gemini's quota is exhausted right now (429), still after {attempts}. "
        "Wait a minute and retry, or raise the retry count in the composer."
    ),
    "overloaded": "Gemini is overloaded (503), still after {attempts}. Retry in a moment.",
    "server": "Gemini failed with an internal error ({detail}), still after {attempts}. Retry later.",
    "timeout": "Gemini did not answer in time, still after {attempts}. Retry, perhaps at a smaller size.",
    "bad_key": "Gemini rejected the API key. An administrator must set a valid GEMINI_API_KEY and restart.",
    "network": "The studio could not reach Gemini ({detail}), still after {attempts}. Check the server's network.",
    "stream_broken": (
        "The connection to Gemini broke while the image was being made, so nothing from it was kept. Retry."
    ),
    "bad_request": "Gemini refused the request: {detail}",
    "retry_too_long": (
        "Gemini is rate-limiting this project and asked to wait {detail} before trying again, so the studio "
        "stopped after {attempts}. Try again later; an admin can raise STUDIO_RETRY_MAX_S."
    ),
    "retry_budget": (
        "Gemini kept failing, and another retry would have meant {detail}. Stopped after {attempts}; try again later."
    ),
    "model_unavailable": "This image cannot be made: {detail} Retry once the model catalogue is fixed.",
    "unknown_model": (
        "Gemini does not serve this model for the studio's account ({detail}). An admin should check the model "
        "catalogue (Check now) and pick another model."
    ),
    "invalid_response": "Gemini sent a response the studio could not read. Retry; if it persists, tell an admin.",
    "interrupted": "The worker generating this image stopped before it finished. Retry.",
    "file_missing": "Gemini no longer has an uploaded image this request needs, even after uploading it again. Retry.",
    "internal": "Something went wrong in the studio while generating ({detail}). Retry; an admin can see the log.",
}


def retries_phrase(retries: int) -> str:
    if retries == 0:
        return "no retries (the retry count is 0)"
    return f"{retries} {'retry' if retries == 1 else 'retries'}"


def message_for(code: str, *, detail: str = "", retries: int = 0) -> str:
    template = MESSAGES.get(code, MESSAGES["internal"])
    return template.format(detail=detail or "unknown", attempts=retries_phrase(retries))
