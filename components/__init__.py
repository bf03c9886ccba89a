"""The parts of the GPT Image 1 Edit explorer: schema, client, emulator and UI."""
