"""The batch dialog's engine choice on SageMaker: the real-time endpoint item by item, or the
asynchronous endpoint through S3 (its prefix and a per-item timeout). Batch Transform runs
from the command line only.

The shared setup (studio.batch.async_setup) and the S3 client word their refusals for the
command line; `in_window_words` names this dialog's fields instead of the flags."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QSpinBox, QWidget

from studio.batch.async_setup import SAGEMAKER_MAX_INVOCATION_S

REALTIME = "realtime"
ASYNC = "async"
TRANSFORM_TIP = ("Batch Transform (whole-catalog jobs on their own instances) runs from the "
                 "command line: studio batch CATALOG --backend sagemaker --mode transform "
                 "--s3-uri s3://BUCKET/PREFIX")

# The command line's words in messages from the shared setup, and this dialog's.
_FLAG_WORDS = (
    ("--s3-uri must be", "The S3 prefix must be"),
    ("fix --s3-uri", "fix the S3 prefix"),
    ("pass --region", "set its region in Settings → SageMaker"),
    ("use --mode realtime", "choose the Real-time endpoint"),
    ("pass --endpoint NAME (or set it in Settings → SageMaker)",
     "set it in Settings → SageMaker"),
)


def in_window_words(message: str) -> str:
    for flag, field in _FLAG_WORDS:
        message = message.replace(flag, field)
    return message


class EngineFields(QWidget):
    """Engine, and for the asynchronous one its S3 prefix and per-item timeout."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine_combo = QComboBox()
        self.engine_combo.addItem("Real-time endpoint", REALTIME)
        self.engine_combo.addItem("Asynchronous endpoint (S3)", ASYNC)
        self.engine_combo.setToolTip(
            "Real-time calls the endpoint image by image. Asynchronous puts each request in "
            "S3 and calls InvokeEndpointAsync: thousands in flight, billed by the instance-"
            f"hour while the batch has work.\n{TRANSFORM_TIP}")
        self.s3_edit = QLineEdit(placeholderText="s3://BUCKET/PREFIX")
        self.s3_edit.setToolTip("Where the requests go; the endpoint writes its outputs where "
                                "it was deployed to. The bucket must be in the endpoint's "
                                "region.")
        self.timeout_spin = QSpinBox(minimum=1, maximum=int(SAGEMAKER_MAX_INVOCATION_S),
                                     value=int(SAGEMAKER_MAX_INVOCATION_S), suffix=" s")
        self.timeout_spin.setToolTip("Give up on an item whose output has not appeared this "
                                     "long after submitting (3600 s is SageMaker's longest "
                                     "async invocation).")
        self._form = QFormLayout(self)
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.addRow(self.engine_combo)
        self._form.addRow("S3 prefix", self.s3_edit)
        self._form.addRow("Timeout per item", self.timeout_spin)
        self.engine_combo.currentIndexChanged.connect(self._show_fields)
        self._sagemaker = False
        self._show_fields()

    def set_backend(self, backend: str) -> None:
        """The engine is a choice on SageMaker only (the dialog hides the row elsewhere);
        on any other backend the batch runs item by item."""
        self._sagemaker = backend == "sagemaker"
        self._show_fields()

    def offered(self) -> bool:
        return self._sagemaker

    def is_async(self) -> bool:
        return self._sagemaker and self.engine_combo.currentData() == ASYNC

    def s3_uri(self) -> str:
        return self.s3_edit.text().strip()

    def timeout_s(self) -> float:
        return float(self.timeout_spin.value())

    def _show_fields(self) -> None:
        chosen = self.is_async()
        self._form.setRowVisible(self.s3_edit, chosen)
        self._form.setRowVisible(self.timeout_spin, chosen)
