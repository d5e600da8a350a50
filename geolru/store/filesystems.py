"""Which filesystem a path is on, and whether it overwrites a file in place."""

import os

# filesystems that write a changed block somewhere new: a block reserved with
# posix_fallocate is no promise that rewriting it later finds room
COPY_ON_WRITE = frozenset({"btrfs", "zfs", "bcachefs", "nilfs2", "f2fs"})


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def filesystem_type(path: str, mountinfo: str = "/proc/self/mountinfo") -> str | None:
    """The type of the filesystem mounted deepest above ``path`` (``None`` if unknown)."""
    path = os.path.realpath(path)
    best, found = -1, None
    try:
        with open(mountinfo) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(" ")
        try:
            mount_point = _unescape(fields[4])
            fs_type = fields[fields.index("-") + 1]
        except (IndexError, ValueError):
            continue
        inside = path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= best:  # the later of two equal mounts wins
            best, found = len(mount_point), fs_type
    return found


def overwrites_in_place(path: str) -> bool:
    """``True`` where disk blocks reserved for a file stay its own when rewritten."""
    fs_type = filesystem_type(path)
    return fs_type is not None and fs_type not in COPY_ON_WRITE
