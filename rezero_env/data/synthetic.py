"""The embedded default dataset: a procedurally generated world of fictional people, places, organisations and
artefacts, rendered as encyclopedia paragraphs, with questions whose answers are checkable exactly.

A pretrained model cannot answer these questions from memory, so it has to search. Three levels of questions:

- ``single-hop``: one lookup ("In what year was Orlen Vask born?");
- ``two-hop``: a relation, then an attribute of the related entity, stated in two different paragraphs
  ("In which town was the maker of the Amber Astrolabe born?");
- ``distractor``: a lookup about an entity that has a near-twin in the corpus — a name one letter apart, with
  near-duplicate values (a birth year with swapped digits, a neighbouring town).

Everything is a pure function of :class:`WorldConfig`, so the same seed always yields the same world.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from rezero_env.data.dataset import QADataset, train_test_indices
from rezero_env.types import Document, Task

T = TypeVar("T")

LEVELS = ("single-hop", "two-hop", "distractor")

_ONSETS = (
    "b",
    "br",
    "c",
    "d",
    "dr",
    "f",
    "g",
    "gr",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "st",
    "t",
    "th",
    "v",
    "w",
    "z",
    "sh",
    "qu",
)
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ae", "ei", "ou", "y")
_CODAS = ("", "", "", "n", "r", "l", "s", "th", "m", "nd", "rk", "st", "v", "x", "ll")
_PLACE_SUFFIXES = ("", "", "ford", "mere", "holm", "wick", "gard", "haven", "moor", "stead")
_REGION_KINDS = ("Vale", "Coast", "Highlands", "Marches", "Fens", "Downs")
_INDUSTRIES = (
    "glassmaking",
    "shipbuilding",
    "salt mining",
    "weaving",
    "printing",
    "clockmaking",
    "copper smelting",
    "paper milling",
    "wine making",
    "stone carving",
    "dye making",
    "rope making",
)
_ORG_KINDS = (
    "Observatory",
    "Trading Company",
    "Academy of Sciences",
    "Shipyard",
    "Conservatory",
    "Printing House",
    "Foundry",
    "Botanical Society",
    "Bank",
    "Cartographic Society",
    "Clockmakers' Guild",
    "Glassmakers' Guild",
    "Library",
    "Museum",
    "Hospital",
)
_OCCUPATIONS = (
    "astronomer",
    "cartographer",
    "glassblower",
    "clockmaker",
    "physician",
    "botanist",
    "engraver",
    "shipwright",
    "composer",
    "mathematician",
    "architect",
    "alchemist",
    "printer",
    "sculptor",
    "navigator",
    "weaver",
)
_ART_ADJECTIVES = (
    "Amber",
    "Brass",
    "Cobalt",
    "Crimson",
    "Silver",
    "Gilded",
    "Hollow",
    "Ivory",
    "Jade",
    "Obsidian",
    "Pale",
    "Quiet",
    "Scarlet",
    "Sunken",
    "Twin",
    "Verdant",
    "Winter",
    "Azure",
    "Copper",
    "Ember",
    "Frost",
    "Golden",
    "Iron",
    "Lunar",
    "Marble",
    "Onyx",
    "Saffron",
    "Velvet",
    "Wandering",
    "Crystal",
)
_ART_NOUNS = (
    "Astrolabe",
    "Compass",
    "Lantern",
    "Orrery",
    "Chalice",
    "Codex",
    "Sextant",
    "Clock",
    "Globe",
    "Mirror",
    "Telescope",
    "Harp",
    "Atlas",
    "Loom",
    "Bell",
    "Crown",
    "Tapestry",
    "Map",
    "Organ",
    "Sundial",
)
_MATERIALS = (
    "bronze",
    "walnut wood",
    "silver",
    "blown glass",
    "ivory",
    "copper",
    "oak",
    "gold leaf",
    "pewter",
    "marble",
    "brass",
    "ebony",
    "tin",
    "porcelain",
)
_FILLERS = (
    "Contemporary accounts describe the work as painstaking and slow.",
    "Several letters from this period survive in private collections.",
    "Later historians have debated the details of this account.",
    "The period was marked by unusually harsh winters in the region.",
    "Local chronicles mention the matter only briefly.",
    "A short biography was published some decades later.",
    "Travellers of the time often remarked on the busy markets nearby.",
    "Much of the early documentation was lost in a fire.",
)


@dataclass(frozen=True)
class WorldConfig:
    """Sizes and seed of a synthetic world; :func:`generate_world` is a pure function of it."""

    seed: int = 0
    n_regions: int = 10
    n_places: int = 120
    n_organisations: int = 150
    n_people: int = 700
    n_twins: int = 150
    n_artefacts: int = 300
    n_single_hop: int = 700
    n_two_hop: int = 600
    n_distractor: int = 300
    test_fraction: float = 0.1

    def __post_init__(self) -> None:
        if min(self.n_regions, self.n_places, self.n_organisations, self.n_people, self.n_artefacts) < 2:
            raise ValueError("A synthetic world needs at least 2 regions, places, organisations, people and artefacts")
        if self.n_twins > self.n_people:
            raise ValueError("n_twins cannot exceed n_people")


@dataclass
class _Place:
    key: str
    name: str
    region: str
    river: str
    founded: int
    population: int
    industry: str


@dataclass
class _Org:
    key: str
    name: str
    kind: str
    hq: _Place
    founded: int
    founder: _Person | None = None


@dataclass
class _Person:
    key: str
    name: str
    born: int
    birthplace: _Place
    occupation: str
    employer: _Org
    mentor: _Person | None = None
    twin_of: _Person | None = None


@dataclass
class _Artefact:
    key: str
    name: str
    maker: _Person
    made: int
    material: str
    keeper: _Org


class _World:
    """Draws the entities; every random choice goes through one seeded generator."""

    def __init__(self, config: WorldConfig) -> None:
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.used_names: set[str] = set()

    def pick(self, options: Sequence[T]) -> T:
        return options[int(self.rng.integers(len(options)))]

    def between(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))

    def word(self, syllables: int) -> str:
        text = "".join(self.pick(_ONSETS) + self.pick(_VOWELS) + self.pick(_CODAS) for _ in range(syllables))
        return text.capitalize()

    def unique(self, make: Callable[[], str]) -> str:
        for _ in range(1000):
            name = make()
            if name not in self.used_names and len(name) > 3:
                self.used_names.add(name)
                return name
        raise RuntimeError("Could not draw a unique name; the world is too large for the syllable inventory")

    def org_name(self, kind: str) -> str:
        return f"{self.word(2)} {kind}"

    def artefact_name(self) -> str:
        name = f"the {self.pick(_ART_ADJECTIVES)} {self.pick(_ART_NOUNS)}"
        return f"{name} of {self.word(2)}" if self.rng.random() < 0.3 else name

    def twin_name(self, name: str) -> str:
        """A name one letter away from ``name`` (a vowel swapped, or a letter doubled), not used before."""
        for _ in range(1000):
            position = self.between(1, len(name) - 1)
            letter = name[position]
            if letter in "aeiou":
                candidate = name[:position] + self.pick([v for v in "aeiou" if v != letter]) + name[position + 1 :]
            elif letter.isalpha():
                candidate = name[:position] + letter + name[position:]
            else:
                continue
            if candidate not in self.used_names:
                self.used_names.add(candidate)
                return candidate
        raise RuntimeError(f"Could not draw a twin name for {name!r}")

    def build(self) -> tuple[list[_Place], list[_Org], list[_Person], list[_Artefact]]:
        cfg = self.config
        regions = [f"the {self.unique(lambda: self.word(2))} {self.pick(_REGION_KINDS)}" for _ in range(cfg.n_regions)]
        places = [
            _Place(
                key=f"place-{i:04d}",
                name=self.unique(lambda: self.word(self.between(1, 2)) + self.pick(_PLACE_SUFFIXES)),
                region=self.pick(regions),
                river=f"the {self.unique(lambda: self.word(2))} River",
                founded=self.between(700, 1450),
                population=self.between(20, 900) * 1000,
                industry=self.pick(_INDUSTRIES),
            )
            for i in range(cfg.n_places)
        ]
        orgs: list[_Org] = []
        for i in range(cfg.n_organisations):
            hq = self.pick(places)
            kind = self.pick(_ORG_KINDS)
            name = self.unique(functools.partial(self.org_name, kind))
            orgs.append(_Org(key=f"org-{i:04d}", name=name, kind=kind, hq=hq, founded=self.between(1480, 1820)))
        people: list[_Person] = []
        for i in range(cfg.n_people):
            people.append(
                _Person(
                    key=f"person-{i:04d}",
                    name=self.unique(lambda: f"{self.word(self.between(1, 2))} {self.word(self.between(2, 3))}"),
                    born=self.between(1450, 1800),
                    birthplace=self.pick(places),
                    occupation=self.pick(_OCCUPATIONS),
                    employer=self.pick(orgs),
                )
            )
        by_birth = sorted(people, key=lambda p: (p.born, p.key))
        births = [p.born for p in by_birth]
        for person in people:
            elders = bisect.bisect_right(births, person.born - 15)
            mentor = by_birth[self.between(0, elders - 1)] if elders else None
            person.mentor = mentor if self.rng.random() < 0.8 else None
        for org in orgs:
            old_enough = bisect.bisect_right(births, org.founded - 20)
            org.founder = by_birth[self.between(0, old_enough - 1)] if old_enough else self.pick(people)
        twins: list[_Person] = []
        for index in self.rng.permutation(len(people))[: cfg.n_twins].tolist():
            original = people[index]
            twins.append(
                _Person(
                    key=f"person-{len(people) + len(twins):04d}",
                    name=self.twin_name(original.name),
                    born=_near_year(original.born, self),
                    birthplace=self.pick([p for p in places if p.region == original.birthplace.region] or places),
                    occupation=original.occupation,
                    employer=self.pick(orgs),
                    mentor=original.mentor,
                    twin_of=original,
                )
            )
        people += twins
        artefacts = []
        for i in range(cfg.n_artefacts):
            maker = self.pick(people)
            artefacts.append(
                _Artefact(
                    key=f"artefact-{i:04d}",
                    name=self.unique(self.artefact_name),
                    maker=maker,
                    made=maker.born + self.between(20, 55),
                    material=self.pick(_MATERIALS),
                    keeper=self.pick(orgs),
                )
            )
        return places, orgs, people, artefacts


def _near_year(year: int, world: _World) -> int:
    """A different year that is easy to confuse with ``year``: its last two digits swapped, or a few years off."""
    swapped = int(str(year)[:2] + str(year)[3] + str(year)[2])
    return swapped if swapped != year and world.rng.random() < 0.5 else year + world.pick((-3, -2, -1, 1, 2, 3))


# --- paragraphs -----------------------------------------------------------------------------------------------


def _place_text(place: _Place, world: _World) -> str:
    return " ".join(
        [
            f"{place.name} is a town in {place.region}, on the banks of {place.river}.",
            f"It was founded in {place.founded} and has about {place.population:,} inhabitants.",
            f"The town's economy has long depended on {place.industry}.",
            world.pick(_FILLERS),
        ]
    )


def _org_text(org: _Org, world: _World) -> str:
    assert org.founder is not None
    return " ".join(
        [
            f"The {org.name} is an institution based in {org.hq.name}.",
            f"It was founded in {org.founded} by {org.founder.name}.",
            world.pick(_FILLERS),
        ]
    )


def _person_life_text(person: _Person, world: _World) -> str:
    sentences = [f"{person.name} was born in {person.born} in {person.birthplace.name}."]
    if person.mentor is not None:
        sentences.append(f"As a young {person.occupation}, {person.name} was a pupil of {person.mentor.name}.")
    else:
        sentences.append(f"{person.name} was largely self-taught.")
    sentences.append(world.pick(_FILLERS))
    return " ".join(sentences)


def _person_career_text(person: _Person, world: _World) -> str:
    return " ".join(
        [
            f"{person.name} worked as {_article(person.occupation)} {person.occupation} for the "
            f"{person.employer.name}.",
            world.pick(_FILLERS),
        ]
    )


def _artefact_text(artefact: _Artefact, world: _World) -> str:
    title = artefact.name[0].upper() + artefact.name[1:]
    return " ".join(
        [
            f"{title} is a {artefact.material} object made by {artefact.maker.name} in {artefact.made}.",
            f"It is kept by the {artefact.keeper.name}.",
            world.pick(_FILLERS),
        ]
    )


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


# --- questions ------------------------------------------------------------------------------------------------

_Question = tuple[str, str, tuple[str, ...], str]  # question, answer, supporting keys (doc ids), template name


def _single_hop(
    world: _World, places: list[_Place], orgs: list[_Org], people: list[_Person], artefacts: list[_Artefact]
) -> _Question:
    kind = world.pick(("person", "person", "org", "artefact", "place"))
    if kind == "person":
        return _person_lookup(world, world.pick(people))
    if kind == "org":
        org = world.pick(orgs)
        assert org.founder is not None
        doc = f"{org.key}-about"
        return world.pick(
            [
                (f"In what year was the {org.name} founded?", str(org.founded), (doc,), "org.founded"),
                (f"In which town is the {org.name} based?", org.hq.name, (doc,), "org.hq"),
                (f"Who founded the {org.name}?", org.founder.name, (doc,), "org.founder"),
            ]
        )
    if kind == "artefact":
        art = world.pick(artefacts)
        doc = f"{art.key}-about"
        return world.pick(
            [
                (f"Who made {art.name}?", art.maker.name, (doc,), "artefact.maker"),
                (f"In what year was {art.name} made?", str(art.made), (doc,), "artefact.made"),
                (f"What material is {art.name} made of?", art.material, (doc,), "artefact.material"),
                (f"Which institution keeps {art.name}?", art.keeper.name, (doc,), "artefact.keeper"),
            ]
        )
    place = world.pick(places)
    doc = f"{place.key}-about"
    return world.pick(
        [
            (f"Which river flows through {place.name}?", place.river.removeprefix("the "), (doc,), "place.river"),
            (f"In what year was the town of {place.name} founded?", str(place.founded), (doc,), "place.founded"),
            (
                f"What industry has the economy of {place.name} long depended on?",
                place.industry,
                (doc,),
                "place.industry",
            ),
        ]
    )


def _person_lookup(world: _World, person: _Person) -> _Question:
    life, career = f"{person.key}-life", f"{person.key}-career"
    options = [
        (f"In what year was {person.name} born?", str(person.born), (life,), "person.born"),
        (f"In which town was {person.name} born?", person.birthplace.name, (life,), "person.birthplace"),
        (f"What was the profession of {person.name}?", person.occupation, (career,), "person.occupation"),
        (f"Which institution employed {person.name}?", person.employer.name, (career,), "person.employer"),
    ]
    if person.mentor is not None:
        options.append((f"Who was the teacher of {person.name}?", person.mentor.name, (life,), "person.mentor"))
    return world.pick(options)


def _two_hop(world: _World, orgs: list[_Org], people: list[_Person], artefacts: list[_Artefact]) -> _Question:
    art, org, person = world.pick(artefacts), world.pick(orgs), world.pick(people)
    maker, founder, employer = art.maker, org.founder, person.employer
    assert founder is not None
    options: list[_Question] = [
        (
            f"In which town was the maker of {art.name} born?",
            maker.birthplace.name,
            (f"{art.key}-about", f"{maker.key}-life"),
            "artefact.maker>person.birthplace",
        ),
        (
            f"In what year was the maker of {art.name} born?",
            str(maker.born),
            (f"{art.key}-about", f"{maker.key}-life"),
            "artefact.maker>person.born",
        ),
        (
            f"In which town is the institution that keeps {art.name} based?",
            art.keeper.hq.name,
            (f"{art.key}-about", f"{art.keeper.key}-about"),
            "artefact.keeper>org.hq",
        ),
        (
            f"In what year was the founder of the {org.name} born?",
            str(founder.born),
            (f"{org.key}-about", f"{founder.key}-life"),
            "org.founder>person.born",
        ),
        (
            f"In what year was the institution that employed {person.name} founded?",
            str(employer.founded),
            (f"{person.key}-career", f"{employer.key}-about"),
            "person.employer>org.founded",
        ),
        (
            f"Which river flows through the town where {person.name} was born?",
            person.birthplace.river.removeprefix("the "),
            (f"{person.key}-life", f"{person.birthplace.key}-about"),
            "person.birthplace>place.river",
        ),
    ]
    if person.mentor is not None:
        options.append(
            (
                f"What was the profession of the teacher of {person.name}?",
                person.mentor.occupation,
                (f"{person.key}-life", f"{person.mentor.key}-career"),
                "person.mentor>person.occupation",
            )
        )
    return world.pick(options)


def generate_world(config: WorldConfig | None = None) -> QADataset:
    """Generate the synthetic world described by ``config`` (the default world when None).

    Example:
        >>> world = generate_world(WorldConfig(seed=1, n_places=10, n_organisations=10, n_people=30, n_twins=5,
        ...     n_artefacts=10, n_single_hop=20, n_two_hop=20, n_distractor=10))
        >>> len(world.documents), len(world.tasks), sorted(world.splits)
        (100, 50, ['all', 'test', 'train'])
    """
    config = config or WorldConfig()
    world = _World(config)
    places, orgs, people, artefacts = world.build()

    documents = [Document(f"{p.key}-about", _place_text(p, world), title=p.name) for p in places]
    documents += [Document(f"{o.key}-about", _org_text(o, world), title=f"The {o.name}") for o in orgs]
    for person in people:
        documents.append(Document(f"{person.key}-life", _person_life_text(person, world), title=person.name))
        documents.append(Document(f"{person.key}-career", _person_career_text(person, world), title=person.name))
    documents += [Document(f"{a.key}-about", _artefact_text(a, world), title=a.name[4:]) for a in artefacts]
    by_id = {doc.doc_id: doc for doc in documents}
    documents = [documents[i] for i in world.rng.permutation(len(documents)).tolist()]

    twinned = [p for p in people if p.twin_of is not None] + [p.twin_of for p in people if p.twin_of is not None]
    makers: list[tuple[str, int, Callable[[], _Question]]] = [
        ("single-hop", config.n_single_hop, lambda: _single_hop(world, places, orgs, people, artefacts)),
        ("two-hop", config.n_two_hop, lambda: _two_hop(world, orgs, people, artefacts)),
        ("distractor", config.n_distractor, lambda: _person_lookup(world, world.pick(twinned))),
    ]
    tasks: list[Task] = []
    seen: set[str] = set()
    for level, count, make in makers:
        made = 0
        for _ in range(count * 20):
            if made == count:
                break
            question, answer, supporting, template = make()
            if question in seen:
                continue
            assert answer in by_id[supporting[-1]].text, (question, answer)
            seen.add(question)
            tasks.append(
                Task(
                    id=f"synth-{len(tasks):05d}",
                    question=question,
                    answers=(answer,),
                    supporting_ids=supporting,
                    meta={"level": level, "template": template},
                )
            )
            made += 1
    splits = train_test_indices(len(tasks), test_size=config.test_fraction, seed=config.seed)
    return QADataset(
        name=f"synthetic-world(seed={config.seed})", documents=tuple(documents), tasks=tuple(tasks), splits=splits
    )


@functools.cache
def default_world() -> QADataset:
    """The embedded default dataset (``WorldConfig()``), generated once per process."""
    return generate_world(WorldConfig())


__all__ = ["LEVELS", "WorldConfig", "default_world", "generate_world"]
