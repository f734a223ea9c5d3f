"""Stories of bAbI tasks 1, 2, 3 and 6 from a simulated :class:`~snnsim.babi.world.World`.

``generate_task(task, n_questions, seed)`` returns stories (:class:`~snnsim.babi.format.Story`)
holding ``n_questions`` questions in all, deterministic in ``(task, n_questions, seed)``. The
release's sizes are 1000 (``1k``) and 10000 (``10k``) questions per split.

- 1 single supporting fact: actors move; "Where is Mary?" (the last move of Mary).
- 2 two supporting facts: actors move, get and drop objects; "Where is the football?" (the get or
  drop, and the move of the carrier that places it).
- 3 three supporting facts: as 2, longer stories; "Where was the football before the kitchen?".
- 6 yes/no: as 2; "Is Mary in the bathroom?" (yes or no, half each).
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

#: per task: (statements between two questions (low, high), questions per story, actions allowed)
TASKS = {1: ((1, 2), 5, ("go",)), 2: ((1, 4), 5, ("go", "get", "drop")), 3: ((2, 6), 5, ("go", "get", "drop")),
         6: ((1, 2), 5, ("go", "get", "drop"))}


def _act(world: World, rng: np.random.Generator, actions: tuple, sid: int) -> str:
    """Perform one valid random action; its sentence."""
    while True:
        kind = actions[rng.integers(len(actions))]
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
    # task 3: a place visited once in the object's history, with a place before it
    options = []
    for obj, past in sorted(world.history.items()):
        names = [p for p, _ in past]
        options += [(obj, i) for i in range(1, len(past)) if names.count(names[i]) == 1]
    if not options:
        return None
    obj, i = options[rng.integers(len(options))]
    past = world.history[obj]
    support = tuple(sorted({*past[i - 1][1], *past[i][1]}))
    return f"Where was the {obj} before the {past[i][0]}?", past[i - 1][0], support


def _story(task: int, rng: np.random.Generator, n_questions: int) -> Story:
    (lo, hi), _, actions = TASKS[task]
    world, lines = World(), []
    # the first moves tell where the actors are
    asked = 0
    while asked < n_questions:
        for _ in range(rng.integers(lo, hi + 1)):
            sid = len(lines) + 1
            lines.append(Statement(sid, _act(world, rng, actions, sid)))
        q = _question(task, world, rng)
        if q is None:
            continue
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
