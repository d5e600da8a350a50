"""The command registry is true: every spec has its handler, in its family's module."""

from geolru.commands.specs import SPECS
from geolru.commands.table import CommandTable


def test_every_spec_has_a_handler_in_its_family_module():
    for name, spec in SPECS.items():
        handler = getattr(CommandTable, "cmd_" + name)
        assert handler.__module__ == f"geolru.commands.{spec.family}", name


def test_every_handler_has_a_spec():
    handlers = {name[4:] for name in dir(CommandTable) if name.startswith("cmd_")}
    assert handlers == set(SPECS)


def test_writes_and_keys_are_consistent():
    for spec in SPECS.values():
        if spec.keys != (0, 0, 0):
            assert spec.data, spec.name  # a command with keys touches data
        assert not (spec.write and spec.no_auth), spec.name


def test_every_command_has_true_facts_and_a_summary():
    """COMMAND INFO and COMMAND DOCS know every command, and what they say agrees
    with the dispatch's own specs (arity, write or read, key positions)."""
    from geolru.commands.docs import FACTS, SUMMARIES
    for name, spec in SPECS.items():
        info = FACTS["info"][name]
        flags = {flag["+"] for flag in info[2]}
        assert info[1] == spec.arity, name
        assert ("write" in flags) == spec.write, name
        assert tuple(info[3:6]) == spec.keys, name
        assert SUMMARIES[name] and "since" in FACTS["docs"][name], name


def test_the_shell_help_lists_every_command_and_shows_arguments():
    from geolru.client.cli import shell_help
    from geolru.commands.docs import usage
    listed = shell_help()
    assert all(name.upper() in listed.split() for name in SPECS)
    assert usage("set").startswith("SET key value [NX|XX] [GET] [EX seconds|PX milliseconds")
    assert usage("watch").startswith("WATCH key [key ...]")
    assert "OBJECT ENCODING key" in usage("object") and usage("nosuch") is None


def test_no_two_command_families_define_the_same_method():
    """The command table is one class made of the families' mixins: a helper named
    alike in two of them (``_pop``, ``_store``) would silently call the wrong one."""
    from geolru.commands.table import CommandTable
    owners = {}
    for family in CommandTable.__mro__[1:]:
        if family.__module__.startswith("geolru.commands."):
            for name in vars(family):
                if callable(vars(family)[name]) and not name.startswith("__"):
                    assert name not in owners, f"{name}: {owners.get(name)} and {family}"
                    owners[name] = family.__name__
