"""What a measurement is: the one way a module of ``measurements/`` registers with the suite."""
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class JobContext:
    """What a job runs with: the run's configuration (every measurement's settings merged) and
    the add-on zip for the jobs that install it."""

    cfg: dict
    zip_path: object = None
    addon_installed: bool = False   #: the caller (the smoke test's fixture) installed the zip


@dataclass(frozen=True)
class Measurement:
    """One measurement (an ``--only`` name): its settings, the jobs it runs, its rows.

    A job runs in a fresh process (``jobs[kind](ctx, *args)`` for every ``(job id, kind, args)``
    that ``plan(cfg)`` lists) and returns plain JSON data.  A *scene part* instead runs inside the
    shared job of a benchmark scene, ``scene-<name>`` (the scene is made once for every part):
    ``scene_part(ctx, name, objects, half)`` on each scene ``scenes(cfg)`` names, stored under the
    measurement's name; ``needs`` names parts it reads (they run with it).  ``rows(jobs, cfg)``
    turns the results of every job into table rows.
    """

    name: str
    rows: Callable
    full: dict = field(default_factory=dict)    #: its settings at full size
    tiny: dict = field(default_factory=dict)    #: ... and at the smoke test's tiny size
    plan: Callable = None
    jobs: dict = field(default_factory=dict)
    scene_part: Callable = None
    scenes: Callable = None
    needs: tuple = ()

    def scene_names(self, cfg):
        return tuple(self.scenes(cfg)) if self.scenes else tuple(cfg["scenes"])
