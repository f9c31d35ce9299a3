"""A trainer and a trainee in a real browser: first-run set-up, adding a trainee, sign-in, a scenario played
to its report, a note, the three exports; and a session that survives a reload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from holdspace.services import accounts

pytestmark = pytest.mark.browser

TRAINER_PASSWORD = "a quiet room at dusk"
TRAINEE_PASSWORD = "a practice phrase 42"
#: starting a session loads the move detector and scorer; a model that must first be trained takes longer
START_TIMEOUT_MS = 120_000
REPLIES = [
    "Welcome, everyone. What would you like to talk about tonight?",
    "Marcus, thanks, let me pause you there. Dana, how has your week been?",
]
UNLABELLED_INPUTS = """() => [...document.querySelectorAll('input, textarea, select')]
  .filter(el => el.type !== 'hidden' && el.type !== 'file' && el.offsetParent !== null)
  .filter(el => !(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
                  || (el.labels && el.labels.length)))
  .map(el => el.outerHTML.slice(0, 120))"""


def settle(page, timeout: int = 30_000) -> None:
    """Wait until the app's script run is over (Streamlit marks its state on the app root)."""
    page.wait_for_timeout(200)
    page.wait_for_function(
        """() => { const app = document.querySelector('[data-testid="stApp"]');
                   return app && !['running', 'rerunRequested'].includes(app.dataset.testScriptState); }""",
        timeout=timeout,
    )


def labelled(page) -> None:
    assert page.evaluate(UNLABELLED_INPUTS) == []


def messages(page) -> list[str]:
    """Chat messages as "accessible name: shown label: text", in order."""
    raw = page.locator('[data-testid="stChatMessageContent"]').evaluate_all(
        "els => els.map(e => [e.getAttribute('aria-label').replace('Chat message from ', ''), e.innerText])"
    )
    return [": ".join([name, *(line.strip() for line in text.splitlines() if line.strip())]) for name, text in raw]


def sign_in(page, username: str, password: str) -> None:
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password", exact=True).fill(password)
    page.get_by_role("textbox", name="Password", exact=True).press("Enter")  # the keyboard submits the form
    page.get_by_role("heading", name="Practice library", level=1).wait_for()
    settle(page)


def send(page, reply: str) -> None:
    box = page.get_by_role("textbox", name="Your reply to the group")
    box.fill(reply)
    box.press("Enter")
    settle(page)


def test_trainer_sets_up_and_trainee_finishes_a_scenario(app_url: str, page, tmp_path: Path) -> None:
    step = page.steps
    page.goto(app_url)
    page.get_by_role("heading", name="Welcome to holdspace", level=1).wait_for()
    settle(page)
    labelled(page)
    step("first-run set-up")
    page.get_by_role("textbox", name="Username").fill("terry")
    page.get_by_role("textbox", name="Your name (shown in the app)").fill("Terry Trainer")
    page.get_by_role("textbox", name="Password", exact=True).fill(TRAINER_PASSWORD)
    page.get_by_role("textbox", name="Repeat the password").fill(TRAINER_PASSWORD)
    page.get_by_role("button", name="Create the trainer account").click()
    page.get_by_role("heading", name="Practice library", level=1).wait_for()
    settle(page)
    step("trainer home")

    page.get_by_role("link", name="Trainees").click()
    page.get_by_role("heading", name="Add a trainee").wait_for()
    settle(page)
    labelled(page)
    page.get_by_role("textbox", name="Trainee username").fill("tina")
    page.get_by_role("textbox", name="Trainee's name").fill("Tina Trainee")
    page.get_by_role("textbox", name="Initial password").fill(TRAINEE_PASSWORD)
    page.get_by_role("button", name="Add the trainee").click()
    page.get_by_text("Added tina").wait_for()
    settle(page)
    step("trainee added")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to holdspace", level=1).wait_for()
    settle(page)
    assert "t=" not in page.url
    labelled(page)
    step("signed out")
    sign_in(page, "tina", TRAINEE_PASSWORD)
    assert page.get_by_role("link", name="Trainees").count() == 0  # trainees see only their own pages
    labelled(page)
    step("trainee home")

    page.get_by_text("Briefing: the group, its members and the objectives").nth(1).click()
    page.get_by_text("Acknowledge Priya's relapse warmly").wait_for()
    start = page.get_by_role("button", name="Start this scenario").nth(1)  # the relapse scenario (intermediate)
    assert start.is_disabled()  # a heavy scenario waits for its content note to be read
    page.get_by_text("I have read the content note").click()
    settle(page)
    page.get_by_role("button", name="Start this scenario").nth(1).click()
    page.get_by_role("heading", name="A relapse in the circle", level=1).wait_for(timeout=START_TIMEOUT_MS)
    settle(page)
    labelled(page)
    assert messages(page) == [
        "Marcus: Marcus: Right, shall I kick us off then? Because I've had a week, let me tell you."
    ]
    step("practice room")

    send(page, REPLIES[0])
    after_first = messages(page)
    assert after_first[1] == f"You: You (facilitator): {REPLIES[0]}"
    assert len(after_first) >= 3 and all(m.split(":")[0] in {"Marcus", "Dana", "Priya"} for m in after_first[2:])
    assert page.get_by_text("Turn 1 of 4").is_visible()
    step("first round answered")
    send(page, REPLIES[1])
    assert any("I used again on Saturday" in m for m in messages(page))  # the scripted disclosure at turn 2
    step("second round: a disclosure")

    page.get_by_role("button", name="End now").click()
    page.get_by_role("button", name="End and see the report").click()
    page.get_by_role("heading", name="Report: A relapse in the circle", level=1).wait_for()
    settle(page)
    for heading in (
        "Objectives",
        "The group over the turns",
        "Airtime per member",
        "Key moments",
        "Transcript",
    ):
        assert page.get_by_role("heading", name=heading).count() == 1, heading
    labelled(page)
    page.get_by_text("Turn 1: moves, scores and coaching").click()  # the first reply, annotated
    page.get_by_text("Moves detected", exact=True).first.wait_for()
    assert page.get_by_text("open question").count() >= 1
    step("report")

    page.get_by_role("textbox", name="Your note").fill("Next time I would name Dana sooner.")
    page.get_by_role("button", name="Save the note").click()
    page.get_by_text("Note saved.").wait_for()
    settle(page)
    assert page.get_by_text("Next time I would name Dana sooner.").count() == 1
    step("note added")

    downloads = {}
    for label in ("Markdown", "PDF", "JSON"):
        with page.expect_download() as info:
            page.get_by_role("button", name=label).click()
        target = tmp_path / info.value.suggested_filename
        info.value.save_as(target)
        downloads[label] = target.read_bytes()
    assert (
        b"# A relapse in the circle" in downloads["Markdown"]
        and b"Next time I would name Dana" in downloads["Markdown"]
    )
    assert downloads["PDF"].startswith(b"%PDF")
    document = json.loads(downloads["JSON"])
    assert document["transcript"][1]["text"] == REPLIES[0] and document["notes"][0]["text"].startswith("Next time")
    step("exported")

    page.get_by_role("link", name="History").click()
    page.get_by_role("heading", name="History", level=1).wait_for()
    settle(page)
    assert page.get_by_text("ended early").count() >= 1
    step("history")


def test_a_session_survives_a_reload_and_resumes(app_url: str, page) -> None:
    accounts.create_first_trainer("terry", TRAINER_PASSWORD)
    accounts.add_user("tina", TRAINEE_PASSWORD)
    step = page.steps
    page.goto(app_url)
    page.get_by_role("heading", name="Sign in to holdspace", level=1).wait_for()
    settle(page)
    sign_in(page, "tina", TRAINEE_PASSWORD)
    page.get_by_role("button", name="Start this scenario").first.click()  # the beginner scenario, no note
    page.get_by_role("heading", name="A quiet first evening", level=1).wait_for(timeout=START_TIMEOUT_MS)
    settle(page)
    send(page, REPLIES[0])
    before = messages(page)
    step("played a round")

    page.reload()  # a new browser session: the token in the URL signs back in, the session is rebuilt
    page.get_by_role("heading", name="A quiet first evening", level=1).wait_for()
    settle(page)
    assert messages(page) == before
    step("after reload")

    page.get_by_role("button", name="Pause").click()
    page.get_by_text("Continue where you left off").wait_for()
    settle(page)
    step("paused")
    page.get_by_role("button", name="Resume").click()
    page.get_by_role("heading", name="A quiet first evening", level=1).wait_for()
    settle(page)
    assert messages(page) == before
    page.get_by_text("Group dynamics").click()
    settle(page)
    assert page.get_by_text("Who has spoken how much").is_visible()
    assert page.get_by_text("Tension:").is_visible()
    step("resumed with the dynamics view")
