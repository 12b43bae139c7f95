"""What every measurement shares, in one place: the process's memory figures, the scenes, the
references (reimplemented from their description, not BlenderProc's code), the timing helpers and
the add-on installed for the monitor's measurements.

``bpy`` is imported lazily (:func:`bpy`): the CLI sets ``BLENDER_USER_RESOURCES`` before the first
import, and the parent process of a run never imports it.
"""
import gc
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ADDON_MODULE = "bl_ext.user_default.bvh_leakfree_addon"

# Triangles of a bmesh icosphere: 20 * 4 ** (subdivisions - 1).
SCENES = {"S1": (20, 5), "S2": (200, 3), "S3": (2000, 1), "S4": (1, 8)}
TINY_SCENES = {"S1": (3, 2), "S2": (8, 1), "S3": (20, 1), "S4": (1, 3)}


# ================================================================================================
# Process measurements (Linux /proc and glibc; None or False elsewhere)
# ================================================================================================

def rss_bytes():
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_bytes():
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def reset_peak_rss():
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS; False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def trim_heap():
    """Give freed heap memory back to the kernel (glibc ``malloc_trim``), so that a later RSS or
    peak-RSS reading counts memory held, not memory the allocator kept for reuse.  Returns
    whether memory was released, or None where there is no such call."""
    try:
        import ctypes
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return None


def pin_malloc():
    """glibc: no heap trimming and a fixed mmap threshold, so that a build's time does not swing
    with the page faults of whichever build ran first after memory went back to the system;
    False elsewhere."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, 64 << 20)) and bool(libc.mallopt(-1, 256 << 20))
    except (OSError, AttributeError):
        return False


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


# ================================================================================================
# Blender, the add-on's API, the scenes
# ================================================================================================

def bpy():
    import bpy as module  # imported lazily: the CLI sets BLENDER_USER_RESOURCES first
    return module


def api():
    """The add-on's script API from this checkout."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bvh_leakfree_addon import api as module
    return module


def factory_reset():
    bpy().ops.wm.read_factory_settings(use_empty=True)


def ico_mesh(name, subdivisions):
    import bmesh
    mesh = bpy().data.meshes.new(name)
    bm = bmesh.new()
    try:
        bmesh.ops.create_icosphere(bm, subdivisions=subdivisions, radius=1.0)
        bm.to_mesh(mesh)
    finally:
        bm.free()
    return mesh


def ico_scene(count, subdivisions, spacing=3.0):
    """``count`` icospheres (radius 1), each with its own mesh, on a 3D grid, rotated.
    Returns (objects, half extent of the scene)."""
    data = bpy().data
    factory_reset()
    base = ico_mesh("ico", subdivisions)
    side = max(1, math.ceil(count ** (1 / 3) - 1e-9))
    collection = bpy().context.scene.collection
    objects = []
    for i in range(count):
        obj = data.objects.new(f"ico{i}", base if i == 0 else base.copy())
        obj.location = (i % side * spacing, i // side % side * spacing,
                        i // (side * side) * spacing)
        obj.rotation_euler = (0.1 * i, 0.2, 0.05 * i)
        collection.objects.link(obj)
        objects.append(obj)
    bpy().context.evaluated_depsgraph_get()
    return objects, 0.5 * side * spacing + 1.0


def scene_of(cfg, name):
    """Scene ``name`` of the run's configuration (``cfg["scenes"]``): (objects, half extent)."""
    return ico_scene(*cfg["scenes"][name])


def triangles(count, subdivisions):
    return count * 20 * 4 ** (subdivisions - 1)


def scene_label(name, scenes):
    count, sub = scenes[name]
    return f"{name} {count:,} × {triangles(1, sub):,} tris"


def id_sizes():
    """``{collection: len(bpy.data.<collection>)}`` of every ID type's collection (the benchmark's
    own copy: it must not trust the code it measures).  Never ``all_ids`` (5.2, typed ``ID``: every
    ID again; see ``core.compat``)."""
    data = bpy().data
    return {p.identifier: len(getattr(data, p.identifier))
            for p in data.bl_rna.properties
            if p.type == 'COLLECTION' and p.fixed_type.identifier != "ID"}


def scene_center(objects):
    import numpy as np
    return np.array([tuple(o.matrix_world.translation) for o in objects]).mean(axis=0)


def random_rays(n, center, half, objects, seed):
    """Rays from a box around the scene towards points near random objects (most of them hit)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    c = np.asarray(center, dtype=np.float64)
    origins = c + rng.uniform(-1.5 * half, 1.5 * half, (n, 3))
    centers = np.array([tuple(o.matrix_world.translation) for o in objects])
    targets = centers[rng.integers(0, len(centers), n)] + rng.normal(0.0, 0.6, (n, 3))
    directions = targets - origins
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    return origins, directions


def mover(objects, half, seed):
    """Moves every object to a random place in the scene's box (a pose sampler's step)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    center = scene_center(objects)

    def move():
        positions = center + rng.uniform(-half, half, (len(objects), 3))
        for obj, p in zip(objects, positions, strict=False):
            obj.location = p
    return move


# ================================================================================================
# References (BlenderProc 2.8.0 itself where installed; the leak shown by its old steps) and ours
# ================================================================================================

def ref_copy_leaky(objects):
    """copy_leaky: copy, transform, append to one bmesh, FromBMesh; the copies are never removed
    (BlenderProc's ``create_bvh_tree_multi_objects`` before the fix)."""
    import bmesh
    from mathutils.bvhtree import BVHTree
    bm = bmesh.new()
    try:
        for obj in objects:
            mesh = obj.data.copy()
            mesh.transform(obj.matrix_world)
            bm.from_mesh(mesh)
        return BVHTree.FromBMesh(bm)
    finally:
        bm.free()


def blenderproc_builder():
    """BlenderProc 2.8.0's own ``(create_bvh_tree_multi_objects, MeshObject)`` imported inside
    this ``bpy`` (``requirements/blenderproc.txt``), or None where it is not installed."""
    import os
    os.environ.setdefault("OUTSIDE_OF_THE_INTERNAL_BLENDER_PYTHON_ENVIRONMENT_BUT_IN_RUN_SCRIPT",
                          "1")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    try:
        from blenderproc.python.types import MeshObjectUtility
    except ImportError:
        return None
    return MeshObjectUtility.create_bvh_tree_multi_objects, MeshObjectUtility.MeshObject


def ref_copy_fixed(objects, sample=None):
    """copy_fixed: BlenderProc 2.8.0's own ``create_bvh_tree_multi_objects`` (copy, transform,
    ``from_mesh``, ``bpy.data.meshes.remove`` per object, then ``FromBMesh``) on ``MeshObject``
    wrappers, as its users call it; where BlenderProc is not installed, the same steps written
    here (``_copy_fixed_steps``).  ``sample``: only the first that many objects (per-object
    timing of huge scenes)."""
    chosen = objects[:sample] if sample else objects
    real = blenderproc_builder()
    if real is None:
        return _copy_fixed_steps(chosen)
    build, mesh_object = real
    return build([mesh_object(obj) for obj in chosen])


def _copy_fixed_steps(objects):
    """BlenderProc 2.8.0's steps, written here: copy_leaky plus ``bpy.data.meshes.remove``."""
    import bmesh
    from mathutils.bvhtree import BVHTree
    bm = bmesh.new()
    try:
        add_transformed_copies(bm, objects, "matrix_world")
        return BVHTree.FromBMesh(bm)
    finally:
        bm.free()


def add_transformed_copies(bm, objects, matrix):
    """Add each object's mesh to ``bm`` through a copy transformed by its ``matrix`` attribute
    (``"matrix_world"``, or ``"matrix_basis"`` for objects moved since the last evaluation),
    each copy removed at once (BlenderProc's fixed steps)."""
    meshes = bpy().data.meshes
    for obj in objects:
        mesh = obj.data.copy()
        try:
            mesh.transform(getattr(obj, matrix))
            bm.from_mesh(mesh)
        finally:
            meshes.remove(mesh)


def ref_floor(objects):
    """floor: Σ per-object BVHTree.FromObject (object space, no merging, no hit → object map):
    Blender's C build, the near-physical limit we quote our distance from."""
    from mathutils.bvhtree import BVHTree
    depsgraph = bpy().context.evaluated_depsgraph_get()
    return [BVHTree.FromObject(obj.evaluated_get(depsgraph), depsgraph) for obj in objects]


def ours_cold(objects):
    """ours, cold: empty cache, then ``api.build`` (a queryable SceneBVH)."""
    core = api()
    core.clear_cache()
    return core.build(objects)


def ours_cold_timed(objects):
    """ours, timed after :func:`cold_setups` emptied the cache untimed: freeing the previous run's
    trees is not build work, as the references' results are also freed outside the timed
    region."""
    return api().build(objects)


REFERENCES = {"copy_leaky": ref_copy_leaky, "copy_fixed": ref_copy_fixed, "floor": ref_floor,
              "ours": ours_cold}


def cold_setups(objects):
    """Untimed setup before each cold run: the evaluated meshes are re-evaluated (so no runtime
    cache of Blender's, e.g. triangulation, survives from the previous run) for the two that read
    them, and our cache is emptied for ours."""
    meshes = list({obj.data.as_pointer(): obj.data for obj in objects}.values())

    def re_evaluate():
        for mesh in meshes:
            mesh.update_tag()
        settle()

    def ours():
        re_evaluate()
        api().clear_cache()

    return {"floor": re_evaluate, "ours": ours}


# ================================================================================================
# Timing
# ================================================================================================

def interleaved(functions, reps, warmup=1, aftermath=None, setups=None):
    """Times of each ``functions[name]()`` over ``reps`` rounds, run in turn within each round (so
    load from other processes hits all of them).  Results are dropped outside the timed region.

    After each call the depsgraph is brought up to date, untimed (``settle``): removing meshes (the
    copy patterns) leaves a relations rebuild behind that would otherwise be charged to whichever
    function runs next.  Not charging it to the copy patterns is conservative (in our disfavour);
    ``aftermath`` (a dict) receives those untimed seconds per function, for the record.
    ``setups[name]()`` runs untimed before each call of ``functions[name]``."""
    times = {name: [] for name in functions}
    setups = setups or {}
    gc.collect()     # ~40 ms in a bpy process: once, then the collector is off while timing
    for round_ in range(warmup + reps):
        for name, fn in functions.items():
            if name in setups:
                setups[name]()
            with no_gc():
                start = time.perf_counter()
                result = fn()
                elapsed = time.perf_counter() - start
            del result
            settled = settle()
            if round_ >= warmup:
                times[name].append(elapsed)
                if aftermath is not None:
                    aftermath.setdefault(name, []).append(settled)
    return times


def settle():
    """Bring the depsgraph up to date (untimed by callers); returns the seconds it took."""
    start = time.perf_counter()
    bpy().context.evaluated_depsgraph_get()
    return time.perf_counter() - start


class no_gc:
    """The cyclic garbage collector off inside the block (as ``timeit`` does)."""

    def __enter__(self):
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was_enabled:
            gc.enable()


def summary(times):
    return {"best": min(times), "median": statistics.median(times), "n": len(times),
            "times": [round(t, 7) for t in times]}


# ================================================================================================
# The add-on installed (the monitor's measurements)
# ================================================================================================

def enable_addon(zip_path, installed):
    """Install the add-on from the zip (unless the caller's fixture did) and enable it; the
    caller disables it (:func:`disable_addon`)."""
    import addon_utils
    if not installed:
        if not os.environ.get("BLENDER_USER_RESOURCES"):
            raise RuntimeError("bench: the monitor jobs install the add-on: set "
                               "BLENDER_USER_RESOURCES to a throwaway folder before importing bpy "
                               "(the bench CLI does) so the user's own Blender is not touched")
        _install_addon(zip_path)
    if addon_utils.enable(ADDON_MODULE, default_set=True) is None:
        raise RuntimeError(f"bench: could not enable {ADDON_MODULE}")


def disable_addon():
    import addon_utils
    addon_utils.disable(ADDON_MODULE, default_set=True)


def addon_module(name):
    """A module of the installed add-on, e.g. ``addon_module("monitor.service")``."""
    import importlib
    return importlib.import_module(f"{ADDON_MODULE}.{name}")


def _install_addon(zip_path):
    if zip_path is None:
        found = sorted((ROOT / "dist").glob("bvh_leakfree_addon-*.zip"))
        if not found:
            raise SystemExit("bench: no dist zip for the monitor job: run `make dist` or pass "
                             "--zip")
        zip_path = found[-1]
    result = bpy().ops.extensions.package_install_files(
        filepath=str(Path(zip_path).resolve()), repo="user_default", enable_on_install=False)
    if result != {'FINISHED'}:
        raise SystemExit(f"bench: installing {zip_path} failed: {result}")


def add_monitor_meshes(n):
    """``n`` meshes in the file for the monitor to count: half used by objects, half orphans."""
    data = bpy().data
    src = data.meshes.new("m")
    collection = bpy().context.scene.collection
    for i in range(n - 1):
        mesh = src.copy()
        if i % 2 == 0:
            collection.objects.link(data.objects.new(f"o{i}", mesh))
