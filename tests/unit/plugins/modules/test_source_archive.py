"""source_archive: what goes into a release, for a git checkout and for a plain directory."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.modules import source_archive


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


def test_a_file_deleted_but_still_tracked_is_not_packed(checkout, tmp_path, capsys):
    (checkout / "shop" / "settings.py").unlink()
    packed = names(run(capsys, src=str(checkout), dest_dir=str(tmp_path / "out")))
    assert "shop/settings.py" not in packed and "manage.py" in packed
