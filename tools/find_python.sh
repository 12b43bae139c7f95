#!/usr/bin/env sh
# Print the path of a CPython X.Y interpreter (argument: 3.11 or 3.13), or one line saying how to get
# it and exit 1.  Looks on PATH first, then in pyenv's versions (pyenv's shims answer only when that
# version is selected, so the interpreter is taken from its own folder).
want="$1"
for cand in "python$want" "$(command -v pyenv >/dev/null 2>&1 && ls -d "$(pyenv root)/versions/$want".*/bin/python"$want" 2>/dev/null | sort -V | tail -n 1)"; do
  [ -n "$cand" ] || continue
  if "$cand" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" >/dev/null 2>&1; then
    command -v "$cand"
    exit 0
  fi
done
echo "python$want not found: Blender $2 needs CPython $want (install it, e.g. 'pyenv install $want' or your distribution's python$want package, and put it on PATH)" >&2
exit 1
