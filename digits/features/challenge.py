"""The challenge game: "Draw a 7", ten rounds, the model judges; a leaderboard of the day.

The game itself is pure (no Streamlit, no clock of its own): the page passes in the model's
digit and the time, so every rule here is testable. Scores are stored beside the feedback
(digits.features.feedback), in the same database (a SQLite file or PostgreSQL).
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from digits.features import feedback

ROUNDS = 10
NAME_MAX = 16
ANONYMOUS = "anonymous"
# Letters of any script, ASCII digits, space and a few joiners. Everything else (emoji, markup,
# control and bidi-override characters) is dropped: names are shown to every later visitor.
_NAME_PUNCT = " -_.'"


def targets(seed: int, rounds: int = ROUNDS) -> list[int]:
    """The digits asked for, from a seed: each digit once per ten rounds, in a random order."""
    rng = np.random.default_rng(seed)
    out: list[int] = []
    while len(out) < rounds:
        out.extend(int(d) for d in rng.permutation(10))
    return out[:rounds]


def sanitize_name(raw: str | None) -> str:
    """A visitor's name as it may appear on the leaderboard: allowed characters only, spaces
    collapsed, at most NAME_MAX characters; ANONYMOUS when nothing is left."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = "".join(" " if c.isspace() else c for c in text)
    kept = "".join(c for c in text if c.isalpha() or c in "0123456789" or c in _NAME_PUNCT)
    name = re.sub(r"\s+", " ", kept).strip(" -_.'")[:NAME_MAX].strip()
    return name or ANONYMOUS


@dataclass
class Round:
    target: int
    answer: int | None  # what the model read; None when it named no digit (not a digit, not sure)
    seconds: float  # since the game started, when this round was judged

    @property
    def right(self) -> bool:
        return self.answer == self.target


@dataclass
class Game:
    seed: int
    started: float  # the caller's clock (time.time()), seconds
    rounds: int = ROUNDS
    played: list[Round] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.asked = targets(self.seed, self.rounds)

    @property
    def done(self) -> bool:
        return len(self.played) >= self.rounds

    @property
    def target(self) -> int | None:
        """The digit asked for now; None once the game is over."""
        return None if self.done else self.asked[len(self.played)]

    def judge(self, answer: int | None, now: float) -> Round:
        """Record the model's reading of this round's drawing and move on."""
        if self.done:
            raise ValueError("the game is over")
        played = Round(self.asked[len(self.played)], None if answer is None else int(answer),
                       max(0.0, now - self.started))
        self.played.append(played)
        return played

    @property
    def score(self) -> int:
        return sum(r.right for r in self.played)

    @property
    def seconds(self) -> float:
        """Time from the start to the last judged round."""
        return self.played[-1].seconds if self.played else 0.0


# --------------------------------------------------------------------------- leaderboard


def save_score(game: Game, name: str | None, model_version: str, day: date | None = None,
               path: feedback.Location | os.PathLike | None = None) -> int:
    """Store a finished game under a sanitised name; returns the row id."""
    if not game.done:
        raise ValueError("only finished games go on the leaderboard")
    day = day or date.today()  # the server's local day: a kiosk's "today" is where it stands
    return feedback.insert(
        "INSERT INTO scores (created_utc, day, name, score, rounds, seconds, model_version)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (feedback.now_utc(), day.isoformat(), sanitize_name(name), game.score, game.rounds,
         round(game.seconds, 1), model_version),
        path,
    )


def leaderboard(day: date | None = None, limit: int = 10,
                path: feedback.Location | os.PathLike | None = None) -> list[dict]:
    """The day's best games: most right first, then fastest, then earliest."""
    day = day or date.today()
    if not feedback.exists(path):
        return []  # looking at an empty leaderboard creates no database
    with feedback.connect(path) as db:
        rows = db.rows(
            "SELECT id, name, score, rounds, seconds FROM scores WHERE day = ?"
            " ORDER BY score DESC, seconds ASC, id ASC LIMIT ?", (day.isoformat(), limit))
    return [{"id": i, "name": n, "score": s, "rounds": r, "seconds": t} for i, n, s, r, t in rows]
