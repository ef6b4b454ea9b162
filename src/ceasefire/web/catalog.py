"""Which scenarios the dashboard offers, and the only way a name from the web becomes a file.

The catalog lists the shipped scenarios and the ``*.toml`` files directly inside one configured
folder, once, when the server starts. A name coming from a browser is looked up in that list and
nothing else: it is never joined to a path, so ``../../etc/passwd`` or an absolute path is simply
an unknown name.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from ceasefire.errors import CeasefireError
from ceasefire.scenario.load import LIBRARY, list_scenarios, load_scenario, scenario_hash
from ceasefire.scenario.schema import Scenario

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
"""A scenario name the dashboard accepts: letters, digits, '-' and '_', at most 64 characters."""


class UnknownScenario(CeasefireError):
    """A scenario name that is not in the dashboard's catalog."""


def folder_scenarios(folder: Path) -> dict[str, Path]:
    """``name -> file`` for the regular ``*.toml`` files directly inside ``folder``.

    Files whose name is not a plain scenario name, symbolic links, and anything that resolves
    outside the folder are left out.
    """
    root = folder.resolve(strict=True)
    if not root.is_dir():
        raise CeasefireError(f"--scenarios-dir {folder}: not a folder")
    found: dict[str, Path] = {}
    for entry in sorted(root.iterdir()):
        if entry.suffix != ".toml" or entry.is_symlink() or not entry.is_file():
            continue
        if not NAME.match(entry.stem) or entry.resolve().parent != root:
            continue
        found[entry.stem] = entry
    return found


class ScenarioCatalog:
    """The scenarios a dashboard may load: shipped ones, then those of ``folder`` (shipped names win)."""

    def __init__(self, folder: Path | None = None) -> None:
        files = {name: LIBRARY / f"{name}.toml" for name in list_scenarios()}
        if folder is not None:
            try:
                extra = folder_scenarios(Path(folder))
            except OSError as e:
                raise CeasefireError(f"--scenarios-dir {folder}: {e.strerror or e}") from None
            for name, path in extra.items():
                files.setdefault(name, path)
        self._files = files
        self._loaded: dict[str, Scenario] = {}
        self._digests: dict[str, str] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Every scenario name offered, shipped first."""
        return list(self._files)

    def path(self, name: object) -> Path:
        """The file of an offered scenario; :class:`UnknownScenario` for anything else."""
        if not isinstance(name, str) or not NAME.match(name) or name not in self._files:
            shown = repr(name)[:80]
            raise UnknownScenario(f"unknown scenario {shown} (offered: {', '.join(self._files) or 'none'})")
        return self._files[name]

    def load(self, name: object) -> Scenario:
        """The validated scenario ``name`` (loaded once, then cached)."""
        path = self.path(name)
        key = str(name)
        with self._lock:
            if key not in self._loaded:
                self._digests[key] = scenario_hash(path)
                self._loaded[key] = load_scenario(path)
            return self._loaded[key]

    def digest(self, name: object) -> str:
        """SHA-256 (hex) of the file of scenario ``name``, read when the scenario was first loaded."""
        self.load(name)
        with self._lock:
            return self._digests[str(name)]
