"""How much disk a container's files take, walked from the host (call it off the event
loop: `asyncio.to_thread`)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

# Every entry counts at least this much: an empty file takes no block but an inode, and
# a cell making millions of them would otherwise fill the file system's inodes unseen
# (and make each walk long).
MIN_ENTRY_BYTES = 4096


def disk_usage(root: Path, stop_above: int | None = None) -> int:
    """Bytes the tree under `root` occupies: each file's and directory's allocated blocks
    (a sparse file counts what it really holds), at least MIN_ENTRY_BYTES per entry, each
    inode once (hard links), symlinks not followed. With `stop_above`, the walk ends as
    soon as the total passes it (so a walk costs at most stop_above / MIN_ENTRY_BYTES
    entries)."""
    seen: set[tuple[int, int]] = set()
    total = max(os.lstat(root).st_blocks * 512, MIN_ENTRY_BYTES)
    pending = [str(root)]
    while pending:
        directory = pending.pop()
        for entry in _entries(directory):
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # the running cell removed it meanwhile
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            total += max(info.st_blocks * 512, MIN_ENTRY_BYTES)
            if stop_above is not None and total > stop_above:
                return total
            if stat.S_ISDIR(info.st_mode):
                pending.append(entry.path)
    return total


def _entries(directory: str) -> list[os.DirEntry[str]]:
    try:
        return _list(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []  # removed or replaced by the running cell meanwhile
    except PermissionError:
        # Not root, the code runs as the server's uid, which owns what the code made: a
        # directory the code made unreadable is opened up again to be counted.
        os.chmod(directory, stat.S_IRWXU)
        return _list(directory)


def _list(directory: str) -> list[os.DirEntry[str]]:
    with os.scandir(directory) as entries:
        return list(entries)
