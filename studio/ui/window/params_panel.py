"""Generation parameters: backend, model (with its model card), seed (lock/shuffle), steps,
CFG, count, size, sampler, speed (exact, fast, fastest), LoRAs, and the optional init image
with its strength.

Steps and guidance can be left at "Model default" (None in the request): the backend then
uses the model family's own values, which the fields show once the family is known."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QPixmap, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backends.errors import InvalidRequest
from backends.families import FamilyProfile
from backends.types import (
    MAX_COUNT,
    MAX_SEED,
    MAX_SIDE,
    MAX_STEPS,
    MIN_SIDE,
    SCHEDULERS,
    SIDE_MULTIPLE,
    GenerationRequest,
    LoraRef,
    random_seed,
)
from studio.backend_kinds import DEFAULT_CAPABILITIES, KINDS, Capabilities, kind, model_profile
from studio.settings.values import Settings
from studio.size_presets import size_presets
from studio.ui.model_default import OptionalDoubleSpinBox, OptionalSpinBox
from studio.ui.qt_images import pil_to_qimage
from studio.ui.speed import SpeedCombo
from studio.ui.window.lora_list import LoraList
from studio.ui.window.model_card import ModelCard

CUSTOM_SIZE = "Custom"
FORM_ROW_SPACING = 4


class ParamsPanel(QWidget):
    changed = Signal()
    init_image_changed = Signal()
    backend_chosen = Signal(str)
    model_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.init_image: Image.Image | None = None
        # The chosen model's family profile (None: not a local model, or not known), read
        # when the backend or model changes, never on a repaint.
        self.profile: FamilyProfile | None = None
        self._profile_key: tuple[str, str] | None = None
        self._abilities: Capabilities = DEFAULT_CAPABILITIES
        self._ignored_tip = ""
        self._default_speed: str | None = None  # the last Settings.speed shown
        self.backend_combo = QComboBox()
        for name, row in KINDS.items():
            self.backend_combo.addItem(row.label, name)
        self.backend_combo.activated.connect(
            lambda: self.backend_chosen.emit(self.backend_combo.currentData()))
        self.model_combo = QComboBox(editable=True)
        self.model_combo.setToolTip("Hub id, diffusers folder or .safetensors file")
        self.model_combo.lineEdit().editingFinished.connect(
            lambda: self.model_chosen.emit(self.model_combo.currentText().strip()))
        self.model_combo.activated.connect(
            lambda: self.model_chosen.emit(self.model_combo.currentText().strip()))

        self.seed_edit = QLineEdit(placeholderText="random")
        self.seed_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,10}")))
        self.seed_lock = QCheckBox("Lock")
        self.seed_lock.setToolTip("Locked: every run uses this seed. Unlocked: a new seed each "
                                  "run (the one used is shown here).")
        self.shuffle_button = QToolButton(text="Shuffle")
        self.shuffle_button.setToolTip("Draw a new random seed")
        self.shuffle_button.clicked.connect(self.shuffle_seed)

        self.model_card = ModelCard()
        self.steps_spin = OptionalSpinBox(1, MAX_STEPS)
        self.guidance_spin = OptionalDoubleSpinBox(0.0, 30.0, 0.5)
        self.count_spin = QSpinBox(minimum=1, maximum=MAX_COUNT, value=1)
        self.sampler_combo = QComboBox()
        self._fill_samplers(tuple(SCHEDULERS))
        self.speed_combo = SpeedCombo()
        self.lora_list = LoraList()

        self.size_combo = QComboBox()
        for preset in size_presets():
            self.size_combo.addItem(preset.name, (preset.width, preset.height))
        self.size_combo.addItem(CUSTOM_SIZE, None)
        self.width_spin = QSpinBox(minimum=MIN_SIDE, maximum=MAX_SIDE, singleStep=SIDE_MULTIPLE,
                                   value=1024)
        self.height_spin = QSpinBox(minimum=MIN_SIDE, maximum=MAX_SIDE,
                                    singleStep=SIDE_MULTIPLE, value=1024)
        self.size_combo.currentIndexChanged.connect(self._apply_preset)
        self.width_spin.valueChanged.connect(self._sync_preset)
        self.height_spin.valueChanged.connect(self._sync_preset)

        self.init_thumb = QLabel()
        self.init_thumb.setFixedSize(64, 64)
        self.init_thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.strength_slider = QSlider(Qt.Orientation.Horizontal, minimum=1, maximum=100,
                                       value=60)
        self.strength_label = QLabel()
        self.strength_slider.valueChanged.connect(self._show_strength)
        self.clear_init_button = QToolButton(text="✕")
        self.clear_init_button.setToolTip("Stop using an init image")
        self.clear_init_button.clicked.connect(lambda: self.set_init_image(None))
        self.init_row = QWidget()
        init_layout = QHBoxLayout(self.init_row)
        init_layout.setContentsMargins(0, 0, 0, 0)
        init_layout.addWidget(self.init_thumb)
        strength_box = QVBoxLayout()
        strength_box.addWidget(self.strength_label)
        strength_box.addWidget(self.strength_slider)
        init_layout.addLayout(strength_box, 1)
        init_layout.addWidget(self.clear_init_button)

        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_edit, 1)
        seed_row.addWidget(self.seed_lock)
        seed_row.addWidget(self.shuffle_button)
        # The preset and the sides on one line: a short window keeps every field in view.
        size_row = QHBoxLayout()
        size_row.addWidget(self.size_combo, 1)
        size_row.addWidget(self.width_spin)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_spin)

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(FORM_ROW_SPACING)
        form.addRow("Backend", self.backend_combo)
        form.addRow("Model", self.model_combo)
        form.addRow("", self.model_card)
        form.addRow("Seed", seed_row)
        form.addRow("Steps", self.steps_spin)
        form.addRow("Guidance", self.guidance_spin)
        form.addRow("Images", self.count_spin)
        form.addRow("Size", size_row)
        form.addRow("Sampler", self.sampler_combo)
        form.addRow("Speed", self.speed_combo)
        form.addRow("LoRAs", self.lora_list)
        form.addRow("Init image", self.init_row)
        self._form = form
        self._init_label = form.labelForField(self.init_row)
        self.set_init_image(None)
        self._show_strength(self.strength_slider.value())
        self._sync_preset()
        for signal in (self.steps_spin.valueChanged, self.guidance_spin.valueChanged,
                       self.count_spin.valueChanged, self.width_spin.valueChanged,
                       self.height_spin.valueChanged, self.strength_slider.valueChanged,
                       self.seed_edit.textChanged, self.seed_lock.toggled,
                       self.sampler_combo.currentIndexChanged,
                       self.speed_combo.currentIndexChanged, self.lora_list.changed):
            signal.connect(self.changed)
        self._show_profile(None)
        form.setRowVisible(self.lora_list, False)

    # -- what the user sees as settings -------------------------------------------------

    def set_settings(self, settings: Settings) -> None:
        """Show the backend and its model from settings (called at start and on change)."""
        self.backend_combo.setCurrentIndex(self.backend_combo.findData(settings.backend))
        self.model_combo.clear()
        row = kind(settings.backend)
        if row.model_field is not None:
            self.model_combo.setEnabled(True)
            self.model_combo.setEditable(True)
            self.model_combo.setEditText(row.request_model(settings))
            self.model_combo.lineEdit().setPlaceholderText("choose a model in Settings…")
        else:  # an endpoint serves one model
            self.model_combo.setEditable(False)
            self.model_combo.addItem(f"endpoint: {row.target_text(settings)}")
            self.model_combo.setEnabled(False)
        abilities = self._abilities = row.capabilities
        self._ignored_tip = f"{row.label} does not use this setting."
        self.steps_spin.setEnabled(abilities.steps_apply)
        self.sampler_combo.setEnabled(abilities.sampler_applies)
        self.guidance_spin.setEnabled(abilities.guidance_applies)
        self._form.setRowVisible(self.lora_list, abilities.loras)
        # Where speed means nothing (Bedrock) the row goes; the choice stays for a switch back.
        self.speed_combo.setEnabled(abilities.speed_applies)
        self._form.setRowVisible(self.speed_combo, abilities.speed_applies)
        if settings.speed != self._default_speed:  # a new default from Settings
            self._show_default_speed(settings.speed)
        key = (settings.backend, settings.local.model)
        if key != self._profile_key:
            self._profile_key = key
            self._show_profile(model_profile(settings))
        else:
            self._show_tooltips()
        self.changed.emit()

    def forget_profile(self) -> None:
        """Read the model's family again at the next `set_settings` (a hub model whose
        config files have just been downloaded by its first run)."""
        self._profile_key = None

    def set_defaults(self, settings: Settings) -> None:
        self.steps_spin.set_optional_value(settings.default_steps)
        self.guidance_spin.set_optional_value(settings.default_guidance)
        self.width_spin.setValue(settings.default_width)
        self.height_spin.setValue(settings.default_height)
        self._show_default_speed(settings.speed)

    def _show_default_speed(self, speed: str) -> None:
        self._default_speed = speed
        self.speed_combo.set_speed(speed)

    def speed(self) -> str:
        """The speed a request gets: the chosen one where the backend applies it, else exact
        (nothing is accelerated there, and the image's record says so)."""
        return self.speed_combo.speed() if self._abilities.speed_applies else "exact"

    # -- requests -----------------------------------------------------------------------

    def build_request(self, prompt: str, negative: str, *,
                      size: tuple[int, int] | None = None) -> GenerationRequest:
        """A validated request from the fields; raises InvalidRequest with what to fix.

        `size` replaces the size fields (a task whose output follows its input image)."""
        width, height = size or (self.width_spin.value(), self.height_spin.value())
        seed_text = self.seed_edit.text().strip()
        seed = int(seed_text) if seed_text and self.seed_lock.isChecked() else None
        if seed is not None and seed > MAX_SEED:
            seed = MAX_SEED + 1  # let the request's own validation explain the range
        return GenerationRequest(
            prompt=prompt, negative_prompt=negative, seed=seed,
            steps=self.steps_spin.optional_value(), guidance=self.guidance_spin.optional_value(),
            width=width, height=height, count=self.count_spin.value(),
            scheduler=self.sampler_combo.currentData(), init_image=self.init_image,
            strength=self.strength_slider.value() / 100,
            # LoRAs only where the backend applies them; the list keeps them for a switch back.
            loras=self.lora_list.loras() if self._abilities.loras else (),
            speed=self.speed(),
        )

    def apply_request(self, data: dict) -> None:
        """Fill the fields from a stored request (history, a dropped PNG)."""
        if data.get("seed") is not None:
            self.seed_edit.setText(str(data["seed"]))
            self.seed_lock.setChecked(True)
        # None (or an A1111 text without the value) is "Model default".
        if "steps" in data:
            self.steps_spin.set_optional_value(data["steps"])
        if "guidance" in data:
            self.guidance_spin.set_optional_value(data["guidance"])
        self.count_spin.setValue(int(data.get("count", 1)))
        self.width_spin.setValue(int(data.get("width", self.width_spin.value())))
        self.height_spin.setValue(int(data.get("height", self.height_spin.value())))
        index = self.sampler_combo.findData(data.get("scheduler"))
        self.sampler_combo.setCurrentIndex(max(0, index))
        if data.get("strength") is not None:
            self.strength_slider.setValue(round(float(data["strength"]) * 100))
        try:
            loras = LoraRef.many_from_data(data.get("loras") or [])
        except InvalidRequest:
            loras = ()
        self.lora_list.set_loras(loras)
        # Images made before speed profiles existed ran with today's exact numerics.
        self.speed_combo.set_speed(data.get("speed") or "exact")

    def show_used_seed(self, seed: int) -> None:
        """After a run with an unlocked seed, show which seed it drew."""
        if not self.seed_lock.isChecked():
            self.seed_edit.setText(str(seed))

    def keep_seed(self, seed: int) -> None:
        self.seed_edit.setText(str(seed))
        self.seed_lock.setChecked(True)

    def shuffle_seed(self) -> None:
        self.seed_edit.setText(str(random_seed()))

    def set_init_image(self, image: Image.Image | None) -> None:
        self.init_image = image
        shown = image is not None
        self.init_row.setVisible(shown)
        if self._init_label is not None:
            self._init_label.setVisible(shown)
        if image is not None:
            thumb = image.copy()
            thumb.thumbnail((64, 64))
            self.init_thumb.setPixmap(QPixmap.fromImage(pil_to_qimage(thumb)))
        self.init_image_changed.emit()
        self.changed.emit()

    def set_task_inputs(self, *, sized: bool, seeded: bool, strength: bool) -> None:
        """Enable only the fields the chosen task uses: an edit's size follows its input
        image, an unseeded one makes a single image, and only image to image has a
        strength."""
        for widget, used in ((self.size_combo, sized), (self.width_spin, sized),
                             (self.height_spin, sized), (self.seed_edit, seeded),
                             (self.seed_lock, seeded), (self.shuffle_button, seeded),
                             (self.count_spin, seeded), (self.strength_slider, strength)):
            widget.setEnabled(used)

    # -- the model's family ---------------------------------------------------------------

    def _show_profile(self, profile: FamilyProfile | None) -> None:
        """The model card, the defaults behind "Model default" and the samplers it runs."""
        self.profile = profile
        self.model_card.set_profile(profile)
        self._form.setRowVisible(self.model_card, profile is not None)
        self.steps_spin.set_model_value(profile.steps if profile else None)
        self.guidance_spin.set_model_value(profile.guidance if profile else None)
        self._fill_samplers(profile.samplers if profile else tuple(SCHEDULERS))
        self._show_tooltips()

    def _show_tooltips(self) -> None:
        abilities, profile = self._abilities, self.profile
        if profile is not None:
            steps = f"Model default: {profile.label} takes {profile.steps} steps."
            guidance = f"Model default: {profile.label} uses {profile.guidance:g}."
            samplers = f"{profile.label} runs with: " + ", ".join(
                SCHEDULERS[name] for name in profile.samplers)
        else:
            steps = "Model default: the model's own number of steps."
            guidance = "Model default: the model's own guidance."
            samplers = ""
        guidance = f"How closely images follow the prompt (CFG scale). {guidance}"
        self.steps_spin.setToolTip(steps if abilities.steps_apply else self._ignored_tip)
        self.guidance_spin.setToolTip(guidance if abilities.guidance_applies
                                      else self._ignored_tip)
        # A model distilled to run without guidance ignores the value: say so, greyed out.
        if abilities.guidance_applies and profile is not None and profile.guidance_kind == "none":
            self.guidance_spin.setEnabled(False)
            self.guidance_spin.setToolTip(f"{profile.label} does not use guidance: it was "
                                          "distilled to run without it.")
        else:
            self.guidance_spin.setEnabled(abilities.guidance_applies)
        self.sampler_combo.setToolTip(samplers if abilities.sampler_applies
                                      else self._ignored_tip)

    def _fill_samplers(self, names: tuple[str, ...]) -> None:
        current = self.sampler_combo.currentData()
        self.sampler_combo.blockSignals(True)
        self.sampler_combo.clear()
        self.sampler_combo.addItem("Model default", None)
        for name in names:
            self.sampler_combo.addItem(SCHEDULERS[name], name)
        self.sampler_combo.setCurrentIndex(max(0, self.sampler_combo.findData(current)))
        self.sampler_combo.blockSignals(False)

    # -- helpers --------------------------------------------------------------------------

    def _apply_preset(self) -> None:
        size = self.size_combo.currentData()
        if size is not None:
            self.width_spin.setValue(size[0])
            self.height_spin.setValue(size[1])

    def _sync_preset(self) -> None:
        size = (self.width_spin.value(), self.height_spin.value())
        # findData cannot match a tuple (Qt compares its own copy of it): look item by item.
        index = next((i for i in range(self.size_combo.count())
                      if self.size_combo.itemData(i) == size), -1)
        self.size_combo.blockSignals(True)
        self.size_combo.setCurrentIndex(index if index >= 0 else
                                        self.size_combo.findText(CUSTOM_SIZE))
        self.size_combo.blockSignals(False)

    def _show_strength(self, value: int) -> None:
        self.strength_label.setText(f"Strength {value / 100:.2f} — how far to move from it")
