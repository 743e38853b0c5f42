"""The extension and the server agree on what can be a slug (extension/src/lib/matcher.js).

The extension decides on its own, without asking the server, which links of a page are short
links worth a look-up; a first path segment the server keeps for itself (the dashboard, the
API...) must never be taken for one, or hovering the dashboard's own links would ask for them.
Node imports the very module the extension ships.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from balise.links.slugs import RESERVED_SLUGS, SLUG_RE

MATCHER = Path(__file__).resolve().parents[1] / "extension" / "src" / "lib" / "matcher.js"


def _extension_rules() -> dict[str, object]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (
        f"import({json.dumps(MATCHER.as_uri())}).then(m => console.log(JSON.stringify("
        "{reserved: [...m.RESERVED], slug: m.SLUG_RE.source})))"
    )
    done = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_the_extension_reserves_what_the_server_reserves():
    assert sorted(_extension_rules()["reserved"]) == sorted(RESERVED_SLUGS)


def test_the_extension_reads_slugs_as_the_server_does():
    pattern = str(_extension_rules()["slug"])
    assert pattern == f"^{SLUG_RE.pattern}$"
    js_like = re.compile(pattern)
    for slug in ("dsk42", "a-b_c", "x" * 64, "ab", "x" * 65, "a.b", "é42"):
        assert bool(js_like.match(slug)) == bool(SLUG_RE.fullmatch(slug)), slug
