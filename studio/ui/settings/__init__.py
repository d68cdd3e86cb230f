"""The pages and parts of the Settings dialog (studio.ui.settings_dialog assembles them)."""
