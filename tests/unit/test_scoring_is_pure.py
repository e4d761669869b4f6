"""auditapp/scoring/ must import no web or database framework, so it stays testable and reusable without an app."""
import ast
import subprocess
import sys
from pathlib import Path

SCORING = Path(__file__).resolve().parents[2] / "auditapp" / "scoring"
FRAMEWORKS = ("flask", "flask_sqlalchemy", "flask_wtf", "sqlalchemy", "wtforms")

# auditapp/__init__.py (create_app) and the domain packages' __init__ (blueprints) import Flask on purpose.
# Stand-in parent packages keep those out, so the check sees only what scoring/ and the modules it uses pull in.
PROBE = """
import sys, types
from pathlib import Path
root = Path(sys.argv[1])
for name in ("auditapp", "auditapp.journeys"):
    package = types.ModuleType(name)
    package.__path__ = [str(root.joinpath(*name.split(".")))]
    sys.modules[name] = package
import auditapp.scoring, auditapp.scoring.rules, auditapp.scoring.values, auditapp.scoring.stats
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in {frameworks!r})))
"""


def test_scoring_imports_no_framework():
    probe = PROBE.format(frameworks=set(FRAMEWORKS))
    result = subprocess.run(
        [sys.executable, "-c", probe, str(SCORING.parents[1])], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_scoring_source_names_no_framework():
    """Belt and braces: also catch imports hidden in functions, which the probe above never runs."""
    for path in SCORING.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FRAMEWORKS, f"{path.name} imports {name}"
