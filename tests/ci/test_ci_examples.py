"""The CI examples in docs/ci are run, not just shown: their shell steps (all but the install steps) run in a
checkout-like folder against real bundles made by real stores. Good bundles pass; a tampered bundle, and a
bundle signed by another party whose card sits in the same keyring, fail the job."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.bundle.helpers import export, write
from tests.conftest import Party

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "ci"
MINISIGN = shutil.which("minisign") or "/usr/bin/minisign"


def github_jobs() -> dict[str, tuple[dict[str, str], list[str]]]:
    """Each job of the GitHub workflow: its environment and the scripts of its `run:` steps, install excepted."""
    doc = yaml.safe_load((DOCS / "github-actions.yml").read_text())
    assert doc["defaults"]["run"]["shell"] == "bash"
    env = {k: str(v) for k, v in doc["env"].items()}
    jobs = {}
    for name, job in doc["jobs"].items():
        scripts = [step["run"] for step in job["steps"] if "run" in step and step.get("id") != "install"]
        assert scripts, f"job {name} has no step to run"
        jobs[name] = ({**env, **{k: str(v) for k, v in job.get("env", {}).items()}}, scripts)
    return jobs


def gitlab_jobs() -> dict[str, tuple[dict[str, str], list[str]]]:
    """Each job of the GitLab file: its variables and its `script:` as the one shell session GitLab runs."""
    doc = yaml.safe_load((DOCS / "gitlab-ci.yml").read_text())
    env = {k: str(v) for k, v in doc["variables"].items()}
    return {name: ({**env, **{k: str(v) for k, v in job.get("variables", {}).items()}}, ["\n".join(job["script"])])
            for name, job in doc.items() if isinstance(job, dict) and "script" in job}


def bash(flavour: str) -> list[str]:
    # GitHub's `shell: bash` is `bash --noprofile --norc -eo pipefail {0}`; GitLab runs the script under `set -e`
    return ["bash", "--noprofile", "--norc", "-eo", "pipefail"] if flavour == "github" else ["bash", "-e"]


def run_job(flavour: str, env: dict[str, str], scripts: list[str], checkout: Path, fingerprint: str
            ) -> tuple[int, str]:
    """Run the job's steps in order, as the CI would: the first failing step fails the job."""
    settings = {k: v for k, v in env.items() if "${{" not in v}
    assert set(env) - set(settings) <= {"CBM_SENDER_FINGERPRINT"}  # the only value the CI's settings supply
    full = {**os.environ, **settings, "CBM_SENDER_FINGERPRINT": fingerprint,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{Path(MINISIGN).parent}{os.pathsep}"
                    f"{os.environ.get('PATH', '')}"}
    full.pop("CBM_STORE", None)
    output = ""
    for i, script in enumerate(scripts):
        (checkout / f".step{i}.sh").write_text(script)
        done = subprocess.run([*bash(flavour), f".step{i}.sh"], cwd=checkout, env=full, capture_output=True,
                              text=True, check=False, timeout=300)
        output += done.stdout + done.stderr
        if done.returncode != 0:
            return done.returncode, output
    return 0, output


@pytest.fixture
def checkout(three, tmp_path: Path) -> tuple[Path, Party, Callable[..., Path]]:
    """A repository as the examples expect it: ci/keyring (US's card history, and CN's card: trusted too, so
    only the pin stops CN), ci/us.pub, and an empty incoming/; plus a function that drops bundles into it."""
    us, ru, cn = three
    repo = tmp_path / "repo"
    (repo / "ci" / "keyring").mkdir(parents=True)
    (repo / "incoming").mkdir()
    history = ru.cli("keys", "export", "--party", "US", "--history", "-o", str(repo / "ci/keyring/us.cards"))
    assert history.exit_code == 0, history.stderr
    assert ru.cli("keys", "export", "--party", "CN", "-o", str(repo / "ci/keyring/cn.card")).exit_code == 0
    assert ru.cli("keys", "export", "--party", "US", "--format", "minisign", "-o", str(repo / "ci/us.pub")
                  ).exit_code == 0
    made = tmp_path / "made"
    made.mkdir()

    def drop(sender: Party, name: str, *flags: str, tlp: str = "CLEAR") -> Path:
        write(sender, n=2, tlp=tlp)
        export(sender, "RU", made / name, "--all", *flags)
        for suffix in ("", ".minisig"):
            shutil.copy(made / (name + suffix), repo / "incoming" / (name + suffix))
        return repo / "incoming" / name

    return repo, us, drop


FLAVOURS = [("github", name) for name in github_jobs()] + [("gitlab", name) for name in gitlab_jobs()]


def jobs_of(flavour: str) -> dict[str, tuple[dict[str, str], list[str]]]:
    return github_jobs() if flavour == "github" else gitlab_jobs()


def test_both_examples_have_a_cbm_job_and_a_minisign_job():
    for flavour in ("github", "gitlab"):
        scripts = ["\n".join(s) for _, s in jobs_of(flavour).values()]
        assert sum("cbm bundle verify" in s and "--fingerprint" in s for s in scripts) == 1
        assert sum("minisign -Vm" in s for s in scripts) == 1


@pytest.mark.parametrize("flavour, job", FLAVOURS)
def test_good_bundles_pass_the_job(checkout, flavour, job):
    repo, us, drop = checkout
    drop(us, "plain.cbm")  # TLP:CLEAR: plain, checked record by record
    drop(us, "sealed.txt", "--armor", tlp="AMBER")  # encrypted by default: outer signature and ciphertext
    env, scripts = jobs_of(flavour)[job]
    code, output = run_job(flavour, env, scripts, repo, us.fingerprint())
    assert code == 0, output
    assert "ok      incoming/plain.cbm" in output and "ok      incoming/sealed.txt" in output
    if "cbm bundle verify" in "\n".join(scripts):
        reports = {p.name: json.loads(p.read_text()) for p in (repo / "reports").iterdir()}
        assert reports["plain.cbm.json"]["result"] == "verified"
        assert reports["sealed.txt.json"]["result"] == "verified-outer-only"


@pytest.mark.parametrize("flavour, job", FLAVOURS)
def test_a_tampered_bundle_fails_the_job(checkout, flavour, job):
    repo, us, drop = checkout
    drop(us, "good.cbm")
    bad = drop(us, "tampered.cbm")
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, in the records
    bad.write_bytes(bytes(data))
    env, scripts = jobs_of(flavour)[job]
    code, output = run_job(flavour, env, scripts, repo, us.fingerprint())
    assert code != 0
    assert "FAILED  incoming/tampered.cbm" in output and "ok      incoming/good.cbm" in output
    if "cbm bundle verify" in "\n".join(scripts):
        report = json.loads((repo / "reports" / "tampered.cbm.json").read_text())
        assert (report["ok"], report["exit_code"]) == (False, 1)


@pytest.mark.parametrize("flavour, job", FLAVOURS)
def test_a_bundle_signed_by_another_trusted_party_fails_the_job(checkout, three, flavour, job):
    repo, us, drop = checkout
    _, _, cn = three
    drop(cn, "from-cn.cbm")
    env, scripts = jobs_of(flavour)[job]
    code, output = run_job(flavour, env, scripts, repo, us.fingerprint())
    assert code != 0
    assert "FAILED  incoming/from-cn.cbm" in output
    if "cbm bundle verify" in "\n".join(scripts):
        report = json.loads((repo / "reports" / "from-cn.cbm.json").read_text())
        assert (report["exit_code"], report["reason_code"]) == (3, "unexpected-signer")


@pytest.mark.parametrize("flavour, job", [f for f in FLAVOURS if "minisign" not in f[1]])
def test_an_unset_fingerprint_fails_the_job_closed(checkout, flavour, job):
    repo, us, drop = checkout
    drop(us, "good.cbm")
    env, scripts = jobs_of(flavour)[job]
    code, _ = run_job(flavour, env, scripts, repo, "")
    assert code != 0
