# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure core: it imports nothing of the add-on outside this folder, and no UI.

Data flow of a build, one module each:

* ``validate``  checks what callers pass (objects, vectors, distances, ray arrays);
* ``gather``    walks the objects and instances: each one's object-space tree (``geometry`` builds
  it, ``cache`` keeps it and proves it current with ``watch``, what Blender re-evaluated since)
  and world matrix (``viewlayer``: read in bulk);
* ``toplevel``  turns that into immutable arrays (matrices, inverses, boxes: ``linalg``);
* ``bvh``       ``build()`` and ``SceneBVH``: single-ray queries, ``fastpath`` (skip the walk when
  nothing or only transforms changed), ``rays`` (many rays at once), ``merge`` (one world-space
  tree on demand);
* ``blenderproc`` BlenderProc's ``create_bvh_tree_multi_objects``, leak-free (a drop-in; what it
  keeps between calls: ``blenderproc_memory``); ``blenderproc_rays``: BlenderProc's camera rays,
  bit for bit, for ``blenderproc_compat``;
* ``visibility`` per object: pixels that see it first, pixels whose rays cross it;
  ``embree_soup``: Embree scenes over plain triangle arrays and their lean queries;
* ``results``   what queries hand back (``Hit``, ``RayResults``, ``BuildStats``);
* ``datablocks`` and ``leaks``: counting, purging and guarding ``bpy.data``;
* ``compat``    every difference between the Blender versions the add-on runs on.
"""
