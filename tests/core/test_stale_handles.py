"""A SceneBVH never touches freed Blender data (issue 21, item 1): the depsgraph given to build()
goes away with its scene or view layer, a file load or undo replaces every ID.  Each case runs in
a fresh interpreter (``helpers.run_in_blender``): a segfault fails that case with its output.

Each query then either answers as a fresh build over the objects that still exist does, or raises
one line naming what went away; never a crash, never another error."""
import pytest
from helpers import run_in_blender

from bvh_leakfree_addon import api

EMBREE = "embree" in api.ray_backends()

COMMON = """
import numpy as np
import scene_builders as sb
from bvh_leakfree_addon import api

def attempt(label, fn):
    try:
        out = fn()
    except (ReferenceError, RuntimeError, ValueError, TypeError) as ex:
        print(f"ERR {label} {type(ex).__name__}: {ex}")
        return None
    print(f"OK {label}")
    return out

def same_hits(label, got, want):
    if got is None:
        return
    ok = np.array_equal(got["hit"], want["hit"]) and np.allclose(
        got["location"][got["hit"]], want["location"][want["hit"]], atol=1e-4)
    print(("SAME " if ok else "DIFF ") + label, int(got["hit"].sum()), int(want["hit"].sum()))

def churn():
    # reuse the memory Blender freed: make and evaluate a few scenes
    for k in range(12):
        s = bpy.data.scenes.new(f"churn{k}")
        for j in range(3):
            mesh = sb.ico_mesh(f"cm{k}{j}", 1)
            s.collection.objects.link(bpy.data.objects.new(f"c{k}_{j}", mesh))
        with bpy.context.temp_override(scene=s, view_layer=s.view_layers[0]):
            bpy.context.evaluated_depsgraph_get()

def rays(n=200000):
    rng = np.random.default_rng(0)
    o = np.column_stack([rng.uniform(-4, 4, (n, 2)), np.full(n, 9.0)])
    return o

def queries(bvh, live, camera):
    o = rays()
    want = api.build(live).ray_cast_many(o, (0, 0, -1), backend="mathutils") if live else None
    hit = attempt("ray_cast", lambda: bvh.ray_cast((0.1, 0.1, 9), (0, 0, -1)))
    if want is not None:
        same_hits("auto", attempt("ray_cast_many auto",
                                  lambda: bvh.ray_cast_many(o, (0, 0, -1))), want)
        if "embree" in api.ray_backends():
            same_hits("embree", attempt("ray_cast_many embree",
                      lambda: bvh.ray_cast_many(o[:5000], (0, 0, -1), backend="embree")),
                      {k: v[:5000] for k, v in want.items()})
    attempt("tree", lambda: bvh.tree)
    attempt("find_nearest", lambda: bvh.find_nearest((0.1, 0.2, 9)))
    attempt("cast_camera", lambda: bvh.cast_camera(camera, (8, 6)))
    attempt("update", lambda: bvh.update())

def scene_objects(scene):
    ico = sb.mesh_object("Ico", sb.ico_mesh("ico", 3, 1.5), (0, 0, 0))   # triangles: no arrays kept
    ico.scale = (1.0, 1.5, 1.0)                                            # non-uniform
    cube = sb.mesh_object("Cube", sb.cube_mesh("cube", 1.5), (2.5, 0, 0))
    ball = sb.mesh_object("Ball", sb.ico_mesh("ball", 2, 1.0), (-2.5, 0, 0))  # triangles, uniform
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("cam"))
    cam.location = (0, 0, 9)
    bpy.context.scene.collection.objects.link(cam)
    for obj in (ico, cube, ball, cam):
        if scene != bpy.context.scene:
            scene.collection.objects.link(obj)
    return [ico, cube, ball], cam
"""


def _errors(snippet):
    return [line for line in snippet.lines if line.startswith("ERR ")]


def _check(snippet, must_fail=(), may_fail=(), names=()):
    """No crash; no different answer; errors only for the calls listed, each one line naming
    one of ``names``."""
    snippet.check()
    assert not [line for line in snippet.lines if line.startswith("DIFF ")], snippet.output()
    errors = _errors(snippet)
    for label in must_fail:
        assert any(line.startswith(f"ERR {label} ") for line in errors), snippet.output()
    allowed = set(must_fail) | set(may_fail)
    for line in errors:
        label = line[4:].split(" ")[0]
        assert label in allowed, f"unexpected error: {line}\n{snippet.output()}"
        assert any(name in line for name in names), f"names none of {names}: {line}"


def test_scene_removed_after_a_build_with_its_depsgraph():
    snippet = run_in_blender(COMMON + """
tmp = bpy.data.scenes.new("tmp")
objs, cam = scene_objects(tmp)
with bpy.context.temp_override(scene=tmp, view_layer=tmp.view_layers[0]):
    bvh = api.build(objs, bpy.context.evaluated_depsgraph_get())
bpy.data.scenes.remove(tmp)      # the objects live on in the main scene
churn()
queries(bvh, objs, cam)
""")
    _check(snippet, must_fail=("update", "cast_camera"), may_fail=("tree", "ray_cast_many"),
           names=("scene 'tmp'",))


def test_view_layer_removed_after_a_build_with_its_depsgraph():
    snippet = run_in_blender(COMMON + """
tmp = bpy.data.scenes.new("tmp")
objs, cam = scene_objects(tmp)
layer = tmp.view_layers.new("Second")
with bpy.context.temp_override(scene=tmp, view_layer=layer):
    bvh = api.build(objs, bpy.context.evaluated_depsgraph_get())
tmp.view_layers.remove(layer)
churn()
queries(bvh, objs, cam)
""")
    _check(snippet, must_fail=("update", "cast_camera"), may_fail=("tree", "ray_cast_many"),
           names=("view layer 'Second'",))


def test_other_view_layer_depsgraph_freed_and_made_again_is_re_evaluated():
    """The view layer still exists but Blender freed its depsgraph (all of a scene's depsgraphs
    go when the scene is copied back by undo, say): the layer's current one is used, answers
    equal a fresh build's."""
    snippet = run_in_blender(COMMON + """
scene = bpy.context.scene
objs, cam = scene_objects(scene)
layer = scene.view_layers.new("Second")
with bpy.context.temp_override(scene=scene, view_layer=layer):
    bvh = api.build(objs, bpy.context.evaluated_depsgraph_get())
scene.view_layers.remove(layer)
layer = scene.view_layers.new("Second")     # the same name, a new view layer and depsgraph
churn()
queries(bvh, objs, cam)
""")
    _check(snippet, may_fail=("tree", "ray_cast_many"), names=("changed since",))


@pytest.mark.parametrize("load", ["read_homefile", "read_factory_settings"])
def test_file_loaded_after_the_build(load):
    snippet = run_in_blender(COMMON + f"""
objs, cam = scene_objects(bpy.context.scene)
bvh_given = api.build(objs, bpy.context.evaluated_depsgraph_get())
bvh_context = api.build(objs)
bpy.ops.wm.{load}()
churn()
print("given")
queries(bvh_given, [], cam)
print("context")
queries(bvh_context, [], cam)
""")
    _check(snippet, must_fail=("ray_cast", "update", "cast_camera"),
           may_fail=("tree", "find_nearest"),
           names=("no longer exists", "deleted", "has been removed", "stale", "camera"))


def test_reloading_the_saved_file_after_the_build(tmp_path):
    path = tmp_path / "scene.blend"
    snippet = run_in_blender(COMMON + f"""
objs, cam = scene_objects(bpy.context.scene)
bpy.ops.wm.save_as_mainfile(filepath={str(path)!r})
bvh = api.build(objs, bpy.context.evaluated_depsgraph_get())
bpy.ops.wm.open_mainfile(filepath={str(path)!r})
churn()
queries(bvh, [], cam)
""")
    _check(snippet, must_fail=("ray_cast", "update", "cast_camera"),
           may_fail=("tree", "find_nearest"),
           names=("no longer exists", "deleted", "has been removed", "stale", "camera"))


@pytest.mark.parametrize("given", [False, True], ids=["context", "given depsgraph"])
def test_undo_after_the_build_follows_with_update(given):
    """Undo replaces every ID (Python references go stale, the objects still exist): update()
    fetches them again and answers as a fresh build; a hit read before update() names the
    object and says the reference is stale after undo."""
    snippet = run_in_blender(COMMON + f"""
objs, cam = scene_objects(bpy.context.scene)
bpy.ops.ed.undo_push(message="built")
dg = bpy.context.evaluated_depsgraph_get() if {given} else None
bvh = api.build(objs, dg)
objs[1].location.x += 1.0
bpy.ops.ed.undo_push(message="moved")
bpy.ops.ed.undo()
churn()
hit = attempt("stale_hit", lambda: bvh.ray_cast((2.5, 0.1, 9), (0, 0, -1)))
attempt("update", lambda: bvh.update())
live = [bpy.data.objects[name] for name in ("Ico", "Cube", "Ball")]
o = rays(20000)
same_hits("after undo", attempt("ray_cast_many", lambda: bvh.ray_cast_many(o, (0, 0, -1))),
          api.build(live).ray_cast_many(o, (0, 0, -1), backend="mathutils"))
print("OBJECTS", sorted(obj.name for obj in bvh.objects))
attempt("build stale", lambda: api.build(objs))
""")
    _check(snippet, must_fail=("stale_hit", "build"), names=("stale", "'Cube'"))
    assert "OBJECTS ['Ball', 'Cube', 'Ico']" in snippet.stdout, snippet.output()
    stale = next(line for line in snippet.lines if line.startswith("ERR build"))
    assert "the reference is stale after undo: fetch the object again, e.g. " \
        "bpy.data.objects['Ico']" in stale, stale


def test_deleted_objects_and_instance_sources():
    snippet = run_in_blender(COMMON + """
objs, cam = scene_objects(bpy.context.scene)
src = sb.mesh_object("Src", sb.ico_mesh("src", 2, 0.4), (0, 0, 0))
inst = sb.collection_instance("Inst", (-2.5, 0, 0), [src])
bvh = api.build(objs + [inst])
bpy.data.objects.remove(objs[1])        # Cube
bpy.data.collections.remove(bpy.data.collections["Inst_src"])
bpy.data.objects.remove(src)
churn()
o = rays(20000)
attempt("ray_cast_many", lambda: bvh.ray_cast_many(o, (0, 0, -1)))
attempt("tree", lambda: bvh.tree)
attempt("update", lambda: bvh.update())
print("SKIPPED", bvh.stats.objects_skipped)
same_hits("after update", attempt("ray_cast_many", lambda: bvh.ray_cast_many(o, (0, 0, -1))),
          api.build([objs[0], objs[2]]).ray_cast_many(o, (0, 0, -1), backend="mathutils"))
bpy.data.objects.remove(cam)
attempt("cast_camera", lambda: bvh.cast_camera(cam, (4, 4)))
""")
    _check(snippet, must_fail=("ray_cast_many", "cast_camera"), may_fail=("tree",),
           names=("deleted", "changed since"))
    assert "deleted since the last build" in snippet.stdout, snippet.output()


@pytest.mark.skipif(not EMBREE, reason="needs the Embree backend (embreex)")
def test_embree_scene_outlives_nothing_it_reads():
    """An Embree scene built before the scene went away keeps answering (it holds its own
    copy of the triangles); one needed after reads nothing freed."""
    snippet = run_in_blender(COMMON + """
tmp = bpy.data.scenes.new("tmp")
objs, cam = scene_objects(tmp)
with bpy.context.temp_override(scene=tmp, view_layer=tmp.view_layers[0]):
    bvh = api.build(objs, bpy.context.evaluated_depsgraph_get())
    other = api.build(objs, bpy.context.evaluated_depsgraph_get(), epsilon=1e-6)
o = rays(5000)
before = bvh.ray_cast_many(o, (0, 0, -1), backend="embree")
bpy.data.scenes.remove(tmp)
churn()
same_hits("kept", attempt("kept", lambda: bvh.ray_cast_many(o, (0, 0, -1), backend="embree")),
          before)
attempt("needed", lambda: other.ray_cast_many(o, (0, 0, -1), backend="embree"))
""")
    _check(snippet, must_fail=("needed",), names=("scene 'tmp'",))
