"""The faker calls the upstream publisher makes, as draws from one `random.Random`.

Each method gives what its faker 9.5 counterpart gives, with the same patterns, weights and
word lists (`vocabulary`): `full_name` is `person.fullName()`, `username` is
`internet.username()`, `city` is `location.city()`, and so on. Everything costly (the lists,
their derived forms) is made once per process; a draw is a few `random()` calls and an
index, so a 50,000-event request stays well under a second of one core.
"""

import functools
import itertools
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from funnel.publisher.vocabulary import vocabulary

_T = TypeVar("_T")
# What `string.alphanumeric` draws from by default (mixed case), evenly.
_ALPHANUMERIC: Final = string.digits + string.ascii_uppercase + string.ascii_lowercase
_PAIRS: Final = len(_ALPHANUMERIC) ** 2
_PAIRS_SQUARED: Final = _PAIRS**2
# A uuid's variant digit (`y` in faker's template) is one of 8, 9, a, b.
_VARIANT: Final = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
# `person.fullName` patterns by weight: plain, prefix, suffix, both (49:7:7:1).
_NAME_WEIGHTS: Final = (49, 56, 63, 64)
# `person.lastName` joins two last names with a hyphen 5 times in 100.
_DOUBLE_LAST_NAME: Final = 0.05
# `commerce.price` replaces the last cent digit: 9 (weight 5), 5 (3), 0 (1), any digit (1).
_PRICE_DIGITS: Final = (9, 9, 9, 9, 9, 5, 5, 5, 0, -1)


@dataclass(frozen=True, slots=True)
class _Tables:
    """The vocabulary in the forms the draws index into."""

    countries: tuple[str, ...]
    city_prefixes: tuple[str, ...]
    city_suffixes: tuple[str, ...]
    city_names: tuple[str, ...]
    first_names: tuple[str, ...]
    first_names_by_sex: tuple[tuple[str, ...], tuple[str, ...]]
    prefixes_by_sex: tuple[tuple[str, ...], tuple[str, ...]]
    last_names: tuple[str, ...]
    suffixes: tuple[str, ...]
    # `internet.username` drops apostrophes (the lists are otherwise ASCII, without spaces).
    username_first_names: tuple[str, ...]
    username_last_names: tuple[str, ...]
    products: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
    # Every two-character alphanumeric string: an 8-character id is four picks, not eight.
    alphanumeric_pairs: tuple[str, ...]


@functools.cache
def _tables() -> _Tables:
    words = vocabulary()
    return _Tables(
        countries=words.countries,
        city_prefixes=words.city_prefixes,
        city_suffixes=words.city_suffixes,
        city_names=words.city_names,
        first_names=words.first_names,
        first_names_by_sex=(words.female_first_names, words.male_first_names),
        prefixes_by_sex=(words.female_prefixes, words.male_prefixes),
        last_names=words.last_names,
        suffixes=words.suffixes,
        username_first_names=tuple(name.replace("'", "") for name in words.first_names),
        username_last_names=tuple(name.replace("'", "") for name in words.last_names),
        products=(words.product_adjectives, words.product_materials, words.products),
        alphanumeric_pairs=tuple(a + b for a, b in itertools.product(_ALPHANUMERIC, repeat=2)),
    )


class Draws:
    """Publisher-faithful values drawn from `rng`; the same seed gives the same values.

    Hot methods index with `int(random() * len)` rather than `rng.choice`: it is several
    times cheaper, and its bias (under one part in a billion for these sizes) is invisible.
    """

    __slots__ = ("_randbytes", "_random", "_tables")

    def __init__(self, rng: random.Random) -> None:
        self._random: Callable[[], float] = rng.random
        self._randbytes: Callable[[int], bytes] = rng.randbytes
        self._tables = _tables()

    def pick(self, items: Sequence[_T]) -> _T:
        """`helpers.arrayElement`: one of `items`, evenly."""
        return items[int(self._random() * len(items))]

    def integer(self, low: int, high: int) -> int:
        """`number.int({min, max})`: `low..high`, both included, evenly."""
        return low + int(self._random() * (high - low + 1))

    def uuid(self) -> str:
        """`string.uuid()`: a random version-4 UUID in lower case."""
        h = self._randbytes(16).hex()
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"

    def alphanumeric(self, length: int) -> str:
        """`string.alphanumeric(length)`: digits and letters of both cases, evenly."""
        pairs, r = self._tables.alphanumeric_pairs, self._random
        text = ""
        for _ in range(length // 4):
            # One draw for four characters: a pair of pairs.
            quad = int(r() * _PAIRS_SQUARED)
            text += pairs[quad // _PAIRS] + pairs[quad % _PAIRS]
        if length % 4 >= 2:
            text += pairs[int(r() * _PAIRS)]
        if length % 2:
            text += _ALPHANUMERIC[int(r() * len(_ALPHANUMERIC))]
        return text

    def country(self) -> str:
        """`location.country()`: one of 249 names, evenly."""
        countries = self._tables.countries
        return countries[int(self._random() * len(countries))]

    def city(self) -> str:
        """`location.city()`: one of five patterns, evenly, tied to no country.

        "North Aliceville", "East Alice", "Aliceville", "Smithville" (a last name) or one of
        927 real city names; ~650,000 cities in all, so most of them are rare.
        """
        t, r = self._tables, self._random
        pattern = int(r() * 5)
        if pattern == 4:
            return t.city_names[int(r() * len(t.city_names))]
        suffix = t.city_suffixes[int(r() * len(t.city_suffixes))]
        if pattern == 3:
            return t.last_names[int(r() * len(t.last_names))] + suffix
        first = t.first_names[int(r() * len(t.first_names))]
        if pattern == 2:
            return first + suffix
        prefix = t.city_prefixes[int(r() * len(t.city_prefixes))]
        return f"{prefix} {first}{suffix}" if pattern == 0 else f"{prefix} {first}"

    def _last_name(self, names: tuple[str, ...]) -> str:
        r = self._random
        if r() < _DOUBLE_LAST_NAME:
            return f"{names[int(r() * len(names))]}-{names[int(r() * len(names))]}"
        return names[int(r() * len(names))]

    def full_name(self) -> str:
        """`person.fullName()`: a female or male first name and a last name, sometimes with
        a prefix ("Mrs.", "Dr.") or a suffix ("Jr.", "PhD") or both."""
        t, r = self._tables, self._random
        sex = int(r() * 2)
        first_names = t.first_names_by_sex[sex]
        name = f"{first_names[int(r() * len(first_names))]} {self._last_name(t.last_names)}"
        weight = r() * _NAME_WEIGHTS[-1]
        if weight < _NAME_WEIGHTS[0]:
            return name
        if weight < _NAME_WEIGHTS[1]:
            return f"{self.pick(t.prefixes_by_sex[sex])} {name}"
        if weight < _NAME_WEIGHTS[2]:
            return f"{name} {self.pick(t.suffixes)}"
        return f"{self.pick(t.prefixes_by_sex[sex])} {name} {self.pick(t.suffixes)}"

    def username(self) -> str:
        """`internet.username()`: "Ed.Bernhard", "Richard_Hackett57" or "Ed57", evenly."""
        t, r = self._tables, self._random
        first = t.username_first_names[int(r() * len(t.username_first_names))]
        last = self._last_name(t.username_last_names)
        separator = "." if r() < 0.5 else "_"
        number = int(r() * 100)
        strategy = int(r() * 3)
        if strategy == 0:
            return f"{first}{separator}{last}{number}"
        if strategy == 1:
            return f"{first}{separator}{last}"
        return f"{first}{number}"

    def price(self, low: int, high: int) -> str:
        """`commerce.price({min: low, max: high})`: a 2-decimal string whose last digit is
        mostly 9 or 5, as faker rounds prices to look like prices."""
        cents = self.integer(low * 100, high * 100)
        digit = _PRICE_DIGITS[int(self._random() * 10)]
        if digit < 0:
            digit = int(self._random() * 10)
        priced = cents - cents % 10 + digit
        if low * 100 <= priced <= high * 100:
            cents = priced
        return f"{cents // 100}.{cents % 100:02d}"

    def product_name(self) -> str:
        """`commerce.productName()`: "Licensed Ceramic Tuna"."""
        adjectives, materials, products = self._tables.products
        return f"{self.pick(adjectives)} {self.pick(materials)} {self.pick(products)}"
