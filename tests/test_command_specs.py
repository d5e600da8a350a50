"""The command registry is true: every spec has its handler, in its family's module."""

from geolru.command_specs import SPECS
from geolru.commands import CommandTable


def test_every_spec_has_a_handler_in_its_family_module():
    for name, spec in SPECS.items():
        handler = getattr(CommandTable, "cmd_" + name)
        assert handler.__module__ == f"geolru.commands_{spec.family}", name


def test_every_handler_has_a_spec():
    handlers = {name[4:] for name in dir(CommandTable) if name.startswith("cmd_")}
    assert handlers == set(SPECS)


def test_writes_and_keys_are_consistent():
    for spec in SPECS.values():
        if spec.keys != (0, 0, 0):
            assert spec.data, spec.name  # a command with keys touches data
        assert not (spec.write and spec.no_auth), spec.name
