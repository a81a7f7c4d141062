"""write_atomic: nothing half-written on failure; ordinary permissions unless told otherwise."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from edgescale.model.io import write_atomic


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_new_files_get_the_umask_permissions_and_secrets_their_own(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    write_atomic(tmp_path / "report.html", "<html></html>")
    assert _mode(tmp_path / "report.html") == 0o666 & ~umask  # readable by others, like any new file
    write_atomic(tmp_path / "cluster.json", "{}", mode=0o600)
    assert _mode(tmp_path / "cluster.json") == 0o600
    assert (tmp_path / "cluster.json").read_text() == "{}"


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    write_atomic(target, "old")

    with pytest.raises(TypeError):
        write_atomic(target, 123)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]
