"""Datablock accounting and orphan purge against brute force on random user graphs (real bpy).

Graphs: objects ↔ meshes ↔ materials, objects in and out of the scene, linked duplicates (objects
sharing a mesh), repeated material slots, fake users, and meshes/materials linked from a library.
"""
import random
import types

import bpy

import pytest

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import datablocks, idtypes

GRAPH_TYPES = ("objects", "meshes", "materials")


def random_graph(seed, meshes=40, objects=50, materials=15):
    rng = random.Random(seed)
    mats = [bpy.data.materials.new(f"mat{seed}_{i}") for i in range(materials)]
    mes = [bpy.data.meshes.new(f"me{seed}_{i}") for i in range(meshes)]
    for me in mes:
        for _ in range(rng.choice((0, 0, 1, 2, 3))):  # repeats: one mesh may use a material twice
            me.materials.append(rng.choice(mats))
    for i in range(objects):
        data = rng.choice(mes) if rng.random() < 0.9 else None  # linked duplicates share meshes
        obj = bpy.data.objects.new(f"ob{seed}_{i}", data)
        if rng.random() < 0.7:
            bpy.context.scene.collection.objects.link(obj)
    for id_ in mes + mats + list(bpy.data.objects):
        if rng.random() < 0.12:
            id_.use_fake_user = True


def brute_orphans(name, include_linked=True):
    """Names of the orphans of one collection, by the definition (one ID at a time)."""
    if name in idtypes.NEVER_ORPHANED:
        return set()
    out = set()
    for id_ in getattr(bpy.data, name):
        if id_.users == 0 and not id_.use_fake_user:
            if name == "images" and id_.type in {'RENDER_RESULT', 'COMPOSITING'}:
                continue
            if include_linked or id_.library is None:
                out.add(id_.name_full)
    return out


def names_of(name):
    return {id_.name_full for id_ in getattr(bpy.data, name)}


def cascade(targets, include_linked=False):
    """Brute-force cascade with ``bpy.data.user_map``: start with the orphans of ``targets``; an ID
    goes when all its users went (and it has no fake user); earlier orphans of other types stay."""
    gone = {(n, nm) for n in targets for nm in brute_orphans(n, include_linked)}
    kept = {(n, nm) for n in GRAPH_TYPES if n not in targets
            for nm in brute_orphans(n, include_linked)}
    user_map = bpy.data.user_map(subset=[id_ for n in GRAPH_TYPES for id_ in getattr(bpy.data, n)])
    key = {}
    for n in GRAPH_TYPES:
        for id_ in getattr(bpy.data, n):
            key[id_.as_pointer()] = (n, id_.name_full)
    users = {key[id_.as_pointer()]: {key.get(u.as_pointer(), ("other", u.name_full)) for u in us}
             for id_, us in user_map.items() if id_.as_pointer() in key}
    fake = {(n, id_.name_full) for n in GRAPH_TYPES for id_ in getattr(bpy.data, n)
            if id_.use_fake_user or (id_.library is not None and not include_linked)}
    grew = True
    while grew:
        grew = False
        for item, us in users.items():
            if item in gone or item in kept or item in fake or not us:
                continue
            if us <= gone:
                gone.add(item)
                grew = True
    return gone


@pytest.mark.parametrize("seed", range(6))
def test_counts_match_len_and_brute_force(seed):
    random_graph(seed)
    counts = api.datablock_counts()
    assert set(counts) == set(datablocks.id_collection_names())
    for name, count in counts.items():
        coll = getattr(bpy.data, name)
        assert count.total == len(coll), name
        assert count.orphans == len(brute_orphans(name)), name
        assert count.linked == 0 and count.local == count.total
        assert count.local_orphans == count.orphans


def test_counts_of_selected_types_and_type_codes():
    random_graph(1)
    by_code = api.datablock_counts({'MESH', 'MATERIAL'})
    assert set(by_code) == {"meshes", "materials"}
    assert by_code == api.datablock_counts(("meshes", "materials"))
    assert set(api.datablock_counts('OBJECT')) == {"objects"}
    with pytest.raises(ValueError, match="unknown ID type"):
        api.datablock_counts({'NOT_A_TYPE'})


def test_orphans_lists_exactly_the_orphans():
    random_graph(2)
    for name in GRAPH_TYPES:
        assert {id_.name_full for id_ in api.orphans(name)} == brute_orphans(name)
    assert {id_.name_full for id_ in api.orphans('MESH')} == brute_orphans("meshes")
    with pytest.raises(ValueError):
        api.orphans('ALL')


@pytest.mark.parametrize("seed", range(6))
def test_purge_all_removes_exactly_the_orphans(seed):
    random_graph(seed)
    before = {name: names_of(name) for name in GRAPH_TYPES}
    expected = {name: brute_orphans(name) for name in GRAPH_TYPES}
    removed = api.purge_orphans('ALL')
    for name in GRAPH_TYPES:
        assert names_of(name) == before[name] - expected[name], name
        assert removed.get(name, 0) == len(expected[name])


@pytest.mark.parametrize("seed", range(6))
def test_purge_meshes_touches_nothing_else(seed):
    random_graph(seed)
    before = {name: names_of(name) for name in GRAPH_TYPES}
    expected = brute_orphans("meshes")
    removed = api.purge_orphans({'MESH'})
    assert names_of("meshes") == before["meshes"] - expected
    assert names_of("objects") == before["objects"]
    assert names_of("materials") == before["materials"]
    assert removed == ({"meshes": len(expected)} if expected else {})


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("targets", [("meshes",), ("objects",), GRAPH_TYPES])
def test_recursive_purge_removes_exactly_the_cascade(seed, targets):
    random_graph(seed)
    before = {(n, nm) for n in GRAPH_TYPES for nm in names_of(n)}
    gone = cascade(targets)
    types = 'ALL' if targets == GRAPH_TYPES else set(targets)
    removed = api.purge_orphans(types, recursive=True)
    after = {(n, nm) for n in GRAPH_TYPES for nm in names_of(n)}
    assert after == before - gone
    assert sum(removed.values()) == len(gone)


def test_material_used_only_by_purged_meshes_goes_with_recursive():
    used = bpy.data.materials.new("used_only_by_orphan")
    kept = bpy.data.materials.new("kept_orphan")  # an orphan already: not part of a MESH cascade
    me = bpy.data.meshes.new("orphan")
    me.materials.append(used)
    assert api.purge_orphans({'MESH'}) == {"meshes": 1}
    assert used.users == 0  # left as a new orphan without recursive
    me = bpy.data.meshes.new("orphan2")
    me.materials.append(used)
    assert api.purge_orphans({'MESH'}, recursive=True) == {"meshes": 1, "materials": 1}
    assert set(bpy.data.materials.keys()) == {kept.name}


def test_fake_users_are_never_purged():
    for i in range(5):
        me = bpy.data.meshes.new(f"keep{i}")
        me.use_fake_user = True
        mat = bpy.data.materials.new(f"keepmat{i}")
        mat.use_fake_user = True
        me.materials.append(mat)
    counts = api.datablock_counts({'MESH', 'MATERIAL'})
    assert counts["meshes"].orphans == 0 and counts["materials"].orphans == 0
    assert api.purge_orphans('ALL', recursive=True, include_linked=True) == {}
    assert len(bpy.data.meshes) == 5 and len(bpy.data.materials) == 5


def test_nothing_to_purge_returns_empty():
    assert api.purge_orphans({'MESH'}) == {}
    assert api.purge_orphans('ALL', recursive=True) == {}


def test_root_ids_are_never_orphans():
    # Scenes, screens, workspaces, window managers, libraries: never counted or purged.
    bpy.data.scenes.new("extra")
    for name in idtypes.NEVER_ORPHANED:
        assert api.datablock_counts(name)[name].orphans == 0
    before = {name: len(getattr(bpy.data, name)) for name in idtypes.NEVER_ORPHANED}
    api.purge_orphans('ALL', recursive=True, include_linked=True)
    assert {name: len(getattr(bpy.data, name)) for name in idtypes.NEVER_ORPHANED} == before


class _CountingData:
    """The real ``bpy.data``, with its ``batch_remove`` calls counted (everything else passes
    through untouched: Blender still does all the work)."""

    def __init__(self, data):
        self._data = data
        self.batches = []

    def batch_remove(self, ids):
        self.batches.append(len(ids))
        return self._data.batch_remove(ids)

    def __getattr__(self, name):
        return getattr(self._data, name)


def test_purge_is_batched(monkeypatch):
    """10,000 orphans go in one batch (a remove() per ID would scan all IDs each time)."""
    src = bpy.data.meshes.new("src")
    for _ in range(10_000):
        src.copy()
    src.use_fake_user = True
    counting = _CountingData(bpy.data)
    monkeypatch.setattr(datablocks, "bpy", types.SimpleNamespace(data=counting))
    assert api.purge_orphans({'MESH'}) == {"meshes": 10_000}
    assert counting.batches == [10_000]
    monkeypatch.undo()
    assert list(bpy.data.meshes.keys()) == ["src"]


def test_recursive_purge_is_one_batch_per_cascade_level(monkeypatch):
    """Meshes, then the materials only they used: two batches, never one call per ID."""
    for i in range(50):
        mesh = bpy.data.meshes.new(f"m{i}")
        mesh.materials.append(bpy.data.materials.new(f"mat{i}"))
    counting = _CountingData(bpy.data)
    monkeypatch.setattr(datablocks, "bpy", types.SimpleNamespace(data=counting))
    assert api.purge_orphans({'MESH'}, recursive=True) == {"meshes": 50, "materials": 50}
    assert counting.batches == [50, 50]


def test_format_counts():
    assert datablocks.format_counts({"meshes": 37, "materials": 4}) == "37 meshes, 4 materials"
    assert datablocks.format_counts({"meshes": 1, "node_groups": 2}) == "2 node groups, 1 mesh"


# --- Linked libraries ----------------------------------------------------------------------------
@pytest.fixture
def linked_file(tmp_path):
    """A library .blend with 4 meshes and 2 materials; 3 meshes + 1 material linked, one mesh of
    them used by a local object.  Returns (linked meshes, linked materials)."""
    lib_meshes = [bpy.data.meshes.new(f"libmesh{i}") for i in range(4)]
    lib_mats = [bpy.data.materials.new(f"libmat{i}") for i in range(2)]
    path = tmp_path / "library.blend"
    bpy.data.libraries.write(str(path), set(lib_meshes + lib_mats), fake_user=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    with bpy.data.libraries.load(str(path), link=True) as (src, dst):
        dst.meshes = ["libmesh0", "libmesh1", "libmesh2"]
        dst.materials = ["libmat0"]
    user = bpy.data.objects.new("user", bpy.data.meshes["libmesh0", str(path)])
    bpy.context.scene.collection.objects.link(user)
    local = bpy.data.meshes.new("local_orphan")
    assert local.library is None
    return path


def test_linked_counts(linked_file):
    counts = api.datablock_counts({'MESH', 'MATERIAL'})
    meshes = counts["meshes"]
    assert meshes.total == len(bpy.data.meshes) == 4
    assert meshes.linked == 3 and meshes.local == 1
    linked_orphans = {m.name_full for m in bpy.data.meshes if m.library and m.users == 0}
    assert meshes.linked_orphans == len(linked_orphans) == 2
    assert meshes.orphans == 3 and meshes.local_orphans == 1
    assert counts["materials"].linked == 1


def test_linked_orphans_untouched_unless_asked(linked_file):
    assert {m.name for m in api.orphans('MESH')} == {"local_orphan"}
    assert len(api.orphans('MESH', include_linked=True)) == 3
    assert api.purge_orphans('ALL', recursive=True) == {"meshes": 1}
    assert sorted(m.name for m in bpy.data.meshes) == ["libmesh0", "libmesh1", "libmesh2"]
    removed = api.purge_orphans('ALL', include_linked=True)
    assert removed == {"meshes": 2, "materials": 1}
    assert [m.name for m in bpy.data.meshes] == ["libmesh0"]
