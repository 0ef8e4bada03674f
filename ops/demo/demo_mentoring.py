"""demo_mentoring — the mentoring part of the demo district (loaded by demo_district.py after the
catalogue): the district's mentoring programme (программа наставничества) and its project supporting
young teachers (школа молодого педагога), mentor profiles of experienced teachers (two certified), and
pairs in every state — two active with meetings, one proposed, one completed with its outcome — so the
indicators and the console show them. Deterministic from the generated data; what exists (a programme
by title, a profile by person, a pair by programme and mentee) is kept, so a re-run adds nothing."""

import datetime

REFERENCE_DATE = datetime.date(2025, 9, 1)


def _age(person):
    return (REFERENCE_DATE - datetime.date.fromisoformat(person["birthDate"])).days // 365.25


def _pick(data, staff_ids):
    """(mentor index, mentee index) pairs: young teachers with an experienced teacher of their subject."""
    teachers = [i for i, s in enumerate(data["staff"]) if s["position"] == "teacher" and s["subjects"]]
    young = [i for i in teachers if _age(data["staff"][i]) < 35]
    senior = [i for i in teachers if _age(data["staff"][i]) >= 45]
    pairs, used = [], set()
    for mentee in young:
        subject = data["staff"][mentee]["subjects"][0]
        for mentor in senior:
            if mentor not in used and subject in data["staff"][mentor]["subjects"]:
                pairs.append((mentor, mentee))
                used.add(mentor)
                break
        if len(pairs) == 4:
            break
    return pairs


def load_mentoring(data, api, create, mun_id, staff_ids, say):
    """create(api, path, kind, body) → the created record (demo_district._create)."""
    programmes = {p["title"]: p for p in api.list_all("/api/v1/support-programmes", municipalityId=mun_id)}
    wanted = [
        {"kind": "mentoring", "level": "municipal", "municipalityId": mun_id,
         "title": "Программа наставничества Терского муниципального района на 2025–2027 годы",
         "startsOn": "2025-09-01", "endsOn": "2027-08-31", "actNumber": "112-о", "actDate": "2025-08-29",
         "responsibleName": "Методический кабинет управления образования",
         "description": "Формы: «наставник – молодой специалист», «педагог – педагог», предметные пары"},
        {"kind": "young_support", "level": "municipal", "municipalityId": mun_id,
         "title": "Школа молодого педагога «Первые шаги»", "startsOn": "2025-09-01", "endsOn": "2026-06-30",
         "actNumber": "113-о", "actDate": "2025-08-29"},
    ]
    ids = [(programmes.get(p["title"]) or create(api, "/api/v1/support-programmes", "support-programme", p))["id"]
           for p in wanted]
    pairs = _pick(data, staff_ids)
    for k, (mentor, _) in enumerate(pairs):
        status, _payload = api.request("GET", f"/api/v1/mentors/{staff_ids[mentor]}")
        if status == 404:
            body = {"staffId": staff_ids[mentor], "maxMentees": 2}
            if k < 2:
                body.update(certified=True, certifiedOn="2025-06-20", certificationAct="Приказ МП КБР № 415")
            create(api, "/api/v1/mentors", "mentor", body)
    existing = {p["menteeStaffId"] for p in api.list_all("/api/v1/mentoring-pairs", programmeId=ids[0])}
    states = ["active", "active", "proposed", "completed"]
    for (mentor, mentee), state in zip(pairs, states):
        if staff_ids[mentee] in existing:
            continue
        pair = create(api, "/api/v1/mentoring-pairs", "pair", {
            "programmeId": ids[0], "form": "young_specialist", "mentorStaffId": staff_ids[mentor],
            "menteeStaffId": staff_ids[mentee], "startsOn": "2025-09-15", "plannedEndOn": "2026-05-31",
            "competences": ["t.method.1", "t.assess.1"],
            "plan": [{"title": "Посещение и анализ уроков наставника", "dueOn": "2025-10-31"},
                     {"title": "Открытый урок наставляемого", "dueOn": "2026-03-20"}]})
        if state == "proposed":
            continue
        api.request("POST", f"/api/v1/mentoring-pairs/{pair['id']}/activate", {})
        for day, topic in (("2025-09-22", "Планирование урока по ФГОС"), ("2025-10-13", "Формирующее оценивание")):
            api.request("POST", f"/api/v1/mentoring-pairs/{pair['id']}/meetings",
                        {"meeting": {"heldOn": day, "topic": topic, "durationMinutes": 45}})
        if state == "completed":
            api.request("POST", f"/api/v1/mentoring-pairs/{pair['id']}/complete",
                        {"outcome": {"result": "Проведён открытый урок; дефицит в оценивании закрыт",
                                     "competencesClosed": ["t.assess.1"]}})
    say(f"Наставничество: программ {len(ids)}, пар {len(pairs)} (две действуют, одна предложена, одна завершена)")
    return {"supportProgrammeIds": ids}
