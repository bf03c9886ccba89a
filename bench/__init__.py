"""Benchmarks against the emulator, side by side with the vendor SDK: `python -m bench`."""
