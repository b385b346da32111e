"""Where the repository is, declared once.

The deploy (the converge stamp, the templates under ``files/``), the image
pipeline and the CLI all read this one name; it lives on the deploy side
because everything else may import the deploy, never the reverse.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
