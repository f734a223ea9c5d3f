"""`snnsim run script.py` finds the script's network: `network`, `build_network()`, or the one Network variable."""

import pytest

from snnsim.cli import network_from_script
from snnsim.errors import FileFormatError

HEAD = "from snnsim import LIF, Network\n"
POP = "{0} = Network(dt=1e-4, seed=1)\n{0}.add_population('p', 3, LIF())\n"


def _script(tmp_path, text):
    path = tmp_path / "s.py"
    path.write_text(HEAD + text)
    return str(path)


def test_the_single_network_variable_is_taken_whatever_its_name(tmp_path):
    net = network_from_script(_script(tmp_path, POP.format("net")))
    assert list(net.populations) == ["p"] and net.populations["p"].size == 3


def test_main_guard_keeps_the_script_from_simulating_at_import(tmp_path):
    text = POP.format("net") + "if __name__ == '__main__':\n    raise SystemExit('ran')\n"
    assert network_from_script(_script(tmp_path, text)).populations["p"].size == 3


def test_several_networks_are_refused_listing_them(tmp_path):
    with pytest.raises(FileFormatError, match=r"several snnsim.Network objects \(a, b\)"):
        network_from_script(_script(tmp_path, POP.format("a") + POP.format("b")))


def test_an_explicit_network_variable_wins_over_others(tmp_path):
    text = POP.format("a") + "network = Network(dt=1e-4, seed=1)\nnetwork.add_population('q', 2, LIF())\n"
    assert list(network_from_script(_script(tmp_path, text)).populations) == ["q"]


def test_no_network_is_refused(tmp_path):
    with pytest.raises(FileFormatError, match="defines no snnsim.Network"):
        network_from_script(_script(tmp_path, "x = 1\n"))
