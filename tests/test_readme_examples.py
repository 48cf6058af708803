"""The curl examples of README.md and docs/*.md, run against a live server: each shown output is the real one.

An example is a `curl` command in a ```bash block followed by its output as `# {json}` comment lines. The answer
must equal it, or contain it when the output is marked `(extrait)` (dicts: these keys with these values; lists:
these first items). Commands run from the project folder, so `-d @docs/examples/…` finds its file.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import migrated_app, serving

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTED_URL = "http://127.0.0.1:8000"
BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.M | re.S)
EXCERPT = "(extrait)"


def _complete(command: str) -> bool:
    if command.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(command)
    except ValueError:  # a quote still open: the body goes on
        return False
    return True


def examples(path: Path) -> list[tuple[str, str, bool, str]]:
    """(command, expected JSON text, excerpt?, where) for each curl example of `path` that shows its output."""
    found, text = [], path.read_text(encoding="utf-8")
    for match in BASH_BLOCK.finditer(text):
        first_line = text.count("\n", 0, match.start(1)) + 1
        lines, index = match.group(1).splitlines(), 0
        while index < len(lines):
            if not lines[index].startswith("curl "):
                index += 1
                continue
            start, command = index, lines[index]
            while not _complete(command):
                index += 1
                command += "\n" + lines[index]
            index += 1
            output = []
            while index < len(lines) and lines[index].startswith("#") and not _parses(" ".join(output)):
                output.append(lines[index].lstrip("#").strip())
                index += 1
            output_text = " ".join(output)
            if output_text.startswith("{") or output_text.startswith(EXCERPT):
                excerpt = output_text.startswith(EXCERPT)
                shown = output_text.removeprefix(EXCERPT).strip()
                found.append((command, shown, excerpt, f"{path.name}, line {first_line + start}"))
    return found


def _parses(text: str) -> bool:
    try:
        json.loads(text.removeprefix(EXCERPT))
    except ValueError:
        return False
    return True


def contains(answer, shown) -> bool:
    """Whether `answer` holds everything `shown` shows (dict keys and values, list first items)."""
    if isinstance(shown, dict):
        return isinstance(answer, dict) and all(k in answer and contains(answer[k], v) for k, v in shown.items())
    if isinstance(shown, list):
        return isinstance(answer, list) and len(answer) >= len(shown) and all(map(contains, answer, shown))
    return same(answer, shown)


def same(answer, shown) -> bool:
    """Equal, floats to 12 significant digits: the last bits of a sum of floats depend on how numpy vectorises it
    (memory alignment), so a shown probability's 16th digit may differ from one run to the next."""
    if isinstance(shown, float) and isinstance(answer, float):
        return answer == pytest.approx(shown, rel=1e-12, abs=1e-15)
    if isinstance(shown, dict):
        return (
            isinstance(answer, dict)
            and answer.keys() == shown.keys()
            and all(same(answer[k], v) for k, v in shown.items())
        )
    if isinstance(shown, list):
        return isinstance(answer, list) and len(answer) == len(shown) and all(map(same, answer, shown))
    return answer == shown


DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = [example for document in DOCUMENTS for example in examples(document)]


@pytest.fixture(scope="module")
def documented_server(bundle_dir, tmp_path_factory):
    """The service on an SQLite file of its own, with the run's model (trained as run.sh trains it)."""
    app = migrated_app(f"sqlite:///{tmp_path_factory.mktemp('readme') / 'readme.db'}", bundle_dir)
    with serving(app) as base_url:
        yield base_url


def test_the_documents_show_curl_examples_with_their_outputs():
    where = {example[3].split(",")[0] for example in EXAMPLES}
    assert len(EXAMPLES) >= 4 and {"README.md", "api.md"} <= where, EXAMPLES


@pytest.mark.parametrize(("command", "expected", "excerpt", "where"), EXAMPLES, ids=[e[3] for e in EXAMPLES])
def test_a_documented_curl_example_answers_what_is_shown(documented_server, command, expected, excerpt, where):
    curl = shutil.which("curl")
    assert curl, "curl is missing (apt-get install -y curl): the documents' examples use it"
    unfolded = command.replace("\\\n", " ")  # a backslash-newline continues the command, as in a shell
    arguments = [argument.replace(DOCUMENTED_URL, documented_server) for argument in shlex.split(unfolded)]
    assert arguments[0] == "curl" and any(documented_server in argument for argument in arguments), arguments
    result = subprocess.run([curl, *arguments[1:]], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    answer, shown = json.loads(result.stdout), json.loads(expected)
    assert contains(answer, shown) if excerpt else same(answer, shown), f"{where}: the service answers {result.stdout}"
