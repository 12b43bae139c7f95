"""Keys, typing and the pointer on the X display, through the XTEST extension (libXtst, via ctypes).

The GUI test first drove these with xdotool; xdotool 3.20160805 picks the modifiers of a key from
the first entry of the key's type in the keymap, and Debian sid's keymap gives the F keys a type
whose first entry is Alt: ``xdotool key F3`` reached Blender as Alt+F3 (no menu search), and the
typed search text then went to the 3D viewport as hotkeys.  Here a key is its keycode, pressed with
exactly the modifiers asked for (Shift added only for a character that needs it).

``unavailable()`` says why the display cannot be driven, if so; nothing else is needed (no tool).
"""
import ctypes
import ctypes.util
import os

_LIB = {}

# Names used for characters that have no keysym of their own name.
_CHAR_KEYSYMS = {" ": "space", "-": "minus", ".": "period", ",": "comma", "_": "underscore",
                 "/": "slash", "(": "parenleft", ")": "parenright", ":": "colon"}
_MODIFIERS = {"ctrl": "Control_L", "shift": "Shift_L", "alt": "Alt_L"}


def _open():
    """libX11, libXtst and a display connection, opened once."""
    if not _LIB:
        x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        xtst = ctypes.CDLL(ctypes.util.find_library("Xtst") or "libXtst.so.6")
        vp, ul, ui, i = ctypes.c_void_p, ctypes.c_ulong, ctypes.c_uint, ctypes.c_int
        x11.XOpenDisplay.restype, x11.XOpenDisplay.argtypes = vp, [ctypes.c_char_p]
        x11.XStringToKeysym.restype, x11.XStringToKeysym.argtypes = ul, [ctypes.c_char_p]
        x11.XKeysymToKeycode.restype, x11.XKeysymToKeycode.argtypes = ctypes.c_ubyte, [vp, ul]
        x11.XkbKeycodeToKeysym.restype = ul
        x11.XkbKeycodeToKeysym.argtypes = [vp, ctypes.c_ubyte, i, i]
        x11.XSync.argtypes, x11.XCloseDisplay.argtypes = [vp, i], [vp]
        xtst.XTestFakeKeyEvent.argtypes = [vp, ui, i, ul]
        xtst.XTestFakeButtonEvent.argtypes = [vp, ui, i, ul]
        xtst.XTestFakeMotionEvent.argtypes = [vp, i, i, i, ul]
        display = x11.XOpenDisplay(None)
        if not display:
            raise RuntimeError(f"cannot open the X display {os.environ.get('DISPLAY')!r}")
        _LIB.update(x11=x11, xtst=xtst, display=display)
    return _LIB["x11"], _LIB["xtst"], _LIB["display"]


def unavailable():
    """Why the X display cannot be driven (libX11 or libXtst missing, DISPLAY not open), or ''."""
    try:
        _open()
    except (OSError, RuntimeError) as error:
        return str(error)
    return ""


def close():
    if _LIB:
        _LIB["x11"].XCloseDisplay(_LIB.pop("display"))
        _LIB.clear()


def _keysym(name):
    x11, _xtst, _display = _open()
    sym = x11.XStringToKeysym(name.encode())
    if not sym:
        raise ValueError(f"no X keysym is called {name!r}")
    return sym


def _keycode(sym, name):
    x11, _xtst, display = _open()
    code = x11.XKeysymToKeycode(display, sym)
    if not code:
        raise ValueError(f"the X keymap has no key for {name!r}")
    return code


def _press(codes):
    """Press CODES in order, release them in reverse, and wait until the X server has them."""
    x11, xtst, display = _open()
    for code in codes:
        xtst.XTestFakeKeyEvent(display, code, 1, 0)
    for code in reversed(codes):
        xtst.XTestFakeKeyEvent(display, code, 0, 0)
    x11.XSync(display, 0)


def key(combo):
    """Press and release a key or combination by X keysym names: ``key("F3")``,
    ``key("ctrl+z")``, ``key("Escape")``."""
    names = [_MODIFIERS.get(part, part) for part in combo.split("+")]
    _press([_keycode(_keysym(name), name) for name in names])


def type_text(text):
    """Type TEXT key by key (Shift where a character is on the key's second level)."""
    x11, _xtst, display = _open()
    shift = _keycode(_keysym("Shift_L"), "Shift_L")
    for char in text:
        sym = _keysym(_CHAR_KEYSYMS.get(char, char))
        code = _keycode(sym, char)
        unshifted = x11.XkbKeycodeToKeysym(display, code, 0, 0)
        _press([shift, code] if unshifted != sym else [code])


def move(x, y):
    """Move the pointer to (x, y) on the screen (pixels from the top left)."""
    x11, xtst, display = _open()
    xtst.XTestFakeMotionEvent(display, -1, int(x), int(y), 0)
    x11.XSync(display, 0)


def click(button=1):
    x11, xtst, display = _open()
    xtst.XTestFakeButtonEvent(display, button, 1, 0)
    xtst.XTestFakeButtonEvent(display, button, 0, 0)
    x11.XSync(display, 0)


def button(pressed, number=1):
    """Press (``pressed``) or release a pointer button, e.g. to drag: press, move, release."""
    x11, xtst, display = _open()
    xtst.XTestFakeButtonEvent(display, number, 1 if pressed else 0, 0)
    x11.XSync(display, 0)
