"""Kiosk settings and the kiosk page through AppTest (the real model)."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from webapp.widgets import (DEFAULT_IDLE_S, LARGE_CANVAS, MIN_IDLE_S, PHONE_CANVAS, canvas_size, idle_seconds,
                             kiosk_mode, live_reading)
from digits.render import draw
from tests.digit_strokes import strokes_for
from tests.test_app import APP, canvas_state, prediction_shown

PIXEL = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
IPAD = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"


@pytest.mark.parametrize("params, env, on", [
    ({}, {}, False),
    ({"kiosk": "1"}, {}, True),
    ({"kiosk": "0"}, {}, False),
    ({}, {"DIGITS_KIOSK": "1"}, True),
    ({"kiosk": "0"}, {"DIGITS_KIOSK": "1"}, True),  # a visitor cannot leave the operator's kiosk
])
def test_kiosk_mode_from_url_or_environment(params, env, on):
    assert kiosk_mode(params, env) is on


def test_idle_time_from_url_then_environment_then_default():
    assert idle_seconds({}, {}) == DEFAULT_IDLE_S
    assert idle_seconds({}, {"DIGITS_KIOSK_IDLE": "90"}) == 90
    assert idle_seconds({"idle": "20"}, {"DIGITS_KIOSK_IDLE": "90"}) == 20
    assert idle_seconds({"idle": "soon"}, {"DIGITS_KIOSK_IDLE": "90"}) == 90
    assert idle_seconds({"idle": "0"}, {}) == MIN_IDLE_S


@pytest.mark.parametrize("params, env, on", [
    ({}, {}, True),
    ({"live": "0"}, {}, False),
    ({}, {"DIGITS_KIOSK_LIVE": "0"}, False),
    ({"live": "1"}, {"DIGITS_KIOSK_LIVE": "off"}, True),  # one device may differ from the rest
    ({"live": "maybe"}, {"DIGITS_KIOSK_LIVE": "0"}, False),  # unreadable: the next source decides
])
def test_live_reading_is_the_operators_setting(params, env, on):
    assert live_reading(params, env) is on


def test_phones_get_a_canvas_as_wide_as_a_big_phone_tablets_a_big_one():
    assert canvas_size(PIXEL) == PHONE_CANVAS
    assert canvas_size(IPAD) == LARGE_CANVAS  # iPadOS asks for the desktop site
    assert canvas_size("Mozilla/5.0 (iPad; CPU OS 12_2 like Mac OS X) Mobile/15E148 Safari/604.1") == LARGE_CANVAS
    assert canvas_size("Mozilla/5.0 (Linux; Android 8.1.0; SM-T837A) Safari/537.36") == LARGE_CANVAS
    # Shown at the screen's width (scaled down by CSS on narrower phones): a 412 px phone's full width.
    assert PHONE_CANVAS >= 412


def kiosk_app(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    return at


def test_kiosk_page_draws_answers_and_clears_itself_when_idle():
    at = kiosk_app(kiosk="1")
    assert not at.title, "no page title, no navigation: only the canvas and the answer"
    assert not at.toggle, "no switch a visitor could leave changed for the next one"
    assert any("Draw a digit" in i.value for i in at.info)
    at.session_state["kiosk_canvas_0"] = canvas_state(draw(strokes_for(1)))
    at.run()
    assert prediction_shown(at) is not None
    assert at.get("vega_lite_chart"), "probability chart"

    at.run()  # still fresh: nothing changes
    assert prediction_shown(at) is not None and at.session_state["kiosk_generation"] == 0

    at.session_state["kiosk_activity"] = time.time() - DEFAULT_IDLE_S - 1  # a minute later
    at.run()
    assert not at.exception
    assert at.session_state["kiosk_generation"] == 1, "a new canvas key"
    assert "_live_kiosk_canvas_0" not in at.session_state, "nothing of the last visitor's drawing is kept"
    assert prediction_shown(at) is None
    assert any("Draw a digit" in i.value for i in at.info)


def test_operator_kiosk_from_the_environment(monkeypatch):
    monkeypatch.setenv("DIGITS_KIOSK", "1")
    at = kiosk_app()
    assert "kiosk_generation" in at.session_state
    assert not at.title
