"""Free-text product search for queries as a caller says them and speech recognition writes them.

Pure and in-memory: :class:`SearchIndex` is built once from the catalogue's text and ranks
products for a query such as "бездротові навушники сяомі", "наушники с шумодавом",
"повербанк на 20 000" or "power bank".

How a query is matched:

1. Text is *prepared*: lower case, Ukrainian/Russian letters folded to one alphabet
   (і/ї/ы/й→и, є/э→е, ґ→г, ь and apostrophes dropped), digit groups joined ("20 000"→"20000",
   "20 тисяч"→"20000"), units canonical ("мА·год", "mAh", "мач"→"mah"), punctuation gone and
   digits split from letters ("20000mah"→"20000 mah").
2. Phrases and words go through a synonym/transliteration table: Russian words to Ukrainian
   ("наушники"→"навушники", "пылесос"→"пилосос"), STT variants ("повербанк", "павер банк",
   "power bank"→"павербанк"), brands said in Cyrillic ("сяомі"→"xiaomi", "джей бі ел"→"jbl",
   "айфон"→"iphone"). Filler words ("мені", "потрібні", "у вас є") are dropped.
3. Cyrillic words are stemmed by trimming common endings ("навушників"→"навушник").
4. Each query word is compared with the vocabulary by character-trigram similarity
   (``|A∩B| / |A∪B|`` over padded trigrams, as PostgreSQL's pg_trgm); numbers and words of up
   to two letters must match exactly.
5. A product's score is the weighted share of query words it contains (name, brand and
   keywords count fully, attributes and description less), plus a small bonus for how much
   of its name the query covers; products outside a category the query names are damped.
   Scores are in 0..1; weak matches (below :data:`MIN_SCORE` or half the best score) are cut.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

MIN_SCORE = 0.3
"""Products scoring below this are not returned."""
RELATIVE_CUTOFF = 0.5
"""Products scoring below this share of the best score are not returned."""
MIN_SIMILARITY = 0.4
"""Trigram similarity below this counts as no match for a word."""
OFF_CATEGORY_FACTOR = 0.7
"""Score multiplier for products outside the categories a query names."""

# Field weights: how much a query word found in each part of a product counts.
NAME, BRAND, KEYWORD, CATEGORY, ATTRIBUTE, DESCRIPTION = 1.0, 1.0, 1.0, 0.9, 0.8, 0.5

_FOLD = str.maketrans(
    {
        "і": "и",
        "ї": "и",
        "ы": "и",
        "й": "и",
        "є": "е",
        "э": "е",
        "ё": "е",
        "ґ": "г",
        "ь": None,
        "ъ": None,
        "'": None,
        "’": None,
        "ʼ": None,
        "`": None,
        "´": None,
    }
)

# Endings trimmed from Cyrillic words (after folding), longest first; one pass, then a second
# pass for the suffixes "-ов"/"-ев" left by adjective endings ("бездротовий"→"бездротов"→...).
_ENDINGS = sorted(
    {
        "ових",
        "евих",
        "ами",
        "ями",
        "ого",
        "его",
        "ому",
        "ему",
        "ими",
        "ови",
        "еви",
        "ии",
        "ие",
        "ия",
        "ои",
        "еи",
        "ою",
        "ею",
        "ах",
        "ях",
        "ам",
        "ям",
        "ом",
        "ем",
        "ов",
        "ев",
        "ив",
        "их",
        "ую",
        "юю",
        "ая",
        "яя",
        "ое",
        "ее",
        "и",
        "а",
        "я",
        "у",
        "ю",
        "е",
        "о",
    },
    key=len,
    reverse=True,
)
_SECOND_PASS = ("ов", "ев")
_MIN_STEM = 3
_CYRILLIC = re.compile(r"[а-я]")

# Words that carry no product meaning in a caller's request (Ukrainian and Russian).
_STOPWORD_TEXT = """
    мені мне нам мені потрібно потрібні потрібен потрібна потрібне треба нужен нужна нужны
    нужно надо хочу хочемо хотів хотіла хотел хотела хотелось хотілося би бы б купити купить
    замовити заказать шукаю ищу підкажіть подскажите порадьте посоветуйте покажіть покажите
    є есть у в во вас вам на до для з із зі с со за по від от чи или або і и та а але но
    який яка яке які какой какая какое какие якийсь якась якісь какой-то що что щось что-то
    це это цей ця этот эта мій мой моя моєї мою будь ласка пожалуйста можна можно ну от ось
    вот так ще еще також тоже такий такой такі такие модель модели марки фірми фирмы бренду
    гривень гривні гривня гривен грн грив uah тисяч тисячі тысяч тыс наявності наличии
    недорогий недорогі недорогие недорогой дешевий дешеві дешевые хороший хороші хорошие
    гарний гарні добрий добрі якісний якісні качественный качественные новий новий новые
    новий який-небудь небудь просто типу типа щоб чтобы там тут де где які-небудь
    подивитися посмотреть дізнатися узнать цікавить интересует интересуют цікавлять
    скільки сколько коштує стоит ціна цена вартість стоимость дюйм дюйми дюймів дюйма
    дюймов дюймы
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Phrases rewritten before words are split (keys and values are natural text).
PHRASES: dict[str, str] = {
    "павер банк": "павербанк",
    "пауер банк": "павербанк",
    "пауэр банк": "павербанк",
    "повер банк": "павербанк",
    "power bank": "павербанк",
    "павер бенк": "павербанк",
    "зовнішній акумулятор": "павербанк",
    "портативний акумулятор": "павербанк",
    "портативна батарея": "павербанк",
    "внешний аккумулятор": "павербанк",
    "портативный аккумулятор": "павербанк",
    "внешняя батарея": "павербанк",
    "джей бі ел": "jbl",
    "джей би эль": "jbl",
    "джей би эл": "jbl",
    "джей бі ель": "jbl",
    "ел джі": "lg",
    "эл джи": "lg",
    "ейч пі": "hp",
    "эйч пи": "hp",
    "тп лінк": "tp link",
    "ті пі лінк": "tp link",
    "ти пи линк": "tp link",
    "тп линк": "tp link",
    "вай фай": "wi fi",
    "редмі ноут": "redmi note",
    "редми ноут": "redmi note",
    "зарядний пристрій": "зарядка",
    "зарядное устройство": "зарядка",
    "блок живлення": "зарядка",
    "блок питания": "зарядка",
    "тайп сі": "usb c",
    "тайп си": "usb c",
    "type c": "usb c",
    "шумове заглушення": "шумозаглушення",
    "мікрохвильова піч": "мікрохвильовка",
    "микроволновая печь": "мікрохвильовка",
    "смарт годинник": "годинник",
    "смарт часы": "годинник",
    "умные часы": "годинник",
    "розумний годинник": "годинник",
    "фитнес браслет": "браслет",
    "фітнес браслет": "браслет",
    "де лонгі": "delonghi",
    "де лонги": "delonghi",
}

# Single words rewritten (matched as written or by their stem; values are natural text).
SYNONYMS: dict[str, str] = {
    # Russian and colloquial words
    "наушники": "навушники",
    "наушник": "навушники",
    "наушников": "навушники",
    "наушниками": "навушники",
    "уши": "навушники",
    "ушки": "навушники",
    "гарнитура": "навушники",
    "беспроводные": "бездротові",
    "беспроводной": "бездротові",
    "беспроводная": "бездротові",
    "беспроводных": "бездротові",
    "безпровідні": "бездротові",
    "безпровідний": "бездротові",
    "безпровідна": "бездротові",
    "безпроводові": "бездротові",
    "блютуз": "bluetooth",
    "блютус": "bluetooth",
    "блютузні": "bluetooth",
    "блютуз-колонка": "bluetooth колонка",
    "вкладыши": "вкладиші",
    "вкладиш": "вкладиші",
    "затички": "вкладиші",
    "капельки": "вкладиші",
    "внутриканальные": "вкладиші",
    "внутриканальни": "вкладиші",
    "шумоподавление": "шумозаглушення",
    "шумоподавлением": "шумозаглушення",
    "шумоподавления": "шумозаглушення",
    "шумоподавлення": "шумозаглушення",
    "шумоподавленням": "шумозаглушення",
    "шумозаглушенням": "шумозаглушення",
    "шумозаглушення": "шумозаглушення",
    "шумоизоляция": "шумозаглушення",
    "шумоизоляцией": "шумозаглушення",
    "шумоізоляція": "шумозаглушення",
    "шумоізоляцією": "шумозаглушення",
    "шумодав": "шумозаглушення",
    "шумодавом": "шумозаглушення",
    "шумка": "шумозаглушення",
    "шумкою": "шумозаглушення",
    "пылесос": "пилосос",
    "пылесосы": "пилосос",
    "пылесоса": "пилосос",
    "пилесос": "пилосос",
    "телек": "телевізор",
    "телевизор": "телевізор",
    "тв": "tv",
    "телефон": "смартфон",
    "телефона": "смартфон",
    "телефоны": "смартфон",
    "телефончик": "смартфон",
    "мобильный": "смартфон",
    "мобильник": "смартфон",
    "мобілка": "смартфон",
    "мобилка": "смартфон",
    "мобільний": "смартфон",
    "часы": "годинник",
    "часики": "годинник",
    "годинника": "годинник",
    "вотч": "watch",
    "ватч": "watch",
    "динамик": "колонка",
    "колонку": "колонка",
    "акустику": "колонка",
    "зарядка": "зарядка",
    "зарядку": "зарядка",
    "зарядки": "зарядка",
    "зарядкой": "зарядка",
    "зарядное": "зарядка",
    "зарядний": "зарядка",
    "зарядник": "зарядка",
    "зарядні": "зарядка",
    "адаптер": "зарядка",
    "шнур": "кабель",
    "шнурок": "кабель",
    "провод": "кабель",
    "проводок": "кабель",
    "дріт": "кабель",
    "юсб": "usb",
    "лайтнинг": "lightning",
    "лайтнінг": "lightning",
    "хдмі": "hdmi",
    "хдми": "hdmi",
    "мышь": "миша",
    "мышка": "миша",
    "мышку": "миша",
    "мышки": "миша",
    "мишка": "миша",
    "мишку": "миша",
    "мишки": "миша",
    "клава": "клавіатура",
    "клаву": "клавіатура",
    "маршрутизатор": "роутер",
    "вайфай": "wi fi",
    "wifi": "wi fi",
    "кофеварка": "кавоварка",
    "кофеварку": "кавоварка",
    "кофемашина": "кавомашина",
    "кофемашину": "кавомашина",
    "кофе": "кава",
    "эспрессо": "еспресо",
    "микроволновка": "мікрохвильовка",
    "микроволновку": "мікрохвильовка",
    "микроволновки": "мікрохвильовка",
    "мікрохвильовку": "мікрохвильовка",
    "мікрохвильова": "мікрохвильовка",
    "микроволновая": "мікрохвильовка",
    "микроволновая печь": "мікрохвильовка",
    "свч": "мікрохвильовка",
    "павербанк": "павербанк",
    "повербанк": "павербанк",
    "пауэрбанк": "павербанк",
    "пауербанк": "павербанк",
    "паурбанк": "павербанк",
    "павербенк": "павербанк",
    "поуербанк": "павербанк",
    "powerbank": "павербанк",
    "аккумулятор": "акумулятор",
    "ноут": "ноутбук",
    "лэптоп": "ноутбук",
    "лептоп": "ноутбук",
    "игровой": "ігровий",
    "игровая": "ігровий",
    "игровые": "ігровий",
    "геймерский": "ігровий",
    "геймерська": "ігровий",
    "геймерская": "ігровий",
    "геймерські": "ігровий",
    "стиральная": "пральна",
    # Brands and models said in Cyrillic
    "сяомі": "xiaomi",
    "сяоми": "xiaomi",
    "ксіаомі": "xiaomi",
    "ксиаоми": "xiaomi",
    "ксяомі": "xiaomi",
    "ксяоми": "xiaomi",
    "шаомі": "xiaomi",
    "шаоми": "xiaomi",
    "сяомы": "xiaomi",
    "ксиоми": "xiaomi",
    "редмі": "redmi",
    "редми": "redmi",
    "самсунг": "samsung",
    "самсунга": "samsung",
    "самсон": "samsung",
    "соні": "sony",
    "сони": "sony",
    "сонька": "sony",
    "джбл": "jbl",
    "жбл": "jbl",
    "епл": "apple",
    "еппл": "apple",
    "эпл": "apple",
    "эппл": "apple",
    "апл": "apple",
    "яблуко": "apple",
    "айфон": "iphone",
    "айфона": "iphone",
    "айфону": "iphone",
    "айфоні": "iphone",
    "айпад": "ipad",
    "айпада": "ipad",
    "макбук": "macbook",
    "макбука": "macbook",
    "аірподс": "airpods",
    "аирподс": "airpods",
    "эирподс": "airpods",
    "ейрподс": "airpods",
    "эйрподс": "airpods",
    "еірподс": "airpods",
    "ейрподси": "airpods",
    "аирподсы": "airpods",
    "леново": "lenovo",
    "асус": "asus",
    "азус": "asus",
    "эйсус": "asus",
    "філіпс": "philips",
    "филипс": "philips",
    "бош": "bosch",
    "боша": "bosch",
    "тефаль": "tefal",
    "тефал": "tefal",
    "логітек": "logitech",
    "логитек": "logitech",
    "логітех": "logitech",
    "логитех": "logitech",
    "анкер": "anker",
    "анкeр": "anker",
    "басеус": "baseus",
    "бейсус": "baseus",
    "безеус": "baseus",
    "лджі": "lg",
    "элджи": "lg",
    "елджі": "lg",
    "хуавей": "huawei",
    "хуавэй": "huawei",
    "хуавеі": "huawei",
    "делонгі": "delonghi",
    "делонги": "delonghi",
    "дайсон": "dyson",
    "маршал": "marshall",
    "маршалл": "marshall",
    "гармін": "garmin",
    "гармин": "garmin",
    "амазфіт": "amazfit",
    "амазфит": "amazfit",
    "ровента": "rowenta",
    "браун": "braun",
    "горенье": "gorenje",
    "горене": "gorenje",
    "горенє": "gorenje",
    "панасонік": "panasonic",
    "панасоник": "panasonic",
    "шарп": "sharp",
    "моторола": "motorola",
    "моторолу": "motorola",
    "галаксі": "galaxy",
    "галакси": "galaxy",
    "гелексі": "galaxy",
    "гелекси": "galaxy",
    "ейсер": "acer",
    "асер": "acer",
    "ацер": "acer",
    "делл": "dell",
    "рейзер": "razer",
    "разер": "razer",
    "кейкрон": "keychron",
    "мікротік": "mikrotik",
    "микротик": "mikrotik",
    "кінетик": "keenetic",
    "кинетик": "keenetic",
    "тенда": "tenda",
    "роборок": "roborock",
    "дрімі": "dreame",
    "дрими": "dreame",
    "сенхайзер": "sennheiser",
    "сеннхайзер": "sennheiser",
    "бозе": "bose",
    "боуз": "bose",
    "тронсмарт": "tronsmart",
    "югрін": "ugreen",
    "югрин": "ugreen",
    "угрін": "ugreen",
    "веншн": "vention",
    "ківі": "kivi",
    "киви": "kivi",
    "тсл": "tcl",
    "тісіел": "tcl",
    "хайпер": "hyperx",
    "хайперікс": "hyperx",
    "кругс": "krups",
    "крупс": "krups",
    "сенкор": "sencor",
    "вирпул": "whirlpool",
    "вірпул": "whirlpool",
    "електролюкс": "electrolux",
    "электролюкс": "electrolux",
    "ремінгтон": "remington",
    "ремингтон": "remington",
    "бебіліс": "babyliss",
    "бебилис": "babyliss",
    "расел": "russell",
    "рассел": "russell",
    "хобс": "hobbs",
    "колорвей": "colorway",
    "бадс": "buds",
    "бадз": "buds",
    "бадси": "buds",
    "про": "pro",
    "макс": "max",
    "міні": "mini",
    "мини": "mini",
    "ультра": "ultra",
    "ейр": "air",
    "эйр": "air",
    "аір": "air",
    "флип": "flip",
    "фліп": "flip",
    "чардж": "charge",
    "гоу": "go",
    "кліп": "clip",
    "клип": "clip",
    "тюн": "tune",
    "тюне": "tune",
    "вейв": "wave",
    "саундкор": "soundcore",
    "мастер": "master",
    "бенд": "band",
    "бэнд": "band",
    "нот": "note",
    "ноте": "note",
    "пад": "pad",
}

_UNITS = re.compile(r"\bма\W{0,2}год\w*|\bmah\b|\bмач\b|\bмаг\b|\bмагод\b")
_THOUSANDS = re.compile(r"(\d+)\s*(?:тис|тыс)\w*")
_DIGIT_GROUPS = re.compile(r"(?<=\d)[\s\u00a0\u202f](?=000(?!\d))")
_NOT_A_UNIT = r"(?![\d\s]*(?:ма|mah|мач|вт|w|гб|тб|дюим|\"|мм|гц))"
_BOUND_WORDS = (
    r"не\s+дорожче|не\s+дороже|до|дешевше|дешевле|менше|меньше|максимум"
    r"|вид|от|дорожче|дороже|бильше|больше|минимум"
)
_LOWER_BOUND_WORDS = {"вид", "от", "дорожче", "дороже", "бильше", "больше", "минимум"}
_PRICE_BOUND = re.compile(
    rf"\b(?P<word>{_BOUND_WORDS})\s+(?:ниж\s+|чем\s+|за\s+)?"
    rf"(?P<sum>\d+)(?P<thousands>\s*(?:тис|тыс)\w*)?{_NOT_A_UNIT}"
)
_MONEY = re.compile(
    r"\d+\s*(?:грн|гривен|гривн|гривни|грив|uah|₴)\w*"
    rf"|\b(?:{_BOUND_WORDS}|за)\s+(?:ниж\s+|чем\s+)?\d+(?:\s*(?:тис|тыс)\w*)?{_NOT_A_UNIT}"
)
_NON_WORD = re.compile(r"[\W_]+")
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")


def fold(text: str) -> str:
    """Lower-case ``text`` and fold Ukrainian/Russian letter variants to one alphabet."""
    return text.lower().translate(_FOLD)


def spoken_price_range(text: str) -> tuple[int | None, int | None]:
    """The price range a caller put into words: ``(at least, at most)`` in UAH.

    "навушники до 2000 гривень" -> ``(None, 2000)``; "від 5 тисяч до 10 тисяч" ->
    ``(5000, 10000)``; "дешевле 1500" -> ``(None, 1500)``. A number followed by a unit
    ("до 65 Вт") is not a price.
    """
    folded = _DIGIT_GROUPS.sub("", fold(text))
    low = high = None
    for m in _PRICE_BOUND.finditer(folded):
        amount = int(m["sum"]) * (1000 if m["thousands"] else 1)
        if " ".join(m["word"].split()) in _LOWER_BOUND_WORDS:
            low = amount
        else:
            high = amount
    return low, high


def stem(word: str) -> str:
    """Trim a common Ukrainian/Russian ending from a folded Cyrillic word."""
    if not _CYRILLIC.search(word) or len(word) <= _MIN_STEM:
        return word
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            word = word[: -len(ending)]
            break
    for ending in _SECOND_PASS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM + 2:
            return word[: -len(ending)]
    return word


def _prepare(text: str) -> str:
    text = fold(text)
    text = _THOUSANDS.sub(lambda m: m.group(1) + "000", text)
    text = _UNITS.sub(" mah ", text)
    text = _NON_WORD.sub(" ", text)
    text = _DIGIT_LETTER.sub(" ", text)
    return f" {' '.join(text.split())} "


def trigrams(word: str) -> frozenset[str]:
    """The padded character trigrams of a word, as pg_trgm computes them."""
    padded = f"  {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def _exact_only(word: str) -> bool:
    return word.isdigit() or len(word) <= 2


class _Analyzer:
    """Turns text into search words: synonyms, stop words and stems applied."""

    def __init__(self, ignore_words: Iterable[str] = ()) -> None:
        self.phrases: list[tuple[re.Pattern[str], str]] = []
        for phrase, replacement in sorted(PHRASES.items(), key=lambda kv: -len(kv[0])):
            key = _prepare(phrase).strip()
            pattern = re.compile(rf"(?<= ){re.escape(key)}(?= )")
            self.phrases.append((pattern, _prepare(replacement).strip()))
        self.words: dict[str, list[str]] = {}
        self.stems: dict[str, list[str]] = {}
        for word, replacement in SYNONYMS.items():
            key = _prepare(word).strip()
            value = [stem(w) for w in _prepare(replacement).split()]
            self.words[key] = value
            self.stems.setdefault(stem(key), value)
        self.stopwords = {_prepare(w).strip() for w in STOPWORDS}
        for word in ignore_words:
            self.stopwords.update(_prepare(word).split())

    def words_of(self, text: str, *, query: bool = False) -> list[str]:
        """The search words of ``text``; for a query, sums of money are dropped too."""
        if query:
            # "20 000" as speech recognition writes 20000; sums of money are filters, not words
            text = _MONEY.sub(" ", _DIGIT_GROUPS.sub("", fold(text)))
        prepared = _prepare(text)
        for pattern, replacement in self.phrases:
            if pattern.search(prepared):
                prepared = pattern.sub(replacement, prepared)
        out: list[str] = []
        for word in prepared.split():
            if word in self.stopwords:
                continue
            if word in self.words:
                out += self.words[word]
                continue
            stemmed = stem(word)
            out += self.stems.get(stemmed, [stemmed])
        return out


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """The searchable text of one product.

    Parameters:
        id: The product's SKU.
        category: Its category id.
        name: Its full name (e.g. "Бездротові навушники Sony WF-C700N").
        brand: Its brand.
        keywords: Extra words a caller may use that the name does not contain.
        attributes: Attribute values.
        description: Its description.
    """

    id: str
    category: str
    name: str
    brand: str
    keywords: Sequence[str] = ()
    attributes: Sequence[str] = ()
    description: str = ""


@dataclass(slots=True)
class _Indexed:
    category: str
    weights: dict[int, float] = field(default_factory=dict)  # word id -> field weight
    name_words: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One ranked product: its id (SKU) and a relevance score in 0..1."""

    id: str
    score: float


class SearchIndex:
    """Ranks documents for free-text queries; build once, query many times.

    Args:
        documents: The products' searchable text.
        categories: Category id → words that name it ("навушники", "headphones"...).
        ignore_words: Words never searched for (e.g. city names a caller adds: "у Львові").
    """

    def __init__(
        self,
        documents: Iterable[SearchDocument],
        categories: Mapping[str, Sequence[str]],
        ignore_words: Iterable[str] = (),
    ) -> None:
        self._analyzer = _Analyzer(ignore_words)
        self._vocabulary: dict[str, int] = {}
        self._words: list[str] = []
        self._grams: list[frozenset[str]] = []
        self._gram_index: dict[str, list[int]] = defaultdict(list)
        self._postings: dict[int, list[tuple[int, float]]] = defaultdict(list)
        self._docs: list[_Indexed] = []
        self._ids: list[str] = []
        self._category_words: dict[int, set[str]] = defaultdict(set)
        category_text: dict[str, list[str]] = {}
        for category, words in categories.items():
            analysed = self._analyzer.words_of(" ".join(words))
            category_text[category] = analysed
            for word in analysed:
                self._category_words[self._word_id(word)].add(category)
        for doc in documents:
            self._add(doc, category_text.get(doc.category, []))

    def _word_id(self, word: str) -> int:
        wid = self._vocabulary.get(word)
        if wid is None:
            wid = self._vocabulary[word] = len(self._words)
            self._words.append(word)
            grams = trigrams(word)
            self._grams.append(grams)
            if not _exact_only(word):
                for gram in grams:
                    self._gram_index[gram].append(wid)
        return wid

    def _add(self, doc: SearchDocument, category_words: list[str]) -> None:
        indexed = _Indexed(doc.category)
        fields = [
            (DESCRIPTION, self._analyzer.words_of(doc.description)),
            (ATTRIBUTE, self._analyzer.words_of(" ".join(doc.attributes))),
            (CATEGORY, category_words),
            (KEYWORD, self._analyzer.words_of(" ".join(doc.keywords))),
            (BRAND, self._analyzer.words_of(doc.brand)),
            (NAME, self._analyzer.words_of(doc.name)),
        ]
        for weight, words in fields:
            for word in words:
                wid = self._word_id(word)
                indexed.weights[wid] = max(weight, indexed.weights.get(wid, 0.0))
        indexed.name_words = frozenset(self._vocabulary[w] for w in fields[-1][1])
        number = len(self._docs)
        for wid, weight in indexed.weights.items():
            self._postings[wid].append((number, weight))
        self._docs.append(indexed)
        self._ids.append(doc.id)

    def words(self, query: str) -> list[str]:
        """The search words of a query (empty: nothing searchable, e.g. only filler words)."""
        return list(dict.fromkeys(self._analyzer.words_of(query, query=True)))

    def _similar(self, word: str) -> dict[int, float]:
        """Vocabulary words like ``word`` → similarity (exact match 1.0)."""
        found: dict[int, float] = {}
        exact = self._vocabulary.get(word)
        if exact is not None:
            found[exact] = 1.0
        if _exact_only(word):
            return found
        grams = trigrams(word)
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for wid in self._gram_index.get(gram, ()):
                shared[wid] += 1
        for wid, common in shared.items():
            similarity = common / (len(grams) + len(self._grams[wid]) - common)
            if similarity >= MIN_SIMILARITY and wid != exact:
                found[wid] = similarity
        return found

    def search(
        self,
        query: str,
        accept: Callable[[str], bool] | None = None,
        limit: int | None = None,
    ) -> tuple[list[SearchHit], int]:
        """Rank the documents for ``query``.

        Args:
            query: The caller's words; must contain at least one search word
                (see :meth:`words`), otherwise nothing matches.
            accept: Filter on document ids (category, price, stock...); ``None`` accepts all.
            limit: Most hits returned; ``None`` for all.

        Returns:
            The hits, best first, and how many documents matched in total (before ``limit``).
        """
        words = self.words(query)
        if not words:
            return [], 0
        scores: dict[int, float] = defaultdict(float)
        named: dict[int, set[int]] = defaultdict(set)
        categories: set[str] = set()
        for word in words:
            best: dict[int, float] = {}
            for wid, similarity in self._similar(word).items():
                if similarity >= 0.75:
                    categories |= self._category_words.get(wid, set())
                for number, weight in self._postings.get(wid, ()):
                    value = similarity * weight
                    if value > best.get(number, 0.0):
                        best[number] = value
                    if similarity >= 0.5 and wid in self._docs[number].name_words:
                        named[number].add(wid)
            for number, value in best.items():
                scores[number] += value
        hits: list[SearchHit] = []
        for number, total in scores.items():
            doc = self._docs[number]
            coverage = total / len(words)
            precision = len(named[number]) / max(1, len(doc.name_words))
            score = 0.85 * coverage + 0.15 * min(1.0, precision)
            if categories and doc.category not in categories:
                score *= OFF_CATEGORY_FACTOR
            if score >= MIN_SCORE and (accept is None or accept(self._ids[number])):
                hits.append(SearchHit(self._ids[number], round(min(score, 1.0), 4)))
        if not hits:
            return [], 0
        hits.sort(key=lambda h: (-h.score, h.id))
        floor = hits[0].score * RELATIVE_CUTOFF
        hits = [h for h in hits if h.score >= floor]
        return (hits if limit is None else hits[:limit]), len(hits)
