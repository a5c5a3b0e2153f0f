"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has a Python example"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
    assert "Champions" in capsys.readouterr().out


def test_readme_opens_with_the_two_commands():
    text = README.read_text()
    commands = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1).strip().splitlines()
    assert [c.split("#")[0].strip() for c in commands] == ["pip install . && python -m patronage report", "make test"]
