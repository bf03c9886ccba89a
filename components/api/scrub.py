"""Secrets out of text that came from elsewhere: whole, in pieces, in any letter case, either way round.

A server that echoes a key back may not echo it verbatim: it may upper-case it,
cut it to its first or last characters, or print it reversed. So a `Scrubber`
replaces with `<redacted>` every run of at least MIN_LEAK consecutive characters
of a secret (or of the secret reversed), in any letter case; runs that overlap
or touch become one `<redacted>`, so no character of the key is left between
two of them. A secret shorter than MIN_LEAK is matched only whole.

Why 8 (MIN_LEAK): keys are random. An 8-character piece of a hex key, matched
regardless of case, is one of 16**8 (4.3e9) strings; a key of length L has at
most 2 * (L - 7) such pieces counting both directions, so unrelated text of n
characters holds an accidental match with odds of about n * 2L / 16**8: about
2 % for a whole megabyte of hex data against a 40-character key, far less for
keys with a larger alphabet, and never in practice for ordinary words (a run of
8 random characters is not a word). Shorter pieces would make such false hits
common in large bodies (16**6 gives several per megabyte); longer ones would let
a bigger piece of the key through. Seven characters or fewer of a key is too
little of it to be of use to anyone, and that is the most this lets through.

Speed: every piece of every secret, in lower case, goes into one compiled
regular expression, shaped as a trie (one branch per distinct next character)
inside a lookahead, and it runs over the lower-cased text: the C regex engine
finds all overlapping occurrences in one pass, comparing plain characters (a
case-insensitive pattern is about four times slower). A megabyte takes a few
hundredths of a second.
"""

from __future__ import annotations

import re
from typing import Iterable

REDACTED = "<redacted>"
MIN_LEAK = 8


def _fold(character: str) -> str:
    """The character in lower case, unless lowering would make it two (as for "İ"): positions must line up."""
    lowered = character.lower()
    return lowered if len(lowered) == 1 else character


def _pieces(secret: str) -> set[str]:
    """Every run of MIN_LEAK characters of the secret and of its reverse (the whole secret if shorter)."""
    size = min(MIN_LEAK, len(secret))
    folded = "".join(_fold(c) for c in secret)
    return {form[i:i + size] for form in (folded, folded[::-1]) for i in range(len(form) - size + 1)}


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex matching any of the words, longest first where one is a prefix of another.

    A trie keeps the regex engine from trying every word at every position: at each
    character only the branch that can still match is followed.
    """
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for character in word:
            node = node.setdefault(character, {})
        node[""] = {}  # a word ends here

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(c) + build(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        group = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            # A shorter word ends here: the longer ones are tried first (greedy), so the piece
            # found at a position is the longest one and leaves nothing of it uncovered.
            return f"(?:{group})?"
        return group

    return build(trie)


class Scrubber:
    """Replaces the secrets it was given, and any long enough piece of them, wherever they appear in text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        pieces = {piece for secret in secrets if secret for piece in _pieces(secret)}
        # A lookahead matches without consuming, so overlapping pieces are all found; the
        # group says where each one ends.
        self._pattern = re.compile(f"(?=({_trie_pattern(pieces)}))") if pieces else None

    def text(self, value: str) -> str:
        """The text with every occurrence replaced by one REDACTED per run of overlapping or touching pieces."""
        if self._pattern is None or not value:
            return value
        folded = value.lower()
        if len(folded) != len(value):
            # Some character lowers to two: fold one by one (slower, and rare) so positions match.
            folded = "".join(map(_fold, value))
        parts: list[str] = []
        copied = 0                      # text before this is already in `parts`
        run_start = run_end = -1        # the run of pieces being gathered
        for match in self._pattern.finditer(folded):
            start, end = match.start(), match.end(1)
            if start <= run_end:
                run_end = max(run_end, end)
                continue
            if run_end >= 0:
                parts += [value[copied:run_start], REDACTED]
                copied = run_end
            run_start, run_end = start, end
        if run_end < 0:
            return value
        parts += [value[copied:run_start], REDACTED, value[run_end:]]
        return "".join(parts)


__all__ = ["MIN_LEAK", "REDACTED", "Scrubber"]
