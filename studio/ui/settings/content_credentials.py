"""Settings → Library & costs → Content Credentials: the user's C2PA certificate and key.

Two path pickers and a Test button that proves the pair can sign (a trial signature, on this
machine, nothing sent). Batch exports are signed when both are set. Studio never makes or
ships a key: the group only points at the user's own files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from backends.errors import BackendError
from studio.settings.values import ContentCredentialsSettings, Settings
from studio.ui.settings.connection import OK_COLOR
from studio.ui.settings.form import ERROR_COLOR, Form, hint_label

INTRO = ("Sign every batch export with Content Credentials (C2PA) using your own certificate "
         "chain (leaf first) and its private key, both PEM files. Only the paths are kept; "
         "leave both blank to export unsigned.")


class ContentCredentialsGroup(QGroupBox):
    """The certificate and key rows, the Test button and its answer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Content Credentials", parent)
        self.form = Form()
        self.cert = QLineEdit()
        self.cert.setPlaceholderText("none: exports are not signed")
        self.key = QLineEdit()
        self.key.setPlaceholderText("none")
        self.browse_cert = QPushButton("Browse…")
        self.browse_key = QPushButton("Browse…")
        for edit, button, label, hint in (
                (self.cert, self.browse_cert, "Certificate",
                 "The certificate chain: your signing certificate first, then its issuers."),
                (self.key, self.browse_key, "Private key",
                 "Its unencrypted private key (EC, Ed25519 or RSA). Keep it private.")):
            button.setAutoDefault(False)
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            line.addWidget(edit, 1)
            line.addWidget(button)
            self.form.add_field(label, row, key=edit, hint=hint)
        self.browse_cert.clicked.connect(lambda: self._browse(self.cert, "certificate chain"))
        self.browse_key.clicked.connect(lambda: self._browse(self.key, "private key"))
        self.test_button = QPushButton("Test")
        self.test_button.setAutoDefault(False)
        self.test_button.setToolTip("Sign a small test image with these files, on this machine")
        self.test_button.clicked.connect(self.test)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.hide()
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.result, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(hint_label(INTRO))
        layout.addLayout(self.form)
        layout.addLayout(test_row)

    def load(self, settings: Settings) -> None:
        section = settings.content_credentials
        self.cert.setText(section.cert_path)
        self.key.setText(section.key_path)
        self.form.clear_errors()
        self.result.hide()

    def section(self) -> ContentCredentialsSettings:
        return ContentCredentialsSettings(self.cert.text().strip(), self.key.text().strip())

    def collect(self, settings: Settings) -> Settings:
        """`settings` with these paths; a half-filled pair or a missing file is marked."""
        self.form.clear_errors()
        section = self.section()
        for edit, path, other in ((self.cert, section.cert_path, section.key_path),
                                  (self.key, section.key_path, section.cert_path)):
            if not path and other:
                self.form.show_error(edit, "Give both files, or leave both blank.")
            elif path and not Path(path).expanduser().is_file():
                self.form.show_error(edit, f"No such file: {path}")
        return dataclasses.replace(settings, content_credentials=section)

    @property
    def has_errors(self) -> bool:
        return self.form.first_error_field() is not None

    def focus_first_error(self) -> None:
        self.form.focus_first_error()

    def test(self) -> bool:
        """Sign a test image with the files as they are now; show who signs, or why not."""
        from studio.batch.signing import load_credentials

        section = self.section()
        if not section.cert_path and not section.key_path:
            return self._show("Choose a certificate and a private key first.", ok=False)
        try:
            credentials = load_credentials(section)
        except BackendError as exc:
            return self._show(str(exc), ok=False)
        assert credentials is not None
        return self._show(f"These files sign. {describe_signer(credentials.cert_chain)}", ok=True)

    def _show(self, message: str, *, ok: bool) -> bool:
        self.result.setStyleSheet(f"color: {OK_COLOR if ok else ERROR_COLOR};")
        self.result.setText(message)
        self.result.show()
        return ok

    def _browse(self, edit: QLineEdit, what: str) -> None:
        start = str(Path(edit.text().strip()).expanduser().parent) if edit.text().strip() \
            else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, f"Choose your {what} (PEM)", start,
                                              "PEM files (*.pem *.crt *.cer *.key);;All files (*)")
        if path:
            edit.setText(path)


def describe_signer(cert_chain: bytes) -> str:
    """Who the leaf certificate names and until when it is valid, in a sentence."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        leaf = x509.load_pem_x509_certificates(cert_chain)[0]
    except (ValueError, IndexError):
        return ""
    names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    who = str(names[0].value) if names else leaf.subject.rfc4514_string()
    return (f"Exports will be signed as “{who}”, valid until "
            f"{leaf.not_valid_after_utc:%Y-%m-%d}.")
