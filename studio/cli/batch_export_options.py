"""`studio batch` options for what goes into each exported file: Content Credentials (C2PA),
the harmonising pass around product photos, and how scenes are enlarged for a preset.

Each is checked before the job is made, so a wrong key, strength or upscaler costs nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from typing import Any

from backends.errors import InvalidRequest
from studio.cli.options import path_arg


def add_export_options(batch: Any) -> None:
    batch.add_argument("--harmonise", type=float, metavar="STRENGTH",
                       help="product photos: a second, light image-to-image pass over each "
                            "scene (0.05-0.6, e.g. 0.3) so light and contact settle around the "
                            "product, whose pixels stay exact; it costs a second generation "
                            "per image (about STRENGTH of one)")
    batch.add_argument("--upscaler", default="auto", metavar="auto|lanczos|NAME",
                       help="how a scene smaller than the preset is enlarged: auto (default) "
                            "a fetched upscaler if there is one, else Lanczos; lanczos never "
                            "a model; NAME that fetched upscaler (studio product upscaler "
                            "list)")
    batch.add_argument("--c2pa-cert", type=path_arg, metavar="PEM",
                       help="sign every exported file with Content Credentials (C2PA): your "
                            "certificate chain, leaf first (with --c2pa-key). Default: the "
                            "certificate in Settings, if any")
    batch.add_argument("--c2pa-key", type=path_arg, metavar="PEM",
                       help="the private key of --c2pa-cert (unencrypted PEM; only its path "
                            "is kept with the job)")
    batch.add_argument("--no-c2pa", action="store_true",
                       help="do not sign, even if Settings has a certificate")


def with_c2pa_args(args: argparse.Namespace, settings: Any) -> Any:
    """`settings` with the Content Credentials the command line asks for: both files, none
    (--no-c2pa), or the settings' own."""
    from studio.settings.values import ContentCredentialsSettings

    cert, key = args.c2pa_cert, args.c2pa_key
    if args.no_c2pa and (cert or key):
        raise InvalidRequest("--no-c2pa and --c2pa-cert/--c2pa-key contradict each other.")
    if (cert is None) != (key is None):
        given, missing = ("--c2pa-cert", "--c2pa-key") if cert else ("--c2pa-key", "--c2pa-cert")
        raise InvalidRequest(f"{given} needs {missing} too: C2PA signs with a certificate and "
                             "its private key.")
    if args.no_c2pa:
        section = ContentCredentialsSettings()
    elif cert is not None and key is not None:
        section = ContentCredentialsSettings(str(cert.resolve()), str(key.resolve()))
    else:
        return settings
    return settings.replace(content_credentials=section)


def check_c2pa(settings: Any, *, say: bool = True) -> Any:
    """The credentials `settings` name, proved by a trial signature (exit 2 with the reason if
    they cannot sign), said on stderr with `say`; None when exports are not signed."""
    from studio.batch.signing import load_credentials

    credentials = load_credentials(settings.content_credentials)
    if credentials is not None and say:
        print(f"Content Credentials: every exported file is signed with "
              f"{settings.content_credentials.cert_path}", file=sys.stderr)
    return credentials


def check_export_choices(args: argparse.Namespace, image_column: str | None) -> tuple[float, str]:
    """The harmonising strength (0: off) and the upscaler choice, checked."""
    from studio.batch.upscale import check_upscaler_choice
    from studio.product.placement import Placement

    strength = args.harmonise or 0.0
    if args.harmonise is not None:
        if image_column is None:
            raise InvalidRequest("--harmonise settles scenes around product photos: this batch "
                                 "has none (name their column with --product-images COLUMN).")
        Placement(harmonise=strength)  # its range, said by Placement
        if strength:
            print(f"Harmonising at {strength:g}: each product image gets a second, light "
                  f"generation (about {strength:g} of one more in time and cost), not counted "
                  "in the estimate below.", file=sys.stderr)
    return strength, check_upscaler_choice(args.upscaler)


def check_harmonise_steps(strength: float, steps: int | None) -> None:
    """Refuse, before the first pass is paid for, a harmonising pass that would run no step."""
    if strength and steps is not None and steps * strength < 1:
        needed = math.ceil(1 / strength)
        raise InvalidRequest(f"With {steps} steps a harmonising pass at {strength:g} runs "
                             f"{steps * strength:g} of a step, so none: use --steps {needed} "
                             f"or more, or a higher --harmonise.")


def with_upscaler(preset: Any, choice: str) -> Any:
    """The job's preset, enlarging scenes the way the job chose."""
    return None if preset is None else dataclasses.replace(preset, upscaler=choice)


def refuse_on_resume(args: argparse.Namespace) -> None:
    """A resumed job keeps the choices it was made with; say so rather than ignore them."""
    flags = (("--c2pa-cert", args.c2pa_cert), ("--c2pa-key", args.c2pa_key),
             ("--no-c2pa", args.no_c2pa), ("--harmonise", args.harmonise is not None),
             ("--upscaler", args.upscaler != "auto"))
    given = [flag for flag, value in flags if value]
    if given:
        raise InvalidRequest(f"{', '.join(given)}: a resumed job keeps the signing, harmonising "
                             "and upscaler it was started with; start a new job to change them.")
