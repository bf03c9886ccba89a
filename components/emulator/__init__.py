"""A local stand-in for Segmind's API, for the app's default backend and for tests."""

from components.emulator.faults import Fault, FaultKind, Route
from components.emulator.server import FAIL_TRIGGER, Emulator

__all__ = ["Emulator", "Fault", "FaultKind", "Route", "FAIL_TRIGGER"]
