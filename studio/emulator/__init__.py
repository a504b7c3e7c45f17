"""An offline twin of the Gemini image API (Gemini 3 Pro Image and a Flash-tier image model).

A standalone ASGI app: it imports nothing from the rest of `studio`. Start it with
`python -m studio.emulator`, or build it in-process with `create_app(EmulatorConfig(...))`.
"""

from .app import create_app
from .config import EmulatorConfig

__all__ = ["EmulatorConfig", "create_app"]
