"""The word lists the upstream publisher draws names, places and products from.

The publisher fills its events with `@faker-js/faker` 9.5 (English locale); `vocabulary.json`
holds that locale's lists as data (faker-js is MIT-licensed): its 249 countries, the parts
of its city names, its first names (any, female, male) and last names, name prefixes and
suffixes, and the words of its product names. Python's `Faker` has lists of its own (245
countries, other names and city parts), so its output would not be the publisher's.
"""

import functools
import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Each list in the locale's order; every entry is ASCII."""

    countries: tuple[str, ...]
    city_prefixes: tuple[str, ...]
    city_suffixes: tuple[str, ...]
    city_names: tuple[str, ...]
    first_names: tuple[str, ...]
    female_first_names: tuple[str, ...]
    male_first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    female_prefixes: tuple[str, ...]
    male_prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    product_adjectives: tuple[str, ...]
    product_materials: tuple[str, ...]
    products: tuple[str, ...]


@functools.cache
def vocabulary() -> Vocabulary:
    """The lists, read from the package once."""
    text = resources.files("funnel.publisher").joinpath("vocabulary.json").read_text("utf-8")
    return Vocabulary(**{name: tuple(words) for name, words in json.loads(text).items()})
