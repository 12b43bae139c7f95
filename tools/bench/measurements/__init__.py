"""Every measurement, one module each, in the order of the results table.  Adding one: a module
here that defines ``MEASUREMENT`` (see ``bench.measurement.Measurement``), plus its line below."""
from . import (
    blenderproc,
    cold,
    embree,
    floor,
    instancers,
    leaks,
    loop,
    memory,
    monitor,
    moved,
    rays,
    recast,
    reeval,
    scaling,
    soak,
    trend,
)

ALL = (
    cold.MEASUREMENT,       # 1 cold build (a part of each scene's job)
    scaling.MEASUREMENT,    # 2 scaling with the object count
    reeval.MEASUREMENT,     # 8 a re-evaluated mesh's peak RSS
    loop.MEASUREMENT,       # 3 the sampler loop (a scene part)
    recast.MEASUREMENT,     # 4 an unchanged re-cast (a scene part)
    rays.MEASUREMENT,       # 5 ray_cast_many vs Scene.ray_cast (a scene part)
    memory.MEASUREMENT,     # 6 peak RSS of one build
    trend.MEASUREMENT,      # 6 the 1,000-cycle trend
    floor.MEASUREMENT,      # 1 the cold build vs the C floor
    moved.MEASUREMENT,      # 3b rebuilds after moving everything
    soak.MEASUREMENT,       # 10 the synthetic-data soak loop
    monitor.MEASUREMENT,    # 7 the monitor's tick
    leaks.MEASUREMENT,      # 9, 10 leak_guard's overhead, the monitor's lists and graph
    embree.MEASUREMENT,     # 9 batched rays with Embree, the auto crossover
    blenderproc.MEASUREMENT,  # 11 BlenderProc 2.8.0 itself: the drop-ins, visibility
    instancers.MEASUREMENT,  # 12 builds over instancers: no wrapper, no RSS left behind
)
