"""Generate ``catalogue.json``, the reference store's sample catalogue (deterministic).

Run ``python -m sandbox.store.make_catalogue`` after editing the tables below; the JSON is
committed, so the store never runs this at start-up. Product rows are written by hand
(Ukrainian names, realistic UAH prices and attributes); descriptions come from per-category
templates and the stock per warehouse from a seeded random generator, so the same tables
always give byte-identical output.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.store.catalogue import mask_phone

OUTPUT = Path(__file__).with_name("catalogue.json")
SEED = 20250601

# Models with no stock anywhere (the store still lists them).
SOLD_OUT = {"Apple AirPods Max", "Dyson Supersonic HD07", "OLED55C4"}

CATEGORIES: list[dict[str, Any]] = [
    {
        "id": "headphones",
        "name": "Навушники",
        "keywords": ["навушники", "гарнітура", "headphones", "earbuds", "вуха"],
    },
    {
        "id": "power-banks",
        "name": "Павербанки",
        "keywords": ["павербанк", "powerbank", "зовнішній акумулятор", "батарея"],
    },
    {"id": "smartphones", "name": "Смартфони", "keywords": ["смартфон", "телефон", "мобільний"]},
    {"id": "laptops", "name": "Ноутбуки", "keywords": ["ноутбук", "laptop", "лептоп"]},
    {"id": "tablets", "name": "Планшети", "keywords": ["планшет", "tablet"]},
    {"id": "tvs", "name": "Телевізори", "keywords": ["телевізор", "tv", "телек"]},
    {
        "id": "smartwatches",
        "name": "Смарт-годинники та браслети",
        "keywords": ["смарт годинник", "годинник", "фітнес браслет", "браслет", "watch"],
    },
    {
        "id": "speakers",
        "name": "Портативні колонки",
        "keywords": ["колонка", "портативна колонка", "акустика", "speaker"],
    },
    {
        "id": "chargers",
        "name": "Зарядні пристрої",
        "keywords": ["зарядний пристрій", "зарядка", "адаптер живлення", "charger"],
    },
    {"id": "cables", "name": "Кабелі", "keywords": ["кабель", "шнур", "cable"]},
    {"id": "mice", "name": "Миші", "keywords": ["миша", "мишка", "mouse"]},
    {"id": "keyboards", "name": "Клавіатури", "keywords": ["клавіатура", "keyboard"]},
    {"id": "monitors", "name": "Монітори", "keywords": ["монітор", "monitor", "екран"]},
    {"id": "routers", "name": "Роутери", "keywords": ["роутер", "маршрутизатор", "wi fi"]},
    {"id": "vacuums", "name": "Пилососи", "keywords": ["пилосос", "робот пилосос"]},
    {"id": "kettles", "name": "Електрочайники", "keywords": ["чайник", "електрочайник"]},
    {
        "id": "coffee-machines",
        "name": "Кавоварки та кавомашини",
        "keywords": ["кавоварка", "кавомашина", "кава", "еспресо"],
    },
    {
        "id": "microwaves",
        "name": "Мікрохвильові печі",
        "keywords": ["мікрохвильова піч", "мікрохвильовка", "мікрохвильова", "свч"],
    },
    {"id": "hair-dryers", "name": "Фени", "keywords": ["фен", "фен для волосся"]},
]

CITIES: list[dict[str, Any]] = [
    {
        "name": "Київ",
        "aliases": ["Києві", "Киев", "Киеве", "Kyiv", "Kiev", "Kyjiv"],
        "delivery_days": 1,
        "warehouses": [
            ("kyiv-1", "вул. Хрещатик, 22"),
            ("kyiv-2", "просп. Перемоги, 67"),
            ("kyiv-3", "просп. Степана Бандери, 36"),
        ],
    },
    {
        "name": "Львів",
        "aliases": ["Львові", "Львов", "Львове", "Lviv", "Lvov", "Lwiw"],
        "delivery_days": 2,
        "warehouses": [("lviv-1", "вул. Городоцька, 135"), ("lviv-2", "просп. Чорновола, 67")],
    },
    {
        "name": "Одеса",
        "aliases": ["Одесі", "Одесса", "Одессе", "Odesa", "Odessa"],
        "delivery_days": 2,
        "warehouses": [
            ("odesa-1", "вул. Дерибасівська, 15"),
            ("odesa-2", "вул. Академіка Філатова, 74"),
        ],
    },
    {
        "name": "Дніпро",
        "aliases": ["Дніпрі", "Днепр", "Днепре", "Dnipro", "Dnepr"],
        "delivery_days": 2,
        "warehouses": [
            ("dnipro-1", "просп. Дмитра Яворницького, 55"),
            ("dnipro-2", "вул. Робоча, 23"),
        ],
    },
    {
        "name": "Харків",
        "aliases": ["Харкові", "Харьков", "Харькове", "Kharkiv", "Kharkov"],
        "delivery_days": 2,
        "warehouses": [
            ("kharkiv-1", "вул. Сумська, 45"),
            ("kharkiv-2", "просп. Науки, 14"),
            ("kharkiv-3", "просп. Гагаріна, 20"),
        ],
    },
    {
        "name": "Запоріжжя",
        "aliases": ["Запоріжжі", "Запорожье", "Запорожья", "Zaporizhzhia", "Zaporozhye"],
        "delivery_days": 3,
        "warehouses": [("zaporizhzhia-1", "просп. Соборний, 158")],
    },
    {
        "name": "Вінниця",
        "aliases": ["Вінниці", "Винница", "Виннице", "Vinnytsia", "Vinnitsa"],
        "delivery_days": 2,
        "warehouses": [
            ("vinnytsia-1", "вул. Соборна, 64"),
            ("vinnytsia-2", "Хмельницьке шосе, 8"),
        ],
    },
    {
        "name": "Полтава",
        "aliases": ["Полтаві", "Полтаве", "Poltava"],
        "delivery_days": 2,
        "warehouses": [("poltava-1", "вул. Європейська, 27")],
    },
]
# How much of the stock a city's warehouses hold relative to Kyiv's.
CITY_WEIGHT = {
    "Київ": 1.0,
    "Львів": 0.8,
    "Одеса": 0.7,
    "Дніпро": 0.7,
    "Харків": 0.7,
    "Запоріжжя": 0.5,
    "Вінниця": 0.5,
    "Полтава": 0.4,
}

Row = tuple[str, str, int, dict[str, str]]

TWS = "Вкладиші (TWS)"
ANC = "Активне (ANC)"
NO_ANC = "Немає"

HEADPHONES: list[Row] = [
    (
        "Бездротові навушники Sony WF-C700N",
        "Sony",
        3999,
        {"Тип": TWS, "Шумозаглушення": ANC, "Bluetooth": "5.2", "Автономність": "до 20 год"},
    ),
    (
        "Бездротові навушники Sony WF-C510",
        "Sony",
        1899,
        {"Тип": TWS, "Шумозаглушення": NO_ANC, "Bluetooth": "5.3", "Автономність": "до 22 год"},
    ),
    (
        "Бездротові навушники Sony WH-1000XM5",
        "Sony",
        13999,
        {
            "Тип": "Повнорозмірні",
            "Шумозаглушення": ANC,
            "Bluetooth": "5.2",
            "Автономність": "до 30 год",
        },
    ),
    (
        "Бездротові навушники Sony WH-CH520",
        "Sony",
        1799,
        {
            "Тип": "Накладні",
            "Шумозаглушення": NO_ANC,
            "Bluetooth": "5.2",
            "Автономність": "до 50 год",
        },
    ),
    (
        "Бездротові навушники JBL Tune 520BT",
        "JBL",
        1699,
        {
            "Тип": "Накладні",
            "Шумозаглушення": NO_ANC,
            "Bluetooth": "5.3",
            "Автономність": "до 57 год",
        },
    ),
    (
        "Бездротові навушники JBL Wave Buds 2",
        "JBL",
        1899,
        {"Тип": TWS, "Шумозаглушення": ANC, "Bluetooth": "5.3", "Автономність": "до 40 год"},
    ),
    (
        "Бездротові навушники JBL Tune Flex",
        "JBL",
        2999,
        {"Тип": TWS, "Шумозаглушення": ANC, "Bluetooth": "5.2", "Автономність": "до 32 год"},
    ),
    (
        "Бездротові навушники JBL Tune Beam 2",
        "JBL",
        3499,
        {"Тип": TWS, "Шумозаглушення": ANC, "Bluetooth": "5.3", "Автономність": "до 48 год"},
    ),
    (
        "Навушники JBL Tune 110",
        "JBL",
        399,
        {"Тип": "Вкладиші (дротові)", "Шумозаглушення": NO_ANC, "Роз'єм": "3,5 мм"},
    ),
    (
        "Бездротові навушники Xiaomi Redmi Buds 6 Active",
        "Xiaomi",
        799,
        {"Тип": TWS, "Шумозаглушення": NO_ANC, "Bluetooth": "5.4", "Автономність": "до 30 год"},
    ),
    (
        "Бездротові навушники Xiaomi Redmi Buds 6 Lite",
        "Xiaomi",
        1099,
        {"Тип": TWS, "Шумозаглушення": ANC, "Bluetooth": "5.3", "Автономність": "до 38 год"},
    ),
    (
        "Бездротові навушники Xiaomi Redmi Buds 6 Pro",
        "Xiaomi",
        2499,
        {"Тип": TWS, "Шумозаглушення": ANC, "Bluetooth": "5.3", "Автономність": "до 36 год"},
    ),
    (
        "Бездротові навушники Samsung Galaxy Buds FE",
        "Samsung",
        2999,
        {"Тип": TWS, "Шумозаглушення": ANC, "Bluetooth": "5.2", "Автономність": "до 21 год"},
    ),
    (
        "Бездротові навушники Samsung Galaxy Buds3 Pro",
        "Samsung",
        8999,
        {"Тип": TWS, "Шумозаглушення": ANC, "Bluetooth": "5.4", "Автономність": "до 30 год"},
    ),
    (
        "Бездротові навушники Apple AirPods 4",
        "Apple",
        6999,
        {"Тип": TWS, "Шумозаглушення": NO_ANC, "Bluetooth": "5.3", "Автономність": "до 30 год"},
    ),
    (
        "Бездротові навушники Apple AirPods Pro 2",
        "Apple",
        10999,
        {"Тип": TWS, "Шумозаглушення": ANC, "Bluetooth": "5.3", "Автономність": "до 30 год"},
    ),
    (
        "Бездротові навушники Apple AirPods Max",
        "Apple",
        23999,
        {
            "Тип": "Повнорозмірні",
            "Шумозаглушення": ANC,
            "Bluetooth": "5.0",
            "Автономність": "до 20 год",
        },
    ),
    (
        "Бездротові навушники Anker Soundcore Life P3i",
        "Anker",
        1699,
        {"Тип": TWS, "Шумозаглушення": ANC, "Bluetooth": "5.2", "Автономність": "до 36 год"},
    ),
    (
        "Бездротові навушники Anker Soundcore R50i",
        "Anker",
        899,
        {"Тип": TWS, "Шумозаглушення": NO_ANC, "Bluetooth": "5.3", "Автономність": "до 30 год"},
    ),
    (
        "Бездротові навушники Anker Soundcore Q20i",
        "Anker",
        2199,
        {
            "Тип": "Повнорозмірні",
            "Шумозаглушення": ANC,
            "Bluetooth": "5.0",
            "Автономність": "до 40 год",
        },
    ),
    (
        "Бездротові навушники Baseus Bowie M2s",
        "Baseus",
        1299,
        {"Тип": TWS, "Шумозаглушення": ANC, "Bluetooth": "5.3", "Автономність": "до 30 год"},
    ),
    (
        "Бездротові навушники Baseus Bowie E18",
        "Baseus",
        699,
        {"Тип": TWS, "Шумозаглушення": NO_ANC, "Bluetooth": "5.3", "Автономність": "до 30 год"},
    ),
    (
        "Бездротові навушники Philips TAT1209",
        "Philips",
        899,
        {"Тип": TWS, "Шумозаглушення": NO_ANC, "Bluetooth": "5.3", "Автономність": "до 18 год"},
    ),
    (
        "Бездротові навушники Marshall Major IV",
        "Marshall",
        5499,
        {
            "Тип": "Накладні",
            "Шумозаглушення": NO_ANC,
            "Bluetooth": "5.0",
            "Автономність": "до 80 год",
        },
    ),
    (
        "Ігрова гарнітура Logitech G435 Lightspeed",
        "Logitech",
        2799,
        {
            "Тип": "Повнорозмірні",
            "Шумозаглушення": NO_ANC,
            "Bluetooth": "5.0",
            "Автономність": "до 18 год",
        },
    ),
    (
        "Бездротові навушники Sennheiser Momentum 4 Wireless",
        "Sennheiser",
        12999,
        {
            "Тип": "Повнорозмірні",
            "Шумозаглушення": ANC,
            "Bluetooth": "5.2",
            "Автономність": "до 60 год",
        },
    ),
    (
        "Бездротові навушники Huawei FreeBuds SE 2",
        "Huawei",
        1499,
        {"Тип": TWS, "Шумозаглушення": NO_ANC, "Bluetooth": "5.3", "Автономність": "до 40 год"},
    ),
]

POWER_BANKS: list[Row] = [
    (
        "Павербанк Xiaomi Redmi 20000 мА·год",
        "Xiaomi",
        899,
        {"Ємність": "20000 мА·год", "Потужність": "18 Вт", "Порти": "2 × USB-A, USB-C"},
    ),
    (
        "Павербанк Xiaomi Redmi 10000 мА·год",
        "Xiaomi",
        599,
        {"Ємність": "10000 мА·год", "Потужність": "10 Вт", "Порти": "2 × USB-A, USB-C"},
    ),
    (
        "Павербанк Xiaomi Mi Power Bank 3 10000 мА·год 22,5 Вт",
        "Xiaomi",
        799,
        {"Ємність": "10000 мА·год", "Потужність": "22,5 Вт", "Порти": "2 × USB-A, USB-C"},
    ),
    (
        "Павербанк Xiaomi 33W Power Bank 20000 мА·год",
        "Xiaomi",
        1299,
        {"Ємність": "20000 мА·год", "Потужність": "33 Вт", "Порти": "2 × USB-A, USB-C"},
    ),
    (
        "Павербанк Anker PowerCore 10000 мА·год",
        "Anker",
        999,
        {"Ємність": "10000 мА·год", "Потужність": "12 Вт", "Порти": "USB-A"},
    ),
    (
        "Павербанк Anker Nano 10000 мА·год 22,5 Вт",
        "Anker",
        1199,
        {"Ємність": "10000 мА·год", "Потужність": "22,5 Вт", "Порти": "USB-C (вбудований кабель)"},
    ),
    (
        "Павербанк Anker 737 PowerCore 24000 мА·год 140 Вт",
        "Anker",
        4499,
        {"Ємність": "24000 мА·год", "Потужність": "140 Вт", "Порти": "2 × USB-C, USB-A"},
    ),
    (
        "Павербанк Baseus Bipow 20000 мА·год 20 Вт",
        "Baseus",
        899,
        {"Ємність": "20000 мА·год", "Потужність": "20 Вт", "Порти": "2 × USB-A, USB-C"},
    ),
    (
        "Павербанк Baseus Adaman 20000 мА·год 65 Вт",
        "Baseus",
        2199,
        {"Ємність": "20000 мА·год", "Потужність": "65 Вт", "Порти": "2 × USB-C, 2 × USB-A"},
    ),
    (
        "Павербанк Baseus Magnetic Mini 10000 мА·год MagSafe",
        "Baseus",
        1199,
        {"Ємність": "10000 мА·год", "Потужність": "20 Вт", "Порти": "USB-C, бездротова"},
    ),
    (
        "Павербанк Samsung EB-P3400 10000 мА·год 25 Вт",
        "Samsung",
        1299,
        {"Ємність": "10000 мА·год", "Потужність": "25 Вт", "Порти": "USB-C, USB-A"},
    ),
    (
        "Павербанк 2E Sota 30000 мА·год 22,5 Вт",
        "2E",
        1199,
        {"Ємність": "30000 мА·год", "Потужність": "22,5 Вт", "Порти": "2 × USB-A, USB-C"},
    ),
    (
        "Павербанк ColorWay 10000 мА·год",
        "ColorWay",
        549,
        {"Ємність": "10000 мА·год", "Потужність": "10 Вт", "Порти": "2 × USB-A, USB-C"},
    ),
    (
        "Павербанк Ugreen Nexode 20000 мА·год 100 Вт",
        "Ugreen",
        2499,
        {"Ємність": "20000 мА·год", "Потужність": "100 Вт", "Порти": "2 × USB-C, USB-A"},
    ),
]


def _phone(ram: int, rom: int, screen: str, camera: str, battery: int) -> dict[str, str]:
    return {
        "Пам'ять": f"{ram}/{rom} ГБ",
        "Екран": screen,
        "Основна камера": camera,
        "Акумулятор": f"{battery} мА·год",
    }


SMARTPHONES: list[Row] = [
    (
        "Смартфон Samsung Galaxy A16 4/128 ГБ",
        "Samsung",
        7499,
        _phone(4, 128, '6,7" Super AMOLED', "50 Мп", 5000),
    ),
    (
        "Смартфон Samsung Galaxy A26 5G 6/128 ГБ",
        "Samsung",
        10999,
        _phone(6, 128, '6,7" Super AMOLED', "50 Мп", 5000),
    ),
    (
        "Смартфон Samsung Galaxy A56 5G 8/256 ГБ",
        "Samsung",
        17999,
        _phone(8, 256, '6,7" Super AMOLED', "50 Мп", 5000),
    ),
    (
        "Смартфон Samsung Galaxy S25 12/256 ГБ",
        "Samsung",
        37999,
        _phone(12, 256, '6,2" Dynamic AMOLED 2X', "50 Мп", 4000),
    ),
    (
        "Смартфон Samsung Galaxy S25 Ultra 12/256 ГБ",
        "Samsung",
        54999,
        _phone(12, 256, '6,9" Dynamic AMOLED 2X', "200 Мп", 5000),
    ),
    (
        "Смартфон Apple iPhone 16 128 ГБ",
        "Apple",
        39999,
        _phone(8, 128, '6,1" Super Retina XDR', "48 Мп", 3561),
    ),
    (
        "Смартфон Apple iPhone 16 Pro 256 ГБ",
        "Apple",
        55999,
        _phone(8, 256, '6,3" Super Retina XDR', "48 Мп", 3582),
    ),
    (
        "Смартфон Apple iPhone 16e 128 ГБ",
        "Apple",
        29999,
        _phone(8, 128, '6,1" Super Retina XDR', "48 Мп", 4005),
    ),
    (
        "Смартфон Apple iPhone 15 128 ГБ",
        "Apple",
        31999,
        _phone(6, 128, '6,1" Super Retina XDR', "48 Мп", 3349),
    ),
    (
        "Смартфон Xiaomi Redmi Note 14 8/256 ГБ",
        "Xiaomi",
        8999,
        _phone(8, 256, '6,67" AMOLED 120 Гц', "108 Мп", 5500),
    ),
    (
        "Смартфон Xiaomi Redmi Note 14 Pro 5G 8/256 ГБ",
        "Xiaomi",
        13999,
        _phone(8, 256, '6,67" AMOLED 120 Гц', "200 Мп", 5110),
    ),
    (
        "Смартфон Xiaomi Redmi 14C 4/128 ГБ",
        "Xiaomi",
        4999,
        _phone(4, 128, '6,88" IPS 120 Гц', "50 Мп", 5160),
    ),
    (
        "Смартфон Xiaomi 14T 12/256 ГБ",
        "Xiaomi",
        22999,
        _phone(12, 256, '6,67" AMOLED 144 Гц', "50 Мп", 5000),
    ),
    (
        "Смартфон Motorola Moto G55 8/256 ГБ",
        "Motorola",
        7499,
        _phone(8, 256, '6,49" IPS 120 Гц', "50 Мп", 5000),
    ),
    (
        "Смартфон Motorola Edge 50 Fusion 12/512 ГБ",
        "Motorola",
        12999,
        _phone(12, 512, '6,7" pOLED 144 Гц', "50 Мп", 5000),
    ),
]


def _laptop(cpu: str, ram: int, ssd: str, screen: str) -> dict[str, str]:
    return {"Процесор": cpu, "Оперативна пам'ять": f"{ram} ГБ", "Накопичувач": ssd, "Екран": screen}


LAPTOPS: list[Row] = [
    (
        "Ноутбук Lenovo IdeaPad Slim 3 15IRH8",
        "Lenovo",
        24999,
        _laptop("Intel Core i5-13420H", 16, "SSD 512 ГБ", '15,6" IPS Full HD'),
    ),
    (
        "Ноутбук Lenovo IdeaPad 1 15AMN7",
        "Lenovo",
        15999,
        _laptop("AMD Ryzen 5 7520U", 8, "SSD 512 ГБ", '15,6" TN Full HD'),
    ),
    (
        "Ноутбук Lenovo Legion 5 16IRX9",
        "Lenovo",
        62999,
        _laptop("Intel Core i7-14650HX, RTX 4060", 32, "SSD 1 ТБ", '16" IPS 2.5K 165 Гц'),
    ),
    (
        "Ноутбук Lenovo ThinkPad E14 Gen 5",
        "Lenovo",
        38999,
        _laptop("Intel Core i7-1355U", 16, "SSD 512 ГБ", '14" IPS WUXGA'),
    ),
    (
        "Ноутбук ASUS Vivobook 15 X1504VA",
        "ASUS",
        19999,
        _laptop("Intel Core i3-1315U", 8, "SSD 512 ГБ", '15,6" IPS Full HD'),
    ),
    (
        "Ноутбук ASUS TUF Gaming A15 FA507NV",
        "ASUS",
        42999,
        _laptop("AMD Ryzen 7 7735HS, RTX 4060", 16, "SSD 512 ГБ", '15,6" IPS 144 Гц'),
    ),
    (
        "Ноутбук ASUS Zenbook 14 OLED UX3405MA",
        "ASUS",
        44999,
        _laptop("Intel Core Ultra 7 155H", 16, "SSD 1 ТБ", '14" OLED 3K'),
    ),
    (
        "Ноутбук HP 250 G9",
        "HP",
        17999,
        _laptop("Intel Core i3-1215U", 8, "SSD 256 ГБ", '15,6" IPS Full HD'),
    ),
    (
        "Ноутбук HP Pavilion 15-eg3000",
        "HP",
        29999,
        _laptop("Intel Core i5-1335U", 16, "SSD 512 ГБ", '15,6" IPS Full HD'),
    ),
    (
        "Ноутбук Acer Aspire 3 A315-59",
        "Acer",
        16999,
        _laptop("Intel Core i3-1215U", 8, "SSD 512 ГБ", '15,6" IPS Full HD'),
    ),
    (
        "Ноутбук Acer Nitro V 15 ANV15-51",
        "Acer",
        38999,
        _laptop("Intel Core i5-13420H, RTX 4050", 16, "SSD 512 ГБ", '15,6" IPS 144 Гц'),
    ),
    (
        "Ноутбук Apple MacBook Air 13 M2 8/256 ГБ",
        "Apple",
        42999,
        _laptop("Apple M2", 8, "SSD 256 ГБ", '13,6" Liquid Retina'),
    ),
    (
        "Ноутбук Apple MacBook Air 13 M3 16/256 ГБ",
        "Apple",
        49999,
        _laptop("Apple M3", 16, "SSD 256 ГБ", '13,6" Liquid Retina'),
    ),
    (
        "Ноутбук Apple MacBook Pro 14 M4 16/512 ГБ",
        "Apple",
        79999,
        _laptop("Apple M4", 16, "SSD 512 ГБ", '14,2" Liquid Retina XDR'),
    ),
    (
        "Ноутбук Dell Inspiron 15 3520",
        "Dell",
        22999,
        _laptop("Intel Core i5-1235U", 8, "SSD 512 ГБ", '15,6" IPS Full HD 120 Гц'),
    ),
]


def _tablet(screen: str, memory: str, connection: str) -> dict[str, str]:
    return {"Екран": screen, "Пам'ять": memory, "Зв'язок": connection}


TABLETS: list[Row] = [
    (
        "Планшет Apple iPad 10.9 (10 покоління) 64 ГБ Wi-Fi",
        "Apple",
        16999,
        _tablet('10,9" Liquid Retina', "64 ГБ", "Wi-Fi"),
    ),
    (
        "Планшет Apple iPad Air 11 M2 128 ГБ Wi-Fi",
        "Apple",
        29999,
        _tablet('11" Liquid Retina', "128 ГБ", "Wi-Fi"),
    ),
    (
        "Планшет Apple iPad mini 7 128 ГБ Wi-Fi",
        "Apple",
        23999,
        _tablet('8,3" Liquid Retina', "128 ГБ", "Wi-Fi"),
    ),
    (
        "Планшет Samsung Galaxy Tab A9+ 8/128 ГБ Wi-Fi",
        "Samsung",
        8999,
        _tablet('11" TFT 90 Гц', "8/128 ГБ", "Wi-Fi"),
    ),
    (
        "Планшет Samsung Galaxy Tab A9 4/64 ГБ LTE",
        "Samsung",
        6499,
        _tablet('8,7" TFT', "4/64 ГБ", "Wi-Fi, LTE"),
    ),
    (
        "Планшет Samsung Galaxy Tab S9 FE 6/128 ГБ Wi-Fi",
        "Samsung",
        16999,
        _tablet('10,9" TFT 90 Гц', "6/128 ГБ", "Wi-Fi"),
    ),
    (
        "Планшет Xiaomi Redmi Pad SE 8/256 ГБ",
        "Xiaomi",
        7499,
        _tablet('11" IPS 90 Гц', "8/256 ГБ", "Wi-Fi"),
    ),
    (
        "Планшет Xiaomi Pad 6 8/256 ГБ",
        "Xiaomi",
        13999,
        _tablet('11" IPS 144 Гц', "8/256 ГБ", "Wi-Fi"),
    ),
    (
        "Планшет Lenovo Tab M11 4/128 ГБ",
        "Lenovo",
        7999,
        _tablet('11" IPS 90 Гц', "4/128 ГБ", "Wi-Fi"),
    ),
    (
        "Планшет Lenovo Tab P12 8/128 ГБ",
        "Lenovo",
        12999,
        _tablet('12,7" IPS 3K', "8/128 ГБ", "Wi-Fi"),
    ),
    (
        "Планшет Huawei MatePad 11.5 8/128 ГБ",
        "Huawei",
        11999,
        _tablet('11,5" IPS 120 Гц', "8/128 ГБ", "Wi-Fi"),
    ),
]


def _tv(diagonal: int, resolution: str, matrix: str, system: str) -> dict[str, str]:
    return {
        "Діагональ": f'{diagonal}"',
        "Роздільна здатність": resolution,
        "Матриця": matrix,
        "Smart TV": system,
    }


TVS: list[Row] = [
    (
        'Телевізор Samsung 43" UE43DU7100 4K',
        "Samsung",
        14999,
        _tv(43, "4K UHD", "LED", "Tizen"),
    ),
    (
        'Телевізор Samsung 55" UE55DU8000 4K',
        "Samsung",
        23999,
        _tv(55, "4K UHD", "LED", "Tizen"),
    ),
    (
        'Телевізор Samsung 65" QE65Q60D QLED',
        "Samsung",
        36999,
        _tv(65, "4K UHD", "QLED", "Tizen"),
    ),
    ('Телевізор LG 43" 43UR78006LK 4K', "LG", 13999, _tv(43, "4K UHD", "LED", "webOS")),
    ('Телевізор LG 50" 50QNED80T6A', "LG", 22999, _tv(50, "4K UHD", "QNED", "webOS")),
    ('Телевізор LG 55" OLED55C4', "LG", 54999, _tv(55, "4K UHD", "OLED", "webOS")),
    (
        'Телевізор Philips 50" 50PUS8108 Ambilight',
        "Philips",
        17999,
        _tv(50, "4K UHD", "LED", "Titan OS"),
    ),
    (
        'Телевізор Philips 43" 43PFS6808',
        "Philips",
        10999,
        _tv(43, "Full HD", "LED", "Titan OS"),
    ),
    ('Телевізор Sony 55" KD-55X75WL', "Sony", 27999, _tv(55, "4K UHD", "LED", "Google TV")),
    (
        'Телевізор Xiaomi TV A 43" 2025',
        "Xiaomi",
        10999,
        _tv(43, "Full HD", "LED", "Google TV"),
    ),
    (
        'Телевізор Xiaomi TV A Pro 55" 2025',
        "Xiaomi",
        16999,
        _tv(55, "4K UHD", "QLED", "Google TV"),
    ),
    ('Телевізор TCL 55" 55C655 QLED', "TCL", 18999, _tv(55, "4K UHD", "QLED", "Google TV")),
    ('Телевізор Kivi 32" 32H760QB', "Kivi", 6999, _tv(32, "HD", "LED", "Android TV")),
]


def _watch(screen: str, battery: str, extra: str) -> dict[str, str]:
    return {"Екран": screen, "Автономність": battery, "Особливості": extra}


SMARTWATCHES: list[Row] = [
    (
        "Смарт-годинник Apple Watch SE 2 40 мм",
        "Apple",
        10999,
        _watch('1,57" OLED Retina', "до 18 год", "пульс, сон, виявлення падіння"),
    ),
    (
        "Смарт-годинник Apple Watch Series 10 42 мм",
        "Apple",
        17999,
        _watch('1,65" OLED LTPO3', "до 18 год", "ЕКГ, кисень у крові, сон"),
    ),
    (
        "Смарт-годинник Apple Watch Ultra 2 49 мм",
        "Apple",
        34999,
        _watch('1,92" OLED LTPO', "до 36 год", "титановий корпус, GPS, занурення до 40 м"),
    ),
    (
        "Смарт-годинник Samsung Galaxy Watch7 40 мм",
        "Samsung",
        9999,
        _watch('1,31" Super AMOLED', "до 40 год", "ЕКГ, тиск, сон"),
    ),
    (
        "Смарт-годинник Samsung Galaxy Watch FE 40 мм",
        "Samsung",
        6499,
        _watch('1,2" Super AMOLED', "до 30 год", "пульс, сон, NFC-оплата"),
    ),
    (
        "Фітнес-браслет Samsung Galaxy Fit3",
        "Samsung",
        2199,
        _watch('1,6" AMOLED', "до 13 днів", "пульс, сон, 100+ тренувань"),
    ),
    (
        "Фітнес-браслет Xiaomi Smart Band 9",
        "Xiaomi",
        1499,
        _watch('1,62" AMOLED', "до 21 дня", "пульс, кисень у крові, сон"),
    ),
    (
        "Смарт-годинник Xiaomi Redmi Watch 5 Active",
        "Xiaomi",
        1399,
        _watch('2" LCD', "до 18 днів", "дзвінки через Bluetooth, пульс"),
    ),
    (
        "Смарт-годинник Xiaomi Watch S3",
        "Xiaomi",
        4999,
        _watch('1,43" AMOLED', "до 15 днів", "змінні безелі, GPS, eSIM"),
    ),
    (
        "Смарт-годинник Huawei Watch GT 5 46 мм",
        "Huawei",
        8999,
        _watch('1,43" AMOLED', "до 14 днів", "GPS, пульс, сон"),
    ),
    (
        "Фітнес-браслет Huawei Band 9",
        "Huawei",
        1699,
        _watch('1,47" AMOLED', "до 14 днів", "пульс, сон, кисень у крові"),
    ),
    (
        "Смарт-годинник Garmin Forerunner 165",
        "Garmin",
        12999,
        _watch('1,2" AMOLED', "до 11 днів", "GPS, бігові метрики, пульс"),
    ),
    (
        "Смарт-годинник Amazfit Bip 5",
        "Amazfit",
        2999,
        _watch('1,91" LCD', "до 10 днів", "GPS, дзвінки через Bluetooth"),
    ),
    (
        "Смарт-годинник Amazfit GTR 4",
        "Amazfit",
        6999,
        _watch('1,43" AMOLED', "до 14 днів", "GPS, пульс, Alexa"),
    ),
]


def _speaker(power: str, battery: str, protection: str) -> dict[str, str]:
    return {"Потужність": power, "Автономність": battery, "Захист": protection}


SPEAKERS: list[Row] = [
    ("Портативна колонка JBL Flip 6", "JBL", 4599, _speaker("30 Вт", "до 12 год", "IP67")),
    ("Портативна колонка JBL Charge 5", "JBL", 6499, _speaker("40 Вт", "до 20 год", "IP67")),
    ("Портативна колонка JBL Go 4", "JBL", 1799, _speaker("4,2 Вт", "до 7 год", "IP67")),
    ("Портативна колонка JBL Clip 5", "JBL", 2999, _speaker("7 Вт", "до 12 год", "IP67")),
    ("Портативна колонка JBL Xtreme 4", "JBL", 13499, _speaker("100 Вт", "до 24 год", "IP67")),
    (
        "Портативна колонка JBL PartyBox Encore Essential 2",
        "JBL",
        13999,
        _speaker("100 Вт", "до 6 год", "IPX4"),
    ),
    ("Портативна колонка Sony ULT Field 1", "Sony", 4499, _speaker("20 Вт", "до 12 год", "IP67")),
    ("Портативна колонка Sony SRS-XB100", "Sony", 2299, _speaker("5 Вт", "до 16 год", "IP67")),
    (
        "Портативна колонка Marshall Emberton II",
        "Marshall",
        6999,
        _speaker("20 Вт", "до 30 год", "IP67"),
    ),
    (
        "Портативна колонка Xiaomi Mi Portable Bluetooth Speaker 16 Вт",
        "Xiaomi",
        1499,
        _speaker("16 Вт", "до 13 год", "IPX7"),
    ),
    (
        "Портативна колонка Anker Soundcore 2",
        "Anker",
        1299,
        _speaker("12 Вт", "до 24 год", "IPX7"),
    ),
    (
        "Портативна колонка Anker Soundcore Motion 300",
        "Anker",
        3299,
        _speaker("30 Вт", "до 13 год", "IPX7"),
    ),
    (
        "Портативна колонка Tronsmart T7",
        "Tronsmart",
        2199,
        _speaker("30 Вт", "до 12 год", "IPX7"),
    ),
    ("Портативна колонка Bose SoundLink Flex", "Bose", 5999, _speaker("—", "до 12 год", "IP67")),
]


def _charger(power: str, ports: str) -> dict[str, str]:
    return {"Потужність": power, "Порти": ports}


CHARGERS: list[Row] = [
    (
        "Мережевий зарядний пристрій Apple 20W USB-C",
        "Apple",
        999,
        _charger("20 Вт", "USB-C"),
    ),
    (
        "Мережевий зарядний пристрій Samsung EP-TA800 25 Вт",
        "Samsung",
        599,
        _charger("25 Вт", "USB-C"),
    ),
    (
        "Мережевий зарядний пристрій Samsung EP-T4510 45 Вт",
        "Samsung",
        1299,
        _charger("45 Вт", "USB-C"),
    ),
    (
        "Мережевий зарядний пристрій Xiaomi 33W",
        "Xiaomi",
        599,
        _charger("33 Вт", "USB-A"),
    ),
    (
        "Мережевий зарядний пристрій Xiaomi 67W GaN",
        "Xiaomi",
        1199,
        _charger("67 Вт", "USB-C"),
    ),
    (
        "Мережевий зарядний пристрій Anker 511 Nano 20 Вт",
        "Anker",
        699,
        _charger("20 Вт", "USB-C"),
    ),
    (
        "Мережевий зарядний пристрій Anker 735 Nano II 65 Вт",
        "Anker",
        1999,
        _charger("65 Вт", "2 × USB-C, USB-A"),
    ),
    (
        "Мережевий зарядний пристрій Baseus GaN5 Pro 65 Вт",
        "Baseus",
        1399,
        _charger("65 Вт", "USB-C, USB-A"),
    ),
    (
        "Мережевий зарядний пристрій Baseus Compact 20 Вт",
        "Baseus",
        399,
        _charger("20 Вт", "USB-C, USB-A"),
    ),
    (
        "Мережевий зарядний пристрій Ugreen Nexode 100 Вт",
        "Ugreen",
        2299,
        _charger("100 Вт", "3 × USB-C, USB-A"),
    ),
    (
        "Бездротовий зарядний пристрій Anker 313 Wireless Pad",
        "Anker",
        599,
        _charger("10 Вт", "Qi, бездротова"),
    ),
    (
        "Автомобільний зарядний пристрій Baseus Superme 30 Вт",
        "Baseus",
        499,
        _charger("30 Вт", "USB-C, USB-A"),
    ),
    (
        "Бездротовий зарядний пристрій Xiaomi Wireless Charging Stand 50 Вт",
        "Xiaomi",
        1299,
        _charger("50 Вт", "Qi, бездротова"),
    ),
]


def _cable(connectors: str, length: str, power: str) -> dict[str, str]:
    return {"Роз'єми": connectors, "Довжина": length, "Потужність": power}


CABLES: list[Row] = [
    (
        "Кабель Apple USB-C – Lightning 1 м",
        "Apple",
        899,
        _cable("USB-C – Lightning", "1 м", "до 20 Вт"),
    ),
    (
        "Кабель Apple USB-C Woven 1 м 60 Вт",
        "Apple",
        799,
        _cable("USB-C – USB-C", "1 м", "до 60 Вт"),
    ),
    (
        "Кабель Baseus Cafule USB-C – USB-C 100 Вт 2 м",
        "Baseus",
        399,
        _cable("USB-C – USB-C", "2 м", "до 100 Вт"),
    ),
    (
        "Кабель Baseus Superior USB-A – Lightning 1 м",
        "Baseus",
        249,
        _cable("USB-A – Lightning", "1 м", "до 12 Вт"),
    ),
    (
        "Кабель Anker PowerLine III USB-C – USB-C 1,8 м",
        "Anker",
        499,
        _cable("USB-C – USB-C", "1,8 м", "до 60 Вт"),
    ),
    (
        "Кабель Ugreen USB-C – USB-C 60 Вт 1 м",
        "Ugreen",
        249,
        _cable("USB-C – USB-C", "1 м", "до 60 Вт"),
    ),
    (
        "Кабель Xiaomi USB-A – USB-C 1 м",
        "Xiaomi",
        199,
        _cable("USB-A – USB-C", "1 м", "до 18 Вт"),
    ),
    (
        "Кабель Samsung EP-DN975 USB-C – USB-C 5 А 1 м",
        "Samsung",
        599,
        _cable("USB-C – USB-C", "1 м", "до 100 Вт"),
    ),
    (
        "Кабель Ugreen HDMI 2.1 8K 2 м",
        "Ugreen",
        549,
        _cable("HDMI – HDMI", "2 м", "48 Гбіт/с"),
    ),
    (
        "Кабель Vention HDMI 2.0 4K 1,5 м",
        "Vention",
        249,
        _cable("HDMI – HDMI", "1,5 м", "18 Гбіт/с"),
    ),
    (
        "Кабель 2E USB-A – microUSB 1 м",
        "2E",
        99,
        _cable("USB-A – microUSB", "1 м", "до 10 Вт"),
    ),
    (
        "Кабель Baseus 3 в 1 USB-A – Lightning, USB-C, microUSB 1,2 м",
        "Baseus",
        449,
        _cable("USB-A – Lightning / USB-C / microUSB", "1,2 м", "до 18 Вт"),
    ),
]


def _mouse(connection: str, sensor: str, buttons: int) -> dict[str, str]:
    return {"Підключення": connection, "Сенсор": sensor, "Кнопок": str(buttons)}


MICE: list[Row] = [
    ("Бездротова миша Logitech M190", "Logitech", 449, _mouse("радіо 2,4 ГГц", "1000 dpi", 3)),
    ("Бездротова миша Logitech M185", "Logitech", 499, _mouse("радіо 2,4 ГГц", "1000 dpi", 3)),
    (
        "Бездротова миша Logitech MX Master 3S",
        "Logitech",
        4299,
        _mouse("Bluetooth, радіо 2,4 ГГц", "8000 dpi", 7),
    ),
    ("Ігрова миша Logitech G102 Lightsync", "Logitech", 799, _mouse("USB", "8000 dpi", 6)),
    (
        "Ігрова миша Logitech G502 X Lightspeed",
        "Logitech",
        4999,
        _mouse("радіо 2,4 ГГц", "25600 dpi", 13),
    ),
    (
        "Бездротова миша Logitech Pebble Mouse 2 M350s",
        "Logitech",
        899,
        _mouse("Bluetooth", "1000 dpi", 3),
    ),
    ("Ігрова миша Razer DeathAdder Essential", "Razer", 799, _mouse("USB", "6400 dpi", 5)),
    ("Ігрова миша Razer Basilisk V3", "Razer", 2299, _mouse("USB", "26000 dpi", 11)),
    ("Ігрова миша A4Tech Bloody W90 Max", "A4Tech", 1199, _mouse("USB", "12000 dpi", 10)),
    (
        "Бездротова миша Xiaomi Wireless Mouse Lite",
        "Xiaomi",
        299,
        _mouse("радіо 2,4 ГГц", "1000 dpi", 3),
    ),
    ("Бездротова миша HP X200", "HP", 349, _mouse("радіо 2,4 ГГц", "1600 dpi", 3)),
    ("Бездротова миша Apple Magic Mouse", "Apple", 3999, _mouse("Bluetooth", "—", 1)),
]


def _keyboard(kind: str, connection: str, layout: str) -> dict[str, str]:
    return {"Тип": kind, "Підключення": connection, "Розкладка": layout}


UA = "українська/англійська"
KEYBOARDS: list[Row] = [
    ("Клавіатура Logitech K120", "Logitech", 449, _keyboard("мембранна", "USB", UA)),
    (
        "Комплект клавіатура і миша Logitech MK270",
        "Logitech",
        1099,
        _keyboard("мембранна", "радіо 2,4 ГГц", UA),
    ),
    (
        "Бездротова клавіатура Logitech K380",
        "Logitech",
        1599,
        _keyboard("ножичкова", "Bluetooth", UA),
    ),
    (
        "Бездротова клавіатура Logitech MX Keys S",
        "Logitech",
        4599,
        _keyboard("ножичкова з підсвіткою", "Bluetooth, радіо 2,4 ГГц", UA),
    ),
    (
        "Ігрова клавіатура Logitech G213 Prodigy",
        "Logitech",
        1999,
        _keyboard("мембранна з RGB-підсвіткою", "USB", UA),
    ),
    (
        "Ігрова клавіатура Razer BlackWidow V4 X",
        "Razer",
        4499,
        _keyboard("механічна", "USB", UA),
    ),
    (
        "Ігрова клавіатура HyperX Alloy Origins Core",
        "HyperX",
        3299,
        _keyboard("механічна", "USB", UA),
    ),
    ("Клавіатура A4Tech KR-85", "A4Tech", 349, _keyboard("мембранна", "USB", UA)),
    (
        "Бездротова клавіатура Apple Magic Keyboard",
        "Apple",
        4999,
        _keyboard("ножичкова", "Bluetooth", UA),
    ),
    (
        "Ігрова клавіатура 2E Gaming KG315 RGB",
        "2E",
        799,
        _keyboard("мембранна з RGB-підсвіткою", "USB", UA),
    ),
    (
        "Бездротова механічна клавіатура Keychron K2",
        "Keychron",
        3999,
        _keyboard("механічна", "Bluetooth, USB-C", UA),
    ),
]


def _monitor(diagonal: str, resolution: str, rate: str, matrix: str) -> dict[str, str]:
    return {
        "Діагональ": diagonal,
        "Роздільна здатність": resolution,
        "Частота": rate,
        "Матриця": matrix,
    }


MONITORS: list[Row] = [
    (
        'Монітор Samsung 24" S24C310',
        "Samsung",
        4299,
        _monitor('24"', "1920×1080", "75 Гц", "IPS"),
    ),
    (
        'Ігровий монітор Samsung Odyssey G5 27"',
        "Samsung",
        10999,
        _monitor('27"', "2560×1440", "165 Гц", "VA"),
    ),
    ('Монітор LG 27" 27MR400', "LG", 4699, _monitor('27"', "1920×1080", "100 Гц", "IPS")),
    (
        'Ігровий монітор LG UltraGear 27" 27GS60F',
        "LG",
        7499,
        _monitor('27"', "1920×1080", "180 Гц", "IPS"),
    ),
    ('Монітор LG 32" 32UN650 4K', "LG", 14999, _monitor('31,5"', "3840×2160", "60 Гц", "IPS")),
    ('Монітор Dell 27" S2721DS', "Dell", 9999, _monitor('27"', "2560×1440", "75 Гц", "IPS")),
    ('Монітор ASUS 24" VA24DQ', "ASUS", 4599, _monitor('23,8"', "1920×1080", "75 Гц", "IPS")),
    (
        'Ігровий монітор ASUS TUF Gaming 27" VG27AQ3A',
        "ASUS",
        9499,
        _monitor('27"', "2560×1440", "180 Гц", "IPS"),
    ),
    (
        'Монітор Philips 24" 243V7QDAB',
        "Philips",
        3999,
        _monitor('23,8"', "1920×1080", "75 Гц", "IPS"),
    ),
    (
        'Монітор Xiaomi Mi Desktop Monitor 27"',
        "Xiaomi",
        5499,
        _monitor('27"', "1920×1080", "75 Гц", "IPS"),
    ),
    (
        'Ігровий монітор AOC 24" 24G2SPU',
        "AOC",
        6499,
        _monitor('23,8"', "1920×1080", "165 Гц", "IPS"),
    ),
    (
        'Монітор Lenovo 24" L24i-40',
        "Lenovo",
        3899,
        _monitor('23,8"', "1920×1080", "100 Гц", "IPS"),
    ),
]


def _router(standard: str, speed: str, ports: str) -> dict[str, str]:
    return {"Стандарт Wi-Fi": standard, "Швидкість": speed, "Порти": ports}


ROUTERS: list[Row] = [
    (
        "Wi-Fi роутер TP-Link Archer C6",
        "TP-Link",
        1199,
        _router("Wi-Fi 5 (802.11ac)", "до 1200 Мбіт/с", "5 × 1 Гбіт/с"),
    ),
    (
        "Wi-Fi роутер TP-Link Archer AX23",
        "TP-Link",
        1899,
        _router("Wi-Fi 6 (802.11ax)", "до 1800 Мбіт/с", "5 × 1 Гбіт/с"),
    ),
    (
        "Wi-Fi роутер TP-Link Archer AX55",
        "TP-Link",
        2899,
        _router("Wi-Fi 6 (802.11ax)", "до 3000 Мбіт/с", "5 × 1 Гбіт/с, USB"),
    ),
    (
        "Mesh-система TP-Link Deco X20 (2 шт.)",
        "TP-Link",
        5499,
        _router("Wi-Fi 6 (802.11ax)", "до 1800 Мбіт/с", "2 × 1 Гбіт/с на модуль"),
    ),
    (
        "Wi-Fi роутер TP-Link TL-WR840N",
        "TP-Link",
        549,
        _router("Wi-Fi 4 (802.11n)", "до 300 Мбіт/с", "5 × 100 Мбіт/с"),
    ),
    (
        "Wi-Fi роутер ASUS RT-AX53U",
        "ASUS",
        1999,
        _router("Wi-Fi 6 (802.11ax)", "до 1800 Мбіт/с", "4 × 1 Гбіт/с, USB"),
    ),
    (
        "Wi-Fi роутер ASUS RT-AX58U",
        "ASUS",
        4999,
        _router("Wi-Fi 6 (802.11ax)", "до 3000 Мбіт/с", "5 × 1 Гбіт/с, USB 3.0"),
    ),
    (
        "Wi-Fi роутер Xiaomi Router AX3000T",
        "Xiaomi",
        1399,
        _router("Wi-Fi 6 (802.11ax)", "до 3000 Мбіт/с", "4 × 1 Гбіт/с"),
    ),
    (
        "Wi-Fi роутер Xiaomi Mi Router 4A Gigabit Edition",
        "Xiaomi",
        899,
        _router("Wi-Fi 5 (802.11ac)", "до 1167 Мбіт/с", "3 × 1 Гбіт/с"),
    ),
    (
        "Wi-Fi роутер Keenetic Giga KN-1012",
        "Keenetic",
        4299,
        _router("Wi-Fi 6 (802.11ax)", "до 1800 Мбіт/с", "5 × 1 Гбіт/с, SFP, 2 × USB"),
    ),
    (
        "Wi-Fi роутер MikroTik hAP ax2",
        "MikroTik",
        3799,
        _router("Wi-Fi 6 (802.11ax)", "до 1800 Мбіт/с", "5 × 1 Гбіт/с"),
    ),
    (
        "Wi-Fi роутер Tenda AC10",
        "Tenda",
        999,
        _router("Wi-Fi 5 (802.11ac)", "до 1200 Мбіт/с", "4 × 1 Гбіт/с"),
    ),
    (
        "Мобільний 4G Wi-Fi роутер TP-Link M7350",
        "TP-Link",
        2999,
        _router("Wi-Fi 4 (802.11n), 4G LTE", "до 150 Мбіт/с", "microUSB, слот SIM"),
    ),
]


def _vacuum(kind: str, power: str, extra: str) -> dict[str, str]:
    return {"Тип": kind, "Потужність": power, "Особливості": extra}


VACUUMS: list[Row] = [
    (
        "Робот-пилосос Xiaomi Robot Vacuum S10",
        "Xiaomi",
        7999,
        _vacuum("робот", "4000 Па", "лазерна навігація, вологе прибирання"),
    ),
    (
        "Робот-пилосос Xiaomi Robot Vacuum E10",
        "Xiaomi",
        5999,
        _vacuum("робот", "4000 Па", "гіроскопічна навігація, вологе прибирання"),
    ),
    (
        "Вертикальний пилосос Xiaomi Mi Vacuum Cleaner G11",
        "Xiaomi",
        9999,
        _vacuum("вертикальний акумуляторний", "450 Вт", "до 60 хв роботи"),
    ),
    (
        "Робот-пилосос Dreame L10s Ultra",
        "Dreame",
        22999,
        _vacuum("робот", "5300 Па", "станція самоочищення, миття швабр"),
    ),
    (
        "Робот-пилосос Roborock Q7 Max",
        "Roborock",
        12999,
        _vacuum("робот", "4200 Па", "лазерна навігація, вологе прибирання"),
    ),
    (
        "Робот-пилосос Roborock S8",
        "Roborock",
        19999,
        _vacuum("робот", "6000 Па", "звукове миття, обхід перешкод"),
    ),
    (
        "Вертикальний пилосос Samsung Jet 60 VS15A6031R1",
        "Samsung",
        10999,
        _vacuum("вертикальний акумуляторний", "410 Вт", "до 40 хв роботи"),
    ),
    (
        "Пилосос Samsung VCC4520S3R",
        "Samsung",
        4299,
        _vacuum("контейнерний", "2000 Вт", "циклонний фільтр"),
    ),
    (
        "Пилосос Philips PowerPro Compact FC9332/09",
        "Philips",
        4499,
        _vacuum("контейнерний", "1900 Вт", "фільтр Allergy"),
    ),
    (
        "Пилосос Philips XB2123/09",
        "Philips",
        2999,
        _vacuum("мішковий", "850 Вт", "мішок 3 л"),
    ),
    (
        "Пилосос Bosch Serie 2 BGC05AAA2",
        "Bosch",
        4199,
        _vacuum("контейнерний", "700 Вт", "гігієнічний фільтр"),
    ),
    (
        "Вертикальний пилосос Bosch Unlimited 7 BBS711W",
        "Bosch",
        12999,
        _vacuum("вертикальний акумуляторний", "18 В", "змінний акумулятор, до 40 хв"),
    ),
    (
        "Вертикальний пилосос Rowenta X-Force Flex 8.60",
        "Rowenta",
        9999,
        _vacuum("вертикальний акумуляторний", "185 Вт", "гнучка труба, до 35 хв"),
    ),
    (
        "Вертикальний пилосос Tefal X-Pert 6.60",
        "Tefal",
        6999,
        _vacuum("вертикальний акумуляторний", "100 Вт", "2 в 1, до 45 хв"),
    ),
]


def _kettle(volume: str, power: str, body: str) -> dict[str, str]:
    return {"Об'єм": volume, "Потужність": power, "Корпус": body}


KETTLES: list[Row] = [
    (
        "Електрочайник Philips HD9350/90",
        "Philips",
        1499,
        _kettle("1,7 л", "2200 Вт", "нержавіюча сталь"),
    ),
    (
        "Електрочайник Philips HD9318/00",
        "Philips",
        1099,
        _kettle("1,7 л", "2200 Вт", "пластик"),
    ),
    ("Електрочайник Tefal KO200130", "Tefal", 899, _kettle("1,5 л", "2400 Вт", "пластик")),
    (
        "Електрочайник Tefal Smart'n Light KO850",
        "Tefal",
        2299,
        _kettle("1,7 л", "2400 Вт", "скло, регулювання температури"),
    ),
    ("Електрочайник Bosch TWK3A011", "Bosch", 1199, _kettle("1,7 л", "2400 Вт", "пластик")),
    (
        "Електрочайник Bosch TWK7203",
        "Bosch",
        2699,
        _kettle("1,7 л", "2200 Вт", "скло, регулювання температури"),
    ),
    (
        "Електрочайник Xiaomi Mi Smart Kettle Pro",
        "Xiaomi",
        1399,
        _kettle("1,5 л", "1800 Вт", "сталь, керування зі смартфона"),
    ),
    (
        "Електрочайник Xiaomi Electric Kettle 2",
        "Xiaomi",
        999,
        _kettle("1,7 л", "1800 Вт", "пластик, сталева колба"),
    ),
    (
        "Електрочайник Russell Hobbs 26050-70",
        "Russell Hobbs",
        1599,
        _kettle("1,7 л", "2400 Вт", "нержавіюча сталь"),
    ),
    ("Електрочайник Gorenje K17G", "Gorenje", 899, _kettle("1,7 л", "2200 Вт", "скло")),
    (
        "Електрочайник Braun WK 5110",
        "Braun",
        2199,
        _kettle("1,7 л", "3000 Вт", "нержавіюча сталь"),
    ),
    (
        "Електрочайник Electrolux E4K1-4ST",
        "Electrolux",
        1299,
        _kettle("1,7 л", "2200 Вт", "нержавіюча сталь"),
    ),
]


def _coffee(kind: str, pressure: str, extra: str) -> dict[str, str]:
    return {"Тип": kind, "Тиск": pressure, "Особливості": extra}


COFFEE: list[Row] = [
    (
        "Кавомашина De'Longhi Magnifica S ECAM 22.110.B",
        "De'Longhi",
        15999,
        _coffee("автоматична", "15 бар", "вбудована кавомолка, капучинатор"),
    ),
    (
        "Кавоварка ріжкова De'Longhi Dedica EC 685.M",
        "De'Longhi",
        9999,
        _coffee("ріжкова", "15 бар", "ручний капучинатор"),
    ),
    (
        "Капсульна кавоварка De'Longhi Nespresso Essenza Mini EN85",
        "De'Longhi",
        3999,
        _coffee("капсульна", "19 бар", "капсули Nespresso"),
    ),
    (
        "Кавомашина Philips Series 1200 EP1220/00",
        "Philips",
        13999,
        _coffee("автоматична", "15 бар", "керамічні жорна, ручний капучинатор"),
    ),
    (
        "Кавомашина Philips Series 2200 LatteGo EP2231/40",
        "Philips",
        19999,
        _coffee("автоматична", "15 бар", "автоматичний капучинатор LatteGo"),
    ),
    (
        "Капсульна кавоварка Bosch Tassimo Style TAS1107",
        "Bosch",
        2499,
        _coffee("капсульна", "3,3 бар", "капсули Tassimo"),
    ),
    (
        "Кавомашина Bosch VeroCafe Serie 2 TIE20119",
        "Bosch",
        14999,
        _coffee("автоматична", "15 бар", "вбудована кавомолка"),
    ),
    (
        "Капсульна кавоварка Krups Dolce Gusto Piccolo XS KP1A08",
        "Krups",
        2299,
        _coffee("капсульна", "15 бар", "капсули Dolce Gusto"),
    ),
    (
        "Кавоварка ріжкова Sencor SES 4010SS",
        "Sencor",
        4999,
        _coffee("ріжкова", "20 бар", "капучинатор"),
    ),
    (
        "Кавоварка крапельна Tefal Subito CM340811",
        "Tefal",
        1399,
        _coffee("крапельна", "—", "колба 1,25 л, підтримання тепла"),
    ),
    (
        "Кавоварка ріжкова Gorenje ESCM15DBK",
        "Gorenje",
        3299,
        _coffee("ріжкова", "15 бар", "капучинатор"),
    ),
    (
        "Кавоварка крапельна Russell Hobbs Chester 22000-56",
        "Russell Hobbs",
        1499,
        _coffee("крапельна", "—", "колба 1,25 л"),
    ),
    (
        "Капсульна кавоварка Xiaomi Scishare Capsule Coffee Machine Mini",
        "Xiaomi",
        3499,
        _coffee("капсульна", "19 бар", "капсули Nespresso"),
    ),
]


def _microwave(volume: str, power: str, extra: str) -> dict[str, str]:
    return {"Об'єм": volume, "Потужність": power, "Особливості": extra}


MICROWAVES: list[Row] = [
    (
        "Мікрохвильова піч Samsung MS23K3513AW",
        "Samsung",
        3999,
        _microwave("23 л", "800 Вт", "сенсорне керування"),
    ),
    (
        "Мікрохвильова піч Samsung MG23K3614AK з грилем",
        "Samsung",
        4999,
        _microwave("23 л", "800 Вт", "гриль, керамічна емаль"),
    ),
    (
        "Мікрохвильова піч Samsung ME88SUG",
        "Samsung",
        3799,
        _microwave("23 л", "800 Вт", "керамічна емаль"),
    ),
    (
        "Мікрохвильова піч LG MS2042DB",
        "LG",
        3299,
        _microwave("20 л", "700 Вт", "механічне керування"),
    ),
    (
        "Мікрохвильова піч LG MH6535GIS з грилем",
        "LG",
        4799,
        _microwave("25 л", "1000 Вт", "гриль, інверторне керування"),
    ),
    (
        "Мікрохвильова піч Gorenje MO17E1W",
        "Gorenje",
        2699,
        _microwave("17 л", "700 Вт", "механічне керування"),
    ),
    (
        "Мікрохвильова піч Gorenje MO20A4X",
        "Gorenje",
        3499,
        _microwave("20 л", "800 Вт", "електронне керування"),
    ),
    (
        "Вбудована мікрохвильова піч Bosch Serie 6 BFL523MS3",
        "Bosch",
        12999,
        _microwave("20 л", "800 Вт", "вбудовувана"),
    ),
    (
        "Мікрохвильова піч Panasonic NN-ST34HMZPE",
        "Panasonic",
        4299,
        _microwave("25 л", "800 Вт", "інверторна"),
    ),
    (
        "Мікрохвильова піч Sharp R200WW",
        "Sharp",
        2999,
        _microwave("20 л", "800 Вт", "механічне керування"),
    ),
    (
        "Мікрохвильова піч Whirlpool MWP 253 SB",
        "Whirlpool",
        6999,
        _microwave("25 л", "900 Вт", "гриль, Crisp"),
    ),
    (
        "Мікрохвильова піч Electrolux EMZ729EMK",
        "Electrolux",
        7999,
        _microwave("29 л", "1100 Вт", "гриль, сенсорне керування"),
    ),
]


def _dryer(power: str, modes: str, extra: str) -> dict[str, str]:
    return {"Потужність": power, "Режими": modes, "Особливості": extra}


HAIR_DRYERS: list[Row] = [
    ("Фен Philips BHD308/10", "Philips", 999, _dryer("1600 Вт", "3 режими", "концентратор")),
    (
        "Фен Philips BHD538/00",
        "Philips",
        1699,
        _dryer("2300 Вт", "6 режимів", "іонізація, дифузор"),
    ),
    (
        "Фен Philips 7000 Series BHD827/00",
        "Philips",
        2899,
        _dryer("2300 Вт", "6 режимів", "іонізація, датчик температури"),
    ),
    ("Фен Rowenta Studio Dry CV5712", "Rowenta", 1499, _dryer("2100 Вт", "6 режимів", "іонізація")),
    (
        "Фен Rowenta Ultimate Experience CV9920",
        "Rowenta",
        4999,
        _dryer("2200 Вт", "6 режимів", "розумний датчик вологості"),
    ),
    ("Фен Bosch PHD5962", "Bosch", 1399, _dryer("2200 Вт", "6 режимів", "іонізація, дифузор")),
    (
        "Фен Braun Satin Hair 7 HD785",
        "Braun",
        2599,
        _dryer("2000 Вт", "4 режими", "сенсор SensoDryer"),
    ),
    (
        "Фен Dyson Supersonic HD07",
        "Dyson",
        21999,
        _dryer("1600 Вт", "4 режими", "5 насадок, контроль температури"),
    ),
    (
        "Фен Xiaomi Mi Ionic Hair Dryer H300",
        "Xiaomi",
        1199,
        _dryer("1600 Вт", "3 режими", "іонізація"),
    ),
    (
        "Фен Dreame Hair Glory",
        "Dreame",
        2499,
        _dryer("1600 Вт", "3 режими", "високошвидкісний двигун, іонізація"),
    ),
    ("Фен Remington D3010", "Remington", 899, _dryer("2000 Вт", "6 режимів", "кераміка")),
    ("Фен BaByliss 6704E", "BaByliss", 1299, _dryer("2000 Вт", "6 режимів", "іонізація")),
]


def _headphones_text(name: str, brand: str, a: dict[str, str], i: int) -> str:
    kind = a["Тип"]
    noise = (
        "активним шумозаглушенням"
        if a.get("Шумозаглушення") == ANC
        else "чистим звуком без зайвих налаштувань"
    )
    if kind.startswith("Вкладиші (TWS)"):
        first = f"Компактні бездротові навушники-вкладиші {brand} з {noise}."
    elif kind.startswith("Вкладиші"):
        first = f"Недорогі дротові навушники-вкладиші {brand} з мікрофоном і роз'ємом 3,5 мм."
        return first + " Підійдуть до смартфона, ноутбука чи плеєра."
    elif kind == "Накладні":
        first = f"Легкі накладні бездротові навушники {brand} з {noise}."
    else:
        first = f"Повнорозмірні бездротові навушники {brand} з {noise}."
    battery = a.get("Автономність", "")
    second = [
        f"Працюють {battery} і швидко підключаються до смартфона.",
        f"Автономність {battery}, зручна посадка на цілий день.",
        f"Заряду вистачає {battery}, є мікрофон для дзвінків.",
    ][i % 3]
    return f"{first} {second}"


def _simple(template: list[str]) -> Callable[[str, str, dict[str, str], int], str]:
    def render(name: str, brand: str, a: dict[str, str], i: int) -> str:
        title = name.split(f" {brand}")[0]
        return template[i % len(template)].format(name=name, brand=brand, title=title, **_keys(a))

    return render


def _keys(a: dict[str, str]) -> dict[str, str]:
    """Attribute values under ASCII placeholders for the templates."""
    names = {
        "Ємність": "capacity",
        "Потужність": "power",
        "Порти": "ports",
        "Пам'ять": "memory",
        "Екран": "screen",
        "Основна камера": "camera",
        "Акумулятор": "battery",
        "Процесор": "cpu",
        "Оперативна пам'ять": "ram",
        "Накопичувач": "ssd",
        "Зв'язок": "connection",
        "Діагональ": "diagonal",
        "Роздільна здатність": "resolution",
        "Матриця": "matrix",
        "Smart TV": "os",
        "Автономність": "autonomy",
        "Особливості": "extra",
        "Захист": "protection",
        "Роз'єми": "connectors",
        "Довжина": "length",
        "Підключення": "link",
        "Сенсор": "sensor",
        "Тип": "kind",
        "Розкладка": "layout",
        "Частота": "rate",
        "Стандарт Wi-Fi": "wifi",
        "Швидкість": "speed",
        "Об'єм": "volume",
        "Корпус": "body",
        "Тиск": "pressure",
        "Режими": "modes",
        "Кнопок": "buttons",
    }
    return {names[k]: v for k, v in a.items() if k in names}


DESCRIBE: dict[str, Callable[[str, str, dict[str, str], int], str]] = {
    "headphones": _headphones_text,
    "power-banks": _simple(
        [
            "Зовнішній акумулятор {brand} ємністю {capacity} із заряджанням до {power}. "
            "Порти: {ports}.",
            "Павербанк {brand} на {capacity} зарядить смартфон кілька разів. "
            "Потужність виходу до {power}, порти: {ports}.",
        ]
    ),
    "smartphones": _simple(
        [
            "Смартфон {brand} з екраном {screen} і пам'яттю {memory}. "
            "Основна камера {camera}, акумулятор {battery}.",
            "{title} {brand} з дисплеєм {screen} та камерою {camera}. "
            "Пам'ять {memory}, батарея {battery} на весь день.",
        ]
    ),
    "laptops": _simple(
        [
            "Ноутбук {brand} з процесором {cpu}, {ram} оперативної пам'яті та {ssd}. "
            "Екран {screen} для роботи й навчання.",
            "{title} {brand} з процесором {cpu}, {ram} ОЗП і {ssd}. Дисплей {screen}.",
        ]
    ),
    "tablets": _simple(
        [
            "Планшет {brand} з екраном {screen} і пам'яттю {memory}. "
            "Підходить для навчання, відео та ігор.",
            "Легкий планшет {brand}: дисплей {screen}, {memory}, зв'язок {connection}.",
        ]
    ),
    "tvs": _simple(
        [
            "Телевізор {brand} з діагоналлю {diagonal} і роздільною здатністю {resolution}. "
            "Смарт-платформа {os} з популярними застосунками.",
            "{matrix}-телевізор {brand} на {diagonal}, {resolution}. Smart TV на {os}.",
        ]
    ),
    "smartwatches": _simple(
        [
            "{title} {brand} з екраном {screen}. Автономність {autonomy}; {extra}.",
            "{title} {brand} з дисплеєм {screen} і автономністю {autonomy}. Функції: {extra}.",
        ]
    ),
    "speakers": _simple(
        [
            "Портативна Bluetooth-колонка {brand} потужністю {power} із захистом {protection}. "
            "Грає {autonomy} без підзарядки.",
            "Компактна колонка {brand} для дому та подорожей: {power}, {autonomy} роботи, "
            "захист {protection}.",
        ]
    ),
    "chargers": _simple(
        [
            "{title} {brand} потужністю {power} з портами {ports}. "
            "Підтримує швидке заряджання сучасних смартфонів.",
            "Компактний зарядний пристрій {brand}: {power}, {ports}.",
        ]
    ),
    "cables": _simple(
        [
            "Кабель {brand} {connectors} довжиною {length}, {power}. "
            "Підходить для заряджання та передавання даних.",
            "Міцний кабель {brand} ({connectors}, {length}) з підтримкою {power}.",
        ]
    ),
    "mice": _simple(
        [
            "{title} {brand} з підключенням {link} і сенсором {sensor}. "
            "Зручна форма для щоденної роботи.",
            "{title} {brand}: {link}, сенсор {sensor}, кнопок — {buttons}.",
        ]
    ),
    "keyboards": _simple(
        [
            "{title} {brand}, тип — {kind}, підключення {link}. Розкладка {layout}.",
            "{title} {brand} ({kind}) з підключенням {link} та розкладкою {layout}.",
        ]
    ),
    "monitors": _simple(
        [
            "Монітор {brand} з діагоналлю {diagonal}, роздільною здатністю {resolution} "
            "і частотою {rate}. Матриця {matrix} з широкими кутами огляду.",
            "{matrix}-монітор {brand} на {diagonal}: {resolution}, {rate}.",
        ]
    ),
    "routers": _simple(
        [
            "{title} {brand} зі стандартом {wifi} і швидкістю {speed}. Порти: {ports}.",
            "Маршрутизатор {brand} для квартири чи будинку: {wifi}, {speed}, порти {ports}.",
        ]
    ),
    "vacuums": _simple(
        [
            "{title} {brand} потужністю {power}. Особливості: {extra}.",
            "{title} {brand} для щоденного прибирання: {power}, {extra}.",
        ]
    ),
    "kettles": _simple(
        [
            "Електрочайник {brand} об'ємом {volume} і потужністю {power}. Корпус: {body}.",
            "Швидко закип'ятить {volume} води: чайник {brand} на {power}, корпус — {body}.",
        ]
    ),
    "coffee-machines": _simple(
        [
            "{title} {brand} для смачної кави вдома. Особливості: {extra}.",
            "{title} {brand}: {extra}. Готує каву за лічені хвилини.",
        ]
    ),
    "microwaves": _simple(
        [
            "Мікрохвильова піч {brand} об'ємом {volume} і потужністю {power}; {extra}.",
            "Мікрохвильовка {brand} на {volume} ({power}) для розігріву й розморожування; {extra}.",
        ]
    ),
    "hair-dryers": _simple(
        [
            "Фен {brand} потужністю {power}, {modes}. Особливості: {extra}.",
            "Фен для волосся {brand} на {power} з режимами: {modes}; {extra}.",
        ]
    ),
}

TABLES: list[tuple[str, list[Row], int]] = [
    ("headphones", HEADPHONES, 12),
    ("power-banks", POWER_BANKS, 12),
    ("smartphones", SMARTPHONES, 12),
    ("laptops", LAPTOPS, 12),
    ("tablets", TABLETS, 12),
    ("tvs", TVS, 24),
    ("smartwatches", SMARTWATCHES, 12),
    ("speakers", SPEAKERS, 12),
    ("chargers", CHARGERS, 6),
    ("cables", CABLES, 6),
    ("mice", MICE, 12),
    ("keyboards", KEYBOARDS, 12),
    ("monitors", MONITORS, 36),
    ("routers", ROUTERS, 24),
    ("vacuums", VACUUMS, 24),
    ("kettles", KETTLES, 12),
    ("coffee-machines", COFFEE, 24),
    ("microwaves", MICROWAVES, 24),
    ("hair-dryers", HAIR_DRYERS, 24),
]


def _keywords(category: str, name: str, attributes: dict[str, str]) -> list[str]:
    """Extra words a caller may use for a product that its name does not contain."""
    words: list[str] = []
    kind = attributes.get("Тип", "")
    if category == "headphones":
        if kind.startswith("Вкладиші"):
            words += ["вкладиші", "внутрішньоканальні"]
        if kind.startswith("Вкладиші (TWS)"):
            words += ["tws", "бездротові"]
        if attributes.get("Шумозаглушення") == ANC:
            words += ["шумозаглушення", "anc"]
        if "Bluetooth" in attributes:
            words += ["bluetooth"]
    if category == "power-banks":
        words += ["зовнішній акумулятор", "павербанк"]
    if category == "chargers" and "Apple" in name:
        words += ["iphone"]
    if "Lightning" in name or "Lightning" in attributes.get("Роз'єми", ""):
        words += ["iphone", "lightning"]
    if category == "smartwatches" and "браслет" in name.lower():
        words += ["фітнес браслет", "трекер"]
    if "Ігров" in name or "Ігров" in kind:
        words += ["ігровий", "геймерський", "gaming"]
    if category == "vacuums" and kind == "робот":
        words += ["робот пилосос"]
    if category == "speakers":
        words += ["bluetooth"]
    return words


def _rng_stock(rng: random.Random, name: str, price: int) -> dict[str, int]:
    """Units per warehouse; dearer products are scarcer and more often missing."""
    stock: dict[str, int] = {}
    scarce = price > 20000
    for city in CITIES:
        weight = CITY_WEIGHT[city["name"]]
        missing_in_city = rng.random() < (0.35 if scarce else 0.18) * (1.4 - weight)
        for warehouse_id, _ in city["warehouses"]:
            if any(model in name for model in SOLD_OUT) or missing_in_city or rng.random() < 0.25:
                stock[warehouse_id] = 0
            else:
                top = max(1, round((4 if scarce else 15) * weight))
                stock[warehouse_id] = rng.randint(1, top)
    return stock


# Stock that the demo scenarios and tests rely on, set after the random draw.
FIXED_STOCK: dict[str, dict[str, int]] = {
    # The demo's power bank: plenty in Lviv and Kyiv, none in Odesa.
    "Павербанк Xiaomi Redmi 20000 мА·год": {
        "lviv-1": 7,
        "lviv-2": 3,
        "kyiv-1": 12,
        "kyiv-2": 5,
        "kyiv-3": 0,
        "odesa-1": 0,
        "odesa-2": 0,
    },
    "Павербанк Xiaomi Redmi 10000 мА·год": {"lviv-1": 9, "kyiv-1": 14, "kyiv-2": 6},
    # A dearer 20000 one that Lviv lacks, so the demo's answer does not depend on ranking ties.
    "Павербанк Xiaomi 33W Power Bank 20000 мА·год": {"lviv-1": 0, "lviv-2": 0},
    # Cheap in-ear headphones in stock in the demo cities.
    "Бездротові навушники Xiaomi Redmi Buds 6 Lite": {"kyiv-1": 8, "lviv-1": 4, "lviv-2": 2},
    "Бездротові навушники JBL Wave Buds 2": {"kyiv-1": 5, "kyiv-3": 2, "lviv-1": 3},
    "Бездротові навушники Anker Soundcore Life P3i": {"kyiv-2": 4, "lviv-2": 1},
    "Бездротові навушники Baseus Bowie M2s": {"kyiv-1": 6, "lviv-1": 2, "kharkiv-1": 3},
    "Бездротові навушники Xiaomi Redmi Buds 6 Active": {"kyiv-1": 10, "lviv-1": 6},
    # Only one unit left in Kyiv (for out-of-stock tests on quantity 2).
    "Бездротові навушники Sony WF-C510": {"kyiv-1": 1, "kyiv-2": 0, "kyiv-3": 0},
}

SEED_ORDERS: list[dict[str, Any]] = [
    {
        "order_id": "TD-100001",
        "status": "shipped",
        "lines": [("Бездротові навушники JBL Tune 520BT", 1)],
        "delivery_city": "Київ",
        "warehouse_id": "kyiv-2",
        "customer": {"name": "Олена Коваленко", "phone": "+380671234567"},
        "created_at": "2025-05-28T10:15:00Z",
    },
    {
        "order_id": "TD-100002",
        "status": "delivered",
        "lines": [
            ("Смартфон Xiaomi Redmi Note 14 8/256 ГБ", 1),
            ("Кабель Xiaomi USB-A – USB-C 1 м", 2),
        ],
        "delivery_city": "Львів",
        "warehouse_id": "lviv-1",
        "customer": {"name": "Андрій Мельник", "phone": "+380501112233"},
        "created_at": "2025-05-20T16:42:00Z",
    },
    {
        "order_id": "TD-100003",
        "status": "cancelled",
        "lines": [("Електрочайник Tefal KO200130", 1)],
        "delivery_city": "Одеса",
        "warehouse_id": None,
        "customer": {"name": "Ірина Шевчук", "phone": "+380931234598"},
        "created_at": "2025-05-25T09:03:00Z",
    },
    {
        "order_id": "TD-100004",
        "status": "processing",
        "lines": [("Робот-пилосос Xiaomi Robot Vacuum S10", 1)],
        "delivery_city": "Дніпро",
        "warehouse_id": "dnipro-1",
        "customer": {"name": "Максим Бондар", "phone": "+380661234521"},
        "created_at": "2025-05-31T18:20:00Z",
    },
]


def build() -> dict[str, Any]:
    """The whole catalogue document (categories, cities, products, seeded orders)."""
    rng = random.Random(SEED)
    products: list[dict[str, Any]] = []
    for block, (category, rows, warranty) in enumerate(TABLES, start=1):
        describe = DESCRIBE[category]
        for index, (name, brand, price, attributes) in enumerate(rows):
            description = describe(name, brand, attributes, index)
            stock = _rng_stock(rng, name, price)
            stock.update(FIXED_STOCK.get(name, {}))
            products.append(
                {
                    # One block of a hundred SKUs per category: TD-101xx, TD-102xx...
                    "sku": f"TD-{10000 + block * 100 + index + 1:05d}",
                    "name": name,
                    "category": category,
                    "brand": brand,
                    "price_uah": price,
                    "description": description,
                    "attributes": attributes,
                    "warranty_months": 12 if brand == "Apple" else warranty,
                    "keywords": _keywords(category, name, attributes),
                    "stock": stock,
                }
            )
    by_name = {p["name"]: p for p in products}
    orders = []
    for seed in SEED_ORDERS:
        items = []
        for name, quantity in seed["lines"]:
            product = by_name[name]
            items.append(
                {
                    "sku": product["sku"],
                    "name": product["name"],
                    "quantity": quantity,
                    "unit_price_uah": product["price_uah"],
                    "line_total_uah": product["price_uah"] * quantity,
                }
            )
        city = next(c for c in CITIES if c["name"] == seed["delivery_city"])
        orders.append(
            {
                "order_id": seed["order_id"],
                "status": seed["status"],
                "items": items,
                "total_uah": sum(i["line_total_uah"] for i in items),
                "delivery_city": seed["delivery_city"],
                "warehouse_id": seed["warehouse_id"],
                "customer": {
                    "name": seed["customer"]["name"],
                    "phone_masked": mask_phone(seed["customer"]["phone"]),
                },
                "created_at": seed["created_at"],
                "estimated_delivery_days": city["delivery_days"],
            }
        )
    return {
        "categories": CATEGORIES,
        "cities": [
            {
                "name": c["name"],
                "aliases": c["aliases"],
                "delivery_days": c["delivery_days"],
                "warehouses": [
                    {"id": wid, "name": f"Відділення №{n}", "address": address}
                    for n, (wid, address) in enumerate(c["warehouses"], start=1)
                ],
            }
            for c in CITIES
        ],
        "products": products,
        "orders": orders,
    }


def main() -> None:
    """Write ``catalogue.json`` next to this module."""
    document = build()
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"{OUTPUT}: {len(document['products'])} products")


if __name__ == "__main__":
    main()
