"""Fresh virtualenvs outside the checkout, the way a user installs the built wheel."""

import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

# Pip reads its index settings from the environment of the machine; only the project's own
# variables are dropped, so nothing points the new environments at the checkout.
_DROPPED = ("PYTHONPATH", "VIRTUAL_ENV", "DATABASE_URL")


def built_wheel(tmp_root: Path) -> Path:
    """The wheel under test: `TRACEWIRE_WHEEL` (what `make packagecheck` built), else one
    built here from the checkout (which needs the UI built: `make web`)."""
    given = os.environ.get("TRACEWIRE_WHEEL")
    if given:
        return Path(given)
    repo = Path(__file__).resolve().parents[2]
    if not (repo / "api" / "web_dist" / "index.html").is_file():
        pytest.fail("the web UI is not built, so the wheel would not carry it: run `make web`")
    out = tmp_root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(repo)],
        check=True,
    )
    return next(out.glob("tracewire-*.whl"))


@dataclass(frozen=True)
class Venv:
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def site_packages(self) -> Path:
        return next((self.root / "lib").glob("python3*/site-packages"))

    @classmethod
    def create(cls, root: Path) -> "Venv":
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
        return cls(root)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
        env = {k: v for k, v in env.items() if not k.startswith("TRACEWIRE_")}
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return env

    def run(
        self, *args: str, cwd: Path | None = None, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Runs in `cwd` (by default the venv's own folder: never the checkout)."""
        result = subprocess.run(
            list(args),
            cwd=cwd or self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def pip_install(self, *requirements: str) -> None:
        self.run(str(self.python), "-m", "pip", "install", "--quiet", *requirements)

    def python_code(self, code: str, cwd: Path | None = None) -> str:
        return self.run(str(self.python), "-c", code, cwd=cwd).stdout

    def distributions(self) -> set[str]:
        listed = self.run(str(self.python), "-m", "pip", "list", "--format", "json").stdout
        return {entry["name"].lower() for entry in json.loads(listed)}

    def top_level_names(self) -> set[str]:
        return {path.name for path in self.site_packages.iterdir()} - {"__pycache__"}

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.site_packages.rglob("*") if p.is_file())


def toy_wheel(folder: Path) -> Path:
    """A wheel of a user's project that owns top-level `api`, `db`, `storage`, `schema` and
    `migrations` packages, as real projects do."""
    name, version = "toyagent", "1.0"
    files: dict[str, str] = {}
    for package in ("api", "db", "storage", "schema", "migrations"):
        files[f"{package}/__init__.py"] = f'OWNER = "toy"\nNAME = "{package}"\n'
    files["db/enums.py"] = 'COLORS = ("red", "green")\n'
    files["storage/backends.py"] = "CHUNK = 1\n"
    info = f"{name}-{version}.dist-info"
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    files[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [f"{path},," for path in files] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel
