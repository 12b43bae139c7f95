# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure core: it imports nothing of the add-on outside this folder, and no UI.

Data flow of a build, one module each (``SceneBVH._build``: plan → gather → top level → finish):

* ``validate``  checks what callers pass (objects, vectors, distances, ray arrays);
* ``fastpath``  plans a build and finishes it: it keeps the latest build, and skips the walk when
  the change watch (``watch``, the core's only app handlers) proves nothing, or only transforms,
  changed since;
* ``gather``    walks the objects and instances: each one's object-space tree (``geometry`` builds
  it, ``cache`` keeps it under a key that proves it current: one lookup, one store) and world
  matrix (``viewlayer``: read in bulk);
* ``toplevel``  turns that into immutable arrays (matrices, inverses, boxes: ``linalg``);
* ``bvh``       ``build()`` and ``SceneBVH``: its queries (``queries``), ``rays`` (many rays at
  once), ``merge`` (one world-space tree on demand);
* ``blenderproc`` BlenderProc's ``create_bvh_tree_multi_objects``, leak-free (a drop-in; what it
  keeps between calls: ``blenderproc_memory``); ``blenderproc_rays``: BlenderProc's camera rays,
  bit for bit, for ``blenderproc_compat``;
* ``visibility`` per object: pixels that see it first, pixels whose rays cross it;
  ``embree_soup``: Embree scenes over plain triangle arrays and their lean queries;
* ``results``   what queries hand back (``Hit``, ``RayResults``, ``BuildStats``);
* ``datablocks`` and ``leaks``: counting, purging and guarding ``bpy.data``;
* ``compat``    every difference between the Blender versions the add-on runs on.
"""
