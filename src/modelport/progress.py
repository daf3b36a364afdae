"""Progress for long steps (conversions, copies, uploads, downloads), on stderr; silent when
disabled."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Progress:
    """``status(text)`` for a step of unknown length, ``bytes(text, total)`` for a copy."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    @contextmanager
    def status(self, text: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        from rich.console import Console

        console = Console(stderr=True)
        with console.status(f"{text}…"):
            yield
        console.print(f"[green]✓[/green] {text}", soft_wrap=True)

    @contextmanager
    def bytes(self, text: str, total: int) -> Iterator[Callable[[int], None]]:
        if not self.enabled:
            yield lambda n: None
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as RichProgress

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with RichProgress(*columns, console=Console(stderr=True), transient=False) as bar:
            task = bar.add_task(text, total=total)
            yield lambda n: bar.advance(task, n)

    def note(self, text: str) -> None:
        if self.enabled:
            from rich.console import Console

            Console(stderr=True).print(text, soft_wrap=True)
