"""`studio endpoint …`: serve the endpoint handler locally, package it, deploy it to SageMaker,
check on it and delete it.

Every command that creates or keeps a running endpoint says what it costs per hour, since a
real-time endpoint is billed while it is up, busy or idle.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from typing import Any

from backends.errors import BackendError, BackendUnavailable, InvalidRequest
from backends.types import SPEEDS


def add_endpoint_commands(subparsers: Any) -> None:
    endpoint = subparsers.add_parser(
        "endpoint", help="serve, package, deploy and manage a SageMaker endpoint")
    commands = endpoint.add_subparsers(dest="endpoint_command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="run the endpoint handler as a local server")
    serve.add_argument("--model", required=True, help="diffusers folder or hub id")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default loopback; there is no authentication)")
    serve.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    serve.add_argument("--speed", choices=list(SPEEDS),
                       help="speed profile to load the model with (default: STUDIO_SPEED, "
                            "else fast)")
    serve.add_argument("--endpoint-name", help="answer only /endpoints/THIS/invocations "
                                               "(default: any name)")
    serve.add_argument("--s3-endpoint-url", metavar="URL",
                       help="also answer InvokeEndpointAsync, reading inputs from and writing "
                            "results to the S3 at this URL (a local moto server, say)")
    serve.add_argument("--async-output", metavar="S3_URL", default="",
                       help="with --s3-endpoint-url: s3:// folder for async results (default: "
                            "s3://<the input's bucket>/async-output)")
    serve.add_argument("--region", help="with --s3-endpoint-url: the S3 region (default "
                                        "us-east-1)")
    serve.set_defaults(handler=run_serve)

    package = commands.add_parser("package", help="build model.tar.gz for SageMaker")
    package.add_argument("--model", required=True, help="diffusers folder, or for inferentia2 "
                                                        "a folder from `optimum-cli export neuron`")
    package.add_argument("--out", required=True, help="where to write model.tar.gz")
    package.add_argument("--target", choices=["gpu", "inferentia2"], default="gpu")
    package.set_defaults(handler=run_package)

    deploy = commands.add_parser("deploy", help="create the model, endpoint config and endpoint")
    deploy.add_argument("--name", required=True, help="endpoint name")
    deploy.add_argument("--model-data", required=True, help="s3:// URL of model.tar.gz")
    deploy.add_argument("--instance-type", required=True,
                        help="ml.inf2.xlarge, ml.inf2.8xlarge, ml.g5.xlarge, ml.g6.xlarge, …")
    deploy.add_argument("--instance-count", type=int, default=1)
    deploy.add_argument("--role", help="execution role ARN (default: the account's one "
                                       "AmazonSageMaker-ExecutionRole-*)")
    deploy.add_argument("--image-uri", help="container image (default: the Hugging Face "
                                            "inference container for the instance and region)")
    deploy.add_argument("--async", dest="asynchronous", action="store_true",
                        help="an asynchronous endpoint (requests and results in S3, up to 1 GB "
                             "and 1 hour each) that scales with its backlog, to zero when idle")
    deploy.add_argument("--s3-output", "--async-output", dest="async_output",
                        metavar="S3_URL", help="with --async: s3:// folder for the results "
                                               "(failures go to its failures/ folder)")
    deploy.add_argument("--sns-success", default="", metavar="ARN",
                        help="with --async: SNS topic told of each finished request")
    deploy.add_argument("--sns-error", default="", metavar="ARN",
                        help="with --async: SNS topic told of each failed request")
    deploy.add_argument("--min-instances", type=int, default=0,
                        help="with --async: fewest instances (default 0: nothing bills idle)")
    deploy.add_argument("--max-instances", type=int,
                        help="with --async: most instances (default: --instance-count)")
    deploy.add_argument("--backlog-target", type=float, default=5.0,
                        help="with --async: queued requests per instance before scaling out")
    deploy.add_argument("--speed", choices=list(SPEEDS), default="fast",
                        help="speed profile the endpoint loads its model with (STUDIO_SPEED); "
                             "every request is served with it")
    deploy.add_argument("--no-wait", action="store_true", help="return once creation starts")
    deploy.add_argument("--poll-seconds", type=float, default=15.0, help=argparse.SUPPRESS)
    _aws_arguments(deploy)
    deploy.set_defaults(handler=run_deploy)
    _add_compile_command(commands)

    status = commands.add_parser("status", help="show an endpoint's state, instances and cost")
    status.add_argument("name")
    status.add_argument("--json", action="store_true")
    _aws_arguments(status)
    status.set_defaults(handler=run_status)

    delete = commands.add_parser("delete", help="delete an endpoint (billing stops)")
    delete.add_argument("name")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.add_argument("--keep-model", action="store_true",
                        help="keep the SageMaker model for a later deploy")
    _aws_arguments(delete)
    delete.set_defaults(handler=run_delete)


def _aws_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", help="default: Settings → SageMaker, then your profile's")
    parser.add_argument("--profile", help="AWS profile (default: Settings → SageMaker)")


# --- serve ---------------------------------------------------------------------------------

def run_serve(args: argparse.Namespace) -> int:
    from backends.endpoint.server import EndpointServer

    if not _is_loopback(args.host):
        print(f"studio: warning: serving on {args.host} lets anyone who can reach it generate "
              "on this machine; there is no authentication.", file=sys.stderr)
    try:
        server = EndpointServer(None, host=args.host, port=args.port,
                                endpoint_name=args.endpoint_name, access_log=_log_line)
    except OSError as exc:
        raise BackendUnavailable(f"Cannot listen on {args.host}:{args.port} ({exc.strerror}). "
                                 "Choose another --port, or stop what is using it.") from exc
    try:
        if args.s3_endpoint_url:
            _enable_async(server, args)
        elif args.async_output:
            raise InvalidRequest("--async-output needs --s3-endpoint-url.")
        print(f"Loading {args.model} …", file=sys.stderr, flush=True)
        try:
            server.load_model(args.model, speed=args.speed)
        except (OSError, ValueError, RuntimeError, ImportError) as exc:
            raise BackendUnavailable(f"Could not load the model {args.model!r}: {exc}") from exc
        print(f"Serving {server.model.model} on {server.url}", flush=True)
        name = args.endpoint_name or "local"
        print(f"Try: studio generate --backend sagemaker --endpoint {name} --endpoint-url "
              f"{server.url} --prompt \"…\"   (Ctrl+C stops the server)", file=sys.stderr,
              flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _enable_async(server: Any, args: argparse.Namespace) -> None:
    """InvokeEndpointAsync through the S3 at --s3-endpoint-url (credentials: boto3's chain)."""
    import boto3

    from backends.endpoint.async_invocations import AsyncRequestError, split_s3_prefix

    if args.async_output:
        try:
            split_s3_prefix(args.async_output)
        except AsyncRequestError as exc:
            raise InvalidRequest(f"--async-output: {exc}") from None
    s3 = boto3.client("s3", endpoint_url=args.s3_endpoint_url,
                      region_name=args.region or "us-east-1")
    server.enable_async(s3, args.async_output)
    where = args.async_output or "s3://<input bucket>/async-output"
    print(f"Answering InvokeEndpointAsync: inputs from {args.s3_endpoint_url}, results in "
          f"{where}", file=sys.stderr, flush=True)


def _log_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- package -------------------------------------------------------------------------------

def run_package(args: argparse.Namespace) -> int:
    from backends.endpoint.packaging import package_model

    report = package_model(args.model, args.out, args.target)
    print(f"Wrote {report.path} ({report.bytes / 1e6:.1f} MB, {report.files} files) for "
          f"{report.target}.")
    print(f"  {report.note}")
    if report.converted:
        saved = ", ".join(f"{name} {version}" for name, version in report.saved_with.items())
        print(f"  Saved with {saved or 'newer libraries'}; written so the container's "
              f"transformers 4 reads it: {', '.join(report.converted)}.")
    example = "ml.inf2.xlarge" if report.target == "inferentia2" else "ml.g5.xlarge"
    print(f"Next: aws s3 cp {report.path} s3://YOUR-BUCKET/studio/{report.model}/model.tar.gz\n"
          f"      studio endpoint deploy --name {_endpoint_name(report.model)} --model-data "
          f"s3://YOUR-BUCKET/studio/{report.model}/model.tar.gz --instance-type {example}",
          file=sys.stderr)
    return 0


def _endpoint_name(model: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in model).strip("-")
    return f"studio-{cleaned}"[:63].rstrip("-")


# --- compile (Inferentia2, as a SageMaker training job: backends/endpoint/compile.py) -------

def _add_compile_command(commands: Any) -> None:
    job = commands.add_parser(
        "compile", help="compile a model for Inferentia2 as a SageMaker training job")
    job.add_argument("--model", help="Hugging Face hub id, or s3:// folder of a diffusers model "
                                     "(or of the model.tar.gz of `endpoint package`)")
    job.add_argument("--target", choices=["inferentia2"], default="inferentia2")
    job.add_argument("--size", metavar="WxH", help="the one size the endpoint will make, "
                                                   "e.g. 1024x1024")
    job.add_argument("--s3-output", metavar="S3_URL",
                     help="s3:// folder for the job's script and the compiled model.tar.gz")
    job.add_argument("--instance-type", default="ml.trn1.2xlarge",
                     help="ml.trn1.2xlarge (default), ml.trn1.32xlarge or ml.trn1n.32xlarge")
    job.add_argument("--family", choices=["sd1", "sd2", "sdxl"],
                     help="the model's family (default: detected)")
    job.add_argument("--role", help="execution role ARN (default: the account's one "
                                    "AmazonSageMaker-ExecutionRole-*)")
    job.add_argument("--max-hours", type=float, default=3.0,
                     help="stop the job after this long (default 3)")
    job.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True,
                     help="follow the job until it ends (default) or return once it starts")
    job.add_argument("--dry-run", action="store_true",
                     help="print the training job request; upload and create nothing")
    job.add_argument("--follow", metavar="JOB", help="follow a compile job started earlier")
    job.add_argument("--poll-seconds", type=float, default=30.0, help=argparse.SUPPRESS)
    _aws_arguments(job)
    job.set_defaults(handler=run_compile)


def run_compile(args: argparse.Namespace) -> int:
    from backends.endpoint import compile as neuron
    from backends.endpoint.deploy import find_execution_role

    client, session, region = _sagemaker_client(args)
    if args.follow:
        print(f"Following {args.follow} in {region}.", file=sys.stderr)
        return _finish_compile(client, args.follow, region, args)
    missing = [flag for flag, value in (("--model", args.model), ("--size", args.size),
                                        ("--s3-output", args.s3_output)) if not value]
    if missing:
        raise InvalidRequest(f"studio endpoint compile needs {', '.join(missing)} (or --follow "
                             "JOB to follow a job started earlier).")
    role = args.role
    if not role:
        try:
            role = find_execution_role(session.client("iam"))
        except Exception as exc:
            raise neuron.aws_error(exc, "find a SageMaker execution role", region) from exc
    plan = neuron.plan_compile(args.model, args.size, args.s3_output, region=region, role=role,
                               instance_type=args.instance_type, family=args.family or "",
                               max_runtime_s=int(args.max_hours * 3600))
    family = plan.family or "detected by the job"
    print(f"Compiling {plan.model} for Inferentia2 at {plan.width}×{plan.height} ({family}) in "
          f"{region}\n  job   {plan.job_name} on 1 × {plan.instance_type}, at most "
          f"{plan.max_runtime_s / 3600:g} h\n  image {plan.image}\n  role  {plan.role}\n"
          f"  into  {plan.artefact}", file=sys.stderr)
    print("  It is billed per second of training time while it runs (SageMaker training "
          "prices; Studio's price book has inference prices only).", file=sys.stderr)
    for warning in plan.warnings:
        print(f"studio: warning: {warning}", file=sys.stderr)
    if args.dry_run:
        print(json.dumps(plan.training_job_request(), indent=2))
        print("Dry run: nothing was uploaded or created.", file=sys.stderr)
        return 0
    neuron.start_compile(client, session.client("s3", region_name=region), plan)
    print(f"Started training job {plan.job_name}.", file=sys.stderr, flush=True)
    if not args.wait:
        print(f"Follow it with: studio endpoint compile --follow {plan.job_name} --region "
              f"{region}\nIts model.tar.gz will be {plan.artefact}")
        return 0
    return _finish_compile(client, plan.job_name, region, args)


def _finish_compile(client: Any, name: str, region: str, args: argparse.Namespace) -> int:
    from backends.endpoint import compile as neuron
    from backends.endpoint.neuron_compile_script import name_of

    status = neuron.wait_for_compile(client, name, region=region, poll_s=args.poll_seconds,
                                     on_status=_compile_progress())
    billed = (f" ({status.billable_s} s of {status.instance_type} training time billed)"
              if status.billable_s is not None else "")
    print(f"Compiled: {status.name}{billed}.", file=sys.stderr)
    print(status.artefact)
    model = name_of(args.model) if args.model else status.name
    print(f"It holds the compiled model and the endpoint handler; deploy it as it is:\n"
          f"  studio endpoint deploy --name {_endpoint_name(model.rsplit('/', 1)[-1])} "
          f"--model-data {status.artefact} --instance-type ml.inf2.xlarge --region {region}",
          file=sys.stderr)
    return 0


def _compile_progress() -> Any:
    last: dict[str, Any] = {"key": None, "printed": -60.0}

    def show(status: Any, elapsed: float) -> None:
        key = (status.status, status.secondary, status.message)
        if key != last["key"] or elapsed - last["printed"] >= 60:
            minutes, seconds = divmod(int(elapsed), 60)
            secondary = f" · {status.secondary}" if status.secondary not in (
                "", status.status) else ""
            message = f" — {status.message}" if status.message else ""
            print(f"  [{minutes:3d}:{seconds:02d}] {status.status}{secondary}{message}",
                  file=sys.stderr, flush=True)
            last.update(key=key, printed=elapsed)

    return show


# --- deploy, status, delete ----------------------------------------------------------------

def run_deploy(args: argparse.Namespace) -> int:
    from backends.endpoint.deploy import deploy, find_execution_role, plan_deployment
    from backends.sagemaker.errors import Target, map_error

    client, session, region = _sagemaker_client(args)
    role = args.role
    if not role:
        try:
            role = find_execution_role(session.client("iam"))
        except BackendError:
            raise
        except Exception as exc:
            raise map_error(exc, Target(args.name, region), action="find a role for") from exc
    scaling = _async_scaling(args)
    plan = plan_deployment(args.name, args.model_data, args.instance_type, region=region,
                           role=role, image=args.image_uri or "",
                           instance_count=args.instance_count,
                           async_output=args.async_output or "", speed=args.speed,
                           sns_success=args.sns_success, sns_error=args.sns_error,
                           scaling=scaling)
    print(f"Deploying {plan.name} in {region}: {plan.instance_count} × {plan.instance_type} "
          f"({plan.target})\n  image {plan.image}\n  model {plan.model_data}\n  role  {role}"
          f"\n  speed {plan.speed}",
          file=sys.stderr)
    print(f"  {_cost_line(plan.instance_type, plan.instance_count, region)}", file=sys.stderr)
    if plan.async_output:
        print(f"  async: results in {plan.async_output}" + (
            f", scaling {scaling.min_instances}–{scaling.max_instances} instances on the "
            "backlog" if scaling else ""), file=sys.stderr)
    status = deploy(client, plan, region=region, wait=not args.no_wait,
                    poll_s=args.poll_seconds, on_status=_progress_printer(),
                    autoscaling=session.client("application-autoscaling", region_name=region),
                    cloudwatch=session.client("cloudwatch", region_name=region),
                    on_scaling=lambda made: print(f"  registered {'; '.join(made)}",
                                                  file=sys.stderr))
    if not status.in_service:
        print(f"Endpoint {plan.name} is {status.status}. Follow it with `studio endpoint status "
              f"{plan.name}`.")
        return 0
    print(f"Endpoint {plan.name} is InService on {status.fleet} in {region}.")
    print(f"Generate: studio generate --backend sagemaker --endpoint {plan.name} --region "
          f"{region} --prompt \"…\"\nDelete it when you are done: studio endpoint delete "
          f"{plan.name}", file=sys.stderr)
    return 0


def _async_scaling(args: argparse.Namespace) -> Any:
    """The backlog autoscaling --async asks for (None without --async)."""
    from backends.endpoint.autoscaling import AsyncScaling

    if not args.asynchronous:
        if args.async_output and args.max_instances is None and not args.min_instances:
            return None  # --async-output alone: an async endpoint at a fixed size, as before
        if args.max_instances is not None or args.min_instances:
            raise InvalidRequest("--min-instances and --max-instances go with --async.")
        return None
    if not args.async_output:
        raise InvalidRequest("--async needs --s3-output s3://BUCKET/PREFIX for the results.")
    return AsyncScaling(min_instances=args.min_instances,
                        max_instances=args.max_instances or args.instance_count,
                        backlog_per_instance=args.backlog_target)


def run_status(args: argparse.Namespace) -> int:
    from backends.endpoint.deploy import endpoint_status

    client, session, region = _sagemaker_client(args)
    status = endpoint_status(client, args.name, region=region)
    hourly = _hourly(status.instance_type, status.instance_count, region)
    scaling, backlog = _async_state(session, status, region)
    if args.json:
        print(json.dumps({
            "name": status.name, "status": status.status, "region": region,
            "instance_type": status.instance_type, "instance_count": status.instance_count,
            "failure_reason": status.failure_reason or None,
            "created": status.created.isoformat() if status.created else None,
            "usd_per_hour": hourly, "async_output": status.async_output or None,
            "scaling": {"min": scaling[0], "max": scaling[1]} if scaling else None,
            "backlog": backlog,
        }))
        return 0
    created = f", created {status.created:%Y-%m-%d %H:%M}" if status.created else ""
    print(f"Endpoint {status.name}: {status.status} on {status.fleet} in {region}{created}.")
    if status.async_output:
        queued = ("no backlog reported in the last 10 minutes" if backlog is None
                  else f"backlog {backlog:g} request(s)")
        scales = (f"scales {scaling[0]}–{scaling[1]} instances on its backlog" if scaling
                  else "fixed size (no autoscaling registered)")
        print(f"  Asynchronous: results in {status.async_output}; {queued}; {scales}.")
    if status.failure_reason:
        print(f"  Failure: {status.failure_reason}")
    if status.status not in ("Failed", "Deleting"):
        print(f"  {_cost_line(status.instance_type, status.instance_count, region)} Delete it "
              f"with `studio endpoint delete {status.name}`.")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    from backends.endpoint.deploy import delete_endpoint, endpoint_status
    from backends.sagemaker.errors import EndpointNotFound

    client, session, region = _sagemaker_client(args)
    try:
        status = endpoint_status(client, args.name, region=region)
    except EndpointNotFound:
        status = None
    running = ""
    if status is not None:
        running = _cost_line(status.instance_type, status.instance_count, region)
        print(f"Endpoint {args.name} is {status.status} on {status.fleet}. {running}",
              file=sys.stderr)
    if not args.yes:
        if not sys.stdin.isatty():
            raise InvalidRequest(f"Nothing was deleted: add --yes to delete {args.name} without "
                                 "a prompt." + (f" It stays up meanwhile. {running}"
                                                if running else ""))
        answer = input(f"Delete endpoint {args.name} in {region}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print(f"Not deleted: endpoint {args.name} is left running. {running}".rstrip(),
                  file=sys.stderr)
            return 0
    deleted = delete_endpoint(client, args.name, region=region, keep_model=args.keep_model,
                              autoscaling=session.client("application-autoscaling",
                                                         region_name=region),
                              cloudwatch=session.client("cloudwatch", region_name=region))
    if not deleted:
        print(f"Nothing named {args.name} was found in {region}; nothing is billed for it.")
    else:
        print(f"Deleted the {', '.join(deleted)} {args.name} in {region}. Billing for the "
              "endpoint has stopped; model.tar.gz stays in S3.")
    return 0


def _async_state(session: Any, status: Any, region: str) -> tuple[Any, float | None]:
    """An async endpoint's registered scaling range and latest backlog ((None, None) else)."""
    if not status.async_output:
        return None, None
    from backends.endpoint.autoscaling import async_backlog, scaling_range
    from backends.sagemaker.errors import Target, map_error

    try:
        return (scaling_range(session.client("application-autoscaling", region_name=region),
                              status.name),
                async_backlog(session.client("cloudwatch", region_name=region), status.name))
    except Exception as exc:
        raise map_error(exc, Target(status.name, region), action="read the scaling of") from exc


def _sagemaker_client(args: argparse.Namespace) -> tuple[Any, Any, str]:
    from backends.sagemaker.errors import Target, map_error
    from backends.sagemaker.session import control_config, make_session, resolve_region
    from studio.settings.values import load_settings

    section = load_settings().sagemaker
    profile = args.profile if args.profile is not None else section.profile
    region = args.region if args.region is not None else section.region
    session = make_session(profile, region)
    region = resolve_region(session, region)
    try:
        return session.client("sagemaker", region_name=region, config=control_config()), \
            session, region
    except Exception as exc:
        raise map_error(exc, Target(getattr(args, "name", ""), region, profile)) from exc


def _hourly(instance_type: str, count: int, region: str) -> float | None:
    from studio.costs.pricing import sagemaker_price

    price = sagemaker_price(instance_type, region) if instance_type else None
    return round(price.value * count, 4) if price else None


def _cost_line(instance_type: str, count: int, region: str) -> str:
    hourly = _hourly(instance_type, count, region)
    if hourly is None:
        return (f"It is billed per instance-hour while up, busy or idle (no list price for "
                f"{instance_type or 'it'} in {region} in Studio's price book).")
    return (f"It costs about ${hourly:.2f}/h (${hourly * 24:.2f}/day) while up, busy or idle "
            "(list price).")


def _progress_printer() -> Any:
    last: dict[str, Any] = {"status": None, "printed": -60.0}

    def show(status: Any, elapsed: float) -> None:
        changed = status.status != last["status"]
        if changed or elapsed - last["printed"] >= 60:
            minutes, seconds = divmod(int(elapsed), 60)
            print(f"  [{minutes:2d}:{seconds:02d}] {status.status}", file=sys.stderr, flush=True)
            last.update(status=status.status, printed=elapsed)

    return show
