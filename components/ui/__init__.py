"""The Gradio UI: the only layer that imports gradio."""

from components.ui.app import build_app, launch_options

__all__ = ["build_app", "launch_options"]
