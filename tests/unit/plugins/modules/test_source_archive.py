"""source_archive: reproducible archives named by content; what goes into a release, for a
git checkout and for a plain directory."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.modules import source_archive
from release_project import run_module


def run(capsys, **args) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        source_archive.main()
    return json.loads(capsys.readouterr().out)


def names(result: dict) -> set[str]:
    with tarfile.open(result["path"]) as tar:
        return {m.name for m in tar.getmembers() if not m.isdir()}


def write(top: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        path = top / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


PROJECT = {
    "manage.py": "print()\n",
    "shop/settings.py": "X = 1\n",
    "fixtures/media/card.txt": "a fixture\n",
    "media/upload.jpg": "a user's upload\n",
    "venv/bin/python": "#!\n",
    "shop/venv/notes.txt": "a package named venv\n",
    ".env": "SECRET=1\n",
    "db.sqlite3": "data\n",
}


def test_a_plain_directory_leaves_out_top_level_media_only(tmp_path, capsys):
    src = tmp_path / "shop"
    write(src, PROJECT)
    packed = names(run(capsys, src=str(src), dest_dir=str(tmp_path / "out")))
    assert {"manage.py", "shop/settings.py", "fixtures/media/card.txt", "shop/venv/notes.txt"} <= packed
    assert not packed & {"media/upload.jpg", "venv/bin/python", ".env", "db.sqlite3"}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    write(repo, {**PROJECT, ".gitignore": "/media/\n*.log\nbuild/\n", "app/build/keep.txt": "tracked\n"})
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    # a file the ignore rules would match but that is tracked all the same
    subprocess.run([*git, "add", "-f", "app/build/keep.txt"], check=True)
    subprocess.run([*git, "add", "manage.py", "shop", "fixtures", ".gitignore"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    return repo


def test_a_git_checkout_packs_what_git_would_commit(checkout, tmp_path, capsys):
    write(checkout, {"new_module.py": "y = 2\n", "debug.log": "ignored\n"})
    packed = names(run(capsys, src=str(checkout), dest_dir=str(tmp_path / "out")))
    # tracked (even under an ignored name), and untracked files no rule ignores
    assert {"manage.py", "fixtures/media/card.txt", "app/build/keep.txt", "new_module.py"} <= packed
    # ignored by .gitignore, and untracked files matching the exclusions
    assert not packed & {"media/upload.jpg", "debug.log", ".env", "db.sqlite3", "venv/bin/python"}
    assert not any(name.startswith(".git/") for name in packed)


def test_a_subdirectory_of_a_checkout_is_packed_relative_to_itself(checkout, tmp_path, capsys):
    packed = names(run(capsys, src=str(checkout / "shop"), dest_dir=str(tmp_path / "out")))
    assert packed == {"settings.py", "venv/notes.txt"}


def test_a_copy_in_a_directory_the_checkout_ignores_is_a_plain_directory(checkout, tmp_path, capsys):
    """A project copied under the enclosing repository's ignored build directory."""
    copy = checkout / "build" / "shop"
    write(copy, PROJECT)
    packed = names(run(capsys, src=str(copy), dest_dir=str(tmp_path / "out")))
    assert {"manage.py", "shop/settings.py", "fixtures/media/card.txt"} <= packed
    assert not packed & {"media/upload.jpg", ".env"}


def test_a_file_deleted_but_still_tracked_is_not_packed(checkout, tmp_path, capsys):
    (checkout / "shop" / "settings.py").unlink()
    packed = names(run(capsys, src=str(checkout), dest_dir=str(tmp_path / "out")))
    assert "shop/settings.py" not in packed and "manage.py" in packed


def test_archive_is_reproducible_and_named_by_content(project, tmp_path, capsys):
    out = tmp_path / "out"
    first = run_module(source_archive, capsys, src=str(project), dest_dir=str(out))
    assert first["changed"] and first["files"] > 10
    data = Path(first["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == first["checksum"]
    assert Path(first["path"]).name == f"{first['checksum']}.tar.gz"

    os.utime(project / "manage.py", (1, 1))  # touched, not changed
    (project / "entries" / "__pycache__").mkdir(exist_ok=True)
    (project / "entries" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    (project / ".env").write_text("SECRET=1")
    second = run_module(source_archive, capsys, src=str(project), dest_dir=str(out))
    assert second["checksum"] == first["checksum"] and not second["changed"]

    (project / "entries" / "views.py").write_text("# changed\n", encoding="utf-8")
    third = run_module(source_archive, capsys, src=str(project), dest_dir=str(out))
    assert third["checksum"] != first["checksum"] and third["changed"]

    with tarfile.open(first["path"]) as tar:
        names = tar.getnames()
        assert "manage.py" in names and "entries/migrations/0001_initial.py" in names
        assert not any("__pycache__" in n or n.endswith(".env") for n in names)
        assert tar.getmember("manage.py").mode == 0o755
        assert {m.uid for m in tar.getmembers()} == {0}


def test_archive_check_mode_writes_nothing(project, tmp_path, capsys):
    out = tmp_path / "out"
    result = run_module(source_archive, capsys, src=str(project), dest_dir=str(out), _ansible_check_mode=True)
    assert result["changed"] and not out.exists()


def test_archive_of_a_missing_directory_is_refused(tmp_path, capsys):
    result = run_module(source_archive, capsys, src=str(tmp_path / "nope"), dest_dir=str(tmp_path))
    assert result["failed"] and "not a directory" in result["msg"]
