#!/usr/bin/env python3
"""demo_district — generates the demo district (Терский муниципальный район, КБР) and loads it
through the HTTP API.

The data is deterministic from --seed: the same seed gives the same people, dates and
organizations. The composition follows the district's own methodological programme for 2021-2023
(24 organizations: 18 СОШ, a lyceum, 3 progymnasiums, a kindergarten, a primary school-kindergarten;
619 teachers, 252 preschool educators, 70 managers). After the staff come the district's
methodological life: РМО by subject, ШМО of three schools, a network community and a creative group
with their members (join and leave dates), the municipal methodological council with two meetings,
the region's programme catalogue (some in ФР ДПП, competences of the diagnostics default framework)
and a bank of practices in every review state (three published).

Loading reconciles instead of blindly creating: what already exists (matched by id for the region,
by name for the municipality, organizations, associations and the council, by full name + birth date
for staff, by staff and join date for memberships, by date for meetings, by title for programmes and
practices) is skipped, review steps already taken are not repeated, and every POST carries an
Idempotency-Key derived from its body, so a re-run after a failure does not duplicate anything.
Python 3 standard library only.

    demo_district.py [--seed 2021] [--base-url http://127.0.0.1:8080] [--dry-run] [--dump FILE]
"""

import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from demo_mentoring import load_mentoring  # noqa: E402 — the mentoring part, a file of its own
from demo_diagnostics import load_diagnostics  # noqa: E402 — the diagnostics part (issue 12)

REFERENCE_DATE = datetime.date(2025, 9, 1)  # "today" of the generated data: ages are as of this day

REGION = {"id": "07", "name": "Кабардино-Балкарская Республика"}
MUNICIPALITY_NAME = "Терский муниципальный район"

# (name, shortName, kind, lowResults, teachers, educators, deputies, sites)
_SUPPORT = [{"kind": "support", "startDate": "2021-09-20", "endDate": "2023-08-31",
             "theme": "Методическое сопровождение школ с низкими образовательными результатами"}]
_INNOVATION = [{"kind": "innovation", "startDate": "2021-09-01", "endDate": "",
                "theme": "Формирование функциональной грамотности обучающихся",
                "orderNumber": "312-ОД", "orderDate": "2021-08-25",
                "report": "Отчёт инновационной площадки за 2024/25 учебный год принят методическим советом"}]
# 003 §2.2: schools in difficult social conditions (a flag of its own, beside low results)
_DIFFICULT = {"МКОУ СОШ с.п. Новая Балкария", "МКОУ СОШ с.п. Урожайное", "МКОУ СОШ с.п. Джулат"}
_BASE = [{"kind": "base", "startDate": "2022-01-10", "endDate": "2024-12-31",
          "theme": "Преемственность дошкольного и начального общего образования"}]
ORGANIZATIONS = [
    ("МКОУ «Лицей № 1» г.п. Терек", "Лицей № 1", "lyceum", False, 62, 0, 3, _SUPPORT),
    ("МКОУ СОШ № 1 г.п. Терек", "СОШ № 1 г.п. Терек", "school", False, 56, 0, 3, []),
    ("МКОУ СОШ № 2 г.п. Терек", "СОШ № 2 г.п. Терек", "school", False, 48, 0, 3, []),
    ("МКОУ СОШ № 3 г.п. Терек", "СОШ № 3 г.п. Терек", "school", False, 51, 0, 3, _INNOVATION),
    ("МКОУ СОШ № 1 с.п. Арик", "СОШ № 1 с.п. Арик", "school", False, 34, 0, 2, []),
    ("МКОУ СОШ с.п. Белоглинское", "СОШ с.п. Белоглинское", "school", False, 24, 0, 2, []),
    ("МКОУ СОШ с.п. Верхний Акбаш", "СОШ с.п. В-Акбаш", "school", False, 26, 0, 2, []),
    ("МКОУ СОШ с.п. Нижний Акбаш", "СОШ с.п. Н-Акбаш", "school", False, 25, 0, 2, []),
    ("МКОУ СОШ с.п. Верхний Курп", "СОШ с.п. В-Курп", "school", True, 21, 0, 2, []),
    ("МКОУ СОШ с.п. Нижний Курп", "СОШ с.п. Н-Курп", "school", True, 23, 0, 2, []),
    ("МКОУ СОШ с.п. Красноармейское", "СОШ с.п. Красноармейское", "school", True, 22, 0, 2, []),
    ("МКОУ СОШ с.п. Новая Балкария", "СОШ с.п. Новая Балкария", "school", True, 18, 0, 2, []),
    ("МКОУ СОШ с.п. Урожайное", "СОШ с.п. Урожайное", "school", True, 20, 0, 2, []),
    ("МКОУ СОШ с.п. Хамидие", "СОШ с.п. Хамидие", "school", True, 27, 0, 2, []),
    ("МКОУ СОШ с.п. Ново-Хамидие", "СОШ с.п. Н-Хамидие", "school", True, 19, 0, 2, []),
    ("МКОУ СОШ с.п. Дейское", "СОШ с.п. Дейское", "school", False, 24, 0, 2, []),
    ("МКОУ СОШ с.п. Джулат", "СОШ с.п. Джулат", "school", False, 22, 0, 2, []),
    ("МКОУ СОШ с.п. Плановское", "СОШ с.п. Плановское", "school", False, 29, 0, 2, []),
    ("МКОУ СОШ с.п. Тамбовское", "СОШ с.п. Тамбовское", "school", False, 25, 0, 2, []),
    ("МКОУ «Прогимназия № 1» г.п. Терек", "Прогимназия № 1", "progymnasium", False, 16, 60, 1, _BASE),
    ("МКОУ «Прогимназия № 2» г.п. Терек", "Прогимназия № 2", "progymnasium", False, 14, 55, 1, []),
    ("МКОУ «Прогимназия» с.п. Арик", "Прогимназия с.п. Арик", "progymnasium", False, 9, 45, 1, []),
    ("МКДОУ «Детский сад № 1 „Солнышко“» г.п. Терек", "Детский сад № 1", "preschool", False, 0, 70, 1, []),
    ("МКОУ «НШДС» с.п. Опытное", "НШДС с.п. Опытное", "primary_school_kindergarten", False, 4, 22, 0, []),
]
TEACHERS = 619
EDUCATORS = 252
MANAGERS = len(ORGANIZATIONS) + sum(o[6] for o in ORGANIZATIONS)  # a director each + deputies

# Subject combinations of a school teacher, with weights (1 or 2 subjects).
SUBJECT_SETS = [
    (["russian_language", "literature"], 14), (["russian_language"], 3), (["mathematics"], 6),
    (["mathematics", "informatics"], 2), (["algebra", "geometry"], 4), (["mathematics", "physics"], 2),
    (["informatics"], 2), (["physics"], 3), (["physics", "informatics"], 1), (["chemistry"], 2),
    (["chemistry", "biology"], 3), (["biology"], 3), (["geography"], 3), (["biology", "geography"], 1),
    (["history", "social_studies"], 7), (["history"], 1), (["english_language"], 8),
    (["german_language"], 1), (["native_language", "native_literature"], 9),
    (["physical_education"], 6), (["life_safety"], 1), (["life_safety", "physical_education"], 1),
    (["music"], 2), (["fine_arts"], 1), (["fine_arts", "technology"], 1), (["technology"], 2),
    (["french_language"], 1),
]

# Names. Surnames are given in the male form; female forms follow Russian grammar (-ов → -ова,
# -ий → -ая, -ко/-о/-ь unchanged).
KBR_SURNAMES = (
    "Шогенов Кажаров Тхагапсоев Куготов Хашхожев Карданов Кумыков Бжахов Хатуев Шериев Битоков Тлупов "
    "Нагоев Жилов Гедгафов Мамхегов Хакунов Бекулов Балкаров Кармов Абазов Тхакахов Шидов Дзамихов "
    "Хажметов Кушхов Маремуков Пшуков Тамбиев Бозиев Кучуков Этезов Джаппуев Гуртуев Мокаев Теммоев "
    "Улбашев Атабиев Кодзоков Хамгоков Канкулов Мизиев Болотоков Вариев Апажев Ашхотов Гериев Хупсергенов "
    "Кунижев Шхагапсоев Машуков Тлостанов Бетуганов Кишев Нальчиков Сохов Гучев Шинахов Эльмесов Хуранов "
    "Кешоков Мисаков Карданов Тарчоков Ципинов Дышеков Казанов Абазехов Шебзухов Хагабанов Тхазеплов"
).split()
RUSSIAN_SURNAMES = (
    "Иванов Кузнецов Соколов Попов Лебедев Козлов Новиков Морозов Волков Алексеев Макаров Захаров "
    "Зайцев Павлов Семёнов Голубев Виноградов Богданов Воробьёв Фёдоров Михайлов Беляев Тарасов Белов "
    "Комаров Орлов Киселёв Петренко Шевченко Гончаренко Ковальский Савченко Бондаренко Никитин Ершов"
).split()
KBR_MALE = ("Аслан Мурат Руслан Анзор Заур Мухамед Хасан Беслан Азамат Тимур Артур Алим Мартин Альберт "
            "Хусейн Ислам Залим Казбек Аскер Астемир Кантемир Ахмед Магомед Исмаил Хызыр Мурадин Керим "
            "Султан Хамид Замир Ибрагим").split()
KBR_FEMALE = ("Мадина Фатимат Марина Залина Асият Лариса Светлана Фатима Жанна Людмила Рита Эльмира Лиана "
              "Аминат Динара Сатаней Зарема Майя Белла Карина Диана Римма Ирина Тамара Зухра Марьям Лейла "
              "Мариета Альбина Жаннета Оксана Инна Элина Индира Залийхан Лейля Нафисат Эмма").split()
RUSSIAN_MALE = "Александр Сергей Андрей Дмитрий Алексей Николай Владимир Иван Михаил Виктор Евгений Юрий".split()
RUSSIAN_FEMALE = ("Елена Ольга Татьяна Наталья Ирина Светлана Анна Марина Людмила Галина Надежда Валентина "
                  "Екатерина Юлия Любовь Алла").split()
KBR_FATHERS = ("Аслан Мурат Руслан Анзор Заур Мухамед Хасан Беслан Хусейн Ибрагим Исмаил Мухаб Хамиш Хабас "
               "Хажмурат Музарин Хасанби Борис Валерий Анатолий Юрий Владимир Хажисмел Амирхан Адальби Тахир "
               "Мусса Ахмед Керим Султан Хамид Малиль Хачим Назир Мухадин").split()
RUSSIAN_FATHERS = ("Александр Сергей Андрей Николай Владимир Иван Михаил Виктор Юрий Анатолий Василий "
                   "Пётр Геннадий Валерий").split()


def _female_surname(s):
    if s.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return s + "а"
    if s.endswith("ский"):
        return s[:-2] + "ая"
    return s  # -ко, -о and the like do not change


def _patronymic(father, female):
    """Russian patronymic of a father's name: Аслан → Асланович/Аслановна, Юрий → Юрьевич/Юрьевна."""
    if father == "Пётр":
        return "Петровна" if female else "Петрович"
    if father.endswith("ий"):
        stem = father[:-2] + "ь"
        return stem + ("евна" if female else "евич")
    if father.endswith("ь"):  # Малиль → Малилевич
        return father[:-1] + ("евна" if female else "евич")
    if father.endswith("и"):  # Адальби → Адальбиевич
        return father + ("евна" if female else "евич")
    if father.endswith("ей"):
        return father[:-1] + ("евна" if female else "евич")
    if father.endswith(("а", "я")):
        return father[:-1] + ("ична" if female else "ич")
    return father + ("овна" if female else "ович")


def _date(d):
    return d.isoformat()


# ---- the district's methodological life (associations, council, programmes, practices) ----

# (staff index, topic, urgency, competences): requests for methodological help of the district's teachers
HELP_REQUESTS = [
    (3, "Формирующее оценивание на уроках математики", "high", ["assessment"]),
    (41, "Подготовка к аттестации на первую категорию", "normal", []),
    (97, "Работа с детьми с ОВЗ в общеобразовательном классе", "normal", ["psychology"]),
]
# the journal of consultations: the first answers the first request
CONSULTATIONS = [
    {"staff": 3, "asker": "teacher", "topic": "Формирующее оценивание: приёмы и листы самооценки", "form": "in_person",
     "consultantName": "Кумыкова Мадина Хасановна", "heldOn": "2025-10-14", "durationMinutes": 45,
     "competences": ["assessment"], "answers": True,
     "summary": "Разобраны приёмы «светофор», «лестница успеха»; рекомендован курс ЦНППМ"},
    {"asker": "parent", "askerName": "Шомахова Лиана Руслановна", "topic": "Выбор профиля обучения в 10 классе",
     "form": "phone", "consultantName": "Кумыкова Мадина Хасановна", "heldOn": "2025-11-05", "durationMinutes": 20},
]
# References to what is created earlier are placeholders resolved at load time:
# {"$staff": i} → the id of data["staff"][i], {"$org": i} → of data["organizations"][i], {"$mun": 0} → the
# municipality's id.

MUN = {"$mun": 0}

# (name, subject, theme) of the district's РМО
RMO = [
    ("РМО учителей русского языка и литературы", "russian_language", ""),
    ("РМО учителей математики", "mathematics", ""),
    ("РМО учителей начальных классов", "primary_education", ""),
    ("РМО учителей английского языка", "english_language", ""),
    ("РМО учителей истории и обществознания", "history", ""),
    ("РМО учителей родного языка и литературы", "native_language", ""),
    ("РМО учителей физической культуры и ОБЗР", "physical_education", ""),
    ("РМО воспитателей дошкольных образовательных организаций", "preschool_education", ""),
]
# (organization index, name, subject, theme) of school associations
SHMO = [
    (0, "ШМО учителей математики, физики и информатики МКОУ «Лицей № 1»", "mathematics", ""),
    (1, "ШМО учителей начальных классов МКОУ СОШ № 1 г.п. Терек", "primary_education", ""),
    (3, "ШМО учителей естественно-научного цикла МКОУ СОШ № 3 г.п. Терек", "biology",
     "Естественно-научная грамотность"),
]

PROGRAMMES = [
    # title, provider, hours, format, in ФР ДПП, competences (diagnostics default framework), tags
    ("Формирование функциональной грамотности обучающихся", "ЦНППМ КБР", 36, "blended", True,
     ["t.method.2", "t.method.3", "t.assess.1"], ["функциональная грамотность"]),
    ("Формирующее оценивание на уроке", "ЦНППМ КБР", 24, "distance", False,
     ["t.assess.1", "t.assess.2"], ["оценивание"]),
    ("Анализ результатов ВПР, ОГЭ и ЕГЭ для повышения качества обучения", "ИПК и ПРО КБГУ", 72, "blended", True,
     ["t.assess.3", "m.quality.2"], ["управление качеством образования"]),
    ("Обучение детей с ОВЗ в условиях инклюзивного образования", "ИПК и ПРО КБГУ", 72, "in_person", True,
     ["t.psych.1", "t.psych.2"], ["инклюзия"]),
    ("Цифровая образовательная среда: инструменты учителя", "Академия Минпросвещения России", 48, "distance", True,
     ["t.digital.1", "t.digital.2", "t.digital.3"], ["цифровая школа"]),
    ("Внутренняя система оценки качества образования в школе", "ЦНППМ КБР", 36, "blended", False,
     ["m.quality.1", "m.quality.2"], ["управление качеством образования"]),
    ("Наставничество в образовательной организации", "ЦНППМ КБР", 36, "distance", True,
     ["m.staff.2", "t.comm.2"], ["наставничество"]),
    ("Содержание и методика преподавания математики по обновлённым ФГОС", "Академия Минпросвещения России", 72,
     "distance", True, ["t.subject.1", "t.subject.2", "t.subject.3"], ["ФГОС", "математика"]),
    ("Профилактика и разрешение конфликтов в школе", "ЦНППМ КБР", 18, "in_person", False,
     ["t.comm.1", "t.comm.3"], []),
    ("Управление изменениями в школе с низкими образовательными результатами", "ИПК и ПРО КБГУ", 40, "blended",
     False, ["m.strategy.1", "m.strategy.2"], ["ШНОР", "управление качеством образования"]),
]

PRACTICES = [
    # title, subject, competences, description, target status
    ("Смысловое чтение на уроках математики", "mathematics", ["t.method.2", "t.subject.2"],
     "Приёмы работы с текстом задачи: маркировка условий, вопросы к тексту, составление обратной задачи.",
     "published"),
    ("Кабардинский язык через проектную деятельность", "native_language", ["t.method.3"],
     "Ученические проекты о культуре и истории родного села; защита проектов на родном языке.", "published"),
    ("Лист самооценки в начальной школе", "primary_education", ["t.assess.2"],
     "Формирующее оценивание: критерии успеха урока и лист самооценки ученика 2–4 классов.", "published"),
    ("Цифровые тренажёры для подготовки к ОГЭ по русскому языку", "russian_language", ["t.digital.1", "t.assess.3"],
     "Банк упражнений на платформе школы с автоматической проверкой и разбором типичных ошибок.", "under_review"),
    ("Работа с мотивированными детьми на уроках английского языка", "english_language", ["t.psych.1", "t.psych.3"],
     "Индивидуальные траектории, клуб дебатов и подготовка к олимпиадам.", "submitted"),
    ("Исследовательские проекты по химии в сельской школе", "chemistry", ["t.method.3"],
     "Исследования качества воды и почвы села силами обучающихся 8–9 классов.", "rejected"),
]
REVIEW_STEPS = {"submitted": [], "under_review": ["start"], "published": ["start", "publish"],
                "rejected": ["start", "reject"]}
REVIEW_COMMENTS = {"publish": "Рекомендована к распространению в районе",
                   "reject": "Опишите результаты обучающихся и приложите материалы занятий"}


def _day(rng, first, last):
    return first + datetime.timedelta(days=rng.randrange((last - first).days + 1))


def catalogue(seed, organizations, staff):
    """Associations with members, the council with meetings, programmes and practices of the district.
    A generator of its own (seeded from seed) keeps the staff of generate() as they were."""
    rng = random.Random(f"{seed}/catalogue")
    teachers = [i for i, s in enumerate(staff) if s["category"] == "teacher"]

    def with_subject(subject, org=None):
        """Teachers of the subject (in the organization); all its teachers when none teaches it."""
        here = [i for i in teachers if org is None or staff[i]["organizationIds"] == [org]]
        return [i for i in here if subject in staff[i]["subjects"]] or here

    def leader_of(candidates):
        ranked = sorted(candidates, key=lambda i: (staff[i]["qualificationCategory"] != "highest",
                                                   staff[i]["professionStartDate"], i))
        return ranked[rng.randrange(min(3, len(ranked)))]

    def members_of(candidates, leader, count):
        chosen = sorted(rng.sample([i for i in candidates if i != leader], min(count, len(candidates) - 1)))
        out = []
        for i in [leader] + chosen:
            # joined after starting to work, from the 2021/2022 school year on
            first = max(datetime.date(2021, 9, 1), datetime.date.fromisoformat(staff[i]["professionStartDate"]))
            joined = _day(rng, first, max(first, datetime.date(2025, 5, 31)))
            left = ""
            earliest_leave = joined + datetime.timedelta(days=60)
            if i != leader and earliest_leave <= datetime.date(2025, 8, 31) and rng.random() < 0.12:
                left = _date(_day(rng, earliest_leave, datetime.date(2025, 8, 31)))  # moved, retired, …
            out.append({"staff": i, "joinedOn": _date(joined), "leftOn": left})
        return out

    associations = []
    for name, subject, theme in RMO:
        cands = with_subject(subject)
        leader = leader_of(cands)
        associations.append({
            "body": {"name": f"{name} Терского муниципального района", "kind": "methodological_association",
                     "level": "municipal", "municipalityId": MUN, "subject": subject, "theme": theme,
                     "leaderStaffId": {"$staff": leader}, "network": False,
                     "description": "Районное методическое объединение педагогов"},
            "members": members_of(cands, leader, 14)})
    for org, name, subject, theme in SHMO:
        cands = with_subject(subject, org)
        leader = leader_of(cands)
        associations.append({
            "body": {"name": name, "kind": "methodological_association", "level": "institutional",
                     "organizationId": {"$org": org}, "subject": subject, "theme": theme,
                     "leaderStaffId": {"$staff": leader}, "network": False},
            "members": members_of(cands, leader, 8)})
    young = [i for i in teachers if (REFERENCE_DATE - datetime.date.fromisoformat(staff[i]["birthDate"])).days
             < 35 * 365]
    leader = leader_of(with_subject("russian_language"))
    associations.append({
        "body": {"name": "Сетевое сообщество «Функциональная грамотность»", "kind": "professional_community",
                 "level": "municipal", "municipalityId": MUN, "theme": "Формирование функциональной грамотности",
                 "leaderStaffId": {"$staff": leader}, "network": True,
                 "description": "Онлайн-сообщество педагогов района: открытые уроки, банк заданий"},
        "members": members_of(teachers, leader, 20)})
    leader = leader_of(young)
    associations.append({
        "body": {"name": "Творческая группа молодых педагогов «Старт»", "kind": "creative_group",
                 "level": "municipal", "municipalityId": MUN, "theme": "Наставничество и адаптация молодых педагогов",
                 "leaderStaffId": {"$staff": leader}, "network": False},
        "members": members_of(young, leader, 12)})

    # the council: directors chair it, an РМО leader is the secretary, the other leaders are members
    directors = [i for i, s in enumerate(staff) if s["position"] == "director"]
    chair, deputy = directors[0], directors[1]
    leaders = []
    for a in associations[:len(RMO)]:
        i = a["body"]["leaderStaffId"]["$staff"]
        if i not in (chair, deputy) and i not in leaders:
            leaders.append(i)
    secretary, members = leaders[0], leaders[1:]
    everyone = [chair, deputy, secretary] + members
    council = {
        "body": {"name": "Муниципальный методический совет Терского муниципального района", "level": "municipal",
                 "municipalityId": MUN, "chairStaffId": {"$staff": chair}, "deputyStaffId": {"$staff": deputy},
                 "secretaryStaffId": {"$staff": secretary}, "memberStaffIds": [{"$staff": i} for i in members],
                 "approvedBy": "Приказ Управления образования местной администрации Терского муниципального района "
                               "№ 115 от 30.08.2021"},
        "meetings": []}
    for number, (held, items, decisions) in enumerate([
        ("2024-08-28", [("Об итогах государственной итоговой аттестации 2024 года и задачах методической службы",
                         "Провести анализ результатов в каждом РМО до 1 октября"),
                        ("Об утверждении планов работы РМО на 2024/2025 учебный год", "Планы утвердить")],
         "Планы работы РМО утверждены; анализ ГИА — в РМО до 01.10.2024."),
        ("2024-11-20", [("Об итогах диагностики профессиональных дефицитов педагогов",
                         "Составить индивидуальные образовательные маршруты"),
                        ("О методическом сопровождении школ с низкими образовательными результатами",
                         "Закрепить за каждой школой куратора из числа руководителей РМО")],
         "Маршруты составить до 20.12.2024; кураторы ШНОР закреплены."),
    ], start=1):
        attendees = sorted(rng.sample(everyone, max(3, len(everyone) - rng.randrange(3))), key=everyone.index)
        council["meetings"].append({
            "heldOn": held,
            "agenda": [{"title": t, "speakerStaffId": {"$staff": everyone[(k + number) % len(everyone)]},
                        "decision": d} for k, (t, d) in enumerate(items)],
            "attendeeStaffIds": [{"$staff": i} for i in attendees],
            "invited": ["Начальник Управления образования местной администрации Терского муниципального района"],
            "decisions": decisions, "minutesNumber": str(number)})

    programmes = [{"title": t, "provider": p, "hours": h, "format": f, "federalRegistry": fr, "competences": list(c),
                   "tags": list(tags), "description": f"Дополнительная профессиональная программа повышения "
                                                      f"квалификации, {h} ч."}
                  for t, p, h, f, fr, c, tags in PROGRAMMES]

    practices = []
    for n, (title, subject, competences, description, status) in enumerate(PRACTICES, start=1):
        author = rng.choice(with_subject(subject))
        practices.append({
            "body": {"title": title, "authorStaffId": {"$staff": author}, "subject": subject,
                     "competences": list(competences), "description": description,
                     "attachments": [f"https://imc-terek.example.ru/practices/{n:02d}.pdf"]},
            "status": status})
    return {"associations": associations, "council": council, "programmes": programmes, "practices": practices}


class Generator:
    """Everything derived from one random.Random(seed), in a fixed order."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.seen = set()

    def person(self, female_share):
        rng = self.rng
        while True:
            female = rng.random() < female_share
            kbr = rng.random() < 0.78  # the district is mostly Kabardian and Balkar
            surname = rng.choice(KBR_SURNAMES if kbr else RUSSIAN_SURNAMES)
            if female:
                surname = _female_surname(surname)
                first = rng.choice(KBR_FEMALE if kbr else RUSSIAN_FEMALE)
            else:
                first = rng.choice(KBR_MALE if kbr else RUSSIAN_MALE)
            father = rng.choice(KBR_FATHERS if (kbr and rng.random() < 0.85) else RUSSIAN_FATHERS)
            middle = _patronymic(father, female)
            age = self.age()
            birth = self.birth_date(age)
            key = (surname, first, middle, birth)
            if key not in self.seen:
                self.seen.add(key)
                return surname, first, middle, birth, age

    def age(self):
        """Ages as in a rural district's staff: about a fifth under 35, many over 50."""
        r = self.rng.random()
        if r < 0.22:
            return self.rng.randint(22, 34)
        if r < 0.62:
            return self.rng.randint(35, 49)
        if r < 0.92:
            return self.rng.randint(50, 62)
        return self.rng.randint(63, 70)

    def birth_date(self, age):
        """A day on which one is born to be exactly `age` full years old on the reference date."""
        latest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age)
        earliest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age - 1) + datetime.timedelta(days=1)
        return earliest + datetime.timedelta(days=self.rng.randrange((latest - earliest).days + 1))

    def start_date(self, birth, age, min_years=0):
        """Profession start: after college or university (20..25), sometimes later."""
        start_age = self.rng.randint(20, 25) if self.rng.random() < 0.85 else self.rng.randint(26, 38)
        start_age = min(start_age, max(20, age - min_years))
        year = birth.year + start_age
        day = datetime.date(year, self.rng.choice([8, 9, 9, 9, 10, 1]), 1)
        if day <= birth + datetime.timedelta(days=365 * 18):
            day = datetime.date(birth.year + 20, 9, 1)
        if day > REFERENCE_DATE:
            day = datetime.date(REFERENCE_DATE.year, 9, 1) if REFERENCE_DATE.month >= 9 else \
                datetime.date(REFERENCE_DATE.year - 1, 9, 1)
        return day

    def qualification(self, years):
        r = self.rng.random()
        if years < 2:
            return "none"
        if years < 5:
            return "none" if r < 0.4 else ("position_match" if r < 0.85 else "first")
        if r < 0.08:
            return "none"
        if r < 0.35:
            return "position_match"
        if r < 0.7:
            return "first"
        return "highest"


def generate(seed):
    """The whole district: {region, municipality, organizations: [...], staff: [...]}.
    staff[i]["organizationIds"] holds organization indexes (ints) until load time."""
    gen = Generator(seed)
    rng = gen.rng
    organizations = []
    for name, short, kind, low, _t, _e, _d, sites in ORGANIZATIONS:
        organizations.append({"name": name, "shortName": short, "kind": kind, "lowResults": low,
                              "difficultConditions": name in _DIFFICULT, "founder": "municipal",
                              "sites": [dict(s) for s in sites]})

    staff = []

    def add(org_index, position, category, subjects, female_share, min_years=0):
        last, first, middle, birth, age = gen.person(female_share)
        start = gen.start_date(birth, age, min_years)
        years = (REFERENCE_DATE - start).days // 365
        staff.append({
            "lastName": last, "firstName": first, "middleName": middle,
            "birthDate": _date(birth), "professionStartDate": _date(start),
            "position": position, "category": category, "subjects": list(subjects),
            "organizationIds": [org_index],
            "qualificationCategory": gen.qualification(years),
            "active": rng.random() > 0.01,
        })
        # attestation dates, appointments and the reserve from a stream of their own, so that the names and
        # dates above stay what they were before these fields existed
        extra = random.Random(seed * 7919 + len(staff))
        person = staff[-1]
        if person["qualificationCategory"] in ("first", "highest"):
            set_on = REFERENCE_DATE - datetime.timedelta(days=extra.randrange(30, 5 * 365 - 30))
            person["qualificationCategoryDate"] = _date(max(set_on, start))
        if category == "manager":
            person["appointedOn"] = _date(max(start, REFERENCE_DATE - datetime.timedelta(
                days=extra.randrange(200, 12 * 365))))
        elif years >= 8 and extra.random() < 0.04:
            person["personnelReserve"] = True

    subject_sets = [s for s, _w in SUBJECT_SETS]
    subject_weights = [w for _s, w in SUBJECT_SETS]
    for i, (_n, _s, kind, _l, teachers, educators, deputies, _x) in enumerate(ORGANIZATIONS):
        add(i, "director", "manager", [], 0.65, min_years=10)
        for _ in range(deputies):
            add(i, "deputy_director", "manager", [], 0.75, min_years=5)
        for _ in range(teachers):
            if kind in ("progymnasium", "primary_school_kindergarten"):
                subjects = ["primary_education"]
            elif rng.random() < 0.2:
                subjects = ["primary_education"]
            else:
                subjects = rng.choices(subject_sets, subject_weights)[0]
            male_subject = subjects[0] in ("physical_education", "life_safety", "technology")
            add(i, "teacher", "teacher", subjects, 0.45 if male_subject else 0.9)
        for _ in range(educators):
            add(i, "educator", "teacher", ["preschool_education"], 0.99)

    assert sum(1 for s in staff if s["position"] == "teacher") == TEACHERS
    assert sum(1 for s in staff if s["position"] == "educator") == EDUCATORS
    assert sum(1 for s in staff if s["category"] == "manager") == MANAGERS
    return {"region": dict(REGION),
            "municipality": {"regionId": REGION["id"], "name": MUNICIPALITY_NAME, "kind": "district"},
            "organizations": organizations, "staff": staff,
            "catalogue": catalogue(seed, organizations, staff)}


# ---- loading ----

class ApiError(Exception):
    pass


class Api:
    """HTTP client of the API. Each thread uses its own session token from `tokens` (a session has
    its own request budget at the gateway), assigned round robin on the thread's first request."""

    def __init__(self, base_url, token=None, timeout=15.0, tokens=None):
        self.base = base_url.rstrip("/")
        self.tokens = list(tokens or ([token] if token else []))
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._next = 0

    @property
    def token(self):
        if not self.tokens:
            return None
        t = getattr(self._local, "token", None)
        if t is None:
            with self._lock:
                t = self.tokens[self._next % len(self.tokens)]
                self._next += 1
            self._local.token = t
        return t

    def login(self, login, password, sessions=1):
        """Opens `sessions` sessions (POST /api/v1/auth/login) and uses their tokens."""
        tokens = []
        for _ in range(max(1, sessions)):
            status, payload = self.request("POST", "/api/v1/auth/login", {"login": login, "password": password})
            if status != 200 or not isinstance(payload, dict) or not payload.get("token"):
                raise ApiError(f"вход «{login}» не удался: HTTP {status}: {_message(payload)}")
            tokens.append(payload["token"])
        self.tokens = tokens
        self._local = threading.local()

    def request(self, method, path, body=None, idempotency_key=None, retries=6):
        data = None if body is None else json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
        delay = 0.2
        throttled = 0
        attempt = 0
        while attempt <= retries:
            attempt += 1
            req = urllib.request.Request(self.base + path, data=data, method=method)
            req.add_header("Accept", "application/json")
            if data is not None:
                req.add_header("Content-Type", "application/json")
            if idempotency_key:
                req.add_header("Idempotency-Key", idempotency_key)
            if self.token:
                req.add_header("Authorization", "Bearer " + self.token)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return resp.status, json.loads(resp.read() or b"null")
            except urllib.error.HTTPError as e:
                raw = e.read()
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = {"error": {"message": raw.decode(errors="replace")}}
                safe = method == "GET" or idempotency_key
                # over the session's request budget: wait as told and go on (not counted as a failure)
                if e.code == 429 and safe and throttled < 600:
                    throttled += 1
                    attempt -= 1
                    try:
                        wait = float(e.headers.get("Retry-After") or 1)
                    except ValueError:
                        wait = 1.0
                    time.sleep(min(max(wait, 0.05), 5.0))
                    continue
                # 503/504 are transient; a POST is safe to repeat thanks to Idempotency-Key
                if e.code in (503, 504) and attempt <= retries and safe:
                    time.sleep(delay)
                    delay = min(delay * 2, 3.0)
                    continue
                return e.code, payload
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                if attempt <= retries and (method == "GET" or idempotency_key):
                    time.sleep(delay)
                    delay = min(delay * 2, 3.0)
                    continue
                raise ApiError(f"{method} {path}: нет ответа от {self.base} ({e})")
        raise ApiError(f"{method} {path}: попытки исчерпаны")

    def list_all(self, path, **filters):
        items, cursor = [], ""
        while True:
            q = dict(filters, limit="500")
            if cursor:
                q["cursor"] = cursor
            status, page = self.request("GET", f"{path}?{urllib.parse.urlencode(q)}")
            if status != 200:
                raise ApiError(f"GET {path}: HTTP {status}: {_message(page)}")
            items.extend(page.get("items", []))
            cursor = page.get("nextCursor", "")
            if not cursor:
                return items


def _message(payload):
    try:
        err = payload["error"]
        details = "; ".join(f"{d.get('field')}: {d.get('description')}" for d in err.get("details") or [])
        return err.get("message", "") + (f" ({details})" if details else "")
    except (KeyError, TypeError, AttributeError):
        return str(payload)[:300]


def _key(kind, body):
    digest = hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    return f"demo-{kind}-{digest[:40]}"


def _create(api, path, kind, body):
    status, payload = api.request("POST", path, body, idempotency_key=_key(kind, body))
    if status not in (200, 201):
        raise ApiError(f"POST {path}: HTTP {status}: {_message(payload)}")
    return payload


def load(data, api, workers, progress=sys.stderr):
    def say(msg):
        print(msg, file=progress, flush=True)

    region = data["region"]
    status, payload = api.request("GET", f"/api/v1/regions/{region['id']}")
    if status == 404:
        _create(api, "/api/v1/regions", "region", region)
        say(f"Регион {region['id']} «{region['name']}» создан")
    elif status == 200:
        say(f"Регион {region['id']} уже есть")
    else:
        raise ApiError(f"GET регион {region['id']}: HTTP {status}: {_message(payload)}")

    mun = data["municipality"]
    existing = [m for m in api.list_all("/api/v1/municipalities", regionId=region["id"]) if m["name"] == mun["name"]]
    if existing:
        mun_id = existing[0]["id"]
        say(f"Муниципалитет «{mun['name']}» уже есть (id {mun_id})")
    else:
        mun_id = _create(api, "/api/v1/municipalities", "municipality", mun)["id"]
        say(f"Муниципалитет «{mun['name']}» создан (id {mun_id})")

    have = {o["name"]: o["id"] for o in api.list_all("/api/v1/organizations", municipalityId=mun_id)}
    org_ids = []
    created = 0
    for org in data["organizations"]:
        if org["name"] in have:
            org_ids.append(have[org["name"]])
            continue
        body = dict(org, municipalityId=mun_id)
        org_ids.append(_create(api, "/api/v1/organizations", "organization", body)["id"])
        created += 1
    say(f"Организаций: {len(org_ids)} (создано сейчас {created})")

    have_staff = {(s.get("lastName"), s.get("firstName"), s.get("middleName"), s.get("birthDate"))
                  for s in api.list_all("/api/v1/staff", municipalityId=mun_id)}
    todo = []
    for person in data["staff"]:
        if (person["lastName"], person["firstName"], person["middleName"], person["birthDate"]) in have_staff:
            continue
        body = dict(person, organizationIds=[org_ids[i] for i in person["organizationIds"]])
        todo.append(body)
    total = len(data["staff"])
    say(f"Работников всего {total}, уже загружено {total - len(todo)}, осталось {len(todo)}")

    lock = threading.Lock()
    done = [0]
    started = time.monotonic()

    def one(body):
        _create(api, "/api/v1/staff", "staff", body)
        with lock:
            done[0] += 1
            if done[0] % 100 == 0 or done[0] == len(todo):
                say(f"  загружено {done[0]} из {len(todo)} ({time.monotonic() - started:.1f} с)")

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(one, b) for b in todo]
        errors = []
        for f in concurrent.futures.as_completed(futures):
            exc = f.exception()
            if exc is not None:
                errors.append(exc)
                if len(errors) == 1:
                    for other in futures:
                        other.cancel()
    if errors:
        raise ApiError(f"не загружено работников: {len(errors)}; первая ошибка: {errors[0]}")
    staff_ids = {(s.get("lastName"), s.get("firstName"), s.get("middleName"), s.get("birthDate")): s["id"]
                 for s in api.list_all("/api/v1/staff", municipalityId=mun_id)}
    ids = []
    for person in data["staff"]:
        key = (person["lastName"], person["firstName"], person["middleName"], person["birthDate"])
        if key not in staff_ids:
            raise ApiError(f"работник {' '.join(key[:3])} не найден после загрузки")
        ids.append(staff_ids[key])
    result = {"municipalityId": mun_id, "organizationIds": org_ids}
    result.update(load_catalogue(data["catalogue"], api, mun_id, org_ids, ids, say))
    result.update(load_mentoring(data, api, _create, mun_id, ids, say))  # ops/demo/demo_mentoring.py
    result.update(load_diagnostics(api, _create, mun_id, org_ids, say))  # ops/demo/demo_diagnostics.py
    say("Демонстрационный район загружен")
    return result


def _resolve(value, mun_id, org_ids, staff_ids):
    """The body with its placeholders ({"$staff": i}, {"$org": i}, {"$mun": 0}) replaced by ids."""
    if isinstance(value, dict):
        if "$staff" in value:
            return staff_ids[value["$staff"]]
        if "$org" in value:
            return org_ids[value["$org"]]
        if "$mun" in value:
            return mun_id
        return {k: _resolve(v, mun_id, org_ids, staff_ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, mun_id, org_ids, staff_ids) for v in value]
    return value


def load_catalogue(cat, api, mun_id, org_ids, staff_ids, say):
    """Associations and members, the council and its meetings, programmes, practices and their review;
    what exists is found by name/title (members by person and join date, meetings by date) and kept."""
    resolve = lambda v: _resolve(v, mun_id, org_ids, staff_ids)  # noqa: E731
    region = REGION["id"]

    have = {a["name"]: a["id"] for a in api.list_all("/api/v1/associations", regionId=region)}
    association_ids, joined, left = [], 0, 0
    for a in cat["associations"]:
        body = resolve(a["body"])
        aid = have.get(body["name"]) or _create(api, "/api/v1/associations", "association", body)["id"]
        association_ids.append(aid)
        members = f"/api/v1/associations/{aid}/members"
        present = {(m["staffId"], m["joinedOn"]): m for m in api.list_all(members)}
        for m in a["members"]:
            sid = staff_ids[m["staff"]]
            record = present.get((sid, m["joinedOn"]))
            if record is None:
                record = _create(api, members, f"membership-{aid}", {"staffId": sid, "joinedOn": m["joinedOn"]})
                joined += 1
            if m["leftOn"] and not record.get("leftOn"):
                status, payload = api.request("POST", f"{members}/{record['id']}/leave", {"leftOn": m["leftOn"]},
                                              idempotency_key=_key("leave", {"id": record["id"], "on": m["leftOn"]}))
                if status != 200:
                    raise ApiError(f"выход из объединения: HTTP {status}: {_message(payload)}")
                left += 1
    say(f"Объединений: {len(association_ids)}; записей о членстве создано сейчас {joined}, выходов {left}")

    council = cat["council"]
    body = resolve(council["body"])
    existing = [c for c in api.list_all("/api/v1/councils", municipalityId=mun_id) if c["name"] == body["name"]]
    council_id = existing[0]["id"] if existing else _create(api, "/api/v1/councils", "council", body)["id"]
    meetings = f"/api/v1/councils/{council_id}/meetings"
    held = {m["heldOn"]: m["id"] for m in api.list_all(meetings)}
    meeting_ids = []
    for m in council["meetings"]:
        meeting_ids.append(held.get(m["heldOn"]) or _create(api, meetings, f"meeting-{council_id}", resolve(m))["id"])
    say(f"Методический совет {council_id}: заседаний {len(meeting_ids)}")

    titles = {p["title"]: p["id"] for p in api.list_all("/api/v1/programmes", regionId=region)}
    programme_ids = [titles.get(p["title"]) or _create(api, "/api/v1/programmes", "programme", p)["id"]
                     for p in cat["programmes"]]
    say(f"Программ ДПП в каталоге: {len(programme_ids)} (в ФР ДПП: "
        f"{sum(1 for p in cat['programmes'] if p['federalRegistry'])})")

    known = {p["title"]: p for p in api.list_all("/api/v1/practices", municipalityId=mun_id)}
    practice_ids = []
    for p in cat["practices"]:
        body = resolve(p["body"])
        practice = known.get(body["title"]) or _create(api, "/api/v1/practices", "practice", body)
        done = {"submitted": 0, "under_review": 1, "published": 2, "rejected": 2}.get(practice.get("status"), 0)
        for action in REVIEW_STEPS[p["status"]][done:]:
            review = {"action": action}
            if action in REVIEW_COMMENTS:
                review["comment"] = REVIEW_COMMENTS[action]
            status, payload = api.request("POST", f"/api/v1/practices/{practice['id']}/review", review,
                                          idempotency_key=_key("review", dict(review, id=practice["id"])))
            if status != 200:
                raise ApiError(f"экспертиза практики «{body['title']}»: HTTP {status}: {_message(payload)}")
        practice_ids.append(practice["id"])
    say(f"Практик в банке: {len(practice_ids)} (опубликовано "
        f"{sum(1 for p in cat['practices'] if p['status'] == 'published')})")

    # requests for methodological help and the journal of consultations (000 §3.3 п.3; 004 §3.4)
    known = {h["topic"]: h for h in api.list_all("/api/v1/help-requests", municipalityId=mun_id)}
    help_ids = []
    for staff_index, topic, urgency, competences in HELP_REQUESTS:
        body = {"staffId": staff_ids[staff_index], "topic": topic, "urgency": urgency, "competences": competences}
        help_ids.append((known.get(topic) or _create(api, "/api/v1/help-requests", "help", body))["id"])
    logged = {c["topic"]: c for c in api.list_all("/api/v1/consultations", municipalityId=mun_id)}
    consultation_ids = []
    for i, c in enumerate(CONSULTATIONS):
        body = dict(c)
        if "staff" in body:
            body["askerStaffId"] = staff_ids[body.pop("staff")]
        else:
            body["municipalityId"] = mun_id
        if body.pop("answers", False):
            body["helpRequestId"] = help_ids[0]
        consultation = logged.get(body["topic"]) or _create(api, "/api/v1/consultations", f"consultation-{i}", body)
        consultation_ids.append(consultation["id"])
    first = api.request("GET", f"/api/v1/help-requests/{help_ids[0]}")[1]
    if first and first.get("status") == "open":
        answer = {"action": "answer", "kind": "consultation", "refId": consultation_ids[0],
                  "note": "Проведена индивидуальная консультация, рекомендованы материалы ЦНППМ"}
        status, payload = api.request("POST", f"/api/v1/help-requests/{help_ids[0]}/status", answer,
                                      idempotency_key=_key("help-answer", {"id": help_ids[0]}))
        if status != 200:
            raise ApiError(f"ответ на запрос {help_ids[0]}: HTTP {status}: {_message(payload)}")
    say(f"Запросов на методическую помощь: {len(help_ids)}, консультаций в журнале: {len(consultation_ids)}")
    return {"associationIds": association_ids, "councilId": council_id, "meetingIds": meeting_ids,
            "programmeIds": programme_ids, "practiceIds": practice_ids, "helpRequestIds": help_ids,
            "consultationIds": consultation_ids}


def summary(data):
    staff = data["staff"]
    ages = [(REFERENCE_DATE - datetime.date.fromisoformat(s["birthDate"])).days // 365.25 for s in staff]
    count = lambda pred: sum(1 for s in staff if pred(s))  # noqa: E731
    kinds = {}
    for o in data["organizations"]:
        kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
    lines = [
        f"регион: {data['region']['id']} {data['region']['name']}",
        f"муниципалитет: {data['municipality']['name']}",
        f"организаций: {len(data['organizations'])} ({', '.join(f'{k}: {v}' for k, v in sorted(kinds.items()))})",
        f"работников: {len(staff)}",
        f"  учителей: {count(lambda s: s['position'] == 'teacher')}",
        f"  воспитателей: {count(lambda s: s['position'] == 'educator')}",
        f"  руководителей: {count(lambda s: s['category'] == 'manager')}",
        f"  моложе 35 лет: {sum(1 for a in ages if a < 35)} ({100.0 * sum(1 for a in ages if a < 35) / len(ages):.1f}%)",
        f"  женщин: {count(lambda s: s['middleName'].endswith('на'))}",
        f"объединений: {len(data['catalogue']['associations'])}, "
        f"членов: {sum(len(a['members']) for a in data['catalogue']['associations'])}",
        f"заседаний методического совета: {len(data['catalogue']['council']['meetings'])}",
        f"программ ДПП: {len(data['catalogue']['programmes'])}, практик: {len(data['catalogue']['practices'])}",
    ]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description="Демонстрационный Терский район: генерация и загрузка через API")
    p.add_argument("--seed", type=int, default=2021, help="зерно генератора (по умолчанию 2021)")
    p.add_argument("--base-url", default=os.environ.get("METODNET_BASE_URL", "http://127.0.0.1:%s" %
                                                        os.environ.get("METODNET_HTTP_PORT", "8080")))
    p.add_argument("--workers", type=int, default=8, help="параллельных запросов (по умолчанию 8)")
    p.add_argument("--dry-run", action="store_true", help="только посчитать, ничего не отправлять")
    p.add_argument("--dump", metavar="FILE", help="записать сгенерированные данные в JSON-файл")
    p.add_argument("--login", default=os.environ.get("METODNET_LOGIN"),
                   help="вход администратора региона 07 (иначе токен из METODNET_API_TOKEN)")
    p.add_argument("--password-file", metavar="FILE",
                   help="файл с паролем (иначе переменная METODNET_PASSWORD)")
    args = p.parse_args(argv)

    data = generate(args.seed)
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
    if args.dry_run:
        print(summary(data))
        return 0
    api = Api(args.base_url, token=os.environ.get("METODNET_API_TOKEN"))
    print(f"Загрузка в {args.base_url} (зерно {args.seed})", file=sys.stderr)
    try:
        if args.login:
            if args.password_file:
                with open(args.password_file, encoding="utf-8") as f:
                    password = f.readline().rstrip("\r\n")
            else:
                password = os.environ.get("METODNET_PASSWORD", "")
            api.login(args.login, password, sessions=max(1, args.workers))
        load(data, api, max(1, args.workers))
    except ApiError as e:
        print(f"[ОШИБКА] {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
