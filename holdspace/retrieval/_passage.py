"""What a search returns: a passage of the guide with enough context to cite it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, computed_field

EXCERPT_CHARS = 200


def make_excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A one-line excerpt of about `limit` characters, cut at a sentence or word boundary."""
    flat = " ".join(text.replace("**", "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    sentence_end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    if sentence_end >= limit * 0.6:
        return cut[: sentence_end + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut).rstrip(",;:—- ") + "…"


class Passage(BaseModel):
    """One ranked chunk of the guide: which document and section it is, its text and its score."""

    model_config = ConfigDict(frozen=True)

    source: str  # the document id
    section: str
    title: str
    text: str
    score: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def excerpt(self) -> str:
        return make_excerpt(self.text)

    def citation(self) -> dict[str, str]:
        """The shape coaching feedback carries and the web app shows."""
        return {"source": self.source, "section": self.section, "title": self.title, "excerpt": self.excerpt}

    def contract(self) -> dict[str, str | float]:
        """The `holdspace retrieve --json` record, exactly as DESIGN.md specifies it."""
        return {"source": self.source, "section": self.section, "text": self.text, "score": self.score}
