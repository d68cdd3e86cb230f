"""The SageMaker and Amazon Bedrock pages: where to send requests and under which AWS profile.

Only a profile *name* is kept; boto3's own chain (profile, SSO, environment) supplies the
credentials, so no field here ever asks for a key.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from urllib.parse import urlparse

from PySide6.QtWidgets import QComboBox, QLineEdit, QSpinBox, QWidget

from studio.backend_kinds import DEFAULT_BEDROCK_MODEL
from studio.settings.aws_choices import aws_profiles, aws_regions, sagemaker_instance_types
from studio.settings.values import Settings
from studio.ui.settings.bedrock_model import BedrockModelField
from studio.ui.settings.connection import ConnectionTester, TestConnection
from studio.ui.settings.form import SettingsPage, editable_combo, set_combo_data

CREDENTIALS_HINT = ("Credentials come from your AWS profile, SSO or environment; Studio never "
                    "stores them. For an SSO profile, run `aws sso login --profile NAME` when "
                    "its session expires.")
ENDPOINT_URL_HINT = ("Optional: a VPC endpoint, a proxy, or `studio endpoint serve` "
                     "(for example http://127.0.0.1:8080).")
PAYLOAD_FORMATS = (("Studio handler (studio endpoint package)", "studio"),
                   ("JumpStart Stable Diffusion", "jumpstart"))
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
MAX_INSTANCES = 100


class AwsPage(SettingsPage):
    """Region, profile, endpoint URL and the connection test, below the page's own fields."""

    region_service = ""

    def __init__(self, test: TestConnection, base_settings: Callable[[], Settings],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base_settings = base_settings
        self._profiles = aws_profiles()
        self.region = editable_combo(aws_regions(self.region_service),
                                     placeholder="the profile's default region")
        self.profile = editable_combo(self._profiles or [],
                                      placeholder="the default credential chain")
        self.endpoint_url = QLineEdit()
        self.endpoint_url.setPlaceholderText("https://… (optional)")
        self.tester = ConnectionTester(test, self.settings_for_test)

    def _add_aws_fields(self, test_hint: str) -> None:
        self.form.add_field("Region", self.region,
                            hint="Blank uses the region of your profile or environment.")
        self.form.add_field("AWS profile", self.profile, hint=CREDENTIALS_HINT)
        self.form.add_field("Endpoint URL", self.endpoint_url, hint=ENDPOINT_URL_HINT)
        self.form.add_field("", self.tester, hint=test_hint)

    def _load_aws(self, region: str, profile: str, endpoint_url: str) -> None:
        fresh = aws_profiles()  # `aws configure sso` may have run since the dialog was built
        if fresh != self._profiles:
            self._profiles = fresh
            self.profile.clear()
            self.profile.addItems(fresh or [])
        self.region.setEditText(region)
        self.profile.setEditText(profile)
        self.endpoint_url.setText(endpoint_url)

    def _collect_aws(self) -> tuple[str, str, str]:
        region = self.region.currentText().strip()
        if region and not REGION.match(region):
            self.form.show_error(self.region, f"{region!r} is not a region name; regions look "
                                              "like us-east-1. Leave it blank for your "
                                              "profile's default.")
        profile = self.profile.currentText().strip()
        if profile and (any(c.isspace() for c in profile)
                        or (self._profiles is not None and profile not in self._profiles)):
            self.form.show_error(self.profile, f"No AWS profile named {profile!r} was found in "
                                               "your AWS config files. Create it with `aws "
                                               "configure` or `aws configure sso`, or leave it "
                                               "blank.")
        url = self.endpoint_url.text().strip()
        if url:
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                self.form.show_error(self.endpoint_url,
                                     "The endpoint URL must start with http:// or https:// and "
                                     "name a host, for example http://127.0.0.1:8080.")
        return region, profile, url

    def settings_for_test(self) -> Settings | None:
        """The saved settings with this page's current values, this backend selected."""
        settings = self.collect(self._base_settings().replace(backend=self.key))
        return None if self.has_errors else settings


class SageMakerPage(AwsPage):
    key = "sagemaker"
    title = "SageMaker"
    region_service = "sagemaker"

    def __init__(self, test: TestConnection, base_settings: Callable[[], Settings],
                 parent: QWidget | None = None) -> None:
        super().__init__(test, base_settings, parent)
        self.endpoint_name = QLineEdit()
        self.endpoint_name.setPlaceholderText("my-sdxl-endpoint")
        self.form.add_field("Endpoint name", self.endpoint_name,
                            hint="The SageMaker endpoint to invoke, for example the name given "
                                 "to `studio endpoint deploy --name`.")
        self.instance_type = editable_combo(sagemaker_instance_types())
        self.form.add_field("Instance type", self.instance_type,
                            hint="What the endpoint runs on; with the count it prices each "
                                 "image.")
        self.instance_count = QSpinBox()
        self.instance_count.setRange(1, MAX_INSTANCES)
        self.form.add_field("Instance count", self.instance_count, compact=True)
        self.payload_format = QComboBox()
        for label, value in PAYLOAD_FORMATS:
            self.payload_format.addItem(label, value)
        self.form.add_field("Payload format", self.payload_format,
                            hint="Studio's own handler, or a JumpStart Stable Diffusion model.")
        self._add_aws_fields("Checks the endpoint's status and instance, then makes a tiny "
                             "invocation.")

    def load(self, settings: Settings) -> None:
        sagemaker = settings.sagemaker
        self.endpoint_name.setText(sagemaker.endpoint_name)
        self.instance_type.setEditText(sagemaker.instance_type)
        self.instance_count.setValue(sagemaker.instance_count)
        set_combo_data(self.payload_format, sagemaker.payload_format)
        self._load_aws(sagemaker.region, sagemaker.profile, sagemaker.endpoint_url)

    def _collect(self, settings: Settings) -> Settings:
        name = self.endpoint_name.text().strip()
        if not name and settings.backend == self.key:
            self.form.show_error(self.endpoint_name, "Enter the endpoint name: SageMaker "
                                                     "routes every request by it.")
        elif name and not ENDPOINT_NAME.match(name):
            self.form.show_error(self.endpoint_name,
                                 "Endpoint names use letters, digits and hyphens (at most 63), "
                                 "and start and end with a letter or digit.")
        instance_type = self.instance_type.currentText().strip()
        if not INSTANCE_TYPE.match(instance_type):
            self.form.show_error(self.instance_type, "Instance types look like ml.g5.xlarge or "
                                                     "ml.inf2.xlarge.")
        count = self.instance_count.value()  # the spin box keeps it at 1 or more
        region, profile, url = self._collect_aws()
        sagemaker = dataclasses.replace(
            settings.sagemaker, endpoint_name=name, region=region, profile=profile,
            endpoint_url=url, instance_type=instance_type, instance_count=count,
            payload_format=self.payload_format.currentData())
        return settings.replace(sagemaker=sagemaker)


class BedrockPage(AwsPage):
    key = "bedrock"
    title = "Amazon Bedrock"
    region_service = "bedrock-runtime"

    def __init__(self, test: TestConnection, base_settings: Callable[[], Settings],
                 parent: QWidget | None = None) -> None:
        super().__init__(test, base_settings, parent)
        self.model_field = BedrockModelField()
        self.model = self.model_field.combo
        self.model_warning = self.model_field.warning
        self.form.add_field("Model", self.model_field, key=self.model,
                            hint="A Bedrock model id. Access to each model is granted per "
                                 "account and region in the Bedrock console. Editing, "
                                 "upscaling and background removal are tasks, chosen beside "
                                 "the prompt.")
        self._add_aws_fields("Makes a cheap call that proves access to the model.")

    def load(self, settings: Settings) -> None:
        bedrock = settings.bedrock
        self.model_field.set_model(bedrock.model)
        self._load_aws(bedrock.region, bedrock.profile, bedrock.endpoint_url)

    def _collect(self, settings: Settings) -> Settings:
        model = self.model_field.model()
        if not model or any(c.isspace() for c in model):
            self.form.show_error(self.model, "Choose a Bedrock model id, for example "
                                             f"{DEFAULT_BEDROCK_MODEL}.")
        region, profile, url = self._collect_aws()
        bedrock = dataclasses.replace(settings.bedrock, model=model, region=region,
                                      profile=profile, endpoint_url=url)
        return settings.replace(bedrock=bedrock)
