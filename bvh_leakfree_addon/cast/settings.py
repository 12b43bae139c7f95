# SPDX-License-Identifier: GPL-3.0-or-later
"""The cast's settings, declared once: :class:`CastSettings` lives in the add-on preferences (the
defaults every cast uses, also shown in the sidebar) and the operator takes a copy of its ray
options (:func:`operator_properties`); :meth:`CastSettings.draw` draws them in all three places."""
import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, FloatVectorProperty

from ..cursor_ray import INPUTS
from ..utils import feature_settings, tag_redraw

__all__ = ("DIRECTION_ITEMS", "CAST_INPUTS", "RAY_OPTIONS", "CastSettings", "cast_settings",
           "copied_properties", "operator_properties", "direction_label")

# Direction modes of the cast.  Scripts depend on these identifiers: never rename one.
DIRECTION_ITEMS = (
    ('VIEW', "View", "From the viewer through the 3D cursor, away from the eye (orthographic "
     "views: along the view axis); outside a 3D Viewport this falls back to Cursor -Z"),
    ('CURSOR_NEG_Z', "Cursor -Z", "Along the 3D cursor's local -Z axis"),
    ('CURSOR_Z', "Cursor +Z", "Along the 3D cursor's local +Z axis"),
    ('CURSOR_X', "Cursor +X", "Along the 3D cursor's local +X axis"),
    ('CURSOR_NEG_X', "Cursor -X", "Along the 3D cursor's local -X axis"),
    ('CURSOR_Y', "Cursor +Y", "Along the 3D cursor's local +Y axis"),
    ('CURSOR_NEG_Y', "Cursor -Y", "Along the 3D cursor's local -Y axis"),
    ('GLOBAL_NEG_Z', "Global -Z", "Straight down, along the world -Z axis"),
    ('GLOBAL_Z', "Global +Z", "Straight up, along the world +Z axis"),
    ('GLOBAL_X', "Global +X", "Along the world +X axis"),
    ('GLOBAL_NEG_X', "Global -X", "Along the world -X axis"),
    ('GLOBAL_Y', "Global +Y", "Along the world +Y axis"),
    ('GLOBAL_NEG_Y', "Global -Y", "Along the world -Y axis"),
    ('CUSTOM', "Custom", "Along the Custom Direction vector (world space)"),
)

#: what a ray from the cursor takes (``cursor_ray.cast_from_cursor``), and what a result keeps
CAST_INPUTS = INPUTS
#: the operator's properties: the cast's inputs and what to do with a hit (the rest: the overlay)
RAY_OPTIONS = CAST_INPUTS + ("snap_cursor", "select_hit")


def direction_label(mode):
    """``'GLOBAL_NEG_Z'`` → ``'Global -Z'``."""
    return next((name for ident, name, _ in DIRECTION_ITEMS if ident == mode), mode)


def _redraw_viewports(_self, context):
    tag_redraw(context)


class CastSettings(bpy.types.PropertyGroup):
    """Settings of "Ray Cast from 3D Cursor" and its viewport overlay (add-on preferences)."""

    direction: EnumProperty(
        name="Direction", items=DIRECTION_ITEMS, default='VIEW',
        description="Direction of the ray from the 3D cursor")
    custom_direction: FloatVectorProperty(
        name="Custom Direction", size=3, subtype='XYZ', default=(0.0, 0.0, -1.0),
        description="World-space direction for the Custom mode (any non-zero length)")
    distance: FloatProperty(
        name="Distance", subtype='DISTANCE', default=100.0, min=1e-6, soft_max=10000.0,
        description="Maximum distance of the ray from the 3D cursor")
    evaluated: BoolProperty(
        name="Modifiers", default=True,
        description="Cast against evaluated geometry (modifiers, shape keys, geometry nodes) "
                    "instead of the original mesh data")
    instances: BoolProperty(
        name="Instances", default=True,
        description="Include instances of selected instancers (collection instances, geometry "
                    "node instances)")
    snap_cursor: BoolProperty(
        name="Snap Cursor", default=False,
        description="On a hit, move the 3D cursor to it and align its Z axis with the surface "
                    "normal")
    select_hit: BoolProperty(
        name="Select Object", default=False,
        description="On a hit, make the object that was hit active and selected")
    show_overlay: BoolProperty(
        name="Show Overlay", default=True, update=_redraw_viewports,
        description="Draw the last ray, its hit point and the surface normal in the 3D Viewport")
    ray_color: FloatVectorProperty(
        name="Ray", subtype='COLOR_GAMMA', size=4, min=0.0, max=1.0,
        default=(1.0, 0.75, 0.1, 0.9), update=_redraw_viewports,
        description="Colour of the ray in the viewport overlay")
    hit_color: FloatVectorProperty(
        name="Hit Point", subtype='COLOR_GAMMA', size=4, min=0.0, max=1.0,
        default=(1.0, 0.2, 0.2, 1.0), update=_redraw_viewports,
        description="Colour of the hit point marker in the viewport overlay")
    normal_color: FloatVectorProperty(
        name="Normal", subtype='COLOR_GAMMA', size=4, min=0.0, max=1.0,
        default=(0.25, 0.6, 1.0, 1.0), update=_redraw_viewports,
        description="Colour of the surface normal in the viewport overlay")
    line_width: FloatProperty(
        name="Line Width", default=2.0, min=1.0, max=10.0, update=_redraw_viewports,
        description="Width in pixels of the overlay's lines")

    def draw(self, layout, overlay='ALL'):
        """Draw the settings.  ``overlay``: ``'ALL'`` (preferences), ``'TOGGLE'`` (the sidebar:
        only Show Overlay) or ``'NONE'`` (the operator's redo panel: ``self`` is the operator,
        which has the ray options only)."""
        col = layout.column()
        col.use_property_split = True
        col.use_property_decorate = False
        col.prop(self, "direction")
        if self.direction == 'CUSTOM':
            col.prop(self, "custom_direction")
        col.prop(self, "distance")
        sub = col.column(heading="Use", align=True)
        sub.prop(self, "evaluated")
        sub.prop(self, "instances")
        sub = col.column(heading="On Hit", align=True)
        sub.prop(self, "snap_cursor")
        sub.prop(self, "select_hit")
        if overlay == 'NONE':
            return
        col.separator()
        col.prop(self, "show_overlay")
        if overlay == 'ALL':
            sub = col.column()
            sub.active = self.show_overlay
            for name in ("ray_color", "hit_color", "normal_color", "line_width"):
                sub.prop(self, name)


def copied_properties(names, change):
    """New property declarations for ``names``, made from those of :class:`CastSettings`:
    ``change(name, keywords)`` adjusts each one's keyword arguments (a copy) in place."""
    props = {}
    for name in names:
        declared = CastSettings.__annotations__[name]
        keywords = dict(declared.keywords)
        change(name, keywords)
        props[name] = declared.function(**keywords)
    return props


def operator_properties():
    """The ray options as operator properties: the same declarations, plus ``SKIP_SAVE`` so a
    fresh invocation takes the preferences' values rather than the last run's (F9 redo still keeps
    the values of the run being redone)."""
    def skip_save(_name, keywords):
        keywords["options"] = set(keywords.get("options", ())) | {'SKIP_SAVE'}

    return copied_properties(RAY_OPTIONS, skip_save)


def cast_settings(context=None):
    """The cast's settings: the add-on preferences, or their declared defaults when the add-on is
    not enabled."""
    return feature_settings(context, "cast", CastSettings)

