"""The bAbI world: actors, locations and objects, and the actions go, get, drop and give.

Validity rules: an actor goes only to a place other than where it is; gets only an object that
nobody holds and that lies where the actor is (or whose place the story has never told); drops
only what it holds; gives only what it holds, to another actor in the same place. Objects move
with their carrier. The world records, for every actor and object, which statements told where
it is (the supporting facts), so questions ask only about what the story has told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class World:
    actor_place: dict = field(default_factory=dict)    #: actor -> (place, id of the statement that told it)
    holder: dict = field(default_factory=dict)         #: object -> (actor, id of the get/give statement)
    object_place: dict = field(default_factory=dict)   #: object -> (place, supporting ids) while it lies somewhere
    history: dict = field(default_factory=dict)        #: object -> [(place, supporting ids)], places in order

    # ------------------------------------------------------------------ queries
    def where_actor(self, actor: str) -> Optional[tuple[str, tuple]]:
        p = self.actor_place.get(actor)
        return None if p is None else (p[0], (p[1],))

    def where_object(self, obj: str) -> Optional[tuple[str, tuple]]:
        """The object's place and its supporting ids, if the story has told them."""
        if obj in self.holder:
            actor, got = self.holder[obj]
            here = self.where_actor(actor)
            return None if here is None else (here[0], tuple(sorted({got, *here[1]})))
        return self.object_place.get(obj)

    def held_by(self, actor: str) -> list:
        return sorted(o for o, (a, _) in self.holder.items() if a == actor)

    # ------------------------------------------------------------------ actions
    def can_go(self, actor: str, place: str) -> bool:
        here = self.actor_place.get(actor)
        return here is None or here[0] != place

    def go(self, actor: str, place: str, sid: int) -> None:
        assert self.can_go(actor, place), (actor, place)
        self.actor_place[actor] = (place, sid)
        for obj in self.held_by(actor):
            self._moved(obj)

    def can_get(self, actor: str, obj: str) -> bool:
        if obj in self.holder or actor not in self.actor_place:
            return False
        lying = self.object_place.get(obj)
        return lying is None or lying[0] == self.actor_place[actor][0]

    def get(self, actor: str, obj: str, sid: int) -> None:
        assert self.can_get(actor, obj), (actor, obj)
        self.holder[obj] = (actor, sid)
        self.object_place.pop(obj, None)
        self._moved(obj)

    def can_drop(self, actor: str, obj: str) -> bool:
        return self.holder.get(obj, (None,))[0] == actor

    def drop(self, actor: str, obj: str, sid: int) -> None:
        """The object lies where the actor is (supports: the drop and the actor's last move)."""
        assert self.can_drop(actor, obj), (actor, obj)
        place, (moved,) = self.where_actor(actor)
        del self.holder[obj]
        self.object_place[obj] = (place, tuple(sorted({moved, sid})))

    def can_give(self, giver: str, obj: str, taker: str) -> bool:
        return (giver != taker and self.can_drop(giver, obj) and giver in self.actor_place
                and taker in self.actor_place and self.actor_place[giver][0] == self.actor_place[taker][0])

    def give(self, giver: str, obj: str, taker: str, sid: int) -> None:
        assert self.can_give(giver, obj, taker), (giver, obj, taker)
        self.holder[obj] = (taker, sid)
        self._moved(obj)

    def _moved(self, obj: str) -> None:
        """Append the object's place to its history when it changed (or was first told)."""
        now = self.where_object(obj)
        if now is None:
            return
        past = self.history.setdefault(obj, [])
        if not past or past[-1][0] != now[0]:
            past.append(now)
