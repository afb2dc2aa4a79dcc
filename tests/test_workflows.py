"""The GitHub workflows, issue templates and release material, read offline.

The workflows run on GitHub's hosted runners, not here, so this reads them:
every file parses, has its triggers (the `on:` key, which YAML 1.1 reads as
True), uses the actions as their documentation says, and every repository
path a `run:` command names exists (a command: executable), so that a renamed
script cannot leave a workflow broken unnoticed. The release workflow's tag
check runs here against manifest.json. The brands submission folder is
checked as home-assistant/brands checks a pull request.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import os
from pathlib import Path
import re
import shutil
import stat
import subprocess
from typing import Any

from PIL import Image
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
GITHUB = ROOT / ".github"
WORKFLOWS = GITHUB / "workflows"
TEMPLATES = GITHUB / "ISSUE_TEMPLATE"
MANIFEST = ROOT / "custom_components" / "smsoffice" / "manifest.json"
BRAND = ROOT / "custom_components" / "smsoffice" / "brand"
BRANDS_SUBMISSION = ROOT / "brands" / "custom_integrations" / "smsoffice"
RELEASING = ROOT / "RELEASING.md"

WORKFLOW_FILES = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
Workflow = dict[Any, Any]


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _workflows() -> dict[str, Workflow]:
    return {path.name: _yaml(path) for path in WORKFLOW_FILES}


def _triggers(workflow: Workflow) -> dict[str, Any]:
    """Return the `on:` mapping: YAML 1.1 (PyYAML, GitHub) reads a bare `on` as True."""
    triggers = workflow.get(True, workflow.get("on"))
    assert isinstance(triggers, dict), f"no `on:` mapping: {triggers!r}"
    return triggers


def _steps(workflow: Workflow) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in workflow["jobs"].items():
        for step in job["steps"]:
            yield job_id, step


def _step(workflow: Workflow, *, run: str | None = None, uses: str = "") -> Any:
    """Return the one step that runs `run` or uses an action starting with `uses`."""
    found = [
        step
        for _, step in _steps(workflow)
        if (run is not None and step.get("run", "").strip() == run)
        or (uses and step.get("uses", "").startswith(uses))
    ]
    assert len(found) == 1, f"{run or uses}: {len(found)} steps"
    return found[0]


# --------------------------------------------------------------------------
# What a `run:` command names in the repository
# --------------------------------------------------------------------------

# A relative path with at least one slash (scripts/test, ./.ci/run,
# custom_components/smsoffice/manifest.json), not part of a longer word, a
# variable ($HOME/x) or a URL (https://host/path).
_PATH = r"(?:\./)?((?:[\w.-]+/)+[\w.@-]+)"
PATH_WORD = re.compile(r"(?<![\w./$~:}-])" + _PATH)
# The same in command position: at the start of a line or after a shell operator.
COMMAND_WORD = re.compile(
    r"(?:^|&&|\|\||[;|(]|\b(?:then|do|else|exec|bash|sh))[ \t]*" + _PATH, re.M
)
# What scripts/setup makes; not in the repository.
MADE_BY_SETUP = (".venv/",)


def _repository_paths(command: str) -> set[str]:
    return {
        path
        for path in PATH_WORD.findall(command)
        if not path.startswith(MADE_BY_SETUP)
    }


def _command_paths(command: str) -> set[str]:
    return {
        path
        for path in COMMAND_WORD.findall(command)
        if not path.startswith(MADE_BY_SETUP)
    }


def _run_problems(root: Path, workflows: dict[str, Workflow]) -> list[str]:
    """Return what the workflows' `run:` commands name that `root` does not hold."""
    problems: list[str] = []
    for name, workflow in workflows.items():
        for job, step in _steps(workflow):
            command = step.get("run")
            if command is None:
                continue
            problems.extend(
                f"{name}, job {job}: {path} does not exist"
                for path in sorted(_repository_paths(command))
                if not (root / path).exists()
            )
            for path in sorted(_command_paths(command)):
                file = root / path
                if file.exists() and not (file.is_file() and os.access(file, os.X_OK)):
                    problems.append(f"{name}, job {job}: {path} is not executable")
    return problems


def test_the_path_readers() -> None:
    command = (
        "scripts/setup\n"
        "./scripts/test tests/test_x.py && bash .ci/run\n"
        "echo https://example.com/a/b $HOME/c/d ${{ github.workspace }}/e/f\n"
        ".venv/bin/python -c 'open(\"custom_components/smsoffice/manifest.json\")'\n"
    )
    assert _repository_paths(command) == {
        "scripts/setup",
        "scripts/test",
        "tests/test_x.py",
        ".ci/run",
        "custom_components/smsoffice/manifest.json",
    }
    assert _command_paths(command) == {"scripts/setup", "scripts/test", ".ci/run"}


def test_every_run_command_names_what_the_repository_holds() -> None:
    workflows = _workflows()
    assert not _run_problems(ROOT, workflows)
    # Not blind: the commands the README and the issue name are seen.
    commands = {
        path
        for workflow in workflows.values()
        for _, step in _steps(workflow)
        for path in _command_paths(step.get("run", ""))
    }
    assert {"scripts/setup", "scripts/test", "scripts/smoke"} <= commands


def test_a_renamed_or_broken_script_is_caught(tmp_path: Path) -> None:
    """The workflows as they are, against a copy of what they name, less one."""
    workflows = _workflows()
    named = {
        path
        for workflow in workflows.values()
        for _, step in _steps(workflow)
        for path in _repository_paths(step.get("run", ""))
    }
    for path in named:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, tmp_path / path)
    assert not _run_problems(tmp_path, workflows)

    (tmp_path / "scripts" / "smoke").rename(tmp_path / "scripts" / "smoke_test")
    assert _run_problems(tmp_path, workflows) == [
        "tests.yml, job test: scripts/smoke does not exist"
    ]
    test = tmp_path / "scripts" / "test"
    test.chmod(test.stat().st_mode & ~(stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
    assert "tests.yml, job test: scripts/test is not executable" in _run_problems(
        tmp_path, workflows
    )


# --------------------------------------------------------------------------
# Every workflow
# --------------------------------------------------------------------------


def test_the_workflows_are_there() -> None:
    assert {path.name for path in WORKFLOW_FILES} == {
        "release.yml",
        "tests.yml",
        "validate.yml",
    }


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_workflow_is_well_formed(path: Path) -> None:
    workflow = _yaml(path)
    assert isinstance(workflow, dict)
    assert isinstance(workflow.get("name"), str)
    assert _triggers(workflow)
    # Read-only token: nothing here writes to the repository or the release.
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["jobs"]
    for job_id, job in workflow["jobs"].items():
        assert str(job["runs-on"]).startswith("ubuntu-"), job_id
        assert job["steps"], job_id
        assert job["steps"][0]["uses"].startswith("actions/checkout@"), job_id
    for job_id, step in _steps(workflow):
        assert ("run" in step) != ("uses" in step), f"{job_id}: {step}"
        if "uses" in step:
            action, at, ref = step["uses"].partition("@")
            assert at, f"{job_id}: {step['uses']} names no version"
            assert ref, f"{job_id}: {step['uses']} names no version"
            assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?", action), action
        else:
            # Event data goes through `env:`, never into the script's text.
            assert "${{" not in step["run"], f"{job_id}: {step['run']}"


def test_validate_runs_hassfest_and_the_hacs_action() -> None:
    workflow = _yaml(WORKFLOWS / "validate.yml")
    triggers = _triggers(workflow)
    assert {"push", "pull_request", "schedule"} <= triggers.keys()
    [schedule] = triggers["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*")
    assert re.fullmatch(r"[0-6]", weekday), "weekly: one day of the week"
    assert re.fullmatch(r"\d+", minute)
    assert re.fullmatch(r"\d+", hour)

    hassfest = _step(workflow, uses="home-assistant/actions/hassfest@")
    assert hassfest["uses"] == "home-assistant/actions/hassfest@master"
    assert "with" not in hassfest  # the action has no inputs
    hacs = _step(workflow, uses="hacs/action@")
    # The HACS default list wants the action green with no check ignored.
    assert hacs["with"] == {"category": "integration"}


def _legs() -> list[dict[str, Any]]:
    workflow = _yaml(WORKFLOWS / "tests.yml")
    [job] = workflow["jobs"].values()
    legs = job["strategy"]["matrix"]["include"]
    assert isinstance(legs, list)
    return legs


def test_tests_run_both_legs_of_requirements_test() -> None:
    """The matrix legs are the interpreters requirements_test.txt pins a harness for."""
    requirements = (ROOT / "requirements_test.txt").read_text(encoding="utf-8")
    harness = re.findall(
        r'^pytest-homeassistant-custom-component==\S+; python_version ([<>]=?) "(3\.\d+)"',
        requirements,
        re.M,
    )
    assert sorted(harness) == [("<", "3.14"), (">=", "3.14")]
    legs = _legs()
    assert [leg["python"] for leg in legs] == ["3.13", "3.14"]
    # The oldest leg is the oldest release hacs.json promises.
    oldest = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
    assert legs[0]["homeassistant"] == "2025.4.4"
    assert legs[0]["homeassistant"].startswith(
        oldest["homeassistant"].rsplit(".", 1)[0] + "."
    )


def test_tests_run_scripts_test_as_the_readme_says() -> None:
    workflow = _yaml(WORKFLOWS / "tests.yml")
    assert {"push", "pull_request"} <= _triggers(workflow).keys()
    python = _step(workflow, uses="actions/setup-python@")
    assert python["with"] == {
        "python-version": "${{ matrix.python }}",
        "cache": "pip",
        "cache-dependency-path": "requirements_test.txt",
    }
    _step(workflow, run="scripts/test")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^scripts/test +# ", readme, re.M)


def test_the_smoke_test_runs_on_the_newest_leg_only() -> None:
    workflow = _yaml(WORKFLOWS / "tests.yml")
    smoke = _step(workflow, run="scripts/smoke")
    assert smoke["if"] == "matrix.smoke"
    legs = _legs()
    assert [leg["smoke"] for leg in legs] == [False, True]
    # setup-python gives the newest patch release of the leg's Python.
    match = re.search(
        r"^MIN_PYTHON = \((\d+), (\d+), \d+\)",
        (ROOT / "scripts" / "smoke").read_text(encoding="utf-8"),
        re.M,
    )
    assert match
    newest = tuple(int(part) for part in legs[-1]["python"].split("."))
    assert newest == (int(match[1]), int(match[2]))


# --------------------------------------------------------------------------
# The release check
# --------------------------------------------------------------------------


def _release_check(tag: str) -> subprocess.CompletedProcess[str]:
    workflow = _yaml(WORKFLOWS / "release.yml")
    [job] = workflow["jobs"].values()
    [step] = [step for step in job["steps"] if "run" in step]
    assert step["env"] == {"TAG": "${{ github.event.release.tag_name }}"}
    bash = shutil.which("bash")
    assert bash
    return subprocess.run(  # noqa: S603 - the workflow's own step
        [bash, "-e", "-c", step["run"]],
        cwd=ROOT,
        env={**os.environ, "TAG": tag},
        capture_output=True,
        text=True,
        check=False,
    )


def test_release_runs_on_a_published_release_and_attaches_nothing() -> None:
    workflow = _yaml(WORKFLOWS / "release.yml")
    assert _triggers(workflow) == {"release": {"types": ["published"]}}
    uses = [step["uses"] for _, step in _steps(workflow) if "uses" in step]
    assert [action.partition("@")[0] for action in uses] == ["actions/checkout"]


def test_release_tag_must_be_the_manifest_version() -> None:
    version = json.loads(MANIFEST.read_text(encoding="utf-8"))["version"]
    same = _release_check(version)
    assert same.returncode == 0, same.stdout + same.stderr
    for tag in (f"v{version}", f"{version}.1", "", f"{version} "):
        other = _release_check(tag)
        assert other.returncode == 1, tag
        assert f"is not manifest.json's version '{version}'" in other.stdout


# --------------------------------------------------------------------------
# Issue templates
# --------------------------------------------------------------------------

FORM_TYPES = {"markdown", "input", "textarea", "dropdown", "checkboxes"}


def _form(name: str) -> dict[str, Any]:
    form = _yaml(TEMPLATES / name)
    assert isinstance(form, dict)
    assert form.keys() >= {"name", "description", "body"}
    ids = []
    for element in form["body"]:
        assert element["type"] in FORM_TYPES, element
        assert element["attributes"], element
        if element["type"] != "markdown":
            assert element["attributes"]["label"], element
            assert re.fullmatch(r"[A-Za-z0-9_-]+", element["id"]), element
            ids.append(element["id"])
        if element["type"] == "dropdown":
            assert element["attributes"]["options"], element
    assert len(ids) == len(set(ids)), ids
    return {element.get("id", ""): element for element in form["body"]}


def test_bug_report_asks_what_a_bug_needs() -> None:
    fields = _form("bug_report.yml")
    for required in ("homeassistant-version", "integration-version"):
        assert fields[required]["validations"]["required"] is True, required
    diagnostics = fields["diagnostics"]["attributes"]["description"]
    assert "Download diagnostics" in diagnostics
    assert "never holds the API key" in diagnostics
    assert "debug logging" in fields["logs"]["attributes"]["description"]


def test_feature_request_and_config() -> None:
    _form("feature_request.yml")
    config = _yaml(TEMPLATES / "config.yml")
    assert config["blank_issues_enabled"] is False
    for link in config["contact_links"]:
        assert link.keys() == {"name", "url", "about"}
        assert link["url"].startswith("https://")


# --------------------------------------------------------------------------
# Release material: the brands submission, RELEASING.md
# --------------------------------------------------------------------------

BRAND_FILES = {"icon.png", "icon@2x.png", "logo.png", "logo@2x.png"}


def test_brands_submission_is_the_integrations_own_images() -> None:
    assert {path.name for path in BRANDS_SUBMISSION.iterdir()} == BRAND_FILES
    for name in BRAND_FILES:
        assert (BRANDS_SUBMISSION / name).read_bytes() == (BRAND / name).read_bytes()


def test_brands_submission_passes_the_brands_repositorys_checks() -> None:
    """home-assistant/brands' validate.sh, for the four files we have."""
    sizes = {}
    for name in BRAND_FILES:
        with Image.open(BRANDS_SUBMISSION / name) as image:
            assert image.format == "PNG", name
            sizes[name] = image.size
    assert sizes["icon.png"] == (256, 256)
    assert sizes["icon@2x.png"] == (512, 512)
    assert 128 <= min(sizes["logo.png"]) <= 256
    assert 256 <= min(sizes["logo@2x.png"]) <= 512

    def same(first: str, second: str) -> bool:
        one = (BRANDS_SUBMISSION / first).read_bytes()
        return one == (BRANDS_SUBMISSION / second).read_bytes()

    assert not same("icon.png", "logo.png")
    assert not same("icon@2x.png", "logo@2x.png")
    assert not same("icon.png", "icon@2x.png")
    assert not same("logo.png", "logo@2x.png")


def test_hassfest_finds_one_integration() -> None:
    """The hassfest action validates every manifest.json in the checkout."""
    found = [
        path.relative_to(ROOT).as_posix()
        for top in ROOT.iterdir()
        if top.is_dir()
        and (not top.name.startswith(".") or top.name == ".github")
        and top.name != "config"  # git-ignored
        for path in top.rglob("manifest.json")
    ]
    assert found == ["custom_components/smsoffice/manifest.json"]


def test_releasing_names_what_exists() -> None:
    text = RELEASING.read_text(encoding="utf-8")
    named = set(
        re.findall(
            r"`(?:bash )?((?:scripts|\.ci|\.github|brands|custom_components)/[^`\s]*)`",
            text,
        )
    )
    assert {"scripts/make_brand_images.py", ".ci/run"} <= named
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, missing
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](RELEASING.md)" in readme
