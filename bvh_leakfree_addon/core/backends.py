# SPDX-License-Identifier: GPL-3.0-or-later
"""Which backend casts a batch of rays: ``"mathutils"`` (the object-space trees, ``rays``; always
there), ``"embree"`` (``embree``; when ``embreex`` imports) or ``"auto"``.

``"auto"`` takes Embree when it is available and either an Embree scene already exists for the
build (it then wins from the first ray: ~40 µs per call against 0.2–0.8 ms) or the batch is large
enough to pay for building one: ``rays >= crossover(top)``, where the crossover is the predicted
Embree build time over the predicted time saved per ray.  The model, measured on S1–S4 (2 cores,
bpy 5.0.1; ``tools/bench``'s ``embree`` measurement finds the real crossover next to the model's
prediction):

* Embree build: embreex copies the geometry element by element (~0.23 µs a vertex, ~0.33 µs a
  triangle), Embree builds its BVH (~0.22 µs a triangle), reading and transforming the rows'
  triangles costs ~12 µs a row, and a scene ~30 µs.  Closed meshes have about half as many
  vertices as triangles: 0.67 µs a triangle.
* mathutils: ~4.4 µs a ray, plus ~0.016 µs a ray for each object box (the slab test against
  every box is brute force: it is what makes 2,000 objects cost 36 µs a ray).
* Embree: ~0.5 µs a ray.

Predicted / measured crossover: S1 (20 × 5,120 tris) 16k / 14k rays, S2 (200 × 320) 6.3k / 5.0k,
S3 (2,000 × 20) 1.3k / 1.3k, S4 (1 × 327,680) 57k / 54k.  Either backend gives results within
the same tolerances (see the Embree tests), so a wrong guess costs time, never correctness.
"""
import math

from . import embree

__all__ = ("BACKENDS", "available", "summary", "check", "crossover", "embree_pays")

BACKENDS = ("embree", "mathutils")

EMBREE_BUILD_US = 30.0
EMBREE_BUILD_US_PER_TRIANGLE = 0.67
EMBREE_BUILD_US_PER_ROW = 12.0
EMBREE_US_PER_RAY = 0.5
MATHUTILS_US_PER_RAY = 4.4
MATHUTILS_US_PER_RAY_PER_BOX = 0.016


def available():
    """Names of the backends that can be used here, fastest first."""
    return tuple(name for name in BACKENDS if name != "embree" or embree.available())


def summary():
    """``(fast, sentence)``: whether batched rays (``ray_cast_many``, camera maps) can use Embree
    here, and one sentence for people saying which backend they use and, without Embree, why
    (e.g. *"Batched rays use mathutils, the slower backend: the embreex package is not installed
    for this Python 3.14"*)."""
    if embree.available():
        return True, f"Batched rays use Embree (embreex {embree.version() or 'of unknown version'})"
    return False, f"Batched rays use mathutils, the slower backend: {embree.unavailable_reason()}"


def check(backend):
    """``backend`` as a backend name: ``"auto"``, or one of :func:`available` (``TypeError`` /
    ``ValueError`` / ``RuntimeError`` naming the problem)."""
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string ('auto', 'embree' or 'mathutils'), got "
                        f"{type(backend).__name__}")
    if backend == "auto":
        return backend
    if backend not in BACKENDS:
        raise ValueError(f"unknown ray backend {backend!r}: use 'auto', 'embree' or 'mathutils'")
    if backend == "embree" and not embree.available():
        raise RuntimeError(f"the 'embree' ray backend is not available here: "
                           f"{embree.unavailable_reason()}; api.ray_backends() lists what is "
                           f"('auto' falls back to 'mathutils')")
    return backend


def crossover(top):
    """Predicted batch size from which building an Embree scene for ``top`` and casting with it
    beats the mathutils backend (see the module doc)."""
    triangles = sum(entry.triangles for entry in top.entries)
    build_us = (EMBREE_BUILD_US + EMBREE_BUILD_US_PER_TRIANGLE * triangles
                + EMBREE_BUILD_US_PER_ROW * len(top))
    saved_us = MATHUTILS_US_PER_RAY + MATHUTILS_US_PER_RAY_PER_BOX * len(top) - EMBREE_US_PER_RAY
    return max(1, math.ceil(build_us / saved_us))


def embree_pays(top, rays):
    """``"auto"``: cast ``rays`` rays into ``top`` with Embree?"""
    if rays == 0 or len(top) == 0 or not embree.available():
        return False
    return embree.existing_scene(top) is not None or rays >= crossover(top)
