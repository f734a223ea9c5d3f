"""Brunel (2000) model A with its Poisson drive at rate dt = 2 (20 kHz per neuron at dt = 0.1 ms).

The reference rate is Brunel's mean-field theory (his eqs. 4-5 and 21: the Siegert first-passage
rate of a LIF neuron with mu = C_E J tau (nu_ext + nu (1 - g gamma)),
sigma^2 = C_E J^2 tau (nu_ext + nu (1 + g^2 gamma)), solved self-consistently), computed here with
scipy: 37.9 Hz at g = 5, eta = 2 (the asynchronous irregular state of his Fig. 8C). The theory
neglects correlations and the time grid; 10 % covers the grid's known excess of a few percent.
"""

import math

import numpy as np
import scipy.integrate
import scipy.optimize
import scipy.special

from snnsim import simulate
from snnsim.examples import brunel
from snnsim.examples.brunel import build_brunel


def mean_field_rate(g=5.0, eta=2.0):
    J, ce, tau, trp, th, vr = brunel.J, brunel.C_E, brunel.TAU, brunel.TAU_RP, brunel.THETA, brunel.V_R
    gamma = brunel.C_I / brunel.C_E
    nu_ext = eta * th / (J * ce * tau)

    def siegert(nu):
        mu = J * ce * tau * (nu_ext + nu * (1 - g * gamma))
        sigma = math.sqrt(J * J * ce * tau * (nu_ext + nu * (1 + g * g * gamma)))
        integral = scipy.integrate.quad(lambda u: scipy.special.erfcx(-u), (vr - mu) / sigma, (th - mu) / sigma)[0]
        return 1.0 / (trp + tau * math.sqrt(math.pi) * integral)

    return scipy.optimize.brentq(lambda nu: siegert(nu) - nu, 0.1, 500.0)


def test_brunel_network_builds_with_the_published_numbers():
    net = build_brunel(scale=0.2)
    assert net.populations["exc"].size == 2000 and net.populations["inh"].size == 500
    assert np.allclose(net.sources["ext_exc"].rate * net.dt, 2.0, rtol=1e-12, atol=0)        # 20 kHz at dt = 0.1 ms
    indeg = np.bincount(net.projections["exc->inh"].indices, minlength=500)
    assert (indeg == 1000).all()
    assert np.all(np.asarray(net.projections["inh->exc"].weights) == -5 * 0.1e-3)


def test_brunel_rate_matches_mean_field_theory():
    nu_theory = mean_field_rate()
    assert 37 < nu_theory < 39
    net = build_brunel(scale=0.2)
    res = simulate(net, 0.4)
    for pop in ("exc", "inh"):
        sp = res.spikes[pop]
        rate = np.count_nonzero(sp.times > 0.1) / net.populations[pop].size / 0.3
        assert abs(rate / nu_theory - 1) < 0.10, (pop, rate, nu_theory)
