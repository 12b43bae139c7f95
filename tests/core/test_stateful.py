"""A stateful property test (issue 21, item 2): random sequences of what users do between builds
and queries — build (with the context's depsgraph, or another scene's or view layer's), move,
rename, delete an object, change a modifier, remove a scene or a view layer, undo, reload the
file — and after every step every SceneBVH built so far is queried.  Each query answers, or raises
one line of an expected kind; after ``update()`` the answers equal a fresh build's over the objects
that still exist; never a crash, never a datablock the add-on made.

The machine runs in a fresh interpreter (``helpers.run_in_blender``): a segfault fails this test
with the steps that led to it (printed as they run).  Derandomized, so CI runs the same sequences;
``BVH_STATEFUL_RANDOM=1`` in the environment draws others (``BVH_STATEFUL_EXAMPLES``: how many)."""
from helpers import run_in_blender

MACHINE = r'''
import os
import tempfile

import numpy as np
import scene_builders as sb
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bvh_leakfree_addon import api

RAYS = np.random.default_rng(0)
ORIGINS = np.column_stack([RAYS.uniform(-7, 7, (300, 2)), np.full(300, 12.0)])
EXPECTED = (ReferenceError, RuntimeError, ValueError)
FILE = os.path.join(tempfile.mkdtemp(), "machine.blend")
QUERIES = 0


def say(*words):
    print(*words, flush=True)


def one_line(ex):
    text = str(ex)
    assert text and "\n" not in text and len(text) < 400, repr(text)


def depsgraph_for(label):
    """The depsgraph a fresh build compares with, for a build made with ``label``'s."""
    if label == "context":
        return None
    scene = bpy.data.scenes.get("tmp") if label != "depsgraph" else bpy.context.scene
    layer = scene.view_layers[0] if label != "second layer" else scene.view_layers["second"]
    with bpy.context.temp_override(scene=scene, view_layer=layer):
        return bpy.context.evaluated_depsgraph_get()


class Built:
    """A SceneBVH and what it was built over: session UIDs of its objects."""

    def __init__(self, bvh, uids, label):
        self.bvh, self.uids, self.label = bvh, set(uids), label


class Machine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        bpy.ops.wm.read_factory_settings(use_empty=True)
        api.clear_cache()
        self.count = 0
        self.built = []
        self.pushed = False
        self.saved = False
        self.meshes_made = set()      # names of the meshes this machine made (and not removed)
        for _ in range(3):
            self._add("ico")

    # -- helpers --------------------------------------------------------------------------------
    def _add(self, kind, scene=None):
        self.count += 1
        name = f"{kind}{self.count}"
        mesh = sb.ico_mesh(name, 2, 1.0) if kind == "ico" else sb.cube_mesh(name, 1.6)
        obj = sb.mesh_object(name, mesh, (float(self.count % 5) * 3 - 6, 0.0, 0.0))
        if scene is not None:
            scene.collection.objects.link(obj)
        self.meshes_made.add(name)
        return obj

    def _objects(self):
        return [o for o in bpy.data.objects if o.type == 'MESH']

    # -- rules ----------------------------------------------------------------------------------
    @rule(kind=st.sampled_from(["ico", "cube"]))
    def add(self, kind):
        say("add", kind)
        self._add(kind)

    @rule(given=st.sampled_from(["context", "depsgraph", "tmp scene", "second layer"]),
          data=st.data())
    def build(self, given, data):
        objs = self._objects()
        if not objs:
            return
        chosen = data.draw(st.lists(st.sampled_from(objs), min_size=1, max_size=4, unique=True))
        say("build", given, [o.name for o in chosen])
        if given in ("context", "depsgraph"):
            dg = bpy.context.evaluated_depsgraph_get() if given == "depsgraph" else None
            bvh = api.build(chosen, dg)
        else:
            scene = bpy.data.scenes.get("tmp") or bpy.data.scenes.new("tmp")
            for obj in chosen:
                if scene not in obj.users_scene:
                    scene.collection.objects.link(obj)
            layer = scene.view_layers[0]
            if given == "second layer":
                layer = scene.view_layers.get("second") or scene.view_layers.new("second")
            with bpy.context.temp_override(scene=scene, view_layer=layer):
                bvh = api.build(chosen, bpy.context.evaluated_depsgraph_get())
        self.built.append(Built(bvh, [o.session_uid for o in chosen], given))
        if len(self.built) > 4:
            self.built.pop(0)

    @rule(data=st.data(), dx=st.floats(-2, 2), dz=st.floats(-1, 1))
    def move(self, data, dx, dz):
        objs = self._objects()
        if objs:
            obj = data.draw(st.sampled_from(objs))
            say("move", obj.name, dx, dz)
            obj.location.x += dx
            obj.location.z += dz

    @rule(data=st.data())
    def rename(self, data):
        objs = self._objects()
        if objs:
            obj = data.draw(st.sampled_from(objs))
            say("rename", obj.name)
            obj.name = obj.name + "_r"

    @rule(data=st.data())
    def delete(self, data):
        objs = self._objects()
        if objs:
            obj = data.draw(st.sampled_from(objs))
            say("delete", obj.name)
            mesh = obj.data
            bpy.data.objects.remove(obj)
            self.meshes_made.discard(mesh.name)
            bpy.data.meshes.remove(mesh)

    @rule(data=st.data(), level=st.integers(0, 2))
    def modifier(self, data, level):
        objs = self._objects()
        if objs:
            obj = data.draw(st.sampled_from(objs))
            say("modifier", obj.name, level)
            mod = obj.modifiers.get("sub") or obj.modifiers.new("sub", 'SUBSURF')
            mod.levels = level

    @rule(data=st.data())
    def edit_mesh(self, data):
        objs = self._objects()
        if objs:
            obj = data.draw(st.sampled_from(objs))
            say("edit", obj.name)
            for v in obj.data.vertices:
                v.co.z += 0.1
            obj.data.update()

    @rule()
    def remove_tmp_scene(self):
        scene = bpy.data.scenes.get("tmp")
        if scene is not None:
            say("remove scene tmp")
            bpy.data.scenes.remove(scene)

    @rule()
    def remove_second_layer(self):
        scene = bpy.data.scenes.get("tmp")
        if scene is not None and scene.view_layers.get("second") is not None:
            say("remove view layer second")
            scene.view_layers.remove(scene.view_layers["second"])

    @rule()
    def push_undo(self):
        say("undo push")
        bpy.ops.ed.undo_push(message="machine")
        self.pushed = True
        self.pushed_meshes = set(self.meshes_made)

    @precondition(lambda self: self.pushed)
    @rule()
    def undo(self):
        say("undo")
        bpy.ops.ed.undo_push(message="before undo")
        bpy.ops.ed.undo()
        self.meshes_made = set(self.pushed_meshes)
        self.pushed = False

    @rule()
    def save(self):
        say("save")
        bpy.ops.wm.save_as_mainfile(filepath=FILE, check_existing=False)
        self.saved = True
        self.saved_meshes = set(self.meshes_made)

    @precondition(lambda self: self.saved)
    @rule()
    def reload(self):
        say("reload")
        bpy.ops.wm.open_mainfile(filepath=FILE)
        self.meshes_made = set(self.saved_meshes)
        self.pushed = False

    # -- what must hold after every step ---------------------------------------------------------
    @invariant()
    def no_datablock_made(self):
        assert {m.name for m in bpy.data.meshes} == self.meshes_made, (
            sorted(m.name for m in bpy.data.meshes), sorted(self.meshes_made))

    @invariant()
    def every_query_answers_or_says_why(self):
        global QUERIES
        for built in self.built:
            bvh = built.bvh
            for name, call in (
                    ("ray_cast", lambda: bvh.ray_cast((0.1, 0.2, 12), (0, 0, -1))),
                    ("ray_cast_many", lambda: bvh.ray_cast_many(ORIGINS, (0, 0, -1))),
                    ("find_nearest", lambda: bvh.find_nearest((0.3, 0.1, 4.0))),
                    ("tree", lambda: bvh.tree)):
                QUERIES += 1
                try:
                    call()
                except EXPECTED as ex:
                    one_line(ex)
            try:
                bvh.update()
            except EXPECTED as ex:
                one_line(ex)
                continue
            live = [o for o in bpy.data.objects if o.session_uid in built.uids]
            got = bvh.ray_cast_many(ORIGINS, (0, 0, -1), backend="mathutils")
            if not live:
                assert not got.hit.any(), built.label
                continue
            want = api.build(live, depsgraph_for(built.label))
            want = want.ray_cast_many(ORIGINS, (0, 0, -1), backend="mathutils")
            assert np.array_equal(got.hit, want.hit), (built.label, got.hit.sum(), want.hit.sum())
            assert np.allclose(got.distance[got.hit], want.distance[want.hit], atol=1e-5)


from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

run_state_machine_as_test(Machine, settings=settings(
    max_examples=int(os.environ.get("BVH_STATEFUL_EXAMPLES", "12")), stateful_step_count=14,
    deadline=None, database=None, derandomize=not os.environ.get("BVH_STATEFUL_RANDOM"),
    suppress_health_check=list(HealthCheck)))
print("QUERIES", QUERIES)
'''


def test_random_sequences_never_crash_and_answer_or_say_why():
    snippet = run_in_blender(MACHINE, timeout=900)
    snippet.check()
    queries = int(next(line.split()[1] for line in snippet.lines if line.startswith("QUERIES")))
    assert queries > 300, snippet.output()
    assert "Falsifying" not in snippet.stdout + snippet.stderr, snippet.output()
    steps = {line.split()[0] for line in snippet.lines if line and not line.startswith("QUERIES")}
    # the sequences reach every kind of step
    assert {"build", "move", "delete", "undo", "reload", "remove", "rename",
            "modifier"} <= steps, steps
