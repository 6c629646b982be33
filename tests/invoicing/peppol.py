"""The shared Peppol validator (../shared/tools/validate_peppol.py: UBL 2.1 XSD, EN 16931, Peppol BIS 3).

Imported from its file rather than run as a process: compiling the Schematron XSLT is the slow part,
so a test session compiles it once and validates every document with the same executables.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DIR  # the one place that finds ../shared

VALIDATOR_PATH = SHARED_DIR / "tools" / "validate_peppol.py"


class PeppolValidator:
    def __init__(self, work_dir: Path) -> None:
        spec = importlib.util.spec_from_file_location("validate_peppol", VALIDATOR_PATH)
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs: its dataclasses look their module up by name.
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        self._validator = module.Validator(
            module.DEFAULT_XSD_DIR, [("cen", module.DEFAULT_CEN_XSLT), ("peppol", module.DEFAULT_PEPPOL_XSLT)]
        )
        self._dir = work_dir
        self._count = 0
        self.checked: list[Path] = []

    def findings(self, xml: str) -> list:
        """Every finding (fatal or warning) the three layers report for the document."""
        self._count += 1
        path = self._dir / f"document-{self._count:03d}.xml"
        path.write_text(xml, encoding="utf-8")
        self.checked.append(path)
        return self._validator.validate(path).findings

    def assert_valid(self, xml: str) -> list:
        """Fail the test on any fatal finding, naming the rule, where and why; return the warnings."""
        assert xml.startswith("<?xml"), "not an XML document (no UBL was made?)"
        findings = self.findings(xml)
        fatal = [f for f in findings if f.flag == "fatal"]
        if fatal:
            report = "\n".join(f"{f.layer}:{f.rule} line {f.line} at {f.location}\n    {f.message}" for f in fatal)
            pytest.fail(f"{len(fatal)} fatal Peppol finding(s) in {self.checked[-1]}:\n{report}", pytrace=False)
        return [f for f in findings if f.flag != "fatal"]
