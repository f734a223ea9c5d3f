"""Clear refusals (NetworkError naming object and field, or an argparse usage error) where a new user
met a library traceback, a wrong field name, or nonsense accepted."""

import numpy as np
import pytest
import torch

import snnsim
from snnsim.cli import main
from snnsim.errors import NetworkError
from snnsim.training.classify import Encoding, make_step
from snnsim.training.tasks import classifier_network, load_digits_task


def field_of(fn):
    with pytest.raises(NetworkError) as info:
        fn()
    return info.value.field, str(info.value)


@pytest.mark.parametrize("model", [snnsim.LIF, snnsim.CubaLIF])
def test_negative_membrane_resistance_is_refused(model):
    net = snnsim.Network()
    field, msg = field_of(lambda: net.add_population("a", 2, model(r=-5.0)))
    assert field == "r" and "-5.0" in msg and "population 'a'" in msg
    net.add_population("ok", 2, model(r=0.0))  # zero resistance (input ignored) stays allowed


def test_a_bad_threshold_is_named_v_th_not_v_reset():
    net = snnsim.Network()
    field, msg = field_of(lambda: net.add_population("a", 2, snnsim.LIF(v_th=-1.0)))  # v_reset left at 0
    assert field == "v_th" and "-1.0" in msg
    field, _ = field_of(lambda: net.add_population("b", 2, snnsim.LIF(v_reset=2.0)))  # v_th left at 1
    assert field == "v_reset"


def test_a_bad_sample_step_is_named_rate_dt_or_sample_dt():
    net = snnsim.Network()
    net.add_population("p", 3, snnsim.LIF())
    assert field_of(lambda: net.add_poisson("q", 3, [1.0, 2.0], rate_dt=-1e-3))[0] == "rate_dt"
    assert field_of(lambda: net.add_current("i", "p", [0.0, 1.0], sample_dt=0.0))[0] == "sample_dt"


def test_labels_beyond_the_readout_are_a_network_error():
    from snnsim.backends.torch import TorchNetwork
    model = TorchNetwork(classifier_network(4, (3,), 2, seed=1))
    step = make_step(Encoding("poisson", 3, 500.0).check())
    x = np.ones((2, 4), np.float32)
    loss, _ = step(model, x, torch.tensor([0, 1]), torch.Generator().manual_seed(0))  # labels 0 and 1 fit 2 outputs
    assert torch.isfinite(loss)
    for labels, bad in (([0, 2], "2"), ([-1, 0], "-1")):
        field, msg = field_of(lambda: step(model, x, torch.tensor(labels), torch.Generator().manual_seed(0)))
        assert field == "labels" and f"got label {bad}" in msg and "[0, 2)" in msg


@pytest.mark.parametrize("seed", [-1, 2 ** 32, 1.5])
def test_bad_seed_for_the_splits_is_refused(seed):
    field, msg = field_of(lambda: load_digits_task(seed))
    assert field == "seed" and repr(seed) in msg


@pytest.mark.parametrize("argv, option", [
    (["train", "digits", "--epochs", "-3"], "--epochs"),
    (["train", "digits", "--batch-size", "0"], "--batch-size"),
    (["train", "digits", "--threads", "0"], "--threads"),
    (["train", "digits", "--steps", "-1"], "--steps"),
    (["train", "digits", "--hidden", "16", "0"], "--hidden"),
    (["train", "digits", "--limit", "0"], "--limit"),
    (["train", "digits", "--patience", "0"], "--patience"),
    (["train", "digits", "--check-engine", "-1"], "--check-engine"),
    (["train", "digits", "--seed", "-1"], "--seed"),
    (["train", "digits", "--max-rate", "nan"], "--max-rate"),
    (["demo", "--seed", "-2"], "--seed"),
])
def test_cli_counts_out_of_range_are_usage_errors(argv, option, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and "must be" in err, err
