"""Progress reporting for long CLI work (training, imports, analysis, benchmarks).

Writes to stderr so that command output on stdout stays machine-readable.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


class Progress:
    """A minimal progress bar: `with Progress("Training", total=n) as p: p.advance()`."""

    def __init__(self, label: str, total: int | None = None, *, stream=None, min_interval: float = 0.2):
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.min_interval = min_interval
        self._started = time.monotonic()
        self._last_draw = 0.0

    def __enter__(self) -> "Progress":
        self._draw(force=True)
        return self

    def __exit__(self, *exc) -> None:
        self.finish()

    def advance(self, n: int = 1, note: str = "") -> None:
        self.done += n
        self._draw(note=note)

    def step(self, note: str) -> None:
        """Report a named phase of work without a count."""
        self._draw(note=note, force=True)

    def finish(self, note: str = "done") -> None:
        elapsed = time.monotonic() - self._started
        self._write(f"{self._bar()} {note} in {elapsed:.1f}s\n")

    def _bar(self) -> str:
        if self.total:
            frac = min(1.0, self.done / self.total)
            filled = int(frac * 24)
            return f"{self.label}: [{'#' * filled}{'.' * (24 - filled)}] {self.done}/{self.total} ({frac:4.0%})"
        return f"{self.label}: {self.done}"

    def _draw(self, note: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        self._write(f"\r{self._bar()} {note}".ljust(79)[:160] + ("\n" if not self.stream.isatty() else ""))

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except ValueError:  # stream closed (e.g. under a test runner)
            pass


def track(items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    """Iterate over `items`, drawing progress as it goes."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(label, total=total) as progress:
        for item in items:
            yield item
            progress.advance()
