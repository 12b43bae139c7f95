"""The batched-ray backends: choosing one, the switch that hides Embree, a missing ``embreex``,
and the Embree scene's life (built from the cached geometry, kept with the build, freed with
it, rebuilt when the build changes, never left behind by a failure)."""
import gc
import os
import subprocess
import sys
import textwrap
import weakref

import bpy

import numpy as np
import pytest
import scene_builders as sb
from helpers import ROOT, id_collection_sizes

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import backends, embree, merge

needs_embree = pytest.mark.skipif(not embree.available(),
                                  reason=f"no Embree backend: {embree.unavailable_reason()}")


def _icos(n=6, subdivisions=3, spacing=3.0):
    return [sb.mesh_object(f"ico{i}", sb.ico_mesh(f"ico{i}", subdivisions), (i * spacing, 0, 0),
                           (0.1 * i, 0.2, 0.0)) for i in range(n)]


def _rays(objs, n, seed=0):
    return sb.random_rays(n, 10.0, seed=seed, center=(7.5, 0, 0), objects=objs)


def _same(a, b):
    return all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


class Boom(Exception):
    pass


def test_backend_argument_is_checked():
    bvh = api.build(_icos(2, 1))
    origins, directions = _rays(bvh.objects, 10)
    with pytest.raises(TypeError, match="backend must be a string"):
        bvh.ray_cast_many(origins, directions, backend=None)
    with pytest.raises(ValueError, match="unknown ray backend 'cuda'"):
        bvh.ray_cast_many(origins, directions, backend="cuda")
    with pytest.raises(ValueError, match="unknown ray backend"):
        bvh.cast_camera(None, backend="Embree")     # the backend is checked first
    assert "mathutils" in api.ray_backends()
    assert api.ray_backends() == (("embree", "mathutils") if embree.available()
                                  else ("mathutils",))


def test_the_switch_hides_embree(monkeypatch):
    """``BVH_LEAKFREE_EMBREE=0``: no Embree for anyone; 'auto' uses mathutils, 'embree' is a
    clear error naming the switch.  Unset, Embree is back."""
    objs = _icos()
    bvh = api.build(objs)
    origins, directions = _rays(objs, 40_000)
    monkeypatch.setenv(embree.ENV_SWITCH, "0")
    assert api.ray_backends() == ("mathutils",)
    with pytest.raises(RuntimeError, match=f"{embree.ENV_SWITCH}=0"):
        bvh.ray_cast_many(origins, directions, backend="embree")
    got = bvh.ray_cast_many(origins, directions)              # far above the crossover
    assert embree.existing_scene(bvh._top) is None
    assert _same(got, bvh.ray_cast_many(origins, directions, backend="mathutils"))
    monkeypatch.delenv(embree.ENV_SWITCH)
    if embree.available():
        assert api.ray_backends() == ("embree", "mathutils")


def test_without_embreex_everything_works_on_mathutils():
    """A Python where ``embreex`` cannot be imported (hidden from the import system, as in a
    venv without it): the API imports, lists only mathutils, and 'auto' casts with it."""
    script = textwrap.dedent(f"""
        import sys
        class NoEmbreex:
            def find_spec(self, name, path=None, target=None):
                if name == "embreex" or name.startswith("embreex."):
                    raise ModuleNotFoundError("No module named 'embreex'", name=name)
        sys.meta_path.insert(0, NoEmbreex())
        sys.path.insert(0, {str(ROOT)!r})
        import bpy
        import numpy as np
        from bvh_leakfree_addon import api
        from bvh_leakfree_addon.core import embree
        bpy.ops.mesh.primitive_ico_sphere_add()
        bvh = api.build([bpy.context.object])
        o = np.column_stack([np.random.default_rng(0).uniform(-.5, .5, (50000, 2)),
                             np.full(50000, 5.0)])
        res = bvh.ray_cast_many(o, (0, 0, -1))
        assert res.hit.sum() > 10000, res.hit.sum()
        try:
            bvh.ray_cast_many(o, (0, 0, -1), backend="embree")
        except RuntimeError as ex:
            print("ERROR", ex)
        print("BACKENDS", api.ray_backends(), "REASON", embree.unavailable_reason())
        print("EMBREEX_LOADED", "embreex" in sys.modules)
    """)
    env = {k: v for k, v in os.environ.items() if k != embree.ENV_SWITCH}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "BACKENDS ('mathutils',)" in proc.stdout, proc.stdout
    assert "embreex package is not installed for this Python 3." in proc.stdout
    assert "ERROR the 'embree' ray backend is not available here" in proc.stdout
    assert "EMBREEX_LOADED False" in proc.stdout


def test_importing_the_api_loads_neither_embreex_nor_a_ui_module():
    """``embreex`` (a 40 MB library) loads on the first batch that may use it, and the API still
    loads no UI module."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import bpy
        from bvh_leakfree_addon import api
        ui = sorted(n for n in sys.modules if n.startswith("bvh_leakfree_addon.") and
                    n.split(".")[1] in ("cast", "monitor", "preferences", "state", "sidebar"))
        print("UI", ui, "EMBREEX", "embreex" in sys.modules)
        backends = api.ray_backends()
        print("AFTER", "embreex" in sys.modules, backends)
    """)
    env = {k: v for k, v in os.environ.items() if k != embree.ENV_SWITCH}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "UI [] EMBREEX False" in proc.stdout, proc.stdout
    assert ("AFTER True ('embree', 'mathutils')" in proc.stdout
            or "AFTER False ('mathutils',)" in proc.stdout), proc.stdout


@needs_embree
def test_auto_builds_an_embree_scene_only_when_the_batch_pays(monkeypatch):
    objs = _icos()
    bvh = api.build(objs)
    top = bvh._top
    cross = backends.crossover(top)
    assert 100 < cross < 100_000, cross
    small = _rays(objs, cross - 1)
    got = bvh.ray_cast_many(*small)
    assert embree.existing_scene(top) is None
    assert _same(got, bvh.ray_cast_many(*small, backend="mathutils"))
    calls = []
    real_cast = embree.cast
    monkeypatch.setattr(embree, "cast", lambda *a: calls.append(len(a[2])) or real_cast(*a))
    large = _rays(objs, cross, seed=1)
    bvh.ray_cast_many(*large)
    scene = embree.existing_scene(top)
    assert scene is not None and calls == [cross]
    one = bvh.ray_cast_many(small[0][:1], small[1][:1])      # the scene exists: from one ray
    assert calls == [cross, 1] and embree.existing_scene(top) is scene
    assert one.hit.shape == (1,)


@needs_embree
def test_scene_is_kept_with_the_build_and_freed_with_it():
    objs = _icos(4, 2)
    bvh = api.build(objs)
    origins, directions = _rays(objs, 2000)
    bvh.ray_cast_many(origins, directions, backend="embree")
    scene = embree.existing_scene(bvh._top)
    first = weakref.ref(scene)
    again = api.build(objs)                   # nothing changed: the same build, the same scene
    assert again._top is bvh._top
    again.ray_cast_many(origins, directions, backend="embree")
    assert embree.existing_scene(again._top) is scene
    del scene, again
    objs[1].location.z += 0.5                 # a moved object: a new top level, a new scene
    bvh.update()
    gc.collect()
    assert first() is None, "the scene of the replaced build was not freed"
    moved = bvh.ray_cast_many(origins, directions, backend="embree")
    second = weakref.ref(embree.existing_scene(bvh._top))
    ref = bvh.ray_cast_many(origins, directions, backend="mathutils")
    assert (moved.hit == ref.hit).mean() > 0.999
    del bvh, moved, ref
    api.clear_cache()                         # the core no longer remembers the build either
    gc.collect()
    assert second() is None, "the scene outlived its build"


@needs_embree
def test_geometry_changed_since_the_build(monkeypatch):
    """The Embree scene reads the build's triangles from the evaluated meshes when their trees
    keep none: once an edit replaced them, 'embree' says to update() and 'auto' falls back to
    the (still valid) trees; after update() Embree sees the edit."""
    objs = _icos(3, 2)
    bvh = api.build(objs)
    origins, directions = _rays(objs, 50_000)
    before = bvh.ray_cast_many(origins, directions, backend="mathutils")
    for v in objs[0].data.vertices:
        v.co *= 1.5
    objs[0].data.update()
    with pytest.raises(RuntimeError, match="call update"):
        bvh.ray_cast_many(origins, directions, backend="embree")
    assert _same(bvh.ray_cast_many(origins, directions), before)
    bvh.update()
    after = bvh.ray_cast_many(origins, directions, backend="embree")
    ref = bvh.ray_cast_many(origins, directions, backend="mathutils")
    assert not _same(ref, before)
    assert (after.hit == ref.hit).mean() > 0.999
    assert (after.object_index == ref.object_index).mean() > 0.999


@needs_embree
def test_the_cache_counts_the_triangle_arrays_embree_read():
    objs = _icos(3, 3)
    bvh = api.build(objs)
    entries = {id(e): e for e in bvh._top.entries}.values()
    assert all(e.arrays is None for e in entries)     # FromObject trees keep no arrays
    before = api.cache_info().bytes
    bvh.ray_cast_many(*_rays(objs, 100), backend="embree")
    kept = sum(a.nbytes for e in entries for a in e.arrays)
    assert kept > 0 and api.cache_info().bytes == before + kept


@needs_embree
def test_a_failure_while_building_leaves_nothing_behind(monkeypatch):
    objs = _icos(3, 2)
    bvh = api.build(objs)
    origins, directions = _rays(objs, 1000)
    before = id_collection_sizes()

    def boom(*args):
        raise Boom("injected")

    monkeypatch.setattr(merge, "merged_arrays", boom)
    with pytest.raises(Boom):
        bvh.ray_cast_many(origins, directions, backend="embree")
    assert embree.existing_scene(bvh._top) is None
    monkeypatch.undo()
    got = bvh.ray_cast_many(origins, directions, backend="embree")
    assert got.hit.sum() > 100 and id_collection_sizes() == before


@needs_embree
def test_hit_on_an_object_deleted_after_build_is_a_clear_error():
    obj = sb.mesh_object("doomed", sb.cube_mesh("doomed_mesh"))
    bvh = api.build([obj])
    bvh.ray_cast_many([[0.0, 0.0, 5.0]], (0, 0, -1), backend="embree")
    bpy.data.objects.remove(obj)
    with pytest.raises(ReferenceError, match="deleted"):
        bvh.ray_cast_many([[0.0, 0.0, 5.0]], (0, 0, -1), backend="embree")
    assert not bvh.ray_cast_many([[0.0, 0.0, 5.0]], (0, 0, 1), backend="embree")["hit"][0]


@needs_embree
def test_build_move_cast_cycles_leave_no_datablock_and_no_memory():
    """A sampler loop on the Embree backend: a new Embree scene every cycle (objects move), no
    datablock created, memory flat after warm-up (one shared Embree device)."""
    objs = _icos(8, 4)                      # 10,240 triangles: ~1 MB of Embree scene a cycle
    origins, directions = _rays(objs, 5000)
    rng = np.random.default_rng(3)

    def cycle():
        for obj in objs:
            obj.location.z = rng.uniform(-1, 1)
        bvh = api.build(objs)
        return bvh.ray_cast_many(origins, directions, backend="embree").hit.sum()

    for _ in range(20):
        cycle()
    gc.collect()
    before_ids = id_collection_sizes()
    before = _rss()
    with api.leak_guard():
        for _ in range(150):
            assert cycle() > 500
    gc.collect()
    assert id_collection_sizes() == before_ids
    if before is not None:
        grown = (_rss() - before) / 2**20
        assert grown < 15.0, f"RSS grew {grown:.1f} MB over 150 Embree build/cast cycles"


def _rss():
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


@needs_embree
def test_shutdown_drops_the_shared_device_and_embree_still_works_after():
    objs = _icos(2, 2)
    bvh = api.build(objs)
    origins, directions = _rays(objs, 500)
    first = bvh.ray_cast_many(origins, directions, backend="embree")
    assert embree._device is not None
    api.shutdown()
    assert embree._device is None
    again = api.build(objs).ray_cast_many(origins, directions, backend="embree")
    assert _same(first, again) and embree._device is not None
