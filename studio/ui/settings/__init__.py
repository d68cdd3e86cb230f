"""The pages and parts of the Settings dialog (studio.ui.settings.dialog assembles them)."""
