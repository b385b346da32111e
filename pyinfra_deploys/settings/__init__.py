"""The February settings: declared once, typed, validated before any connection."""

from pyinfra_deploys.settings.errors import SettingsError
from pyinfra_deploys.settings.load import load_settings
from pyinfra_deploys.settings.model import Settings

__all__ = ["Settings", "SettingsError", "load_settings"]
