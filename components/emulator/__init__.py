"""A local stand-in for Segmind's API, for the app's default backend and for tests."""

from components.emulator.faults import Fault, FaultKind, Route
from components.emulator.replay import ReplayTemplates
from components.emulator.server import FAIL_TRIGGER, Emulator
from components.emulator.shapes import OutputShape, SyncShape

__all__ = ["Emulator", "Fault", "FaultKind", "OutputShape", "ReplayTemplates", "Route", "SyncShape", "FAIL_TRIGGER"]
