"""What each API answer means for a row: the table behind every retry decision."""

import pytest

from uploader.model import Outcome
from uploader.send.outcomes import Action, error_text, judge_response
from uploader.send.transport import ApiResponse


def answer(status: int, body: object = None, retry_after: str | None = None) -> ApiResponse:
    return ApiResponse(
        status=status, body=body, text="" if body is None else str(body), retry_after=retry_after
    )


@pytest.mark.parametrize(
    ("status", "action", "outcome"),
    [
        (201, Action.FINAL, Outcome.CREATED),
        (200, Action.FINAL, Outcome.CREATED),
        (401, Action.AUTH, None),
        (403, Action.AUTH, None),
        (429, Action.RATE_LIMITED, None),
        (408, Action.OVERLOADED, Outcome.FAILED),
        (425, Action.OVERLOADED, Outcome.FAILED),
        (503, Action.OVERLOADED, Outcome.FAILED),
        (500, Action.AMBIGUOUS, Outcome.UNKNOWN),
        (502, Action.AMBIGUOUS, Outcome.UNKNOWN),
        (504, Action.AMBIGUOUS, Outcome.UNKNOWN),
        (422, Action.FINAL, Outcome.REJECTED),
        (400, Action.FINAL, Outcome.REJECTED),
        (404, Action.FINAL, Outcome.REJECTED),
        (302, Action.FINAL, Outcome.REJECTED),
    ],
)
def test_status_table(status: int, action: Action, outcome: Outcome | None) -> None:
    verdict = judge_response(answer(status, {}))
    assert verdict.action is action
    assert verdict.outcome is outcome
    assert verdict.http_status == status


def test_created_carries_status_price_and_id() -> None:
    body = {
        "lead_uuid": "u",
        "lead_public_id": "lead_" + "a" * 26,
        "status": "duplicate",
        "price": 0.0,
    }
    verdict = judge_response(answer(201, body))
    assert (verdict.lead_status, verdict.price, verdict.lead_public_id) == (
        "duplicate",
        0.0,
        "lead_" + "a" * 26,
    )


def test_created_accepts_unknown_status_and_missing_public_id() -> None:
    verdict = judge_response(answer(201, {"lead_uuid": "abc", "status": "withheld", "price": 3}))
    assert verdict.lead_status == "withheld"
    assert verdict.lead_public_id == "abc"
    assert verdict.price == 3.0


def test_validation_errors_name_field_and_reason() -> None:
    body = {
        "message": "The given data was invalid.",
        "errors": {
            "email": ["The email field must be a valid email address."],
            "zip": ["bad zip", "too short"],
        },
    }
    assert error_text(answer(422, body)) == (
        "email: The email field must be a valid email address.; zip: bad zip; zip: too short"
    )


def test_ping_error_shape() -> None:
    body = {"error": "Ping ID has expired"}
    assert judge_response(answer(422, body)).error == "Ping ID has expired"


def test_non_json_error_is_condensed() -> None:
    response = ApiResponse(status=418, body=None, text="<html>\n  teapot\n</html>")
    assert judge_response(response).error == "<html> teapot </html>"


def test_retry_after_is_passed_on() -> None:
    assert judge_response(answer(429, {}, "7")).retry_after == "7"
    assert judge_response(answer(503, {}, "3")).retry_after == "3"
