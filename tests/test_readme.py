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


def test_every_public_function_and_class_has_a_runnable_example():
    import inspect

    import patronage
    from patronage.cluster import plot_clusters, plot_k_selection, plot_tiers
    from patronage.churn import plot_calibration, plot_feature_effects, plot_gains, plot_roc
    from patronage.report import customer_report

    objects = [getattr(patronage, n) for n in patronage.__all__] + [
        plot_clusters, plot_k_selection, plot_tiers, plot_calibration, plot_feature_effects, plot_gains, plot_roc,
        customer_report]
    missing = [o.__name__ for o in objects
               if (inspect.isfunction(o) or inspect.isclass(o)) and ">>>" not in (o.__doc__ or "")]
    assert not missing, f"no doctest example: {missing}"
