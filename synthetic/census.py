"""Synthetic pupil-level school census returns, built from each school's published counts.

No pupil-level census is public, so the pupil ingest path is exercised with invented pupils that agree with
what is published: per school exactly `total_pupils` pupils, exactly `ehc_plan` with SEN provision E and
`sen_support` with K, the rest N. Schools whose total, EHC plan or SEN support count is NULL (suppressed or
not published) are skipped: no pupils can be invented to match a count that is not known.

Every pupil is a row in the CSV layout of `sendflow.transforms.pupil_census` (PUPIL_COLUMNS, all text, plus `urn`):

- primary need (SENtype1) for every E and K pupil, drawn from a need mix (shares by SEN type code; the
  national EHC plan mix of January 2025, DEFAULT_NEED_MIX, unless one is given); a secondary need
  (SENtype2, never the primary one) for about a quarter of them; none for N pupils. One mix serves both E and
  K: the published mix is of EHC plans, and SEN support leans more to SLCN, MLD and SPLD than this.
- NC year from the school type (primary R-6 with some nursery, secondary 7-11 with a sixth form, special
  spread N1-14, nursery N1-N2, AP 7-11, independent N1-13; an unrecognised type gets an all-through R-13
  spread), and a date of birth in that year's birth window (1 September to 31 August), so the age on census
  day is right for the year group. Nobody is taught out of their chronological year group.
- sex: E and K pupils are boys at BOY_ODDS (2.7 and 1.8) times the odds of the school's N pupils, with the
  school's published share of boys kept on average (half where not published; single-sex schools stay so).
  Over the 2023/24 census this makes about 72% of E and 62% of K pupils boys.
- FSMeligible true with probability fsm_pupils / total_pupils; NULL (not recorded) where the school
  publishes no FSM count (independent schools).
- a valid permanent UPN, unique nationally: check letter, the school's LA (3) and establishment number (4),
  the two-digit year the pupil joined the school and a serial unique within the school and that year.
  Serials are issued alphabetically within each intake. A school with over 999 pupils joining in one year
  has its excess given serials in years before its earliest intake (in the 2023/24 census only one school,
  an independent school of 3,467 pupils with five entry years, has such a year).
- names from short lists of common names in England, an invented postcode in a postcode area chosen per LA.

Randomness is a counter-based hash of (seed, academic year, URN, pupil number, item): the same seed gives the
same frame; a school's pupils do not depend on which other schools are selected; and the terms of one year
give the same pupils (only Term and ReferenceDate differ), since the published counts are one per year.
Pupils are not followed from one academic year to the next: each year is drawn afresh.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from sendflow.core.vocabulary import NEED_CODES, CensusTerm
from sendflow.transforms.pupil_census import TERM_CODES, census_day_of, census_term
from sendflow.transforms.upn import expected_check_letter

PUPIL_COLUMNS: tuple[str, ...] = (
    "LEA", "Estab", "Term", "ReferenceDate", "UPN", "Surname", "Forename", "DOB", "Sex", "NCyearActual",
    "EnrolStatus", "FSMeligible", "SENprovision", "SENtype1", "SENtype2", "Postcode",
)  # fmt: skip
# SEN type codes as a return writes them (upper case), in the census order.
SEN_TYPES: tuple[str, ...] = tuple(code.upper() for code in NEED_CODES)

# EHC plans by primary need, England, January 2025 (EHCP 2025 release, sen_needs_all_plans.csv); the 4,870
# plans of unknown need are left out. Used when the warehouse holds no need mix of its own.
DEFAULT_NEED_MIX_YEAR = 2025
DEFAULT_NEED_MIX = pl.DataFrame(
    {
        "need": ["ASD", "SLCN", "SEMH", "MLD", "SLD", "PD", "SPLD", "HI", "PMLD", "OTH", "VI", "MSI"],
        "pupils": [201_183, 135_836, 132_217, 67_861, 25_681, 24_897, 14_374, 8_765, 8_577, 7_512, 5_280, 1_692],
    },
    schema={"need": pl.String, "pupils": pl.Int64},
)
SECONDARY_NEED_SHARE = 0.25

NC_YEARS: tuple[str, ...] = ("N1", "N2", "R", *(str(y) for y in range(1, 15)))
_NC_VALUE = np.arange(len(NC_YEARS)) - 2  # N1 -> -2, N2 -> -1, R -> 0, 1 -> 1 ...


def _weights(**by_year: float) -> np.ndarray:
    weights = np.zeros(len(NC_YEARS))
    for year, weight in by_year.items():
        weights[NC_YEARS.index(year.removeprefix("Y"))] = weight
    return weights / weights.sum()


def _years(first: int, last: int, weight: float) -> dict[str, float]:
    return {("R" if y == 0 else f"Y{y}"): weight for y in range(first, last + 1)}


# NC year mix per kind of school, and the years at which pupils usually join it (for the UPN's issue year).
PROFILES: dict[str, tuple[np.ndarray, tuple[int, ...]]] = {
    "nursery": (_weights(N1=35, N2=65), (-2, -1)),
    "primary": (_weights(N1=1, N2=5, **_years(0, 6, 13.4)), (-2, -1, 0)),
    "secondary": (_weights(**_years(7, 11, 17.5), Y12=6.5, Y13=6), (7, 12)),
    "sixth_form": (_weights(Y12=52, Y13=48), (12,)),
    "special": (
        _weights(
            N1=0.5, N2=1, R=3, Y1=4, Y2=4.5, Y3=5, Y4=5.5, Y5=6, Y6=6.5, **_years(7, 11, 8.4), Y12=5, Y13=4.5, Y14=3
        ),
        (-2, 0, 7, 12),
    ),
    "ap": (_weights(Y7=8, Y8=12, Y9=18, Y10=27, Y11=35), (7, 8, 9, 10, 11)),
    "independent": (
        _weights(N1=1, N2=3, R=6, **_years(1, 6, 6.5), **_years(7, 11, 8), Y12=6, Y13=6),
        (-2, 0, 3, 7, 12),
    ),
    "all_through": (_weights(**_years(0, 6, 7), **_years(7, 11, 7.5), Y12=4, Y13=4), (-2, 0, 7, 12)),
}
PROFILE_NAMES = tuple(PROFILES)
LATE_JOINER_SHARE = 0.15
# Odds of a boy among E and K pupils relative to N pupils of the same school: boys are far more often
# identified with SEN, and special schools, almost all E, publish their own share of boys.
BOY_ODDS = {0: 2.7, 1: 1.8, 2: 1.0}


def profile_of(school_type: str | None) -> str:
    """Which NC year mix a school type gets (matched on words, as the types vary across publications)."""
    kind = (school_type or "").lower()
    if "nursery" in kind:
        return "nursery"
    if "special" in kind:
        return "special"
    if "ap school" in kind or "alternative provision" in kind or "pupil referral" in kind:
        return "ap"
    if "16 to 19" in kind or "sixth form" in kind:
        return "sixth_form"
    if "independent" in kind:
        return "independent"
    if "secondary" in kind or "middle deemed secondary" in kind:
        return "secondary"
    if any(word in kind for word in ("primary", "infant", "junior", "first school")):
        return "primary"
    return "all_through"


# Common surnames and given names in England, most common first (weights fall with rank). A few carry an
# apostrophe, hyphen or accent so that writers and readers meet them.
SURNAMES: tuple[str, ...] = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
    "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
    "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward",
    "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott",
    "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly",
    "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards",
    "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson", "Foster",
    "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain", "Campbell", "Matthews",
    "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd", "Butler", "Russell", "Barker", "Fisher",
    "Stevens", "Jenkins", "Murray", "Dixon", "Harvey", "Graham", "Pearson", "Ahmed", "Fletcher", "Walsh",
    "Kaur", "Gibson", "Howard", "Andrews", "Stewart", "Elliott", "Reynolds", "Saunders", "Payne", "Fox",
    "Ford", "Pearce", "Day", "Brooks", "West", "Lawrence", "Cole", "Atkinson", "Bradley", "Spencer", "Gill",
    "Dawson", "Ball", "Burton", "O'Brien", "Watts", "Rose", "Booth", "Perry", "Ryan", "Grant", "Wells",
    "Armstrong", "Francis", "Rees", "Hayes", "Hart", "Hudson", "Newman", "Barrett", "Webster", "Hunter",
    "Gregory", "Carr", "Lowe", "Page", "Marsh", "Riley", "Dunn", "Woods", "Parsons", "Berry", "Stone", "Reid",
    "Holland", "Hawkins", "Harding", "Porter", "Robertson", "Newton", "Oliver", "Reed", "Kennedy",
    "Williamson", "Bird", "Gardner", "Shah", "Dean", "Lane", "Cooke", "Bates", "Henderson", "Parry", "Burgess",
    "Bishop", "Walton", "Burns", "Nicholson", "Shepherd", "Ross", "Cross", "Long", "Freeman", "Warren",
    "Nicholls", "Hamilton", "Byrne", "Sutton", "McDonald", "Yates", "Hodgson", "Robson", "Curtis", "Hopkins",
    "O'Connor", "Harper", "Coleman", "Watkins", "Moss", "McCarthy", "Chambers", "O'Neill", "Griffin", "Sharp",
    "Hardy", "Wheeler", "Potter", "Osborne", "Johnston", "Gordon", "Doyle", "Wallace", "George", "Jordan",
    "Hutchinson", "Rahman", "Mahmood", "Iqbal", "Akhtar", "Islam", "Miah", "Uddin", "Chowdhury", "Nowak",
    "Kowalski", "Wiśniewski", "Mohamed", "Ibrahim", "Abdi", "Okafor", "Adeyemi", "Mensah", "Okonkwo", "Nguyen",
    "Chen", "Wang", "Li", "Silva", "Santos", "Ferreira", "Popescu", "Kaya", "Yilmaz", "Smith-Jones",
)  # fmt: skip
GIRLS_NAMES: tuple[str, ...] = (
    "Olivia", "Amelia", "Isla", "Ava", "Ivy", "Freya", "Lily", "Florence", "Mia", "Willow", "Rosie", "Sophia",
    "Isabella", "Grace", "Daisy", "Sienna", "Poppy", "Elsie", "Emily", "Ella", "Evelyn", "Phoebe", "Sofia",
    "Evie", "Charlotte", "Harper", "Millie", "Matilda", "Maya", "Sophie", "Alice", "Emilia", "Isabelle",
    "Ruby", "Luna", "Maisie", "Aria", "Penelope", "Mila", "Bonnie", "Eva", "Hallie", "Eliza", "Ada", "Violet",
    "Esme", "Arabella", "Imogen", "Jessica", "Delilah", "Chloe", "Zoë", "Amira", "Aisha", "Fatima", "Maryam",
    "Hannah", "Lucy", "Holly", "Megan", "Niamh", "Zara", "Layla", "Nur", "Aaliyah", "Hafsa", "Zuzanna",
    "Amelie", "Ellie-May", "Renée",
)  # fmt: skip
BOYS_NAMES: tuple[str, ...] = (
    "Muhammad", "Noah", "Oliver", "George", "Leo", "Arthur", "Oscar", "Theodore", "Freddie", "Theo", "Archie",
    "Harry", "Henry", "Jack", "Alfie", "Charlie", "Finley", "Jacob", "Thomas", "Lucas", "Isaac", "Tommy",
    "Arlo", "William", "Teddy", "James", "Edward", "Joshua", "Max", "Elijah", "Mason", "Ethan", "Reggie",
    "Albie", "Hugo", "Louie", "Jude", "Rory", "Ronnie", "Sonny", "Dylan", "Logan", "Harrison", "Samuel",
    "Daniel", "Joseph", "Ibrahim", "Yusuf", "Adam", "Ali", "Omar", "Riley", "Jayden", "Kai", "Ryan", "Callum",
    "Lewis", "Aaron", "Zain", "Eesa", "Luca", "Mateo", "Jakub", "Olamide", "Kwame", "Seán", "Billy-Joe",
    "Tyler", "Kian", "Rhys",
)  # fmt: skip
POSTCODE_AREAS: tuple[str, ...] = (
    "AL", "B", "BA", "BB", "BD", "BH", "BL", "BN", "BR", "BS", "CA", "CB", "CH", "CM", "CO", "CR", "CT", "CV",
    "CW", "DA", "DE", "DH", "DL", "DN", "DT", "DY", "E", "EN", "EX", "FY", "GL", "GU", "HA", "HD", "HG", "HP",
    "HU", "HX", "IG", "IP", "KT", "L", "LA", "LE", "LN", "LS", "LU", "M", "ME", "MK", "N", "NE", "NG", "NN",
    "NR", "NW", "OL", "OX", "PE", "PL", "PO", "PR", "RG", "RH", "RM", "S", "SE", "SG", "SK", "SL", "SM", "SN",
    "SO", "SP", "SR", "SS", "ST", "SW", "SY", "TA", "TF", "TN", "TQ", "TR", "TS", "TW", "UB", "W", "WA", "WD",
    "WF", "WN", "WR", "WS", "WV", "YO",
)  # fmt: skip
POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # C, I, K, M, O and V never end a postcode

_MASK = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_TWO_TO_MINUS_32 = 2.0**-32
_SERIALS_PER_YEAR = 999
BATCH_PUPILS = 500_000
FSM_TEXT = {1: "true", 0: "false"}  # -1 (no FSM count published) stays NULL


class _Item:
    """One independent random stream per pupil item: changing one never shifts the others."""

    NC_YEAR, DOB, LATE_JOINER, SEX_AND_FSM, NEED, SECONDARY, NAME, POSTCODE, SERIAL_ORDER = range(1, 10)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, in place on a uint64 array (wrapping arithmetic is the point)."""
    z ^= z >> np.uint64(30)
    z *= _MIX_1
    z ^= z >> np.uint64(27)
    z *= _MIX_2
    z ^= z >> np.uint64(31)
    return z


def _bits(pupil_keys: np.ndarray, item: int) -> np.ndarray:
    return _mix(pupil_keys + np.uint64((item * 0x9E3779B97F4A7C15) & _MASK))


def _halves(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two independent uniforms in [0, 1) from one 64-bit draw."""
    high = (bits >> np.uint64(32)).astype(np.float64) * _TWO_TO_MINUS_32
    low = (bits & np.uint64(0xFFFFFFFF)).astype(np.float64) * _TWO_TO_MINUS_32
    return high, low


def _school_key(seed: int, academic_year: str, urn: str) -> int:
    digest = hashlib.blake2b(f"{seed}|{academic_year}|{urn}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _pick(rows: np.ndarray, cumulative: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Category index per pupil, each pupil drawing from its own row of a table of cumulative shares.

    Row r's cumulative shares are shifted by r, so one sorted array serves every row: r + u falls into row
    r's bins only."""
    width = cumulative.shape[1]
    shifted = (cumulative + np.arange(cumulative.shape[0])[:, None]).ravel()
    position = np.searchsorted(shifted, rows + u, side="right")
    return np.minimum(position - rows * width, width - 1)


def _cumulative(weights: np.ndarray) -> np.ndarray:
    totals = weights.sum(axis=1, keepdims=True)
    shares = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
    cumulative = np.cumsum(shares, axis=1)
    cumulative[:, -1] = 1.0  # rounding must not leave a sliver past the last category
    return cumulative


def need_shares(need_mix: pl.DataFrame) -> tuple[tuple[str, ...], np.ndarray]:
    """The mix's codes (SEN types with a positive share) and their shares; `need_mix` has columns `need`
    and `pupils` (any non-negative weights)."""
    mix = need_mix.select(pl.col("need").str.strip_chars().str.to_uppercase(), pl.col("pupils").cast(pl.Float64))
    unknown = sorted(set(mix["need"].to_list()) - set(SEN_TYPES))
    if unknown:
        raise ValueError(f"need mix has codes that are not SEN types: {', '.join(map(str, unknown))}")
    if mix["pupils"].is_null().any() or (mix["pupils"] < 0).any():
        raise ValueError("need mix weights must be non-negative numbers")
    mix = mix.group_by("need").agg(pl.col("pupils").sum()).filter(pl.col("pupils") > 0).sort("need")
    if mix.is_empty():
        raise ValueError("need mix has no positive weights")
    weights = mix["pupils"].to_numpy()
    return tuple(mix["need"].to_list()), weights / weights.sum()


def _column(schools: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in schools.columns else pl.lit(None, dtype=pl.Int64).alias(name)


def _prepared(schools: pl.DataFrame) -> pl.DataFrame:
    """The schools that can be generated, with what the draws need, in the order given."""
    frame = schools.select(
        pl.col("urn").cast(pl.String),
        pl.col("la_code").cast(pl.String).str.strip_chars(),
        pl.col("estab").cast(pl.String).str.strip_chars(),
        pl.col("school_type").cast(pl.String),
        *[pl.col(c).cast(pl.Int64) for c in ("total_pupils", "ehc_plan", "sen_support")],
        *[_column(schools, c).cast(pl.Int64) for c in ("fsm_pupils", "girls", "boys")],
    ).filter(pl.all_horizontal(pl.col("total_pupils", "ehc_plan", "sen_support").is_not_null()))
    duplicated = frame.filter(pl.col("urn").is_duplicated())["urn"].unique().sort().to_list()
    if duplicated:
        raise ValueError(f"schools must be one row per URN; repeated: {', '.join(duplicated[:5])}")
    bad_codes = frame.filter(
        ~pl.col("la_code").str.contains(r"^\d{3}$").fill_null(False)
        | ~pl.col("estab").str.contains(r"^\d{4}$").fill_null(False)
    )
    if not bad_codes.is_empty():
        raise ValueError(
            "a UPN needs a 3-digit LA code and a 4-digit establishment number; not so for URN(s) "
            + ", ".join(bad_codes["urn"].head(5).to_list())
        )
    impossible = frame.filter(
        (pl.min_horizontal("total_pupils", "ehc_plan", "sen_support") < 0)
        | (pl.col("ehc_plan") + pl.col("sen_support") > pl.col("total_pupils"))
    )
    if not impossible.is_empty():
        raise ValueError(
            "counts cannot be met (negative, or EHC plan + SEN support above the total) for URN(s) "
            + ", ".join(impossible["urn"].head(5).to_list())
        )
    clashing = frame.filter(pl.struct("la_code", "estab").is_duplicated())
    if not clashing.is_empty():
        # UPNs embed LA and establishment number: two schools sharing them could be issued the same UPN.
        raise ValueError(
            "two schools share an LA and establishment number, so their UPNs could collide: URN(s) "
            + ", ".join(clashing["urn"].head(5).to_list())
        )
    return frame


def synthetic_batches(
    schools: pl.DataFrame,
    need_mix: pl.DataFrame,
    academic_year: str,
    term: str,
    seed: int,
    batch_pupils: int = BATCH_PUPILS,
) -> Iterator[pl.DataFrame]:
    """One row per invented pupil of each school, in the CSV layout (PUPIL_COLUMNS, all text) plus `urn`, as
    frames of whole schools of about `batch_pupils` pupils each: a national file can be written batch by
    batch without every pupil in memory at once. No frame at all where no school has pupils to invent.

    `schools`: urn, la_code, estab, school_type, total_pupils, ehc_plan, sen_support, optionally fsm_pupils,
    girls and boys (as in fct_school_census); schools with a NULL total, EHC plan or SEN support count are
    skipped. `need_mix`: need (SEN type code) and pupils (weights). `term`: autumn, spring or summer (or
    AUT, SPR, SUM). Rows come school by school in the order given, each school's by surname and forename.
    """
    draw = _Draw(academic_year, census_term(term), seed, need_shares(need_mix))
    frame = _prepared(schools)
    # A school never straddles two batches; a school bigger than a batch is a batch of its own.
    batch = (frame["total_pupils"].cum_sum() - frame["total_pupils"]) // max(batch_pupils, 1)
    for part in frame.with_columns(batch.alias("_batch")).partition_by("_batch", maintain_order=True):
        if part["total_pupils"].sum() > 0:
            yield draw.pupils(part.drop("_batch"))


@dataclass(frozen=True)
class _Draw:
    academic_year: str
    term: CensusTerm
    seed: int
    needs: tuple[tuple[str, ...], np.ndarray]  # codes and shares

    def pupils(self, frame: pl.DataFrame) -> pl.DataFrame:
        start_year = int(self.academic_year[:4])
        counts = frame["total_pupils"].to_numpy()
        school = np.repeat(np.arange(frame.height, dtype=np.int64), counts)
        number = np.arange(school.size, dtype=np.int64) - (np.cumsum(counts) - counts)[school]  # 0-based in school
        school_keys = np.array(
            [_school_key(self.seed, self.academic_year, urn) for urn in frame["urn"].to_list()], dtype=np.uint64
        )
        keys = _mix(school_keys[school] + (number.astype(np.uint64) + np.uint64(1)) * _GOLDEN)

        # Provision by pupil number meets the counts exactly; every other item is drawn independently of it.
        ehc = frame["ehc_plan"].to_numpy()[school]
        support = frame["sen_support"].to_numpy()[school]
        provision = np.where(number < ehc, 0, np.where(number < ehc + support, 1, 2)).astype(np.int8)  # E, K, N

        profile = np.array([PROFILE_NAMES.index(profile_of(t)) for t in frame["school_type"].to_list()])[school]
        nc_weights = np.stack([PROFILES[name][0] for name in PROFILE_NAMES])
        nc_u, late_u = _halves(_bits(keys, _Item.NC_YEAR))
        nc_index = _pick(profile, _cumulative(nc_weights), nc_u)
        born = _birth_days(keys, nc_index, start_year)
        years_in = _years_in_school(profile, _NC_VALUE[nc_index], late_u, _bits(keys, _Item.LATE_JOINER))

        sex_u, fsm_u = _halves(_bits(keys, _Item.SEX_AND_FSM))
        boy = sex_u < _boy_chance(frame, school, provision)
        fsm_share = (frame["fsm_pupils"].cast(pl.Float64) / frame["total_pupils"].cast(pl.Float64)).to_numpy()
        fsm = np.where(np.isnan(fsm_share[school]), -1, (fsm_u < fsm_share[school]).astype(np.int8))  # -1: none

        need_first, need_second = _needs(keys, provision, self.needs[1])
        surname, forename = _names(keys, boy)
        pupils = pl.DataFrame(
            {
                "school": school, "provision": provision, "nc": nc_index.astype(np.int8), "born": born,
                "issue": (start_year - years_in).astype(np.int16), "boy": boy, "fsm": fsm.astype(np.int8),
                "need1": need_first, "need2": need_second, "surname": surname, "forename": forename,
                "order": _bits(keys, _Item.SERIAL_ORDER) >> np.uint64(32),
                **_postcode_parts(keys, frame, school),
            }
        )  # fmt: skip
        pupils = _with_serials(pupils.sort("school", "surname", "forename", "order"))
        census_day = census_day_of(self.term, self.academic_year)
        return _as_text(pupils, frame, self.needs[0], TERM_CODES[self.term], census_day)


def _birth_days(keys: np.ndarray, nc_index: np.ndarray, start_year: int) -> np.ndarray:
    """Days since 1970-01-01, uniform over the NC year's birth window (1 September to 31 August)."""
    epoch = date(1970, 1, 1).toordinal()
    window_start = np.array([date(start_year - 5 - v, 9, 1).toordinal() - epoch for v in _NC_VALUE])
    window_days = np.array([date(start_year - 4 - v, 9, 1).toordinal() - epoch for v in _NC_VALUE]) - window_start
    u, _ = _halves(_bits(keys, _Item.DOB))
    return (window_start[nc_index] + (u * window_days[nc_index]).astype(np.int64)).astype(np.int32)


def _years_in_school(profile: np.ndarray, nc_value: np.ndarray, late_u: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Whole years since the pupil joined: since the school's usual entry year below theirs, or, for late
    joiners, some fewer years."""
    since_entry = np.zeros(nc_value.size, dtype=np.int64)
    for index, name in enumerate(PROFILE_NAMES):
        mine = profile == index
        entries = np.array(sorted(PROFILES[name][1]))
        # The latest entry year at or below the pupil's year (pupils below every entry year joined this year).
        below = np.searchsorted(entries, nc_value[mine], side="right") - 1
        since_entry[mine] = np.where(below >= 0, nc_value[mine] - entries[np.maximum(below, 0)], 0)
    u, _ = _halves(bits)
    late = late_u < LATE_JOINER_SHARE
    return np.where(late, (u * (since_entry + 1)).astype(np.int64), since_entry)


def _boy_chance(frame: pl.DataFrame, school: np.ndarray, provision: np.ndarray) -> np.ndarray:
    """Each pupil's chance of being a boy: E and K pupils at BOY_ODDS times the odds of N pupils, the odds
    of N pupils set per school so that its expected boys are its published share (else half)."""
    boy_share = (
        frame.select(
            pl.when((pl.col("girls") >= 0) & (pl.col("boys") >= 0) & (pl.col("girls") + pl.col("boys") > 0))
            .then(pl.col("boys") / (pl.col("girls") + pl.col("boys")))
            .otherwise(0.5)
        )
        .to_series()
        .to_numpy()
    )
    by_provision = np.stack(
        [frame["ehc_plan"].to_numpy(), frame["sen_support"].to_numpy(),
         (frame["total_pupils"] - frame["ehc_plan"] - frame["sen_support"]).to_numpy()], axis=1
    ).astype(np.float64)  # fmt: skip
    log_odds = np.log([BOY_ODDS[p] for p in range(3)])
    target = boy_share * by_provision.sum(axis=1)
    # Expected boys rise with the N pupils' log odds: bisect for all schools at once.
    low, high = np.full(frame.height, -30.0), np.full(frame.height, 30.0)
    for _ in range(60):
        middle = (low + high) / 2
        expected = (by_provision / (1 + np.exp(-(middle[:, None] + log_odds)))).sum(axis=1)
        low, high = np.where(expected < target, middle, low), np.where(expected < target, high, middle)
    chance = 1 / (1 + np.exp(-(((low + high) / 2)[school] + log_odds[provision])))
    # Single-sex schools stay single-sex (the bisection only gets within e-13 of 0 or 1).
    return np.where(boy_share[school] <= 0, 0.0, np.where(boy_share[school] >= 1, 1.1, chance))


def _needs(keys: np.ndarray, provision: np.ndarray, shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indexes into the mix's codes, -1 for none: a primary need for E and K pupils, a secondary one for
    about a quarter of them, drawn from the mix without the primary need."""
    first_u, has_u = _halves(_bits(keys, _Item.NEED))
    first = np.searchsorted(np.cumsum(shares), first_u, side="right").clip(0, shares.size - 1)
    with_sen = provision < 2
    first = np.where(with_sen, first, -1).astype(np.int8)
    second = np.full(first.size, -1, dtype=np.int8)
    # Only one code in the mix leaves no other need to give.
    wanted = with_sen & (has_u < SECONDARY_NEED_SHARE) & (shares.size > 1)
    if wanted.any():
        without_first = np.tile(shares, (shares.size, 1))
        np.fill_diagonal(without_first, 0.0)
        second_u, _ = _halves(_bits(keys[wanted], _Item.SECONDARY))
        second[wanted] = _pick(first[wanted].astype(np.int64), _cumulative(without_first), second_u)
    return first, second


def _rank_weights(size: int) -> np.ndarray:
    weights = 1.0 / (np.arange(size) + 10.0)  # flatter than Zipf: the commonest name is not half the class
    return weights / weights.sum()


def _alphabetical(names: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Names sorted (so sorting by index sorts by name) and where each popularity rank went."""
    order = sorted(range(len(names)), key=lambda i: names[i])
    place = np.empty(len(names), dtype=np.int64)
    place[order] = np.arange(len(names))
    return [names[i] for i in order], place


SURNAMES_SORTED, _SURNAME_PLACE = _alphabetical(SURNAMES)
FORENAMES_SORTED, _FORENAME_PLACE = _alphabetical(GIRLS_NAMES + BOYS_NAMES)


# Names are drawn by 16 random bits through a table: shares are kept to 1/65536, at a fraction of the cost
# of a search per pupil.
_NAME_CELLS = (np.arange(1 << 16) + 0.5) / (1 << 16)


def _name_table(size: int) -> np.ndarray:
    return np.searchsorted(np.cumsum(_rank_weights(size)), _NAME_CELLS, side="right").clip(0, size - 1)


_SURNAME_TABLE = _SURNAME_PLACE[_name_table(len(SURNAMES))].astype(np.int16)
_GIRL_TABLE = _FORENAME_PLACE[_name_table(len(GIRLS_NAMES))].astype(np.int16)
_BOY_TABLE = _FORENAME_PLACE[len(GIRLS_NAMES) + _name_table(len(BOYS_NAMES))].astype(np.int16)


def _names(keys: np.ndarray, boy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indexes into SURNAMES_SORTED and FORENAMES_SORTED."""
    bits = _bits(keys, _Item.NAME)
    forename_cell = (bits >> np.uint64(32)) & np.uint64(0xFFFF)
    return _SURNAME_TABLE[bits >> np.uint64(48)], np.where(boy, _BOY_TABLE[forename_cell], _GIRL_TABLE[forename_cell])


def _postcode_parts(keys: np.ndarray, frame: pl.DataFrame, school: np.ndarray) -> dict[str, np.ndarray]:
    """An area per LA, districts near a per-school district, then a random sector and unit."""
    areas = np.array(
        [int.from_bytes(hashlib.blake2b(la.encode(), digest_size=4).digest(), "little") % len(POSTCODE_AREAS)
         for la in frame["la_code"].to_list()]
    )  # fmt: skip
    home_district = np.array([1 + _school_key(0, "district", u) % 20 for u in frame["urn"].to_list()])
    bits = _bits(keys, _Item.POSTCODE)
    near = (bits & np.uint64(3)).astype(np.int64) - 1  # -1..2
    sector = ((bits >> np.uint64(8)) % np.uint64(10)).astype(np.int8)
    first_letter = ((bits >> np.uint64(16)) % np.uint64(len(POSTCODE_UNIT_LETTERS))).astype(np.int8)
    second_letter = ((bits >> np.uint64(24)) % np.uint64(len(POSTCODE_UNIT_LETTERS))).astype(np.int8)
    return {
        "area": areas[school].astype(np.int16),
        "district": np.maximum(home_district[school] + near, 1).astype(np.int8),
        "sector": sector,
        "unit1": first_letter,
        "unit2": second_letter,
    }


def _with_serials(pupils: pl.DataFrame) -> pl.DataFrame:
    """UPN issue year and serial: 1-999 in (sorted) row order within the school and year of joining;
    a school's excess over 999 in a year goes to years before the school's earliest intake."""
    ranked = pupils.with_columns(pl.int_range(pl.len()).over("school", "issue").alias("serial_rank"))
    overflow = pl.col("serial_rank") >= _SERIALS_PER_YEAR
    spill = pl.int_range(pl.len()).over("school", "spill")
    ranked = ranked.with_columns(spill=overflow).with_columns(
        pl.when(pl.col("spill")).then(spill).otherwise(pl.col("serial_rank")).alias("serial_rank")
    )
    earliest = pl.col("issue").min().over("school")
    return ranked.with_columns(
        pl.when(pl.col("spill"))
        .then(earliest - 1 - pl.col("serial_rank") // _SERIALS_PER_YEAR)
        .otherwise(pl.col("issue"))
        .alias("issue"),
        (pl.col("serial_rank") % _SERIALS_PER_YEAR + 1).alias("serial"),
    )


def _labels(values: Sequence[str]) -> pl.Series:
    return pl.Series(values, dtype=pl.String)


def _as_text(
    pupils: pl.DataFrame, frame: pl.DataFrame, need_codes: tuple[str, ...], term_code: str, census_day: date
) -> pl.DataFrame:
    school = pupils["school"]
    la = frame["la_code"].gather(school)
    estab = frame["estab"].gather(school)
    unchecked = pl.concat_str(
        pl.lit("?"), pl.lit(la), pl.lit(estab),
        (pl.col("issue") % 100).cast(pl.String).str.zfill(2), pl.col("serial").cast(pl.String).str.zfill(3),
    )  # fmt: skip
    needs = _labels(need_codes)
    units = _labels(list(POSTCODE_UNIT_LETTERS))
    text = pupils.select(
        frame["urn"].gather(school).alias("urn"),
        pl.lit(la).alias("LEA"),
        pl.lit(estab).alias("Estab"),
        pl.lit(term_code).alias("Term"),
        pl.lit(census_day.isoformat()).alias("ReferenceDate"),
        unchecked.alias("UPN"),
        _labels(SURNAMES_SORTED).gather(pupils["surname"]).alias("Surname"),
        _labels(FORENAMES_SORTED).gather(pupils["forename"]).alias("Forename"),
        pl.col("born").cast(pl.Date).dt.to_string("%Y-%m-%d").alias("DOB"),
        pl.when(pl.col("boy")).then(pl.lit("M")).otherwise(pl.lit("F")).alias("Sex"),
        _labels(NC_YEARS).gather(pupils["nc"]).alias("NCyearActual"),
        pl.lit("C").alias("EnrolStatus"),
        pl.col("fsm").replace_strict(FSM_TEXT, default=None, return_dtype=pl.String).alias("FSMeligible"),
        _labels(["E", "K", "N"]).gather(pupils["provision"]).alias("SENprovision"),
        pl.when(pl.col("need1") >= 0).then(pl.lit(needs.gather(pupils["need1"].clip(0)))).alias("SENtype1"),
        pl.when(pl.col("need2") >= 0).then(pl.lit(needs.gather(pupils["need2"].clip(0)))).alias("SENtype2"),
        pl.concat_str(
            pl.lit(_labels(POSTCODE_AREAS).gather(pupils["area"])), pl.col("district").cast(pl.String), pl.lit(" "),
            pl.col("sector").cast(pl.String), pl.lit(units.gather(pupils["unit1"])),
            pl.lit(units.gather(pupils["unit2"])),
        ).alias("Postcode"),
    )  # fmt: skip
    # The check letter is worked out over the finished 13 characters with a placeholder in its place.
    upn = expected_check_letter(pl.col("UPN")) + pl.col("UPN").str.slice(1)
    return text.with_columns(upn.alias("UPN")).select("urn", *PUPIL_COLUMNS)
