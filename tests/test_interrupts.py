"""Stop signals: raised outside a send, recorded (never raised) inside one."""

import signal

import pytest

from newsletter.interrupts import StopSignals, stop_requests


def test_outside_a_send_the_first_signal_raises_and_later_ones_are_ignored():
    with StopSignals() as stop:
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)
    assert stop.received is signal.SIGTERM
    assert stop.exit_code == 143


def test_inside_a_send_a_signal_only_sets_the_event_and_the_command_learns_of_it():
    with StopSignals() as stop:
        with stop_requests() as requested:
            signal.raise_signal(signal.SIGINT)
            assert requested.is_set()
        assert stop.received is signal.SIGINT
    assert stop.exit_code == 130


def test_used_alone_the_signal_is_handed_on_once_the_send_is_over():
    reached_the_end = False
    with pytest.raises(KeyboardInterrupt), stop_requests() as requested:
        signal.raise_signal(signal.SIGINT)
        assert requested.is_set()
        reached_the_end = True
    assert reached_the_end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
