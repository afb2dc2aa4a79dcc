"""Offline checks of the integration's metadata, as hassfest and the HACS action make them.

manifest.json, hacs.json, services.yaml, strings.json and its translations,
icons.json, the brand images and quality_scale.yaml are checked against each
other and against the Python sources. Nothing here touches the network.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
import json
from pathlib import Path
import re
import string
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from PIL import Image
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "custom_components" / "smsoffice"
TRANSLATIONS = INTEGRATION / "translations"
BRAND = INTEGRATION / "brand"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


MANIFEST: dict[str, Any] = _json(INTEGRATION / "manifest.json")
STRINGS: dict[str, Any] = _json(INTEGRATION / "strings.json")
ICONS: dict[str, Any] = _json(INTEGRATION / "icons.json")
SERVICES: dict[str, Any] = _yaml(INTEGRATION / "services.yaml") or {}


def _leaves(
    tree: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Yield (path, value) for every non-dict value of a nested dict."""
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*path, key))
        else:
            yield (*path, key), value


def _key_paths(tree: dict[str, Any]) -> set[str]:
    """Return every key path of a nested dict, leaves and branches, as 'a.b.c'."""
    paths: set[str] = set()
    for key, value in tree.items():
        paths.add(key)
        if isinstance(value, dict):
            paths.update(f"{key}.{sub}" for sub in _key_paths(value))
    return paths


def _placeholders(text: str) -> set[str]:
    """Return the `{name}` placeholders of a translation string."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def _all_placeholders(tree: Any) -> set[str]:
    """Return the placeholders used anywhere in a string or a nested dict of them."""
    if isinstance(tree, str):
        return _placeholders(tree)
    return {name for _, value in _leaves(tree) for name in _placeholders(value)}


# --------------------------------------------------------------------------
# manifest.json (hassfest's manifest check, for a custom integration)
# --------------------------------------------------------------------------

MANIFEST_KEYS = {
    "domain", "name", "after_dependencies", "bluetooth", "codeowners", "config_flow",
    "dependencies", "dhcp", "disabled", "documentation", "homekit", "import_executor",
    "integration_type", "iot_class", "issue_tracker", "loggers", "mqtt",
    "quality_scale", "requirements", "single_config_entry", "ssdp", "usb", "version",
    "zeroconf",
}  # fmt: skip
MANIFEST_REQUIRED = {
    "domain", "name", "codeowners", "config_flow", "dependencies", "documentation",
    "integration_type", "iot_class", "issue_tracker", "requirements", "version",
}  # fmt: skip
INTEGRATION_TYPES = {
    "device", "entity", "hardware", "helper", "hub", "service", "system", "virtual",
}  # fmt: skip
IOT_CLASSES = {
    "assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling",
    "local_push",
}  # fmt: skip
DISCOVERY_KEYS = {"bluetooth", "dhcp", "homekit", "mqtt", "ssdp", "usb", "zeroconf"}
# name[extras]==version: an exact pin, as Home Assistant installs it.
PINNED = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[A-Za-z0-9,._-]+\])?==(?P<version>[^\s=;,]+)$"
)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_manifest_has_the_keys_of_a_custom_integration() -> None:
    assert not MANIFEST_REQUIRED - MANIFEST.keys(), MANIFEST_REQUIRED - MANIFEST.keys()
    assert MANIFEST.keys() <= MANIFEST_KEYS, MANIFEST.keys() - MANIFEST_KEYS
    assert MANIFEST["domain"] == "smsoffice"
    assert INTEGRATION.name == MANIFEST["domain"]
    assert isinstance(MANIFEST["name"], str)
    assert MANIFEST["name"]
    assert MANIFEST["config_flow"] is True
    assert (INTEGRATION / "config_flow.py").is_file()
    assert "webhook" in MANIFEST["dependencies"]
    assert MANIFEST["integration_type"] in INTEGRATION_TYPES
    assert MANIFEST["iot_class"] in IOT_CLASSES
    for key in ("documentation", "issue_tracker"):
        assert re.fullmatch(r"https://[^\s/]+\.[^\s/]+(/\S*)?", MANIFEST[key]), key
    assert isinstance(MANIFEST["codeowners"], list)
    for owner in MANIFEST["codeowners"]:
        assert re.fullmatch(r"@[\w.-]+(/[\w.-]+)?", owner), owner
    for key in ("dependencies", "after_dependencies", "loggers", "requirements"):
        values = MANIFEST.get(key, [])
        assert isinstance(values, list), key
        assert all(isinstance(value, str) for value in values), key
        assert len(values) == len(set(values)), f"{key} has duplicates"


def test_manifest_key_order() -> None:
    """Hassfest wants domain, name, then the other keys in alphabetical order."""
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_requirements_are_pinned() -> None:
    for requirement in MANIFEST["requirements"]:
        assert PINNED.fullmatch(requirement), f"{requirement} is not pinned with =="


def test_manifest_version_is_valid() -> None:
    version = MANIFEST["version"]
    assert isinstance(version, str)
    # The strategies hassfest accepts for a custom integration's version.
    AwesomeVersion(
        version,
        ensure_strategy=[
            AwesomeVersionStrategy.CALVER,
            AwesomeVersionStrategy.SEMVER,
            AwesomeVersionStrategy.SIMPLEVER,
            AwesomeVersionStrategy.BUILDVER,
            AwesomeVersionStrategy.PEP440,
        ],
    )


def _test_requirements() -> list[tuple[str, str]]:
    """Return (line, block comment) for every requirement in requirements_test.txt."""
    entries: list[tuple[str, str]] = []
    comment = ""
    for raw in (
        (ROOT / "requirements_test.txt").read_text(encoding="utf-8").splitlines()
    ):
        line = raw.strip()
        if not line:
            comment = ""
        elif line.startswith("#"):
            comment += line + "\n"
        else:
            entries.append((line.split("#", 1)[0].strip(), comment))
    return entries


def test_manifest_requirements_match_requirements_test() -> None:
    """The integration's pins in requirements_test.txt are exactly the manifest's."""
    entries = _test_requirements()
    by_name: dict[str, list[str]] = {}
    for line, _ in entries:
        if match := PINNED.fullmatch(line.split(";", 1)[0].strip()):
            by_name.setdefault(_canonical(match["name"]), []).append(line)
    for requirement in MANIFEST["requirements"]:
        name = _canonical(PINNED.fullmatch(requirement)["name"])  # type: ignore[index]
        assert by_name.get(name) == [requirement], (
            f"requirements_test.txt pins {by_name.get(name)}, manifest.json {requirement}"
        )
    # The block that says it follows manifest.json holds nothing else.
    block = [line for line, comment in entries if "manifest.json" in comment]
    if block:
        assert sorted(block) == sorted(MANIFEST["requirements"])


# --------------------------------------------------------------------------
# hacs.json (the HACS action's checks)
# --------------------------------------------------------------------------

HACS_KEYS = {
    "name", "content_in_root", "zip_release", "filename", "hide_default_branch",
    "country", "homeassistant", "persistent_directory", "render_readme", "hacs",
}  # fmt: skip


def test_hacs_json() -> None:
    hacs = _json(ROOT / "hacs.json")
    assert hacs.keys() <= HACS_KEYS, hacs.keys() - HACS_KEYS
    assert isinstance(hacs["name"], str)
    assert hacs["name"]
    assert hacs["homeassistant"] == "2025.4.0"
    AwesomeVersion(hacs["homeassistant"], ensure_strategy=AwesomeVersionStrategy.CALVER)
    assert hacs["country"] == "GE"
    assert not hacs.get("content_in_root", False)
    assert not hacs.get("zip_release", False)


def test_one_integration_in_custom_components() -> None:
    """HACS installs the single folder under custom_components/."""
    folders = [
        path.name
        for path in (ROOT / "custom_components").iterdir()
        if path.is_dir() and not path.name.startswith(("_", "."))
    ]
    assert folders == [MANIFEST["domain"]]


# --------------------------------------------------------------------------
# services.yaml, strings.json `services` and icons.json `services`
# --------------------------------------------------------------------------


def _service_fields(service: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Return (fields, sections) of a service in services.yaml."""
    fields: set[str] = set()
    sections: set[str] = set()
    for key, field in (service.get("fields") or {}).items():
        if isinstance(field, dict) and "fields" in field:
            sections.add(key)
            fields.update(field["fields"] or {})
        else:
            fields.add(key)
    return fields, sections


def test_services_are_translated() -> None:
    translated = STRINGS.get("services", {})
    assert set(SERVICES) == set(translated)
    for name, body in SERVICES.items():
        service = body or {}
        # Names and descriptions come from the translations, not services.yaml.
        assert "name" not in service, name
        assert "description" not in service, name
        strings = translated[name]
        assert strings.get("name"), name
        assert strings.get("description"), name
        fields, sections = _service_fields(service)
        assert fields == set(strings.get("fields", {})), name
        assert sections == set(strings.get("sections", {})), name
        for field in fields:
            assert strings["fields"][field].get("name"), f"{name}.{field}"
            assert strings["fields"][field].get("description"), f"{name}.{field}"
        for section in sections:
            assert strings["sections"][section].get("name"), f"{name}.{section}"


def test_services_have_icons() -> None:
    icons = ICONS.get("services", {})
    assert set(icons) == set(SERVICES)
    for name, icon in icons.items():
        assert re.fullmatch(r"mdi:[a-z0-9-]+", icon["service"]), name


SERVICE_FIELD_KEYS = {
    "advanced",
    "default",
    "example",
    "filter",
    "required",
    "selector",
}


def test_services_yaml_fields() -> None:
    """Known keys only, and a selector for the UI on every field."""
    for name, service in SERVICES.items():
        assert (service or {}).keys() <= {"fields", "target"}, name
        for field_name, field in ((service or {}).get("fields") or {}).items():
            assert field.keys() <= SERVICE_FIELD_KEYS, f"{name}.{field_name}"
            assert "selector" in field, f"{name}.{field_name}"


# --------------------------------------------------------------------------
# strings.json and the translations
# --------------------------------------------------------------------------

TOP_LEVEL = {
    "config", "options", "config_subentries", "entity", "exceptions", "issues",
    "services", "selector", "common", "device_automation",
}  # fmt: skip
TRANSLATION_FILES = sorted(TRANSLATIONS.glob("*.json"))
# Hassfest's checks of every translation value.
RE_HTML = re.compile(r"<[a-z][^>]*>", re.IGNORECASE)
RE_SINGLE_QUOTED_PLACEHOLDER = re.compile(r"'{\w+}'")
RE_COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")
RE_URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)
# Strings the Georgian translation may leave as they are (none so far).
SAME_IN_GEORGIAN: set[tuple[str, ...]] = set()


def test_strings_json_is_the_english_translation() -> None:
    assert _json(TRANSLATIONS / "en.json") == STRINGS


def test_english_and_georgian_translations_exist() -> None:
    assert {path.name for path in TRANSLATION_FILES} >= {"en.json", "ka.json"}


@pytest.mark.parametrize("path", TRANSLATION_FILES, ids=lambda path: path.name)
def test_translation_has_the_english_keys(path: Path) -> None:
    english = _key_paths(STRINGS)
    translated = _key_paths(_json(path))
    assert not english - translated, (
        f"missing in {path.name}: {sorted(english - translated)}"
    )
    assert not translated - english, f"not in English: {sorted(translated - english)}"


@pytest.mark.parametrize("path", TRANSLATION_FILES, ids=lambda path: path.name)
def test_translation_keeps_the_placeholders(path: Path) -> None:
    translated = dict(_leaves(_json(path)))
    for key, english in _leaves(STRINGS):
        if isinstance(value := translated.get(key), str):  # else: a missing key
            assert _placeholders(value) == _placeholders(english), ".".join(key)


def test_georgian_translates_every_string() -> None:
    georgian = dict(_leaves(_json(TRANSLATIONS / "ka.json")))
    for key, english in _leaves(STRINGS):
        value = georgian.get(key)
        assert isinstance(value, str), f"{'.'.join(key)} is missing"
        assert value.strip(), ".".join(key)
        if key not in SAME_IN_GEORGIAN:
            assert value != english, f"{'.'.join(key)} is not translated"
        # Georgian script (Mkhedruli) in every translated sentence.
        assert re.search(r"[\u10d0-\u10ff]", value), ".".join(key)


def test_georgian_keeps_account_and_report_apart() -> None:
    """ანგარიში is the account only; a delivery report is მიწოდების სტატუსი.

    One word for both made sentences like "reports from this account" ambiguous.
    """
    georgian = dict(_leaves(_json(TRANSLATIONS / "ka.json")))
    english = dict(_leaves(STRINGS))
    for key, value in georgian.items():
        where = ".".join(key)
        assert "მიწოდების ანგარიშ" not in value, where
        # "report" as a noun: delivery reports (not "report the invalid ones").
        if "delivery report" in english[key].lower() or "report" in key[-1]:
            assert "სტატუს" in value, f"{where}: a report is a სტატუსი"
    assert georgian[("entity", "event", "delivery", "name")] == "მიწოდების სტატუსი"


# Placeholders that can stand for 1, and words that then read wrong after them.
COUNTS = ("balance", "credits", "left", "limit", "threshold")
PLURALS = re.compile(r"\b(credits|messages|minutes|parts|recipients|numbers)\b")


def test_english_reads_right_for_one() -> None:
    """No "1 credits" or "1 messages": not after a count, nor as a sensor's unit."""
    for key, value in _leaves(STRINGS):
        for name in COUNTS:
            after = value.split(f"{{{name}}}")[1:]
            for text in after:
                assert not PLURALS.match(text.strip()), f"{'.'.join(key)}: {{{name}}}"
    for key, sensor in STRINGS["entity"]["sensor"].items():
        if unit := sensor.get("unit_of_measurement"):
            assert not PLURALS.search(unit), f"entity.sensor.{key}: {unit}"


def test_georgian_says_not_delivered_one_way() -> None:
    """One form of "was not delivered", ვერ მიეწოდა (not ვერ მიწოდდა), everywhere."""
    georgian = dict(_leaves(_json(TRANSLATIONS / "ka.json")))
    for key, value in georgian.items():
        assert "მიწოდდა" not in value, ".".join(key)
    assert (
        "ვერ მიეწოდა"
        in georgian[("device_automation", "trigger_type", "not_delivered")]
    )


def test_georgian_names_the_callback_url_in_georgian() -> None:
    """უკუგამოძახების URL, as in the set-up and the options; not "callback"."""
    georgian = dict(_leaves(_json(TRANSLATIONS / "ka.json")))
    for key, value in georgian.items():
        assert "callback" not in value.lower(), ".".join(key)


def test_translated_action_examples_are_those_of_services_yaml() -> None:
    """An example is translated only where services.yaml has one; English is it.

    The message's example is words, so it is translated (Developer tools →
    Actions shows it); numbers, sender names and references are not.
    """
    assert STRINGS["services"]["send_sms"]["fields"]["message"].get("example")
    for name, service in SERVICES.items():
        fields = (service or {}).get("fields") or {}
        for field, strings in STRINGS["services"][name].get("fields", {}).items():
            if "example" in strings:
                assert strings["example"] == fields[field]["example"], f"{name}.{field}"


def test_translation_files_are_formatted() -> None:
    """Two-space indent, UTF-8 characters as they are, a final newline."""
    for path in TRANSLATION_FILES:
        text = path.read_text(encoding="utf-8")
        assert (
            text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
        ), path.name


# strings.json and every translation.
EVERY_STRINGS_FILE = pytest.mark.parametrize(
    "path",
    [INTEGRATION / "strings.json", *TRANSLATION_FILES],
    ids=lambda path: path.name,
)


@EVERY_STRINGS_FILE
def test_translation_values_pass_hassfest(path: Path) -> None:
    data = _json(path)
    assert data.keys() <= TOP_LEVEL, data.keys() - TOP_LEVEL
    for key, value in _leaves(data):
        where = f"{path.name}: {'.'.join(key)}"
        assert isinstance(value, str), where
        assert value, where
        assert value == value.strip(), f"{where}: leading or trailing space"
        assert not RE_HTML.search(value), f"{where}: HTML"
        assert not RE_SINGLE_QUOTED_PLACEHOLDER.search(value), f"{where}: '{{x}}'"
        assert not RE_COMBINED_REFERENCE.search(value), f"{where}: combined reference"
        assert not RE_URL.search(value), f"{where}: a URL belongs in a placeholder"
        for name in _placeholders(value):
            assert name.isidentifier(), f"{where}: placeholder {name!r}"


def _flows(strings: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    if "config" in strings:
        yield "config", strings["config"]
    if "options" in strings:
        yield "options", strings["options"]
    for name, flow in strings.get("config_subentries", {}).items():
        yield f"config_subentries.{name}", flow


@EVERY_STRINGS_FILE
def test_translation_schema(path: Path) -> None:
    data = _json(path)
    for key, exception in data.get("exceptions", {}).items():
        assert exception.keys() == {"message"}, key
    for key, issue in data.get("issues", {}).items():
        # Hassfest: a title, and a description or (fixable) a fix flow.
        assert issue.keys() in ({"title", "description"}, {"title", "fix_flow"}), key
        if "fix_flow" in issue:
            assert issue["fix_flow"].keys() <= {"step", "abort", "error"}, key
            assert issue["fix_flow"]["step"], key
    for name, subentry in data.get("config_subentries", {}).items():
        assert subentry.get("entry_type"), name
        assert subentry.get("initiate_flow", {}).get("user"), name
    for name, flow in _flows(data):
        assert flow.keys() <= {
            "step", "error", "abort", "progress", "create_entry", "flow_title",
            "entry_type", "initiate_flow",
        }, name  # fmt: skip
        for step_id, step in flow.get("step", {}).items():
            where = f"{name}.step.{step_id}"
            assert step.keys() <= {
                "title", "description", "data", "data_description", "menu_options",
                "menu_option_descriptions", "submit", "sections",
            }, where  # fmt: skip
            # Hassfest: a field's description needs the field's label.
            assert set(step.get("data_description", {})) <= set(step.get("data", {})), (
                where
            )
            for section_id, section in step.get("sections", {}).items():
                assert section.keys() <= {
                    "name",
                    "description",
                    "data",
                    "data_description",
                }
                assert set(section.get("data_description", {})) <= set(
                    section.get("data", {})
                ), f"{where}.sections.{section_id}"
    for platform, entities in data.get("entity", {}).items():
        for key, entity in entities.items():
            where = f"entity.{platform}.{key}"
            assert entity.keys() <= {
                "name",
                "state",
                "state_attributes",
                "unit_of_measurement",
            }, where
            # No placeholders in states and attributes.
            for part in ("state", "state_attributes", "unit_of_measurement"):
                assert not _all_placeholders(entity.get(part, {})), f"{where}.{part}"


# --------------------------------------------------------------------------
# Translation keys used in the Python sources
# --------------------------------------------------------------------------


class UnresolvableError(AssertionError):
    """A translation key the test cannot work out: make it a constant, or teach the test."""


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)
type Definition = ast.FunctionDef | ast.AsyncFunctionDef
type Used = tuple[tuple[str, ...], str, str, ast.Call | None]


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _assignments(node: ast.AST) -> list[tuple[ast.AST, ast.AST]]:
    """Return (target, value) pairs of an assignment statement or expression."""
    if isinstance(node, ast.Assign):
        return [(target, node.value) for target in node.targets]
    if isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
        return [(node.target, node.value)]
    return []


class Module:
    """A parsed source file, and the strings an expression can evaluate to in it.

    The resolution is deliberately small: constants, conditional expressions,
    variables assigned in the same function (on paths that reach the use),
    tuple unpacking, `for` targets over module constants, the return values of
    module functions and the arguments a function is called with. Anything
    else raises UnresolvableError, so a new pattern fails loudly.
    """

    def __init__(self, path: Path) -> None:
        """Parse `path`."""
        self.path = path
        self.tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        self.parents: dict[ast.AST, ast.AST] = {
            child: parent
            for parent in ast.walk(self.tree)
            for child in ast.iter_child_nodes(parent)
        }
        self.functions: dict[str, list[Definition]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions.setdefault(node.name, []).append(node)

    def where(self, node: ast.AST) -> str:
        """Return file:line of a node."""
        return f"{self.path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        """Yield the nodes around `node`, innermost first."""
        while node in self.parents:
            node = self.parents[node]
            yield node

    def scope(self, node: ast.AST) -> ast.AST:
        """Return the function around a node, or the module."""
        return next(
            (n for n in self.ancestors(node) if isinstance(n, _FUNCTIONS)), self.tree
        )

    def enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        """Return the class a node is in, if any."""
        return next(
            (n for n in self.ancestors(node) if isinstance(n, ast.ClassDef)), None
        )

    def calls_of(self, function: str) -> list[ast.Call]:
        """Return every call of `function` (by name or as a method) in the module."""
        return [
            node
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Call) and _call_name(node) == function
        ]

    def fail(self, node: ast.AST, what: str) -> UnresolvableError:
        """Return the error for an expression the test cannot evaluate."""
        return UnresolvableError(f"{self.where(node)}: cannot tell {what}")

    def values(self, node: ast.AST, *, returns: bool = False) -> set[str]:
        """Return every string `node` can evaluate to; raise when unsure.

        With `returns`, a `None` (a function's "no error") counts for nothing.
        """
        if isinstance(node, ast.Constant) and (
            isinstance(node.value, str) or (node.value is None and returns)
        ):
            return {node.value} if isinstance(node.value, str) else set()
        parts: list[ast.expr] | None = None
        if isinstance(node, ast.IfExp):
            parts = [node.body, node.orelse]
        elif isinstance(node, ast.BoolOp):
            parts = node.values
        elif isinstance(node, ast.NamedExpr | ast.Await):
            parts = [node.value]
        elif isinstance(node, ast.GeneratorExp | ast.ListComp | ast.SetComp):
            parts = [node.elt]
        elif isinstance(node, ast.Call) and _call_name(node) == "next" and node.args:
            parts = [node.args[0]]
        if parts is not None:
            return {
                value for part in parts for value in self.values(part, returns=returns)
            }
        if isinstance(node, ast.Call) and _call_name(node) in self.functions:
            return self._returns(_call_name(node))
        if isinstance(node, ast.Name):
            return self._name(node)
        raise self.fail(node, f"the value of {ast.unparse(node)}")

    def _returns(self, function: str) -> set[str]:
        found: set[str] = set()
        for definition in self.functions[function]:
            for node in ast.walk(definition):
                if (
                    isinstance(node, ast.Return)
                    and node.value is not None
                    and self.scope(node) is definition
                ):
                    found |= self.values(node.value, returns=True)
        return found

    def _name(self, name: ast.Name) -> set[str]:
        """Resolve a variable: comprehension target, assignment, parameter, constant."""
        if (found := self._from_comprehension(name)) is not None:
            return found
        scope = self.scope(name)
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
            if (found := self._assigned(scope, name)) is not None:
                return found
            return self._parameter(scope, name)
        if scope is self.tree and (value := self._module_value(name.id)) is not None:
            return self.values(value)
        raise self.fail(name, f"the value of {name.id}")

    def _from_comprehension(self, name: ast.Name) -> set[str] | None:
        for node in self.ancestors(name):
            if isinstance(node, _FUNCTIONS):
                return None
            if isinstance(node, _COMPREHENSIONS):
                for generator in node.generators:
                    found = self._unpack(generator.target, generator.iter, name.id)
                    if found is not None:
                        return found
        return None

    def _assigned(self, scope: Definition, name: ast.Name) -> set[str] | None:
        """Return the values assigned to `name` in `scope` that reach it, or None."""
        found: set[str] | None = None
        for node in ast.walk(scope):
            if self.scope(node) is not scope or not self._reaches(node, name):
                continue
            for target, value in _assignments(node):
                if isinstance(target, ast.Name) and target.id == name.id:
                    found = (found or set()) | self.values(value)
                elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
                    for element, element_value in zip(
                        target.elts, value.elts, strict=True
                    ):
                        if isinstance(element, ast.Name) and element.id == name.id:
                            found = (found or set()) | self.values(element_value)
        return found

    def _reaches(self, definition: ast.AST, use: ast.AST) -> bool:
        """Return whether an assignment can reach a use (straight code, no loops).

        An assignment after the use, or in a branch that ends in return or
        raise before the use, does not reach it.
        """
        if getattr(definition, "lineno", 0) > getattr(use, "lineno", 0):
            return False
        around_use = {use, *self.ancestors(use)}
        node = definition
        for parent in self.ancestors(definition):
            if node in around_use:
                break
            for field in ("body", "orelse", "handlers", "finalbody"):
                block = getattr(parent, field, None)
                if (
                    isinstance(block, list)
                    and node in block
                    and not around_use.intersection(block)
                    and isinstance(block[-1], ast.Return | ast.Raise)
                ):
                    return False
            node = parent
        return True

    def _module_value(self, name: str) -> ast.AST | None:
        for node in self.tree.body:
            for target, value in _assignments(node):
                if isinstance(target, ast.Name) and target.id == name:
                    return value
        return None

    def _unpack(self, target: ast.AST, iterable: ast.AST, name: str) -> set[str] | None:
        """Return the values `name` takes in `for target in iterable`, or None if unbound."""
        if isinstance(target, ast.Name) and target.id == name:
            index = None
        elif isinstance(target, ast.Tuple) and any(
            isinstance(element, ast.Name) and element.id == name
            for element in target.elts
        ):
            index = next(
                i
                for i, element in enumerate(target.elts)
                if isinstance(element, ast.Name) and element.id == name
            )
        else:
            return None
        items = (
            self._module_value(iterable.id)
            if isinstance(iterable, ast.Name)
            else iterable
        )
        if not isinstance(items, ast.Tuple | ast.List | ast.Set):
            raise self.fail(iterable, f"what {ast.unparse(iterable)} holds")
        found: set[str] = set()
        for item in items.elts:
            if index is None:
                found |= self.values(item)
            elif isinstance(item, ast.Tuple):
                found |= self.values(item.elts[index])
            else:
                raise self.fail(item, f"how to unpack {ast.unparse(item)}")
        return found

    def _parameter(self, function: Definition, name: ast.Name) -> set[str]:
        """Resolve a parameter from every call of its function in this module."""
        arguments = function.args
        positional = [arg.arg for arg in (*arguments.posonlyargs, *arguments.args)]
        if name.id not in positional + [arg.arg for arg in arguments.kwonlyargs]:
            raise self.fail(name, f"the value of {name.id}")
        calls = self.calls_of(function.name)
        if not calls:
            raise self.fail(function, f"{name.id}: {function.name}() is never called")
        is_method = bool(positional) and positional[0] in {"self", "cls"}
        found: set[str] = set()
        for call in calls:
            keyword = next((k for k in call.keywords if k.arg == name.id), None)
            index = (
                positional.index(name.id) if name.id in positional else len(call.args)
            )
            if is_method and isinstance(call.func, ast.Attribute):
                index -= 1
            if keyword is not None:
                found |= self.values(keyword.value)
            elif index < len(call.args):
                found |= self.values(call.args[index])
            else:
                raise self.fail(call, f"{name.id} of {function.name}()")
        return found


PY_FILES = sorted(INTEGRATION.rglob("*.py"))
PLATFORMS = {
    "alarm_control_panel", "binary_sensor", "button", "calendar", "camera", "climate",
    "conversation", "cover", "date", "datetime", "device_tracker", "event", "fan",
    "image", "lawn_mower", "light", "lock", "media_player", "notify", "number",
    "remote", "scene", "select", "sensor", "siren", "stt", "switch", "text", "time",
    "todo", "tts", "update", "vacuum", "valve", "water_heater", "weather",
}  # fmt: skip


def _platform(module: Module, node: ast.AST) -> str:
    """Return the entity platform a file is for (sensor.py: sensor)."""
    path = module.path
    assert path.parent == INTEGRATION, module.where(node)
    assert path.stem in PLATFORMS, f"{module.where(node)}: {path.stem} is no platform"
    return path.stem


def _keyword_section(module: Module, call: ast.Call) -> tuple[str, ...]:
    """Return where the `translation_key` of a call lives in strings.json."""
    name = _call_name(call)
    if name == "async_create_issue":
        return ("issues",)
    if name.endswith("EntityDescription"):
        return ("entity", _platform(module, call))
    if name.endswith(("Error", "Failed", "NotReady", "Exception", "Invalid")):
        return ("exceptions",)
    raise module.fail(call, f"where translation_key of {name}() lives: teach the test")


def _used_keys() -> list[Used]:
    """Return (section, key, where, call) for every translation key the sources use.

    `section` is the path in strings.json that must hold `key`; `call` is the
    call that raised or created it, for the placeholder check.
    """
    used: list[Used] = []
    for path in PY_FILES:
        module = Module(path)
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call):
                used.extend(
                    (_keyword_section(module, node), key, module.where(node), node)
                    for keyword in node.keywords
                    if keyword.arg == "translation_key"
                    for key in module.values(keyword.value)
                )
            for target, value in _assignments(node):
                attribute = getattr(target, "id", None) or getattr(target, "attr", None)
                if attribute == "_attr_translation_key":
                    section = ("entity", _platform(module, node))
                    used.extend(
                        (section, key, module.where(node), None)
                        for key in module.values(value)
                    )
    return used


def _flow_sections() -> dict[str, tuple[str, ...]]:
    """Return the strings.json section of each flow class in config_flow.py."""
    from custom_components.smsoffice import config_flow

    sections: dict[str, tuple[str, ...]] = {}
    for name, value in vars(config_flow).items():
        if not isinstance(value, type) or value.__module__ != config_flow.__name__:
            continue
        bases = {base.__name__ for base in value.__mro__}
        if "ConfigFlow" in bases:
            sections[name] = ("config",)
            subentries = value.async_get_supported_subentry_types(None)  # type: ignore[attr-defined]
            for subentry_type, flow in subentries.items():
                sections[flow.__name__] = ("config_subentries", subentry_type)
        elif "OptionsFlow" in bases:
            sections[name] = ("options",)
    return sections


def _default_abort_reasons(module: Module, call: ast.Call) -> set[str]:
    """Return the reasons async_update_(reload_)and_abort uses without `reason`."""
    cls = module.enclosing_class(call)
    assert cls is not None, module.where(call)
    methods = {
        f.name
        for f in cls.body
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    reasons = {"reconfigure_successful"}
    if (
        _call_name(call) == "async_update_reload_and_abort"
        and "async_step_reauth" in methods
    ):
        reasons.add("reauth_successful")
    return reasons


def _abort_reasons(module: Module, call: ast.Call) -> set[str]:
    """Return the abort reasons a flow method call can end the flow with."""
    name = _call_name(call)
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}
    aborting = name in {"async_abort", "_abort_if_unique_id_mismatch"} or name.endswith(
        "and_abort"
    )
    if aborting and "reason" in keywords:
        return module.values(keywords["reason"])
    if name == "_abort_if_unique_id_mismatch":
        return {"unique_id_mismatch"}
    if aborting:
        return _default_abort_reasons(module, call)
    if name in {"_abort_if_unique_id_configured", "_async_abort_entries_match"}:
        return {"already_configured"}
    # A second flow for the same unique id aborts, unless told not to.
    raise_on_progress = keywords.get("raise_on_progress")
    if name == "async_set_unique_id" and not (
        isinstance(raise_on_progress, ast.Constant) and raise_on_progress.value is False
    ):
        return {"already_in_progress"}
    return set()


def _flow_call(module: Module, call: ast.Call) -> tuple[str, set[str]] | None:
    """Return (part of the flow's strings, keys) a flow method call needs, if any."""
    name = _call_name(call)
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}
    if name in {"async_show_form", "async_show_menu", "async_show_progress"}:
        return "step", module.values(keywords["step_id"])
    if name == "async_create_entry" and "description" in keywords:
        return "create_entry", module.values(keywords["description"])
    if reasons := _abort_reasons(module, call):
        return "abort", reasons
    return None


def _flow_keys() -> list[Used]:
    """Return (section, key, where, call) for the config flow's steps, errors and aborts."""
    module = Module(INTEGRATION / "config_flow.py")
    sections = _flow_sections()

    def sections_of(node: ast.AST) -> list[tuple[str, ...]]:
        """Return the sections a node counts for: its class, or its callers' classes."""
        if (cls := module.enclosing_class(node)) is not None:
            assert cls.name in sections, f"{module.where(cls)}: {cls.name} is no flow"
            return [sections[cls.name]]
        function = module.scope(node)
        assert isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef), (
            module.where(node)
        )
        callers = module.calls_of(function.name)
        assert callers, f"{module.where(function)}: {function.name} is never called"
        return sorted({s for call in callers for s in sections_of(call)})

    used: list[Used] = []
    for node in ast.walk(module.tree):
        found: list[tuple[str, set[str], ast.Call | None]] = [
            ("error", module.values(value), None)
            for target, value in _assignments(node)
            if isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and target.value.id == "errors"
        ]
        if isinstance(node, ast.Call) and (needed := _flow_call(module, node)):
            found.append((*needed, node))
        used.extend(
            ((*section, part), key, module.where(node), call)
            for part, keys, call in found
            for section in sections_of(node)
            for key in keys
        )
    return used


def _lookup(section: tuple[str, ...]) -> dict[str, Any]:
    tree: Any = STRINGS
    for part in section:
        tree = tree.get(part, {}) if isinstance(tree, dict) else {}
    return tree if isinstance(tree, dict) else {}


def test_translation_keys_are_found_in_the_sources() -> None:
    """The collectors see what they should (a guard against a silently blind test)."""
    keys = {(section, key) for section, key, _, _ in _used_keys() + _flow_keys()}
    assert (("exceptions",), "auth_failed") in keys
    assert (("issues",), "low_balance") in keys
    assert (("issues",), "api_access_disabled") in keys
    assert (("exceptions",), "api_access_disabled") in keys
    assert (("entity", "sensor"), "balance") in keys
    assert (("entity", "event"), "delivery") in keys
    assert (("config", "error"), "invalid_auth") in keys
    assert (("config", "error"), "invalid_sender") in keys
    assert (("config", "abort"), "reauth_successful") in keys
    assert (("config", "step"), "reauth_confirm") in keys
    assert (("config", "create_entry"), "webhook_unreachable") in keys
    assert (("config_subentries", "recipient", "step"), "reconfigure") in keys
    assert (("config_subentries", "recipient", "error"), "invalid_number") in keys
    assert (("options", "step"), "init") in keys


def test_every_translation_key_in_the_sources_is_translated() -> None:
    missing = sorted(
        f"{where}: {'.'.join(section)}.{key}"
        for section, key, where, _ in _used_keys() + _flow_keys()
        if key not in _lookup(section)
    )
    assert not missing, "not in strings.json:\n" + "\n".join(missing)


def test_every_exception_and_issue_is_used() -> None:
    """A translation nothing raises is dead text, or a raise the test cannot see."""
    used = {(section, key) for section, key, _, _ in _used_keys()}
    unused = [
        f"{part}.{key}"
        for part in ("exceptions", "issues")
        for key in STRINGS.get(part, {})
        if ((part,), key) not in used
    ]
    assert not unused, unused


def _placeholder_keys(call: ast.Call, keyword: str) -> set[str] | None:
    """Return the keys of a literal placeholder dict; None when it is not a literal."""
    value = next((k.value for k in call.keywords if k.arg == keyword), None)
    if value is None:
        return set()
    if isinstance(value, ast.Dict) and all(
        isinstance(key, ast.Constant) and isinstance(key.value, str)
        for key in value.keys
    ):
        return {key.value for key in value.keys}  # type: ignore[union-attr]
    return None


def test_placeholders_are_given() -> None:
    """Every `{x}` of a message is passed where the message is raised or shown."""
    problems: list[str] = []
    for section, key, where, call in _used_keys() + _flow_keys():
        if call is None or key not in _lookup(section):
            continue
        if section[-1] in {"exceptions", "issues"}:
            keyword = "translation_placeholders"
        else:
            keyword = "description_placeholders"
        given = _placeholder_keys(call, keyword)
        if given is None:
            continue
        needed = _all_placeholders(_lookup(section)[key])
        if needed - given:
            problems.append(
                f"{where}: {'.'.join(section)}.{key} needs {sorted(needed - given)}"
            )
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------
# Entities: translations, icons and what the code produces
# --------------------------------------------------------------------------


def test_icons_match_entity_translations() -> None:
    icons = ICONS.get("entity", {})
    entities = STRINGS.get("entity", {})
    assert {p: set(keys) for p, keys in icons.items()} == {
        p: set(keys) for p, keys in entities.items()
    }
    for platform, keys in icons.items():
        for key, icon in keys.items():
            assert re.fullmatch(r"mdi:[a-z0-9-]+", icon["default"]), f"{platform}.{key}"


def test_icons_json_sections() -> None:
    assert ICONS.keys() <= {"entity", "services"}


def test_event_types_are_translated() -> None:
    from custom_components.smsoffice.client import DeliveryStatus

    delivery = STRINGS["entity"]["event"]["delivery"]["state_attributes"]
    assert set(delivery["event_type"]["state"]) == {
        status.value for status in DeliveryStatus
    }


def test_event_attributes_are_translated() -> None:
    module = Module(INTEGRATION / "event.py")
    attributes: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call) and _call_name(node) == "_trigger_event":
            assert len(node.args) == 2, module.where(node)
            assert isinstance(node.args[1], ast.Dict), module.where(node)
            for key in node.args[1].keys:
                assert isinstance(key, ast.Constant), module.where(node)
                attributes.add(key.value)
    assert attributes
    translated = STRINGS["entity"]["event"]["delivery"]["state_attributes"]
    assert attributes == set(translated) - {"event_type"}


def test_translated_units_are_not_also_native_units() -> None:
    """Home Assistant raises when a sensor has both (sensor.unit_of_measurement)."""
    for path in PY_FILES:
        module = Module(path)
        for node in ast.walk(module.tree):
            if not (
                isinstance(node, ast.Call)
                and _call_name(node).endswith("SensorEntityDescription")
            ):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            if "translation_key" not in keywords:
                continue
            native = keywords.get("native_unit_of_measurement")
            if native is None or (
                isinstance(native, ast.Constant) and native.value is None
            ):
                continue
            for key in module.values(keywords["translation_key"]):
                translated = STRINGS.get("entity", {}).get("sensor", {}).get(key, {})
                assert "unit_of_measurement" not in translated, module.where(node)


# --------------------------------------------------------------------------
# Brand images
# --------------------------------------------------------------------------

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png(name: str) -> Image.Image:
    path = BRAND / name
    assert path.is_file(), name
    assert path.read_bytes()[:8] == PNG_MAGIC, f"{name} is not a PNG"
    image = Image.open(path)
    assert image.format == "PNG"
    image.load()
    return image


@pytest.mark.parametrize(("name", "side"), [("icon.png", 256), ("icon@2x.png", 512)])
def test_icon(name: str, side: int) -> None:
    if name != "icon.png" and not (BRAND / name).exists():
        pytest.skip(f"no {name}")
    image = _png(name).convert("RGBA")
    assert image.size == (side, side)
    # Transparent background: the corners are see-through.
    for corner in ((0, 0), (side - 1, 0), (0, side - 1), (side - 1, side - 1)):
        assert image.getpixel(corner)[3] == 0, corner


@pytest.mark.parametrize(
    ("name", "low", "high"), [("logo.png", 128, 256), ("logo@2x.png", 256, 512)]
)
def test_logo(name: str, low: int, high: int) -> None:
    if name != "logo.png" and not (BRAND / name).exists():
        pytest.skip(f"no {name}")
    image = _png(name).convert("RGBA")
    width, height = image.size
    assert width >= height, "the logo is landscape"
    assert low <= min(width, height) <= high
    # Trimmed: the drawing reaches every edge.
    assert image.getchannel("A").getbbox() == (0, 0, width, height)


def test_logo_2x_has_the_shape_of_the_logo() -> None:
    if not (BRAND / "logo@2x.png").exists():
        pytest.skip("no logo@2x.png")
    small, large = _png("logo.png"), _png("logo@2x.png")
    assert abs(small.width / small.height - large.width / large.height) < 0.01


# --------------------------------------------------------------------------
# quality_scale.yaml
# --------------------------------------------------------------------------

# hassfest's ALL_RULES, by tier.
QUALITY_RULES = {
    "bronze": [
        "action-setup", "appropriate-polling", "brands", "common-modules",
        "config-flow", "config-flow-test-coverage", "dependency-transparency",
        "docs-actions", "docs-conditions", "docs-high-level-description",
        "docs-installation-instructions", "docs-removal-instructions",
        "docs-triggers", "entity-event-setup", "entity-unique-id",
        "has-entity-name", "runtime-data", "test-before-configure",
        "test-before-setup", "unique-config-entry",
    ],
    "silver": [
        "action-exceptions", "config-entry-unloading",
        "docs-configuration-parameters", "docs-installation-parameters",
        "entity-unavailable", "integration-owner", "log-when-unavailable",
        "parallel-updates", "reauthentication-flow", "test-coverage",
    ],
    "gold": [
        "devices", "diagnostics", "discovery", "discovery-update-info",
        "docs-data-update", "docs-examples", "docs-known-limitations",
        "docs-supported-devices", "docs-supported-functions",
        "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
        "entity-category", "entity-device-class", "entity-disabled-by-default",
        "entity-translations", "exception-translations", "icon-translations",
        "reconfiguration-flow", "repair-issues", "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}  # fmt: skip
ALL_RULES = {rule for rules in QUALITY_RULES.values() for rule in rules}


def _quality_scale() -> dict[str, dict[str, str]]:
    """Return every rule as {"status": ..., "comment": ...}."""
    data = _yaml(INTEGRATION / "quality_scale.yaml")
    assert isinstance(data, dict)
    assert data.keys() == {"rules"}
    return {
        rule: value if isinstance(value, dict) else {"status": value}
        for rule, value in data["rules"].items()
    }


def test_quality_scale_lists_every_rule_once() -> None:
    rules = _quality_scale()
    assert set(rules) == ALL_RULES, set(rules) ^ ALL_RULES


def test_quality_scale_statuses() -> None:
    for rule, value in _quality_scale().items():
        assert value.keys() <= {"status", "comment"}, rule
        assert value["status"] in {"done", "exempt", "todo"}, rule
        if value["status"] in {"exempt", "todo"}:
            assert isinstance(value.get("comment"), str), f"{rule} needs a comment"
            assert value["comment"].strip(), f"{rule} needs a comment"
