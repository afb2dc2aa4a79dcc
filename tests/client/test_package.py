"""The client as a package: its metadata, and its README's examples run.

`custom_components/smsoffice/client/pyproject.toml` must declare what the
modules import, ship `py.typed` and the licence, and the README must name
every public name and show examples that work: they are run here against the
fake smsoffice.ge, with the README's key and sender.
"""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
import contextlib
import importlib.metadata
import io
from pathlib import Path
import platform
import re
import sys
import tomllib
from typing import Any

import aiohttp
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
import pytest

import smsoffice_client
from tests.client import CLIENT_DIR, PACKAGE
from tests.fake_smsoffice import FakeSmsOffice

PYPROJECT = tomllib.loads((CLIENT_DIR / "pyproject.toml").read_text("utf-8"))
README = (CLIENT_DIR / "README.md").read_text("utf-8")
PYTHON_BLOCKS = re.findall(r"^```python\n(.*?)^```$", README, re.M | re.S)
README_KEY = "your-api-key"
README_SENDER = "HomeAlarm"
README_CLIENT = f'SmsOfficeClient(session, "{README_KEY}")'


def imported_modules() -> set[str]:
    """Return the top-level names the client's modules import absolutely."""
    names: set[str] = set()
    for path in CLIENT_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module is not None
                names.add(node.module.partition(".")[0])
    return names


def test_dependencies_are_what_the_modules_import() -> None:
    """Every import is the standard library's or a declared dependency, and back.

    The client's own modules import one another relatively: absolutely, as
    `custom_components...` or `smsoffice_client...`, they would work under one
    name only.
    """
    declared = {Requirement(text).name for text in PYPROJECT["project"]["dependencies"]}
    third_party = imported_modules() - sys.stdlib_module_names - {"__future__"}

    assert third_party == declared == {"aiohttp", "phonenumbers", "yarl"}


def test_installed_dependencies_meet_the_declared_bounds() -> None:
    """The lower bounds are versions the tests run with, not wishes."""
    for text in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(text)
        installed = importlib.metadata.version(requirement.name)
        assert requirement.specifier.contains(installed), (text, installed)
    requires_python = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert requires_python.contains(platform.python_version())


def test_the_folder_is_the_typed_package() -> None:
    project = PYPROJECT["project"]
    wheel = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]

    assert (project["name"], project["version"]) == ("smsoffice-client", "0.1.0")
    # The folder's modules and marker, under the package's name.
    assert wheel == {"include": ["/*.py", "/py.typed"], "sources": {"": PACKAGE}}
    assert (CLIENT_DIR / "py.typed").read_bytes() == b""
    assert "Typing :: Typed" in project["classifiers"]
    assert (CLIENT_DIR / project["readme"]).is_file()


def test_the_tests_import_the_tree_s_client() -> None:
    """Not an installed copy: these tests test the files beside the integration."""
    assert Path(smsoffice_client.__file__).parent == CLIENT_DIR
    assert smsoffice_client.__name__ == "smsoffice_client"


def test_the_licence_is_the_repository_one() -> None:
    (licence,) = PYPROJECT["project"]["license-files"]
    repository_licence = CLIENT_DIR.parents[2] / "LICENSE"

    assert (CLIENT_DIR / licence).read_text("utf-8") == repository_licence.read_text(
        "utf-8"
    )
    assert PYPROJECT["project"]["license"] == "MIT"
    assert "MIT License" in repository_licence.read_text("utf-8")


def test_the_readme_names_every_public_name() -> None:
    """Each name of `__all__` stands in the README's code (inline or a block)."""
    prose = re.sub(r"^```.*?^```$", "", README, flags=re.M | re.S)
    code = " ".join(re.findall(r"`([^`]+)`", prose) + PYTHON_BLOCKS)
    named = set(re.findall(r"\w+", code))

    assert set(smsoffice_client.__all__) - named == set()


# ------------------------------------------------------------ README examples


@pytest.fixture
async def readme_gateway() -> AsyncIterator[FakeSmsOffice]:
    """Run a fake smsoffice.ge that knows the README's key and sender."""
    async with FakeSmsOffice(api_keys=[README_KEY], senders=[README_SENDER]) as fake:
        yield fake


def example(marker: str, base_url: str) -> dict[str, Any]:
    """Run the README's Python block containing `marker`; return its names.

    Its client talks to `base_url` instead of smsoffice.ge: the one place
    that makes a client gets `base_url=` added.
    """
    (code,) = (block for block in PYTHON_BLOCKS if marker in block)
    code = code.removesuffix("\n\nasyncio.run(main())\n")
    assert code.count(README_CLIENT) <= 1
    code = code.replace(README_CLIENT, f"{README_CLIENT[:-1]}, base_url={base_url!r})")
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our README
    return namespace


def expected_output(code: str) -> list[str]:
    """Return what a block says it prints: its comments, in order."""
    return [match[1] for match in re.finditer(r"# (.*)$", code, re.M)]


def test_every_python_block_is_checked() -> None:
    assert len(PYTHON_BLOCKS) == 4
    assert sum("asyncio.run(main())" in block for block in PYTHON_BLOCKS) == 1


@pytest.mark.parametrize("marker", ["normalise_number(", "transliterate("])
def test_readme_prints_what_it_says(marker: str) -> None:
    (code,) = (block for block in PYTHON_BLOCKS if marker in block)
    printed = io.StringIO()

    with contextlib.redirect_stdout(printed):
        example(marker, "")

    assert printed.getvalue().splitlines() == expected_output(code)


async def test_readme_example(readme_gateway: FakeSmsOffice) -> None:
    printed = io.StringIO()
    main = example("asyncio.run(main())", readme_gateway.url)["main"]

    with contextlib.redirect_stdout(printed):
        await main()

    (message,) = readme_gateway.messages
    assert message.destinations == ["995555123456", "995577654321"]
    assert (message.content, message.sender) == (
        "Water leak in the basement",
        README_SENDER,
    )
    balance, sent, status = printed.getvalue().splitlines()
    assert balance == "Messages left: 1000"
    assert sent == f"{message.reference} ['995555123456', '995577654321'] 2"
    assert status in ("pending False", "delivered True")


async def test_readme_error_handling(
    readme_gateway: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    alert = example("async def alert(", readme_gateway.url)["alert"]
    numbers = ["555 12 34 56"]

    sent = await alert(session, numbers)
    assert sent == f"sent as {readme_gateway.messages[0].reference}"
    assert await alert(session, ["12", *numbers]) == "not numbers: ['12']"

    readme_gateway.balance = 0
    assert await alert(session, numbers) == "top up the account"
    readme_gateway.balance = 1000

    readme_gateway.senders.clear()
    assert (
        await alert(session, numbers)
        == "not sent: smsoffice.ge error 150: Sender not found"
    )
    readme_gateway.senders.add(README_SENDER)

    readme_gateway.inject("reset", endpoint="send")
    assert await alert(session, numbers) == "maybe sent: ask for its status"

    await readme_gateway.stop()
    assert await alert(session, numbers) == "not sent"
    assert len(readme_gateway.messages) == 1
