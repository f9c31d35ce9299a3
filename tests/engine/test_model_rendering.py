"""ModelRenderer with a scripted ChatModel: the guard, resampling, fallbacks, beats and streaming."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from holdspace.content.models import Persona
from holdspace.engine.model_rendering import (
    NOTICE_MODEL_DOWN,
    ModelRenderer,
    StreamEvent,
    conveys,
    render_streaming,
)
from holdspace.engine.persona_prompt import build_persona_prompt, sentence_grammar, stop_sequences
from holdspace.engine.rendering import AuthoredRenderer, word_overlap
from holdspace.engine.types import LineRequest, Utterance
from holdspace.models.base import BaseChatModel, ChatPrompt, ModelError
from holdspace.models.scripted import ScriptedChatModel

PERSONA = Persona(
    id="sam-test",
    name="Sam Okafor",
    pronouns="he/him",
    summary="A line cook eleven months sober who jokes when things get heavy.",
    background="Sam is 34, a line cook, eleven months sober. He jokes when things get heavy. He has a sponsor.",
    voice="Quick, jokey, kitchen slang; goes quiet when serious.",
    lines={
        "answer": [
            "Kitchen's been slammed all week, honestly.",
            "I slept badly, but I made it to my meeting on Tuesday.",
            "My sponsor says I joke to dodge things. He's not wrong.",
        ],
        "deflect": ["I'm good. Heard.", "Nothing to report, chef."],
        "disclose": ["I used again last weekend.", "I haven't told my sponsor."],
        "support": ["{target}, that's a real win.", "I hear you, {target}."],
    },
)
RELAPSE = "I used again. Last weekend, after eleven months."


def request(intent: str = "answer", **kw: object) -> LineRequest:
    base: dict[str, object] = dict(
        speaker="Sam",
        persona=PERSONA,
        intent=intent,
        others=("Dana", "Marcus"),
        recent=(
            Utterance("facilitator", "facilitator", "Welcome back. Let's check in."),
            Utterance("Marcus", "member", "Mornings are still the hardest for me."),
        ),
        facilitator_reply="How did you sleep this week, and did you get to your meeting?",
        target="Dana" if intent in {"support", "escalate"} else None,
        seed=3,
    )
    base.update(kw)
    return LineRequest(**base)  # type: ignore[arg-type]


def renderer(model: object, **kw: object) -> ModelRenderer:
    return ModelRenderer(model, relevance=word_overlap, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ the prompt
def test_prompt_is_transcript_shaped_with_card_examples_beat_and_prefill() -> None:
    req = request("support")
    built = build_persona_prompt(req)
    text = "\n".join(m.content for m in built.prompt.messages)
    assert "You are Sam" in text and PERSONA.voice in text
    assert "Sam is 34" in text  # a short background
    assert any(fill in text for fill in ("Dana, that's a real win.", "I hear you, Dana."))  # authored examples
    assert "Marcus: Mornings are still the hardest for me." in text  # transcript with names
    assert "Facilitator: How did you sleep" in text
    assert "[Sam says something kind to Dana" in text  # the bracketed beat, with the target
    assert built.prefill and built.prompt.prefill == built.prefill
    assert built.prefill.startswith("Dana") or built.prefill.startswith("Hey Dana")
    options = built.prompt.options
    assert options.max_tokens <= 60
    assert set(options.stop) >= {"\n", "Facilitator:", "Dana:", "Marcus:"}
    assert options.grammar and "root ::=" in options.grammar


def test_another_attempt_changes_seed_and_may_change_prefill() -> None:
    first = build_persona_prompt(request(), attempt=0)
    second = build_persona_prompt(request(), attempt=1)
    assert first.prompt.options.seed != second.prompt.options.seed


def test_grammar_and_stops() -> None:
    assert "{0,2}" in sentence_grammar(3)
    assert "{0,0}" in sentence_grammar(1)
    assert stop_sequences(request())[0] == "\n"


def test_capable_prompt_has_no_grammar_and_carries_beat_content() -> None:
    built = build_persona_prompt(request("disclose", beat_lines=(RELAPSE,)), capable=True)
    assert built.prompt.options.grammar is None and built.prefill == ""
    assert RELAPSE in built.prompt.messages[-1].content


# ------------------------------------------------------------------------------------------ render
def test_a_good_model_line_is_used_with_its_prefill() -> None:
    model = ScriptedChatModel([" slept like garbage, but I made the Tuesday meeting."])
    line = renderer(model).render(request())
    prefill = model.prompts[0].prefill
    assert line.source == "model"
    assert line.text == prefill + " slept like garbage, but I made the Tuesday meeting."
    assert line.notice is None and line.rejected == []


def test_a_rejected_line_is_sampled_again() -> None:
    model = ScriptedChatModel([" think everyone should share. Let's go around the circle.", " slept okay, honestly."])
    line = renderer(model).render(request())
    assert line.source == "model" and line.text.endswith("slept okay, honestly.")
    assert [reason for _, reason in line.rejected] == ["facilitator_voice"]
    assert len(model.prompts) == 2
    assert model.prompts[0].options.seed != model.prompts[1].options.seed


def test_all_rejected_falls_back_to_the_most_relevant_authored_line() -> None:
    model = ScriptedChatModel(default=" should try journaling, it's important to take care of yourself.")
    line = renderer(model).render(request(facilitator_reply="Did you get to your meeting on Tuesday?"))
    assert line.source == "authored" and line.notice is None
    assert line.text == "I slept badly, but I made it to my meeting on Tuesday."  # relevant to sleep + meeting
    assert len(line.rejected) == 3 and {r for _, r in line.rejected} == {"counsels"}


@pytest.mark.parametrize("error", [ModelError("connection refused"), RuntimeError("bug in a backend")])
def test_a_model_error_falls_back_with_a_notice(error: Exception) -> None:
    line = renderer(ScriptedChatModel([error])).render(request())
    assert line.source == "authored"
    assert line.notice == NOTICE_MODEL_DOWN
    assert line.text in PERSONA.lines["answer"]


def test_key_beats_are_delivered_verbatim_without_asking_a_small_model() -> None:
    model = ScriptedChatModel(["anything"])
    line = renderer(model).render(request("disclose", beat_lines=(RELAPSE,)))
    assert line.source == "beat" and line.text == RELAPSE
    assert model.prompts == []


def test_a_capable_model_may_phrase_a_beat_only_if_it_conveys_it() -> None:
    good = ScriptedChatModel(["I have to say it. I used again last weekend, after eleven months clean."])
    line = renderer(good, capable=True).render(request("disclose", beat_lines=(RELAPSE,)))
    assert line.source == "model" and "used again" in line.text

    vague = ScriptedChatModel(default="It's been a strange week for me, to be honest.")
    line = renderer(vague, capable=True).render(request("disclose", beat_lines=(RELAPSE,)))
    assert line.source == "beat" and line.text == RELAPSE
    assert {r for _, r in line.rejected} == {"misses_beat"}


def test_beat_model_error_still_delivers_the_beat_with_a_notice() -> None:
    line = renderer(ScriptedChatModel([ModelError("down")]), capable=True).render(
        request("disclose", beat_lines=(RELAPSE,))
    )
    assert line.text == RELAPSE and line.notice == NOTICE_MODEL_DOWN


def test_conveys() -> None:
    assert conveys("Yeah so I used again, last weekend.", RELAPSE, word_overlap)
    assert not conveys("I'm fine, really.", RELAPSE, word_overlap)


# ------------------------------------------------------------------------------------------ streaming
class Recorder(BaseChatModel):
    """Streams given chunks and records how many were consumed when each delta was released."""

    name = "recorder"

    def __init__(self, *replies: list[str] | Exception) -> None:
        self.replies = list(replies)
        self.consumed = 0

    def stream(self, prompt: ChatPrompt) -> Iterator[str]:
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        for chunk in reply:
            if isinstance(chunk, Exception):
                raise chunk
            self.consumed += 1
            yield chunk


def collect(events: Iterator[StreamEvent]) -> tuple[list[str], StreamEvent]:
    events = list(events)
    assert events[-1].kind == "final" and events[-1].line is not None
    assert all(e.kind == "delta" for e in events[:-1])
    return [e.text for e in events[:-1]], events[-1]


def test_streaming_releases_sentences_as_they_pass_and_ends_with_final() -> None:
    model = Recorder([" slept", " badly.", " Made", " the", " meeting", " though."])
    deltas: list[str] = []
    consumed_at_first = None
    for event in renderer(model).render_streaming(request()):
        if event.kind == "delta":
            consumed_at_first = consumed_at_first or model.consumed
            deltas.append(event.text)
        else:
            final = event
    assert consumed_at_first == 3  # the first sentence was out before the model finished
    assert "".join(deltas) == final.line.text
    assert final.line.source == "model" and final.line.text.endswith("slept badly. Made the meeting though.")


def test_a_rejected_stream_never_shows_its_text() -> None:
    model = Recorder(
        [" want", " to", " invite", " everyone", " to", " share.", " Let's", " go", " around."],
        [" appreciate", " you", " sharing", " that.", " Let's", " go", " around."],
        [" want", " to", " welcome", " everyone.", " Thank", " you", " for", " coming."],
    )
    deltas, final = collect(renderer(model).render_streaming(request()))
    assert final.line.source == "authored"
    assert deltas == [final.line.text]  # only the fallback was ever shown
    assert len(final.line.rejected) == 3


def test_a_later_bad_sentence_is_cut_and_what_was_shown_stays() -> None:
    model = Recorder([" slept", " badly,", " man.", " You", " should", " try", " meditation.", " It", " helps."])
    deltas, final = collect(renderer(model).render_streaming(request()))
    assert final.line.source == "model"
    assert "".join(deltas) == final.line.text and final.line.text.endswith("slept badly, man.")
    assert "counsels" in final.line.rejected[-1][1]


def test_a_stream_failing_before_any_text_falls_back_with_notice() -> None:
    deltas, final = collect(renderer(Recorder(ModelError("connection refused"))).render_streaming(request()))
    assert final.line.notice == NOTICE_MODEL_DOWN and deltas == [final.line.text]


def test_a_stream_failing_after_text_keeps_the_shown_sentence() -> None:
    model = Recorder([" slept", " badly,", " honestly.", " And", ModelError("server went away")])
    deltas, final = collect(renderer(model).render_streaming(request()))
    assert final.line.source == "model" and final.line.text.endswith("slept badly, honestly.")
    assert "".join(deltas) == final.line.text


def test_stream_yields_only_text() -> None:
    model = ScriptedChatModel([" slept badly. Made the meeting though."])
    assert "".join(renderer(model).stream(request())).endswith("slept badly. Made the meeting though.")


def test_render_streaming_works_for_any_renderer() -> None:
    deltas, final = collect(render_streaming(AuthoredRenderer(), request()))
    assert deltas == [final.line.text] and final.line.source == "authored"
    deltas, final = collect(render_streaming(renderer(ScriptedChatModel([" slept okay."])), request()))
    assert final.line.source == "model"


def test_streaming_a_key_beat_for_a_small_model_is_the_authored_line() -> None:
    deltas, final = collect(renderer(Recorder()).render_streaming(request("disclose", beat_lines=(RELAPSE,))))
    assert deltas == [RELAPSE] and final.line.source == "beat"


def test_a_rejected_stream_hangs_up_on_the_model() -> None:
    closed: list[bool] = []

    class Endless(BaseChatModel):
        name = "endless"

        def stream(self, prompt: ChatPrompt) -> Iterator[str]:
            try:
                yield " want to invite everyone to share."
                while True:
                    yield " more"
            finally:
                closed.append(True)

    _, final = collect(renderer(Endless(), attempts=2).render_streaming(request()))
    assert final.line.source == "authored"
    assert closed == [True, True]  # each rejected sample's request was ended at once


def test_prefetched_prefix_is_a_prefix_of_every_line_in_the_next_round() -> None:
    from holdspace.engine.persona_prompt import prefetch_prompt
    from holdspace.models.embedded import chatml

    before = request()  # the transcript as the round ended
    warmed = chatml(prefetch_prompt(before).messages)
    warmed = warmed[: warmed.rfind("<|im_end|>")]
    reply = "What helped you most this week?"
    recent = (*before.recent, Utterance("facilitator", "facilitator", reply))
    for intent, extra in (("answer", ()), ("deflect", ()), ("support", (Utterance("Dana", "member", "Same."),))):
        later = request(intent, recent=recent + extra, facilitator_reply=reply)
        built = build_persona_prompt(later)
        assert chatml(built.prompt.messages, built.prefill).startswith(warmed), intent


def test_prefetch_is_sent_only_to_backends_that_can_and_never_raises() -> None:
    class Warmable(ScriptedChatModel):
        def __init__(self, fail: bool = False) -> None:
            super().__init__()
            self.warmed: list[ChatPrompt] = []
            self.fail = fail

        def prefetch(self, prompt: ChatPrompt) -> None:
            if self.fail:
                raise ModelError("down")
            self.warmed.append(prompt)

    model = Warmable()
    assert renderer(model).prefetch(request()) and len(model.warmed) == 1
    assert not renderer(Warmable(fail=True)).prefetch(request())
    assert not renderer(ScriptedChatModel()).prefetch(request())
    assert not renderer(Warmable(), capable=True).prefetch(request())
    renderer(model).prefetch_async([request(), request("deflect")]).join(5)
    assert len(model.warmed) == 3


def test_prefetch_stops_sending_once_cancelled() -> None:
    import threading

    sent = threading.Event()
    release = threading.Event()

    class Slow(ScriptedChatModel):
        def __init__(self) -> None:
            super().__init__()
            self.warmed: list[ChatPrompt] = []

        def prefetch(self, prompt: ChatPrompt) -> None:
            self.warmed.append(prompt)
            sent.set()
            release.wait(5)

    model = Slow()
    cancel = threading.Event()
    thread = renderer(model).prefetch_async([request(), request("deflect"), request("support")], cancel)
    assert sent.wait(5)
    cancel.set()  # a round starts while the first prompt is being read
    release.set()
    thread.join(5)
    assert len(model.warmed) == 1
