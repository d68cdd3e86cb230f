"""Progress on the terminal for `studio generate` and `studio batch`.

On a terminal (stderr is a TTY, and no --json): a rich progress bar on stderr with the
elapsed time, an ETA and the money so far. Anywhere else (a pipe, a log file, --json): a
plain line on stderr when something starts or finishes, never a redrawn one. stdout, where
the images and the JSON go, is never touched.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from backends.types import Progress as StepProgress
from studio.formatting import TRACE_USD, format_duration, format_usd

PHASE_LABELS = {"download": "Downloading", "denoise": "Generating"}


def terminal_console(stream: TextIO | None = None, *, as_json: bool = False) -> Console | None:
    """A console for a live bar, or None when the output is not a terminal or is JSON."""
    stream = stream or sys.stderr
    if as_json or not stream.isatty():
        return None
    return Console(file=stream, highlight=False)


def _bar(console: Console, *fields: TextColumn | TimeRemainingColumn) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), *fields, console=console, transient=False)


class GenerateProgress:
    """`on_progress` for one request: loading, downloading, then the steps of the run, with
    the ETA of the current phase and the money so far (the estimate × the share of steps
    done: the real cost is printed with each image)."""

    def __init__(self, estimate_usd: float, *, as_json: bool = False,
                 stream: TextIO | None = None, console: Console | None = None) -> None:
        self.stream = stream or sys.stderr
        self.estimate_usd = estimate_usd
        console = console or terminal_console(self.stream, as_json=as_json)
        self.bar = None if console is None else _bar(
            console, TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[cost]}"))
        self._task: TaskID | None = None
        self._phase = ""
        self._last_line = ""

    def __enter__(self) -> GenerateProgress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, event: StepProgress) -> None:
        if self.bar is None:
            self._plain(event)
            return
        description = PHASE_LABELS.get(event.phase) or event.message or event.phase
        total = max(1, event.total)
        completed = min(event.step, total)
        if self._task is None:
            self._task = self.bar.add_task(description, total=total, completed=completed,
                                           cost=self._cost(event))
        elif event.phase != self._phase:  # one line: a new phase restarts its clock and ETA
            self.bar.reset(self._task, total=total, completed=completed,
                           description=description, cost=self._cost(event))
        else:
            self.bar.update(self._task, description=description, completed=completed,
                            total=total, cost=self._cost(event))
        self._phase = event.phase

    def _cost(self, event: StepProgress) -> str:
        estimate = format_usd(self.estimate_usd)
        if event.phase != "denoise" or self.estimate_usd < TRACE_USD:
            return f"est. {estimate}"
        return f"≈ {format_usd(self.estimate_usd * event.fraction)} of {estimate} est."

    def _plain(self, event: StepProgress) -> None:
        starting = event.phase != self._phase
        finished = event.total > 0 and event.step >= event.total
        self._phase = event.phase
        line = event.message or f"{event.phase} {event.step}/{event.total}"
        if (starting or finished) and line != self._last_line:
            self._last_line = line
            print(line, file=self.stream, flush=True)


class BatchProgress:
    """A live bar for a batch on a terminal: images done (failures too) of the total, what
    was spent so far, and the runner's ETA (it knows the concurrency)."""

    def __init__(self, console: Console) -> None:
        self.bar = _bar(console, TextColumn("{task.fields[failed]}"),
                        TextColumn("{task.fields[spent]} spent · ETA {task.fields[eta]}"))
        self._task: TaskID | None = None

    def show(self, event: Any) -> None:
        """Draw a runner event (studio.batch.runner.BatchEvent)."""
        eta = format_duration(event.eta_s) if event.eta_s is not None else "…"
        fields = {"failed": f"{event.failed} failed" if event.failed else "",
                  "spent": format_usd(event.spent_usd), "eta": eta}
        done, total = event.done + event.failed, max(1, event.total)
        if self._task is None:
            self._task = self.bar.add_task("Batch", total=total, completed=done, **fields)
            self.bar.start()
        else:
            self.bar.update(self._task, completed=done, total=total, **fields)

    def note(self, message: str) -> None:
        """A line above the bar (a retry, a failure, a stop)."""
        self.bar.console.print(message, markup=False, highlight=False)

    def stop(self) -> None:
        self.bar.stop()
