"""The Costs page: the daily budget cap and your own prices over the price book's."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QLineEdit, QWidget

from studio.costs.pricing import overrides_dir, price_file, sagemaker_price
from studio.settings.values import Settings
from studio.ui.settings.form import SettingsPage, hint_label, parse_number

MAX_BUDGET = 1_000_000.0


def _money_field(placeholder: str) -> QLineEdit:
    field = QLineEdit()
    field.setPlaceholderText(placeholder)
    return field


class CostsPage(SettingsPage):
    key = "costs"
    title = "Costs & budget"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.budget = _money_field("no cap")
        self.form.add_field("Daily budget", self.budget, compact=True,
                            hint="Dollars per day (local time). New work whose estimate would "
                                 "take today's spending past it is refused before it starts; "
                                 "blank means no cap.")
        self.sagemaker = _money_field("price book")
        self.sagemaker_hint = self.form.add_field(
            "SageMaker $/instance-hour", self.sagemaker, compact=True,
            hint="Your price for one instance-hour of the endpoint in Settings → SageMaker "
                 "(a discount, a savings plan); blank uses the price book.")
        self.bedrock = _money_field("price book")
        self.bedrock_hint = self.form.add_field(
            "Bedrock $/image", self.bedrock, compact=True,
            hint="Your price per image for the model in Settings → Bedrock; blank uses the "
                 "price book.")
        self.add_below(hint_label(
            "Every other price can be overridden in "
            f"{overrides_dir()}/<electricity|sagemaker|bedrock>.json, in the shape of "
            "resources/prices; `studio pricing refresh` writes SageMaker prices there."))

    def load(self, settings: Settings) -> None:
        costs = settings.costs
        for field, value in ((self.budget, costs.budget_usd_per_day),
                             (self.sagemaker, costs.sagemaker_usd_per_hour),
                             (self.bedrock, costs.bedrock_usd_per_image)):
            field.setText("" if value is None else f"{value:g}")
        self._show_book_prices(settings)

    def _show_book_prices(self, settings: Settings) -> None:
        section = settings.sagemaker
        try:
            price = sagemaker_price(section.instance_type, section.region or "us-east-1")
            entry = price_file("bedrock").get("bedrock", {}).get(settings.bedrock.model)
        except (OSError, ValueError, KeyError):
            return
        if price is not None:
            self.sagemaker.setPlaceholderText(f"{price.value:g} (price book)")
            self.sagemaker.setToolTip(f"{section.instance_type} in {section.region or 'us-east-1'}"
                                      f": {price.source}, as of {price.as_of}")
        if entry:
            first = entry["per_image"][0]["usd_per_image"]
            self.bedrock.setPlaceholderText(f"{first:g}+ (price book)")
            self.bedrock.setToolTip(f"{entry['label']}: {entry['source']}, as of "
                                    f"{entry['as_of']}")

    def _read(self, field: QLineEdit, what: str, limit: float) -> float | None:
        try:
            value = parse_number(field.text())
        except ValueError:
            self.form.show_error(field, f"{what} must be a number of dollars, or blank.")
            return None
        if value is not None and not 0 <= value <= limit:
            self.form.show_error(field, f"{what} must be from 0 to {limit:g} dollars.")
        return value

    def _collect(self, settings: Settings) -> Settings:
        costs = dataclasses.replace(
            settings.costs,
            budget_usd_per_day=self._read(self.budget, "The daily budget", MAX_BUDGET),
            sagemaker_usd_per_hour=self._read(self.sagemaker, "The hourly price", 1000.0),
            bedrock_usd_per_image=self._read(self.bedrock, "The price per image", 100.0))
        return settings.replace(costs=costs)
