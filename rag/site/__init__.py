"""The chat page's templates and static files, shipped inside the package (a wheel has them).

Only paths live here: ``rag.web`` serves the pages, ``rag.report`` renders the evaluation
report from the same template folder, without pulling in the web stack.
"""

from __future__ import annotations

from pathlib import Path

SITE = Path(__file__).resolve().parent
TEMPLATES = SITE / "templates"
STATIC = SITE / "static"
