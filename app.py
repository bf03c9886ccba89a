"""GPT Image Edit explorer: `python app.py` (or `make run`) serves the app.

With SEGMIND_API_KEY set (in the environment or `.env`) runs go to Segmind;
without it they go to the built-in emulator and the page says so.
Gradio's own GRADIO_SERVER_NAME and GRADIO_SERVER_PORT choose where it listens.
"""

from components.app.backend import Backend
from components.app.settings import AppSettings
from components.ui import build_app, launch_options

try:
    settings = AppSettings.from_env()
except ValueError as exc:  # a deployer's typo: one line that names the variable, not a traceback
    raise SystemExit(f"Configuration error: {exc}") from None
backend = Backend.from_settings(settings)
demo = build_app(backend, settings=settings)

if __name__ == "__main__":
    demo.launch(**launch_options())
