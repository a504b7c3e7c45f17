"""`python -m studio.emulator --port 8765`: serve the Gemini emulator on its own."""

from __future__ import annotations

import sys

import uvicorn

from .app import create_app
from .config import config_from_args


def main(argv: list[str] | None = None) -> None:
    config = config_from_args(argv)
    app = create_app(config)
    base = f"http://{config.host}:{config.port}"
    print(f"Gemini emulator on {base}  (backend={config.backend}, seed={config.seed})", file=sys.stderr)
    print(f"  SDK: genai.Client(api_key='any', http_options=HttpOptions(base_url='{base}'))", file=sys.stderr)
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning", timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
