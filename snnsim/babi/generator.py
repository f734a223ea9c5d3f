"""Stories of bAbI tasks 1, 2, 3 and 6 from a simulated :class:`~snnsim.babi.world.World`.

``generate_task(task, n_questions, seed)`` returns stories (:class:`~snnsim.babi.format.Story`)
holding ``n_questions`` questions in all, deterministic in ``(task, n_questions, seed)``. The
release's sizes are 1000 (``1k``) and 10000 (``10k``) questions per split.

The shapes follow the public generator (facebook/bAbI-tasks, ``WhereIsActor``, ``WhereIsObject``,
``WhereWasObject``, ``IsActorThere``); every story holds 5 questions:

- 1 single supporting fact: two moves, then "Where is Mary?" (her last move), five times.
- 2 two supporting facts: actions drawn as go (1/3) or get/drop (2/3); after at least 3 statements
  since the last question, a question follows with probability 1/2 when some object's place is
  known: "Where is the football?" (where its holder is, or where it was dropped; supports: the
  get or drop, and the holder's move).
- 3 three supporting facts: as 2, asked once some object has been in two places: "Where was the
  football before the kitchen?" about its last change of place (the place before the current one).
- 6 yes/no: as 1; "Is Mary in the bathroom?" (yes or no with probability 1/2 each; a "no" names a
  random other place).
"""

from __future__ import annotations

import numpy as np

from snnsim.babi.format import Question, Statement, Story
from snnsim.babi.world import World
from snnsim.errors import NetworkError

ACTORS = ("Mary", "John", "Daniel", "Sandra")
PLACES = ("bathroom", "hallway", "garden", "office", "bedroom", "kitchen")
OBJECTS = ("football", "apple", "milk")
GO = ("moved to", "went to", "journeyed to", "travelled to", "went back to")
GET = ("got", "picked up", "grabbed", "took")
DROP = ("dropped", "discarded", "put down", "left")
GIVE = ("gave", "handed", "passed")

#: per task: (statements before a question: "fixed" two, or "random" at least three then a question
#: with probability 1/2 each; questions per story; actions allowed, with their weights)
TASKS = {1: ("fixed", 5, ("go",)), 2: ("random", 5, ("go", "things")), 3: ("random", 5, ("go", "things")),
         6: ("fixed", 5, ("go",))}


def _act(world: World, rng: np.random.Generator, actions: tuple, sid: int) -> str:
    """Perform one valid random action; its sentence."""
    kind, tries = actions[rng.integers(len(actions))], 0
    while True:
        tries += 1
        if kind == "things" and tries > 100:  # nobody can get or drop yet (no actor placed): a move
            kind = "go"
        if kind == "things":  # get or drop, drawn until one is valid (bAbI-tasks: sample_valid)
            kind = ("get", "drop")[rng.integers(2)]
        actor = ACTORS[rng.integers(len(ACTORS))]
        if kind == "go":
            place = PLACES[rng.integers(len(PLACES))]
            if world.can_go(actor, place):
                world.go(actor, place, sid)
                return f"{actor} {GO[rng.integers(len(GO))]} the {place}."
        elif kind == "get":
            obj = OBJECTS[rng.integers(len(OBJECTS))]
            if world.can_get(actor, obj):
                world.get(actor, obj, sid)
                return f"{actor} {GET[rng.integers(len(GET))]} the {obj} there."
        elif kind == "drop":
            held = world.held_by(actor)
            if held:
                obj = held[rng.integers(len(held))]
                world.drop(actor, obj, sid)
                return f"{actor} {DROP[rng.integers(len(DROP))]} the {obj}."
        elif kind == "give":
            held, taker = world.held_by(actor), ACTORS[rng.integers(len(ACTORS))]
            if held and world.can_give(actor, held[0], taker):
                world.give(actor, held[0], taker, sid)
                return f"{actor} {GIVE[rng.integers(len(GIVE))]} the {held[0]} to {taker}."
        if kind in ("get", "drop"):
            kind = "things"


def _question(task: int, world: World, rng: np.random.Generator):
    """(text, answer, supports) of a question the story can answer, or None."""
    if task in (1, 6):
        known = [a for a in ACTORS if world.where_actor(a)]
        if not known:
            return None
        actor = known[rng.integers(len(known))]
        place, support = world.where_actor(actor)
        if task == 1:
            return f"Where is {actor}?", place, support
        asked = place if rng.random() < 0.5 else [p for p in PLACES if p != place][rng.integers(len(PLACES) - 1)]
        return f"Is {actor} in the {asked}?", "yes" if asked == place else "no", support
    if task == 2:
        known = [o for o in OBJECTS if world.where_object(o)]
        if not known:
            return None
        obj = known[rng.integers(len(known))]
        place, support = world.where_object(obj)
        return f"Where is the {obj}?", place, support
    # task 3: an object that has been in two places; its last change of place
    options = sorted(obj for obj, past in world.history.items() if len(past) > 1)
    if not options:
        return None
    obj = options[rng.integers(len(options))]
    past = world.history[obj]
    support = tuple(sorted({*past[-2][1], *past[-1][1]}))
    return f"Where was the {obj} before the {past[-1][0]}?", past[-2][0], support


def _story(task: int, rng: np.random.Generator, n_questions: int) -> Story:
    shape, _, actions = TASKS[task]
    world, lines = World(), []
    asked, since = 0, 0
    while asked < n_questions:
        sid = len(lines) + 1
        lines.append(Statement(sid, _act(world, rng, actions, sid)))
        since += 1
        if shape == "fixed" and since < 2:
            continue
        if shape == "random" and (since <= 2 or rng.random() >= 0.5):
            continue
        q = _question(task, world, rng)
        if q is None:
            continue
        since = 0
        text, answer, support = q
        support = tuple(rng.permutation(np.array(support, dtype=int)).tolist())  # the release's ids are unsorted
        lines.append(Question(len(lines) + 1, text, (answer,), support))
        asked += 1
    return Story(tuple(lines))


def generate_task(task: int, n_questions: int = 1000, seed: int = 0) -> list[Story]:
    """Stories of task ``task`` with ``n_questions`` questions in all (the last story may hold fewer)."""
    if task not in TASKS:
        raise NetworkError("babi generator", "task", f"must be one of {sorted(TASKS)}, got {task!r}")
    if not isinstance(n_questions, int) or n_questions < 1:
        raise NetworkError("babi generator", "n_questions", f"must be a positive integer, got {n_questions!r}")
    rng = np.random.default_rng([seed, task, n_questions])
    per_story = TASKS[task][1]
    stories, left = [], n_questions
    while left > 0:
        stories.append(_story(task, rng, min(per_story, left)))
        left -= min(per_story, left)
    return stories
