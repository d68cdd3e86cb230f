"""The Generation, Local GPU and Library & costs pages of the Settings dialog."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from backends.errors import BackendError
from backends.types import MAX_SIDE, MAX_STEPS, MIN_SIDE, SIDE_MULTIPLE
from studio.backend_kinds import (
    KINDS,
    check_local_model,
    local_dependencies_missing,
    model_profile,
)
from studio.costs.pricing import electricity_price, price_file
from studio.paths import studio_home
from studio.settings.values import Settings
from studio.ui.model_default import OptionalDoubleSpinBox, OptionalSpinBox
from studio.ui.settings.content_credentials import ContentCredentialsGroup
from studio.ui.settings.form import (
    SettingsPage,
    hint_label,
    notice_label,
    parse_number,
    set_combo_data,
)
from studio.ui.speed import SpeedCombo

DEVICES: tuple[tuple[str, str | None], ...] = (
    ("Auto (CUDA, then MPS, then CPU)", None),
    ("CUDA (NVIDIA GPU)", "cuda"),
    ("MPS (Apple GPU)", "mps"),
    ("CPU", "cpu"),
)
MODEL_HINT = ("A Hugging Face hub id such as stabilityai/sdxl-turbo (downloaded once, with "
              "progress), a diffusers folder, or a .safetensors file.")
LOCAL_EXTRA_NOTICE = "Local generation needs the 'local' extra: pip install 'studio[local]'"
MAX_WATTS = 5000.0
MAX_USD_PER_KWH = 5.0


def _side_spin() -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(MIN_SIDE, MAX_SIDE)
    spin.setSingleStep(SIDE_MULTIPLE)
    spin.setSuffix(" px")
    return spin


class GenerationPage(SettingsPage):
    key = "generation"
    title = "Generation"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend_group = QButtonGroup(self)
        self.backend_buttons: dict[str, QRadioButton] = {}
        choices = QWidget()
        column = QVBoxLayout(choices)
        column.setContentsMargins(0, 0, 0, 0)
        for name, row in KINDS.items():
            button = QRadioButton(row.label)
            self.backend_group.addButton(button)
            self.backend_buttons[name] = button
            column.addWidget(button)
            column.addWidget(hint_label(row.description))
        self.local_missing_hint = hint_label("")
        column.insertWidget(2, self.local_missing_hint)
        self.form.add_field("Backend", choices,
                            hint="Set each one up on its own page in this dialog.")

        self.steps = OptionalSpinBox(1, MAX_STEPS)
        self.form.add_field("Steps", self.steps, compact=True,
                            hint="“Model default” uses each model's own: FLUX.1 schnell 4, "
                                 "SDXL 30, Qwen-Image 50. Turbo and LCM models need only 1–8.")
        self.guidance = OptionalDoubleSpinBox(0.0, 30.0, 0.5)
        self.form.add_field("Guidance", self.guidance, compact=True,
                            hint="How closely images follow the prompt (CFG scale); "
                                 "“Model default” uses each model's own.")
        self.width = _side_spin()
        self.form.add_field("Width", self.width, compact=True)
        self.height = _side_spin()
        self.form.add_field("Height", self.height, compact=True,
                            hint=f"Multiples of {SIDE_MULTIPLE} pixels, "
                                 f"{MIN_SIDE} to {MAX_SIDE}.")
        self.speed = SpeedCombo()
        self.form.add_field("Speed", self.speed, compact=True,
                            hint="Exact keeps the same pixels for the same seed; Fast changes "
                                 "them negligibly (the first run at a new size compiles "
                                 "once); Fastest trades small, visible-up-close changes for "
                                 "more speed. Local GPU and SageMaker only; the window can "
                                 "change it per run.")

    def load(self, settings: Settings) -> None:
        button = self.backend_buttons.get(settings.backend, self.backend_buttons["local"])
        button.setChecked(True)
        missing = local_dependencies_missing()
        self.local_missing_hint.setText(f"Needs the 'local' extra (missing: {', '.join(missing)})."
                                        if missing else "")
        self.local_missing_hint.setVisible(bool(missing))
        # What "Model default" means for the model chosen now (files and cache only).
        profile = model_profile(settings)
        self.steps.set_model_value(profile.steps if profile else None)
        self.guidance.set_model_value(profile.guidance if profile else None)
        self.steps.set_optional_value(settings.default_steps)
        self.guidance.set_optional_value(settings.default_guidance)
        self.width.setValue(settings.default_width)
        self.height.setValue(settings.default_height)
        self.speed.set_speed(settings.speed)

    def selected_backend(self) -> str:
        return next((name for name, button in self.backend_buttons.items()
                     if button.isChecked()), "local")

    def _collect(self, settings: Settings) -> Settings:
        for spin, name in ((self.width, "width"), (self.height, "height")):
            side = spin.value()
            if side % SIDE_MULTIPLE:
                lower = side - side % SIDE_MULTIPLE
                self.form.show_error(spin, f"The {name} must be a multiple of {SIDE_MULTIPLE} "
                                           f"pixels: {side} is not; try {lower} or "
                                           f"{lower + SIDE_MULTIPLE}.")
        return settings.replace(backend=self.selected_backend(),
                                default_steps=self.steps.optional_value(),
                                default_guidance=self.guidance.optional_value(),
                                default_width=self.width.value(),
                                default_height=self.height.value(),
                                speed=self.speed.speed())


def _typical_watts() -> dict[str, float]:
    try:
        entry = price_file("electricity")["local_device_watts"]
        return {device: float(entry[device]) for device in ("cuda", "mps", "cpu")
                if device in entry}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


class LocalPage(SettingsPage):
    key = "local"
    title = "Local GPU"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.notice = notice_label("")
        self.notice.hide()
        self.add_notice(self.notice)

        self.model = QLineEdit()
        self.model.setPlaceholderText("stabilityai/sdxl-turbo")
        self.browse_folder = QPushButton("Browse folder…")
        self.browse_file = QPushButton("Browse .safetensors…")
        for button in (self.browse_folder, self.browse_file):
            button.setAutoDefault(False)
        model_row = QWidget()
        row = QHBoxLayout(model_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.model, 1)
        row.addWidget(self.browse_folder)
        row.addWidget(self.browse_file)
        self.form.add_field("Model", model_row, hint=MODEL_HINT, key=self.model)

        self.device = QComboBox()
        for label, value in DEVICES:
            self.device.addItem(label, value)
        self.form.add_field("Device", self.device)
        self.watts = QLineEdit()
        self.form.add_field("Device watts", self.watts, compact=True,
                            hint="What the device draws while generating; blank uses the "
                                 "typical figure from the price book.")
        self.hardware = QDoubleSpinBox()
        self.hardware.setRange(0.0, 1000.0)
        self.hardware.setDecimals(3)
        self.hardware.setSingleStep(0.05)
        self.hardware.setPrefix("$ ")
        self.hardware.setSuffix(" / hour")
        self.form.add_field("Hardware cost", self.hardware, compact=True,
                            hint="What the machine costs per hour of generation (rental or "
                                 "amortised purchase); 0 counts electricity only.")

        self._typical = _typical_watts()
        self.device.currentIndexChanged.connect(self._show_typical_watts)
        self.browse_folder.clicked.connect(self._browse_folder)
        self.browse_file.clicked.connect(self._browse_file)

    def load(self, settings: Settings) -> None:
        missing = local_dependencies_missing()
        self.notice.setText(f"{LOCAL_EXTRA_NOTICE}\nMissing: {', '.join(missing)}. "
                            "Cloud backends work without it." if missing else "")
        self.notice.setVisible(bool(missing))
        local = settings.local
        self.model.setText(local.model)
        set_combo_data(self.device, local.device)
        self.watts.setText("" if local.device_watts is None else f"{local.device_watts:g}")
        self.hardware.setValue(local.hardware_usd_per_hour)
        self._show_typical_watts()

    def _show_typical_watts(self) -> None:
        device = self.device.currentData()
        if device in self._typical:
            text = f"typical: {self._typical[device]:g} W"
        elif self._typical:
            text = "typical: " + ", ".join(f"{d.upper()} {w:g} W" for d, w in self._typical.items())
        else:
            text = "typical for the device"
        self.watts.setPlaceholderText(text)

    def _start_folder(self) -> str:
        current = Path(self.model.text().strip()).expanduser()
        for candidate in (current, current.parent):
            if str(candidate) not in ("", ".") and candidate.is_dir():
                return str(candidate)
        return str(Path.home())

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a diffusers model folder",
                                                  self._start_folder())
        if folder:
            self.model.setText(folder)

    def _browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a .safetensors checkpoint",
                                              self._start_folder(),
                                              "Safetensors checkpoints (*.safetensors)")
        if path:
            self.model.setText(path)

    def _collect(self, settings: Settings) -> Settings:
        model = self.model.text().strip()
        if model:
            try:
                check_local_model(model)  # a typo shows here, not mid-run
            except BackendError as exc:
                self.form.show_error(self.model, str(exc))
        watts = settings.local.device_watts
        try:
            watts = parse_number(self.watts.text())
            if watts is not None and not 0 < watts <= MAX_WATTS:
                self.form.show_error(self.watts, f"Device watts must be above 0 and at most "
                                                 f"{MAX_WATTS:g}; enter the draw in watts.")
        except ValueError:
            self.form.show_error(self.watts, "Device watts must be a number, or blank for the "
                                             "typical draw.")
        local = dataclasses.replace(settings.local, model=model,
                                    device=self.device.currentData(), device_watts=watts,
                                    hardware_usd_per_hour=self.hardware.value())
        return settings.replace(local=local)


class LibraryPage(SettingsPage):
    key = "library"
    title = "Library & costs"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText(str(studio_home() / "library"))
        self.browse = QPushButton("Browse…")
        self.browse.setAutoDefault(False)
        folder_row = QWidget()
        row = QHBoxLayout(folder_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.folder, 1)
        row.addWidget(self.browse)
        self.form.add_field("Library folder", folder_row, key=self.folder,
                            hint="Where images and their history are kept; blank uses the "
                                 "default shown. Images made before a change stay in the "
                                 "old folder.")

        self.electricity = QLineEdit()
        try:
            price = electricity_price()
            self.electricity.setPlaceholderText(f"{price.value:g} (price book)")
            hint = (f"Dollars per kWh; blank uses the price book's ${price.value:g}/kWh: "
                    f"{price.source}, as of {price.as_of}.")
        except (OSError, ValueError, KeyError) as exc:
            hint = f"Dollars per kWh. The price book could not be read ({exc})."
        self.form.add_field("Electricity price", self.electricity, hint=hint, compact=True)
        self.browse.clicked.connect(self._browse)
        self.credentials = ContentCredentialsGroup()  # signing batch exports (C2PA)
        self.add_below(self.credentials)

    @property
    def has_errors(self) -> bool:
        return super().has_errors or self.credentials.has_errors

    def focus_first_error(self) -> None:
        if super().has_errors:
            super().focus_first_error()
        else:
            self.credentials.focus_first_error()

    def load(self, settings: Settings) -> None:
        self.credentials.load(settings)
        self.folder.setText(settings.library_folder)
        price = settings.electricity_usd_per_kwh
        self.electricity.setText("" if price is None else f"{price:g}")

    def _browse(self) -> None:
        start = self.folder.text().strip() or self.folder.placeholderText()
        folder = QFileDialog.getExistingDirectory(self, "Choose the library folder", start)
        if folder:
            self.folder.setText(folder)

    def _collect(self, settings: Settings) -> Settings:
        folder = self.folder.text().strip()
        if folder:
            problem = library_folder_problem(Path(folder).expanduser())
            if problem:
                self.form.show_error(self.folder, problem)
        price = settings.electricity_usd_per_kwh
        try:
            price = parse_number(self.electricity.text())
            if price is not None and price < 0:
                raise ValueError(price)
            if price is not None and price > MAX_USD_PER_KWH:
                self.form.show_error(self.electricity,
                                     f"That is more than ${MAX_USD_PER_KWH:g} per kWh; enter "
                                     "dollars, not cents (0.17 rather than 17).")
        except ValueError:
            self.form.show_error(self.electricity,
                                 "The electricity price must be a number of dollars per kWh "
                                 "(for example 0.17), or blank for the price book's.")
        settings = self.credentials.collect(settings)
        return settings.replace(library_folder=folder, electricity_usd_per_kwh=price)


def library_folder_problem(path: Path) -> str:
    """Why `path` cannot hold the library ('' when it can); creates it if missing."""
    if not path.is_absolute():
        return "Enter a full folder path, or leave it blank for the default."
    if path.exists() and not path.is_dir():
        return f"The library folder cannot be created: {path} is a file."
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"The library folder cannot be created: {exc.strerror or exc} ({path})."
    if not os.access(path, os.W_OK | os.X_OK):
        return f"The library folder is not writable: {path}."
    return ""
