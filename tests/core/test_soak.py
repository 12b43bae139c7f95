"""Long loops stay flat: the benchmark's synthetic-data loop (tools/bench, soak: objects made,
built, cast against and deleted every iteration), a few dozen iterations, with ``api.build`` and
with the BlenderProc drop-in: no ``bpy.data`` growth, and the cache never holds more than the
latest iteration's trees (trees of deleted objects go at the next build)."""

import bpy

import numpy as np
import pytest
from helpers import id_collection_sizes, load_tool_package

from bvh_leakfree_addon import api

ITERATIONS = 36


@pytest.fixture(scope="module")
def pipeline():
    return load_tool_package("bench").measurements.soak


@pytest.mark.parametrize("pattern", ["ours", "dropin"])
def test_soak_loop_leaves_nothing_and_the_cache_stays_flat(pipeline, pattern):
    rng = np.random.default_rng(3)
    count = 12
    api.clear_cache()
    before = id_collection_sizes()
    trees, hits = [], []
    with api.leak_guard():
        for _ in range(ITERATIONS):
            scene = pipeline.SoakScene(rng, count)
            try:
                origins, directions = scene.rays(200)
                bpy.context.evaluated_depsgraph_get()
                hits.append(pipeline.soak_step(api, pattern, scene.objects, origins, directions,
                                               copy_fixed=None))
            finally:
                scene.delete()
            trees.append(api.cache_info().trees)
    assert id_collection_sizes() == before
    assert min(hits) > 0
    if pattern == "ours":     # at most the latest iteration's trees (linked duplicates share)
        assert max(trees) <= count, trees
        api.build([pipeline.SoakScene(rng, 1).objects[0]])    # deleted objects' trees go now
        assert api.cache_info().trees == 1
    else:                     # the drop-in keeps its latest tree only
        assert set(trees) == {1}, trees
