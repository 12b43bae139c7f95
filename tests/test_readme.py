"""The README's pipeline example runs as printed (real bpy, no edits)."""
import re

from helpers import ROOT, id_collection_sizes


def _python_blocks():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_pipeline_example_runs_and_leaks_nothing(capsys):
    block = next(b for b in _python_blocks() if "api.build(objects)" in b)
    namespace = {"__name__": "readme_example"}
    exec(compile(block, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "BuildStats" in out and "Icosphere" in out
    bvh = namespace["bvh"]
    assert bvh.stats.objects_used == 50
    before = id_collection_sizes()
    bvh.update()
    assert id_collection_sizes() == before
