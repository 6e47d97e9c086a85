"""A tiny progress bar on stderr for long verifications, and a meter for long fetches.

It draws only when its stream is a terminal, so redirected output, CI logs
and machine-readable formats never see it; otherwise every call is a
no-op. It redraws only when the percentage changes (at most 101 times for
any total) and never reads the clock. On close it erases itself, leaving
the terminal as it was.

Example::

    with Progress(len(attestations), "verifying") as progress:
        for att in attestations:
            ...
            progress.advance()

When the amount of work is not known in advance (bytes of one fetch),
:class:`Meter` shows how much was received so far instead, on the same
terms: a terminal only, redrawn only when the shown text changes (the
units are coarse, so a few hundred times at most), erased on close.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Final, TextIO

__all__ = ["Meter", "Progress"]

_WIDTH: Final = 24
_MAX_LABEL: Final = 60
_UNITS: Final = ("B", "KiB", "MiB", "GiB")


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    if isatty is None:
        return False
    try:
        return bool(isatty())
    except (ValueError, OSError):  # closed or detached stream
        return False


class _TerminalLine:
    """One line redrawn in place on a terminal: drawing, erasing, closing."""

    stream: TextIO
    enabled: bool
    _closed: bool = False
    # Characters on the line now (what close() erases).
    _drawn: int = 0

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _show(self, text: str) -> None:
        # Pad over a longer previous line so no stale characters remain.
        self._write("\r" + text.ljust(self._drawn))
        self._drawn = len(text)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (ValueError, OSError):  # the terminal went away: stop drawing
            self.enabled = False

    def close(self) -> None:
        """Erase the line. Further calls do nothing."""
        if self._closed:
            return
        self._closed = True
        if self.enabled and self._drawn:
            self._write("\r" + " " * self._drawn + "\r")


class Progress(_TerminalLine):
    """A progress bar: ``label [#####-------]  42% (420/1000)``.

    Args:
        total: The number of units of work (<= 0: nothing to show).
        label: A short name for the work.
        stream: Where to draw; default ``sys.stderr`` at construction.
        enabled: Force drawing on or off; default: only if ``stream`` is a TTY.
        width: Cells in the bar.

    Attributes:
        total: The number of units of work.
        done: Units completed so far (never above ``total``).
        enabled: Whether anything is drawn.
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        stream: TextIO | None = None,
        *,
        enabled: bool | None = None,
        width: int = _WIDTH,
    ) -> None:
        self.stream: TextIO = stream if stream is not None else sys.stderr
        self.total = max(int(total), 0)
        self.label = "".join(ch for ch in label if ch.isprintable())
        self.width = max(int(width), 1)
        self.done = 0
        self.enabled = _is_tty(self.stream) if enabled is None else enabled
        if self.total == 0:
            self.enabled = False
        self._shown = ""

    def __enter__(self) -> Progress:
        self._draw()
        return self

    def __call__(self, n: int = 1) -> None:
        """Same as :meth:`advance`, so the object itself can be passed as a callback."""
        self.advance(n)

    def advance(self, n: int = 1) -> None:
        """Record ``n`` more units of work done, redrawing if the display changes."""
        if self._closed:
            return
        self.done = min(self.total, max(0, self.done + n))
        self._draw()

    def line(self) -> str:
        """The text the bar shows now (without carriage return)."""
        if self.total == 0:
            return ""
        filled = self.done * self.width // self.total
        percent = self.done * 100 // self.total
        bar = "#" * filled + "-" * (self.width - filled)
        head = f"{self.label} " if self.label else ""
        return f"{head}[{bar}] {percent:3d}% ({self.done}/{self.total})"

    def _draw(self) -> None:
        if not self.enabled or self._closed:
            return
        key = str(self.done * 100 // self.total)
        if key == self._shown:
            return
        self._shown = key
        self._show(self.line())


def _size(n: int) -> str:
    """``n`` bytes to two significant figures (``1.2 MiB``, ``340 KiB``, ``57 B``).

    Rounded down, so the shown value never runs ahead; about 270 distinct
    texts per unit bound how often a meter redraws.
    """
    value = float(max(n, 0))
    unit = _UNITS[0]
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            break
        value /= 1024
    if value < 10 and unit != "B":
        shown = f"{int(value * 10) / 10:.1f}"
    elif value < 100:
        shown = str(int(value))
    else:
        shown = str(int(value) // 10 * 10)
    return f"{shown} {unit}"


class Meter(_TerminalLine):
    """How much of an open-ended job is done: ``label: 1.2 MiB received``.

    Pass the object (or its :meth:`advance`) as a byte-count callback.

    Args:
        label: What is being done (control characters are dropped; long
            labels are shortened so the line fits).
        stream: Where to draw; default ``sys.stderr`` at construction.
        enabled: Force drawing on or off; default: only if ``stream`` is a TTY.

    Attributes:
        received: Bytes counted so far.
        enabled: Whether anything is drawn.
        redraws: How many times the line was drawn.
    """

    def __init__(
        self, label: str = "", stream: TextIO | None = None, *, enabled: bool | None = None
    ) -> None:
        self.stream: TextIO = stream if stream is not None else sys.stderr
        text = "".join(ch for ch in label if ch.isprintable())
        self.label = text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 3] + "..."
        self.received = 0
        self.redraws = 0
        self.enabled = _is_tty(self.stream) if enabled is None else enabled
        self._shown = ""

    def __enter__(self) -> Meter:
        return self

    def __call__(self, n: int) -> None:
        """Same as :meth:`advance`."""
        self.advance(n)

    def advance(self, n: int) -> None:
        """Count ``n`` more bytes, redrawing if the shown text changes."""
        if self._closed:
            return
        self.received += max(0, n)
        if not self.enabled:
            return
        text = self.line()
        if text == self._shown:
            return
        self._show(text)
        self._shown = text
        self.redraws += 1

    def line(self) -> str:
        """The text the meter shows now (without carriage return)."""
        head = f"{self.label}: " if self.label else ""
        return f"{head}{_size(self.received)} received"
