"""Wall time and cost of a large catalog on SageMaker's three ways of serving it.

- **Real-time endpoint**: created for the run (`scale_up_delay_s` until InService, not
  billed), then `instances` instances stand InService for the whole run and are billed until
  someone deletes the endpoint; requests are capped at 60 s each.
- **Asynchronous Inference with scale to zero**: the endpoint starts at zero instances. New
  work raises `HasBacklogWithoutCapacity`, one instance starts after `scale_up_delay_s`; the
  target-tracking policy on `ApproximateBacklogSizePerInstance` then adds the rest after its
  alarm (`alarm_delay_s`) and their own start-up. When the backlog is empty, the scale-in alarm
  (`scale_in_after_s`) takes the endpoint back to zero; instances bill until then.
- **Batch Transform**: a job starts `instances` instances, each takes `transform_startup_s` to
  pull the container and load the model (billed, conservatively), then they split the items.

The model is arithmetic over a timeline, not a measurement: feed it a per-image latency you
measured (`studio endpoint status`, the batch manifest) and the price of your instance type.
S3 requests and storage, and data transfer, are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

REALTIME_LIMIT_S = 60.0  # InvokeEndpoint's per-request timeout
ASYNC_LIMIT_S = 3600.0  # InvokeEndpointAsync's per-request limit


@dataclass(frozen=True)
class Workload:
    images: int
    latency_s: float  # seconds one instance takes per image
    usd_per_hour: float  # one instance
    instances: int = 1  # real-time and transform: this many; async: at most this many
    scale_up_delay_s: float = 480.0  # an instance's launch until it serves
    alarm_delay_s: float = 180.0  # a CloudWatch alarm noticing the backlog
    scale_in_after_s: float = 900.0  # target tracking's scale-in alarm: 15 one-minute points
    transform_startup_s: float = 420.0

    def __post_init__(self) -> None:
        if self.images < 1 or self.instances < 1:
            raise ValueError("images and instances must be at least 1")
        if not self.latency_s > 0 or not self.usd_per_hour >= 0:
            raise ValueError("latency must be above 0 and the price 0 or more")
        if min(self.scale_up_delay_s, self.alarm_delay_s, self.scale_in_after_s,
               self.transform_startup_s) < 0:
            raise ValueError("delays are 0 or more seconds")


@dataclass(frozen=True)
class Outcome:
    mode: str
    wall_s: float | None  # None: this mode cannot serve the workload
    instance_hours: float
    first_image_s: float | None
    note: str
    usd: float


def _batches(images: int, instances: int, latency_s: float) -> float:
    """Seconds `instances` take to work through `images`, whole images each."""
    return math.ceil(images / instances) * latency_s


def realtime(work: Workload) -> Outcome:
    if work.latency_s > REALTIME_LIMIT_S:
        return Outcome("real-time endpoint", None, 0.0, None,
                       f"a request over {REALTIME_LIMIT_S:.0f} s times out: use async or "
                       "transform", 0.0)
    serving = _batches(work.images, work.instances, work.latency_s)
    hours = work.instances * serving / 3600
    idle = work.instances * work.usd_per_hour
    return Outcome("real-time endpoint", work.scale_up_delay_s + serving, hours,
                   work.scale_up_delay_s + work.latency_s,
                   f"deleted at the end; ${idle:,.2f} more per hour it stays up",
                   hours * work.usd_per_hour)


def asynchronous(work: Workload) -> Outcome:
    """Scale from zero: one instance after the first alarm, the rest once target tracking
    sees the backlog; back to zero `scale_in_after_s` after the last image."""
    if work.latency_s > ASYNC_LIMIT_S:
        return Outcome("async, scale to zero", None, 0.0, None,
                       f"a request over {ASYNC_LIMIT_S / 60:.0f} min is refused", 0.0)
    first_up = work.scale_up_delay_s
    rest_up = first_up + work.alarm_delay_s + work.scale_up_delay_s
    done_by_one = math.floor((rest_up - first_up) / work.latency_s)
    if done_by_one >= work.images or work.instances == 1:
        wall = first_up + work.images * work.latency_s
        busy_hours = work.images * work.latency_s / 3600
        instance_count = 1
    else:
        left = work.images - done_by_one
        wall = rest_up + _batches(left, work.instances, work.latency_s)
        busy_hours = ((wall - first_up) + (work.instances - 1) * (wall - rest_up)) / 3600
        instance_count = work.instances
    hours = busy_hours + instance_count * work.scale_in_after_s / 3600
    return Outcome("async, scale to zero", wall, hours, first_up + work.latency_s,
                   f"starts at 0 instances; {instance_count} bill {work.scale_in_after_s / 60:.0f}"
                   " min past the last image, then nothing", hours * work.usd_per_hour)


def transform(work: Workload) -> Outcome:
    if work.latency_s > ASYNC_LIMIT_S:
        return Outcome("batch transform", None, 0.0, None,
                       f"a record over {ASYNC_LIMIT_S / 60:.0f} min times out", 0.0)
    wall = work.transform_startup_s + _batches(work.images, work.instances, work.latency_s)
    hours = work.instances * wall / 3600
    return Outcome("batch transform", wall, hours, None,
                   "results only when the job ends; billed from start-up to the end",
                   hours * work.usd_per_hour)


def compare(work: Workload) -> list[Outcome]:
    return [realtime(work), asynchronous(work), transform(work)]
