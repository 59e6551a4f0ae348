"""Object categories of the built-in simulator: where each belongs and how it is placed.

``placement``: "floor" (stands on the floor, often against a wall), "surface" (stands on a
supporting object's top), "wall" (hung on a wall at ``wall_height_m``). ``supports`` marks furniture
whose top surface can hold "surface" objects; ``pickupable`` the objects the rearrangement task may
move (and the agent pick up). Room types: living_room, bedroom, kitchen, bathroom,
dining_room, office.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ROOM_TYPES", "CategorySpec", "CATEGORIES", "OBJECTNAV_GOALS", "PICKUPABLE", "category_spec"]

ROOM_TYPES: tuple[str, ...] = ("living_room", "bedroom", "kitchen", "bathroom", "dining_room", "office")


@dataclass(frozen=True, slots=True)
class CategorySpec:
    name: str
    rooms: tuple[str, ...]
    placement: str
    supports: bool = False
    against_wall: bool = False
    max_per_room: int = 1
    pickupable: bool = False
    wall_height_m: tuple[float, float] | None = None


CATEGORIES: dict[str, CategorySpec] = {c.name: c for c in (
    CategorySpec("chair", ("living_room", "dining_room", "office", "bedroom", "kitchen"), "floor", max_per_room=4),
    CategorySpec("bed", ("bedroom",), "floor", against_wall=True),
    CategorySpec("potted plant", ("living_room", "bedroom", "office", "dining_room", "bathroom"), "floor", max_per_room=2),
    CategorySpec("toilet", ("bathroom",), "floor", against_wall=True),
    CategorySpec("tv", ("living_room", "bedroom"), "surface"),
    CategorySpec("sofa", ("living_room",), "floor", against_wall=True, max_per_room=2),
    CategorySpec("table", ("dining_room", "living_room", "kitchen", "office"), "floor", supports=True),
    CategorySpec("cabinet", ("kitchen", "living_room", "bedroom", "bathroom", "office"), "floor", supports=True,
                 against_wall=True, max_per_room=2),
    CategorySpec("sink", ("bathroom", "kitchen"), "floor", against_wall=True),
    CategorySpec("bathtub", ("bathroom",), "floor", against_wall=True),
    CategorySpec("lamp", ("living_room", "bedroom", "office"), "floor", max_per_room=2),
    CategorySpec("bookshelf", ("living_room", "office", "bedroom"), "floor", against_wall=True),
    CategorySpec("refrigerator", ("kitchen",), "floor", against_wall=True),
    CategorySpec("laptop", ("office", "living_room", "bedroom", "dining_room"), "surface", pickupable=True),
    CategorySpec("mug", ("kitchen", "dining_room", "office", "living_room"), "surface", pickupable=True, max_per_room=2),
    CategorySpec("vase", ("living_room", "dining_room", "bedroom"), "surface", pickupable=True),
    CategorySpec("clock", ("living_room", "kitchen", "office", "bedroom", "dining_room"), "wall",
                 wall_height_m=(1.6, 2.0)),
    CategorySpec("oven", ("kitchen",), "floor", against_wall=True),
)}

PICKUPABLE: tuple[str, ...] = tuple(c for c, spec in CATEGORIES.items() if spec.pickupable)
"""Categories the rearrangement task moves (small objects standing on furniture)."""

OBJECTNAV_GOALS: tuple[str, ...] = ("chair", "bed", "potted plant", "toilet", "tv", "sofa")
"""The HM3D ObjectNav goal categories (the default goal set of generated episodes)."""


def category_spec(name: str) -> CategorySpec:
    """The spec of ``name``; unknown names raise ConfigError listing the known ones."""
    try:
        return CATEGORIES[name]
    except KeyError:
        import difflib

        from embodied.errors import ConfigError

        close = difflib.get_close_matches(name, list(CATEGORIES), n=2)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ConfigError(f"unknown category '{name}'.{hint} Known: {', '.join(CATEGORIES)}") from None
