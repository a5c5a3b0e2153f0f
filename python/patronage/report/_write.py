"""Writing the report's files: all of them or none, and only ever regular files.

A destination that exists must be a regular file (or a symlink to one, which is
followed deliberately: the file it names gets the new content, the link stays).
A directory, device (``/dev/full``, ``/dev/null``), named pipe or socket is
refused before anything is written. Each file is staged beside its destination
and moved into place; if moving one fails, those already moved are put back.
"""

from __future__ import annotations

import os
import stat
import tempfile
from typing import List, Sequence, Tuple

from ..exceptions import ParameterError

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))


def regular_destination(path: str, parameter: str) -> str:
    """The real path ``path`` names (symlinks followed), if it is a regular file or
    does not exist yet in an existing folder; else a ParameterError saying why."""
    real = os.path.realpath(path)
    try:
        mode = os.stat(real).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        shown = path if real == os.path.abspath(path) else f"{path} (a link to {real})"
        raise ParameterError(f"{shown} is {kind}: the report only replaces regular files; "
                             "choose a file name", parameter)
    folder = os.path.dirname(real)
    if not os.path.isdir(folder):
        raise ParameterError(f"cannot write {path}: the folder {folder} does not exist", parameter)
    return real


def write_all(targets: Sequence[Tuple[str, bytes, str]]) -> None:
    """Writes each ``(path, data, parameter)``: every file or none."""
    reals = [regular_destination(path, parameter) for path, _, parameter in targets]
    if len(set(reals)) < len(reals):
        raise ParameterError(f"the report's files would overwrite each other: {', '.join(p for p, _, _ in targets)}",
                             targets[-1][2])
    umask = os.umask(0)
    os.umask(umask)
    staged: List[Tuple[str, str]] = []
    backups: List[Tuple[str, str]] = []  # (backup, real): the previous content, to put back on failure
    moved: List[str] = []
    try:
        for real, (_, data, _) in zip(reals, targets):
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(real), prefix=".patronage-", suffix=".tmp")
            staged.append((tmp, real))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())  # a full disk fails here, before anything is replaced
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        for tmp, real in staged:
            if os.path.exists(real):
                backup = tmp + ".old"
                os.link(real, backup)
                backups.append((backup, real))
            os.replace(tmp, real)
            moved.append(real)
    except BaseException:
        previous = dict((real, backup) for backup, real in backups)
        for real in moved:
            if real in previous:
                os.replace(previous.pop(real), real)
            else:
                os.unlink(real)
        raise
    finally:
        for path in [tmp for tmp, _ in staged] + [backup for backup, _ in backups]:
            if os.path.exists(path):
                os.unlink(path)
