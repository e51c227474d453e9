"""File modes for what only its owner may read: key homes and their folders 0700, secrets 0600."""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path, home: Path | None = None) -> Path:
    """Make ``path``, and each folder between it and the key ``home``, a folder only its owner may enter (0700).

    ``mkdir(mode=…)`` gives the mode to the last folder only, cut by the umask, and a folder that exists
    keeps whatever mode it had; key homes hold private keys and the KEK, so the mode is set here.
    """
    top = home if home is not None else path
    folders = [path]
    while folders[-1] != top and top in folders[-1].parents:
        folders.append(folders[-1].parent)
    for folder in reversed(folders):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = folder.stat()
        if st.st_uid == os.getuid() and st.st_mode & 0o077:
            os.chmod(folder, 0o700)
    return path
