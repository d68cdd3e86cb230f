"""The SageMaker backend: generation on a real-time endpoint through boto3's sagemaker-runtime."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from backends.errors import BackendError, InvalidRequest, TransientError
from backends.families import GENERIC_GUIDANCE, GENERIC_STEPS
from backends.sagemaker import payloads
from backends.sagemaker.cost import Throughput, endpoint_cost
from backends.sagemaker.errors import (
    EndpointNotFound,
    EndpointNotInService,
    Target,
    map_error,
)
from backends.sagemaker.session import (
    DEFAULT_READ_TIMEOUT_S,
    control_config,
    make_session,
    resolve_region,
    runtime_config,
)
from backends.sagemaker.status import EndpointStatus, describe_endpoint
from backends.types import (
    BackendInfo,
    CancelToken,
    Cost,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Progress,
    ProgressCallback,
    Timings,
    refuse_local_only,
)

# Compiled Inferentia/Trainium models have one image size, so tests leave the size to them.
_FIXED_SIZE_FAMILIES = ("ml.inf", "ml.trn")


@dataclass
class _Split:
    """Where the seconds of the invocations went, summed over the calls of one run."""

    network_s: float = 0.0
    queue_s: float = 0.0
    inference_s: float = 0.0
    decode_s: float = 0.0
    busy_s: float = 0.0  # what the endpoint spent on our work: the basis of the cost

    def add(self, round_trip_s: float, client_decode_s: float,
            server: payloads.ServerTimings | None) -> None:
        self.decode_s += client_decode_s
        if server is None:
            # No server timings (JumpStart): the round trip cannot be split, and it is mostly
            # inference, so it counts as that.
            self.inference_s += round_trip_s
            self.busy_s += round_trip_s
            return
        server_s = server.queue_s + server.total_s
        self.network_s += max(0.0, round_trip_s - server_s)
        self.queue_s += server.queue_s
        self.inference_s += server.inference_s
        self.decode_s += server.encode_s
        self.busy_s += server.total_s


class SageMakerBackend:
    """Generates on a SageMaker real-time endpoint. Thread-safe: queue workers may share it.

    `usd_per_hour` is the list price of one instance (the core looks it up in its price
    book); None leaves costs at 0 with a note saying so. `check_status` makes "Test
    connection" and not-found errors consult the control plane; by default it does so unless
    an endpoint URL is set (a VPC endpoint or `studio endpoint serve` serves the runtime only).
    """

    name = "sagemaker"

    def __init__(self, endpoint_name: str = "", *, region: str = "", profile: str = "",
                 endpoint_url: str = "", instance_type: str = "ml.g5.xlarge",
                 instance_count: int = 1, payload_format: str = "studio",
                 usd_per_hour: float | None = None, price_source: str = "",
                 read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
                 check_status: bool | None = None, session: Any = None) -> None:
        if payload_format not in payloads.FORMATS:
            raise InvalidRequest(f"The SageMaker payload format must be one of "
                                 f"{', '.join(payloads.FORMATS)} (got {payload_format!r}).")
        self.endpoint_name = endpoint_name
        self.profile = profile
        self.endpoint_url = endpoint_url
        self.instance_type = instance_type
        self.instance_count = max(1, instance_count)
        self.payload_format = payload_format
        self.usd_per_hour = usd_per_hour
        self.price_source = price_source
        self.read_timeout_s = read_timeout_s
        self.check_status = not endpoint_url if check_status is None else check_status
        self._region = region
        self._session = session
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe; clients are
        self._throughput = Throughput(instance_type)
        # The steps the endpoint's model runs when none are set (its family's default), as
        # its answers have told them; None until one has.
        self._default_steps: int | None = None
        # False once the endpoint refused `speed` (a handler deployed before speed profiles).
        self._sends_speed = True

    # --- the Backend interface -----------------------------------------------------------

    def describe(self) -> BackendInfo:
        if not self.endpoint_name:
            return BackendInfo(self.name, "SageMaker", "not configured", False,
                               "Set the endpoint name in Settings → SageMaker.")
        where = self.endpoint_url or self._region or "the profile's region"
        return BackendInfo(self.name, "SageMaker", f"{self.instance_count} × "
                           f"{self.instance_type}", True,
                           f"endpoint {self.endpoint_name} ({where})")

    def estimate_cost(self, request: GenerationRequest) -> Cost:
        seconds = self._throughput.estimate(_work(self._with_default_steps(request)))
        how_long = "About" if self._throughput.measured else "A guessed"
        return endpoint_cost(seconds, self.instance_type, self.instance_count,
                             self.usd_per_hour, self.price_source, estimated=True,
                             how_long=how_long)

    def generate(self, request: GenerationRequest, on_progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> GenerationResult:
        submitted = time.perf_counter()
        cancel = cancel or CancelToken()
        self._check(request)
        request = request.with_resolved_seed()
        calls = payloads.plan_calls(request, self.payload_format)
        split, images = _Split(), []
        model, device = "", ""
        answers: list[payloads.Decoded] = []
        for done, seeds in enumerate(calls):
            cancel.raise_if_cancelled()
            if on_progress is not None:
                on_progress(Progress("denoise", done, len(calls),
                                     f"Waiting for {self.endpoint_name} "
                                     f"(request {done + 1} of {len(calls)})"))
            try:
                raw, round_trip_s = self._invoke_request(request, seeds)
            except TransientError as exc:
                # The calls before this one were done and billed: a retry pays for them again.
                exc.maybe_billed = exc.maybe_billed or done > 0
                raise
            decoding = time.perf_counter()
            decoded = payloads.decode(raw, self.payload_format, seeds)
            split.add(round_trip_s, time.perf_counter() - decoding, decoded.server)
            images += [GeneratedImage(image, seed)
                       for image, seed in zip(decoded.images, decoded.seeds, strict=True)]
            model, device = decoded.model or model, decoded.device or device
            answers.append(decoded)
        if on_progress is not None:
            on_progress(Progress("denoise", len(calls), len(calls), "Done"))
        ran = _what_ran(payloads.sent_request(request, self.payload_format), answers)
        if request.steps is None and answers and answers[-1].steps is not None:
            self._default_steps = answers[-1].steps
        self._throughput.record(split.busy_s, _work(ran))
        timings = Timings(network_s=split.network_s, queue_s=split.queue_s,
                          inference_s=split.inference_s, decode_s=split.decode_s,
                          total_s=time.perf_counter() - submitted)
        cost = endpoint_cost(split.busy_s, self.instance_type, self.instance_count,
                             self.usd_per_hour, self.price_source, estimated=False,
                             how_long="Endpoint time")
        fleet = f"{self.instance_count} × {self.instance_type}"
        last = answers[-1] if answers else None
        return GenerationResult(
            request=ran, images=tuple(images), timings=timings, cost=cost,
            backend=self.name, model=model or request.model or self.endpoint_name,
            device=f"{fleet} ({device})" if device else fleet,
            family=last.family if last else "", licence=last.licence if last else "",
            commercial_use=last.commercial_use if last else None,
            accelerations=last.accelerations if last else ())

    @property
    def fleet_usd_per_hour(self) -> float | None:
        """What the endpoint bills per hour while up, busy or idle (None: no price known)."""
        return None if self.usd_per_hour is None else self.usd_per_hour * self.instance_count

    # --- for Settings ----------------------------------------------------------------------

    def test_connection(self) -> str:
        """One human sentence on the endpoint's state and a tiny invocation's latency.

        Raises a BackendError (credentials, not found, not InService, ...) otherwise.
        """
        self._require_name()
        note = ""
        if self.check_status:
            status = self.endpoint_status()
            if not status.in_service:
                raise _not_in_service(status)
            opening = f"Endpoint {self.endpoint_name} is InService on {status.fleet}"
            if status.instance_type and status.instance_type != self.instance_type:
                note = (f" Settings say {self.instance_type}: set {status.instance_type} "
                        "there so costs are right.")
        else:
            opening = f"Endpoint {self.endpoint_name} at {self.endpoint_url} answered"
        fixed = self.instance_type.startswith(_FIXED_SIZE_FAMILIES)
        encoded = payloads.tiny_test_body(self.payload_format, fixed_size=fixed)
        raw, round_trip_s = self._invoke(encoded)
        decoded = payloads.decode(raw, self.payload_format, [0])
        width, height = decoded.images[0].size
        return (f"{opening}; a {width}×{height} test image came back in {round_trip_s:.1f} s."
                f"{note}")

    def endpoint_status(self) -> EndpointStatus:
        self._require_name()
        try:
            return describe_endpoint(self._client("sagemaker"), self.endpoint_name)
        except Exception as exc:
            raise map_error(exc, self._target(), action="describe") from exc

    # --- internals -------------------------------------------------------------------------

    def _check(self, request: GenerationRequest) -> None:
        self._require_name()
        refuse_local_only(request, "A SageMaker endpoint", edits=self.payload_format != "jumpstart")
        if request.mask is not None and self.payload_format == "jumpstart":
            raise InvalidRequest("JumpStart text-to-image endpoints cannot inpaint. Use an "
                                 "endpoint deployed with `studio endpoint deploy`.")
        if request.init_image is not None and self.payload_format == "jumpstart":
            raise InvalidRequest("JumpStart text-to-image endpoints take no init image. Use an "
                                 "endpoint deployed with `studio endpoint deploy` for "
                                 "image-to-image.")

    def _with_default_steps(self, request: GenerationRequest) -> GenerationRequest:
        """For estimates: unset steps are the endpoint model's default once an answer has
        told it, the generic 30 before (and always for JumpStart, which is sent 30)."""
        if request.steps is not None:
            return request
        known = self._default_steps if self.payload_format != "jumpstart" else None
        return request.replace(steps=known or GENERIC_STEPS)

    def _require_name(self) -> None:
        if not self.endpoint_name:
            raise InvalidRequest("No SageMaker endpoint is set. Enter its name in Settings → "
                                 "SageMaker (or pass --endpoint NAME).")

    def _invoke_request(self, request: GenerationRequest,
                        seeds: list[int]) -> tuple[bytes, float]:
        """One invocation for `seeds`. An endpoint deployed before speed profiles refuses the
        `speed` parameter: it is asked again without it, and never sent it again."""
        sends_speed = self._sends_speed
        encoded = payloads.encode(request, seeds, self.payload_format, send_speed=sends_speed)
        payloads.check_body_size(encoded)
        try:
            return self._invoke(encoded)
        except InvalidRequest as exc:
            if not (sends_speed and "parameters.speed" in str(exc)):
                raise
        self._sends_speed = False
        return self._invoke(payloads.encode(request, seeds, self.payload_format,
                                            send_speed=False))

    def _invoke(self, encoded: payloads.Encoded) -> tuple[bytes, float]:
        started = time.perf_counter()
        try:
            response = self._client("sagemaker-runtime").invoke_endpoint(
                EndpointName=self.endpoint_name, Body=encoded.body,
                ContentType=encoded.content_type, Accept=encoded.accept)
            raw = response["Body"].read()
        except Exception as exc:
            error = map_error(exc, self._target(), action="call")
            if isinstance(error, EndpointNotFound) and self.check_status:
                error = self._explain_not_found(error)
            raise error from exc
        return raw, time.perf_counter() - started

    def _explain_not_found(self, error: BackendError) -> BackendError:
        """The runtime says "not found" for endpoints still Creating; the control plane knows."""
        try:
            status = describe_endpoint(self._client("sagemaker"), self.endpoint_name)
        except Exception:
            return error
        return error if status.in_service else _not_in_service(status)

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                try:
                    if self._session is None:
                        self._session = make_session(self.profile, self._region)
                    region = resolve_region(self._session, self._region, self.endpoint_url)
                    self._region = region
                    if service == "sagemaker-runtime":
                        self._clients[service] = self._session.client(
                            service, region_name=region,
                            endpoint_url=self.endpoint_url or None,
                            config=runtime_config(self.read_timeout_s))
                    else:
                        self._clients[service] = self._session.client(
                            service, region_name=region, config=control_config())
                except BackendError:
                    raise
                except Exception as exc:
                    raise map_error(exc, self._target()) from exc
            return self._clients[service]

    def _target(self) -> Target:
        return Target(self.endpoint_name, self._region, self.profile, self.endpoint_url,
                      self.read_timeout_s)


def _not_in_service(status: EndpointStatus) -> EndpointNotInService:
    hints = {
        "Creating": "It is still starting, which takes 5–15 minutes; try again shortly.",
        "Updating": "It is being updated; try again in a few minutes.",
        "SystemUpdating": "AWS is updating it; try again in a few minutes.",
        "RollingBack": "An update is being rolled back; try again in a few minutes.",
        "Failed": "Its deployment failed"
                  + (f": {status.failure_reason}" if status.failure_reason else "")
                  + ". Delete it (`studio endpoint delete`) and deploy again.",
        "OutOfService": "It is out of service; check it in the SageMaker console.",
        "Deleting": "It is being deleted.",
    }
    hint = hints.get(status.status, "It cannot take requests now.")
    return EndpointNotInService(f"Endpoint {status.name} is {status.status}, not InService. "
                                f"{hint}", status.status)


def _what_ran(sent: GenerationRequest, answers: list[payloads.Decoded]) -> GenerationRequest:
    """The request with the steps, guidance and speed profile the endpoint says it ran. An
    endpoint that does not say (an older handler) ran what was sent, or where nothing was sent
    its generic defaults, 30 and 7.0; its speed is left as asked."""
    steps = next((a.steps for a in reversed(answers) if a.steps is not None), None)
    guidance = next((a.guidance for a in reversed(answers) if a.guidance is not None), None)
    speed = next((a.speed for a in reversed(answers) if a.speed), sent.speed)
    fallback_steps = GENERIC_STEPS if sent.steps is None else sent.steps
    fallback_guidance = GENERIC_GUIDANCE if sent.guidance is None else sent.guidance
    return sent.replace(steps=fallback_steps if steps is None else steps,
                        guidance=fallback_guidance if guidance is None else guidance,
                        speed=speed)


def _work(request: GenerationRequest) -> float:
    """Denoising work in step-megapixel-images, the unit throughput is learned in."""
    strength = request.strength if request.mode in ("img2img", "inpaint") else 1.0
    steps = (request.steps or GENERIC_STEPS) * strength
    return max(1.0, steps) * request.width * request.height / 1e6 * request.count
