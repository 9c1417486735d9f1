"""Reading printed documents back: a PDF's pages, its text and the size each piece prints at,
and an XLSX printed to PDF by LibreOffice, as a reader would print it."""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader


@dataclass(frozen=True)
class PrintedPdf:
    pages: int
    text: str  # every page's text, in order
    sizes: list[tuple[float, str]]  # (printed size in points, the text shown at it)

    @property
    def smallest(self) -> float:
        return min(size for size, _ in self.sizes)


def read_pdf(content: bytes) -> PrintedPdf:
    reader = PdfReader(io.BytesIO(content))
    texts: list[str] = []
    sizes: list[tuple[float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if not text.strip():
            return
        # the size on paper: the font size scaled by the text and the current matrices
        a, b, c, d = (
            tm[0] * cm[0] + tm[1] * cm[2],
            tm[0] * cm[1] + tm[1] * cm[3],
            tm[2] * cm[0] + tm[3] * cm[2],
            tm[2] * cm[1] + tm[3] * cm[3],
        )
        sizes.append((size * math.sqrt(abs(a * d - b * c)), text))

    for page in reader.pages:
        texts.append(page.extract_text(visitor_text=visit))
    return PrintedPdf(len(reader.pages), "\n".join(texts), sizes)


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def print_workbook(content: bytes) -> bytes:
    """The workbook printed to PDF by LibreOffice (headless), with its own print set-up.
    Where LibreOffice is missing the test is skipped, unless REQUIRE_LIBREOFFICE says CI has it."""
    program = soffice()
    if program is None:
        if os.environ.get("REQUIRE_LIBREOFFICE"):
            pytest.fail("LibreOffice (soffice) is required here and is missing")
        pytest.skip("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "book.xlsx"
        source.write_bytes(content)
        subprocess.run(
            [
                program,
                f"-env:UserInstallation=file://{folder}/profile",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                folder,
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        printed = (Path(folder) / "book.pdf").read_bytes()
    if keep := os.environ.get("KEEP_PRINTED"):  # a folder to look at the pages in
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / f"{len(list(Path(keep).iterdir()))}.pdf").write_bytes(printed)
    return printed
