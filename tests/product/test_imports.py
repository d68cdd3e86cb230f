"""Importing the product core loads neither torch nor OpenCV: they load where they run."""

from __future__ import annotations

import subprocess
import sys


def test_the_product_core_and_its_dialog_import_light() -> None:
    code = ("import sys, studio.product, studio.cli.product, studio.ui.product.dialog; "
            "heavy = {'torch', 'cv2', 'diffusers', 'boto3'} & set(sys.modules); "
            "sys.exit(f'imported {heavy}' if heavy else 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr + run.stdout
