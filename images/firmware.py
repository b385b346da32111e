"""The UEFI firmware every February VM boots with (Debian/Ubuntu package ovmf)."""

from pathlib import Path

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
