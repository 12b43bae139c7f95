"""docs/pipelines.md's examples run as printed on every Blender version of the suite (in this
process; ``make test-examples`` also runs them in a fresh venv with only bpy, numpy and the built
wheel), and leak nothing."""

import bpy

import pytest
from helpers import ROOT, id_collection_sizes, load_script

from bvh_leakfree_addon import api


def _runner():
    return load_script("tools/run_doc_examples.py")


EXAMPLES = _runner().examples((ROOT / "docs" / "pipelines.md").read_text(encoding="utf-8"))


def test_the_guide_has_its_examples():
    assert [name for name, _code in EXAMPLES] == ["loop", "moves", "visibility", "dropin", "guard"]


@pytest.mark.parametrize("name, code", EXAMPLES, ids=[name for name, _code in EXAMPLES])
def test_example_runs_and_leaks_nothing(name, code, capsys):
    namespace = {"__name__": f"pipelines_{name}"}
    exec(compile(code, f"docs/pipelines.md:{name}", "exec"), namespace)
    assert capsys.readouterr().out.strip()
    assert api.orphans("MESH") == []          # what an example made and dropped, it removed
    meshes_in_use = {o.data for o in bpy.data.objects if o.type == 'MESH'}
    assert id_collection_sizes()["meshes"] == len(meshes_in_use)
