"""The batch dialog's engine fields: asynchronous only on SageMaker, and the shared setup's
command-line words turned into the dialog's."""

from __future__ import annotations

from studio.ui.batch.engine_fields import EngineFields, in_window_words


def test_async_is_chosen_only_on_sagemaker(qtbot) -> None:
    fields = EngineFields()
    qtbot.addWidget(fields)
    fields.engine_combo.setCurrentIndex(fields.engine_combo.findData("async"))
    fields.set_backend("local")
    assert not fields.offered() and not fields.is_async()  # local runs item by item
    fields.set_backend("sagemaker")
    assert fields.offered() and fields.is_async()
    fields.s3_edit.setText("  s3://bucket/run ")
    fields.timeout_spin.setValue(90)
    assert (fields.s3_uri(), fields.timeout_s()) == ("s3://bucket/run", 90.0)
    assert fields.engine_combo.findData("transform") == -1  # the command line's only


def test_flags_become_the_dialogs_fields() -> None:
    assert in_window_words("--s3-uri must be s3://BUCKET[/PREFIX] (got 'x').") == \
        "The S3 prefix must be s3://BUCKET[/PREFIX] (got 'x')."
    assert in_window_words("The S3 bucket b does not exist (or is in another account): "
                           "create it or fix --s3-uri.").endswith("fix the S3 prefix.")
    assert "--" not in in_window_words(
        "An async batch needs the endpoint's name: pass --endpoint NAME (or set it in "
        "Settings → SageMaker).")
