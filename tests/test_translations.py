"""Every visible string has an English translation, with the same placeholders."""
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "app/translations/en/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)\w")


def _catalogue():
    with PO.open("rb") as handle:
        return read_po(handle)


def test_catalogue_is_complete_and_placeholders_match():
    catalogue = _catalogue()
    untranslated = [m.id for m in catalogue if m.id and not m.string]
    assert untranslated == [], "run `make extract-messages` and translate these"
    mismatched = [m.id for m in catalogue
                  if m.id and set(PLACEHOLDER.findall(m.id)) != set(PLACEHOLDER.findall(m.string))]
    assert mismatched == []


def test_catalogue_covers_every_string_in_the_source(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "--no-location", "."],
                   cwd=ROOT, check=True)
    with pot.open("rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    have = {m.id for m in _catalogue() if m.id}
    missing = sorted(wanted - have)
    assert missing == [], "strings not in the English catalogue; run `make extract-messages`"
