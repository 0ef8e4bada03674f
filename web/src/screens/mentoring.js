// mentoring.js — the mentoring service's screens (services/mentoring, docs/mentoring.md): support
// programmes, mentor profiles, finding a mentor for a teacher with the explained ranking (the score's parts
// and the service's sentence), pairs (proposed → active → completed | cancelled) with their plan and
// meetings log, the bulk assignment of a municipality (a dry run first, then the pairs), and the panel of
// a person's mentors and mentees for the teacher's card and «Мой кабинет».
import { useEffect, useState } from 'preact/hooks';
import { api, listAll } from '../api.js';
import { html, Page, Table, Pager, useList, ErrorBox, Notice, Input, Select, Checkbox, useAction, Link, Progress, navigate } from '../ui.js';
import { fmtDate, fmtNum, personName, todayIso } from '../format.js';
import { useLoad, useLookup } from '../hooks.js';
import { competences, municipalities } from '../lookups.js';
import {
  SUPPORT_KINDS, SUPPORT_STATUSES, PAIR_FORMS, PAIR_STATUSES, MATCH_PARTS, LEVELS, SUBJECTS, label,
} from '../labels.js';
import { can } from '../roles.js';
import { ownerOf, StaffPicker } from './events.js';

// The service's sentences name competences by code («t.assess.1»): the console shows their names.
function named(text, names) {
  return names ? String(text || '').replace(/«([a-z][a-z0-9_.]*)»/g, (m, c) => (names.has(c) ? `«${names.get(c)}»` : m)) : text;
}

function useProgrammes() {
  return useLoad(() => listAll('/support-programmes', { status: 'active' }), []);
}

// ---- programmes ----

function NewProgramme({ me, onCreated }) {
  const [form, setForm] = useState({ kind: 'mentoring', title: '', startsOn: todayIso(), endsOn: '', actNumber: '', actDate: '',
    responsibleName: '' });
  const act = useAction();
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const body = { ...ownerOf(me), ...Object.fromEntries(Object.entries(form).filter(([, v]) => v !== '')) };
      const p = await api('POST', '/support-programmes', { body });
      setForm({ ...form, title: '' });
      onCreated(p);
      return p;
    }, (p) => `Программа «${p.title}» создана`);
  };
  return html`<form class="card form" onSubmit=${submit}>
    <h2>Новая программа поддержки</h2>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    <${Select} label="Вид программы" value=${form.kind} onChange=${set('kind')} options=${Object.entries(SUPPORT_KINDS)} />
    <${Input} label="Название программы" value=${form.title} onInput=${set('title')} required />
    <${Input} label="Начало" type="date" value=${form.startsOn} onInput=${set('startsOn')} required />
    <${Input} label="Окончание" type="date" value=${form.endsOn} onInput=${set('endsOn')} required />
    <${Input} label="Номер приказа" value=${form.actNumber} onInput=${set('actNumber')} />
    <${Input} label="Дата приказа" type="date" value=${form.actDate} onInput=${set('actDate')} />
    <${Input} label="Ответственный" value=${form.responsibleName} onInput=${set('responsibleName')} />
    <button type="submit" disabled=${act.busy}>Создать программу</button>
  </form>`;
}

export function Programmes({ me }) {
  const [kind, setKind] = useState('');
  const [status, setStatus] = useState('');
  const list = useList('/support-programmes', { kind, status });
  return html`<${Page} title="Программы поддержки">
    <div class="filter-row">
      <${Select} label="Вид" value=${kind} onChange=${setKind} empty="все" options=${Object.entries(SUPPORT_KINDS)} />
      <${Select} label="Состояние" value=${status} onChange=${setStatus} empty="все" options=${Object.entries(SUPPORT_STATUSES)} />
    </div>
    <${ErrorBox} error=${list.error} />
    <${Table} columns=${[
      { title: 'Программа', key: 'title' },
      { title: 'Вид', render: (p) => label(SUPPORT_KINDS, p.kind) },
      { title: 'Уровень', render: (p) => label(LEVELS, p.level) },
      { title: 'Период', render: (p) => `${fmtDate(p.startsOn)} – ${fmtDate(p.endsOn)}` },
      { title: 'Приказ', render: (p) => (p.actNumber ? `№ ${p.actNumber} от ${fmtDate(p.actDate)}` : '—') },
      { title: 'Состояние', render: (p) => label(SUPPORT_STATUSES, p.status) },
      { title: '', render: (p) => html`<${Link} href=${`/mentoring-pairs?programmeId=${encodeURIComponent(p.id)}`}>Пары</${Link}>` },
    ]} rows=${list.items} />
    <${Pager} list=${list} />
    ${can.manageMentoring(me) ? html`<${NewProgramme} me=${me} onCreated=${() => list.reload()} />` : null}
  </${Page}>`;
}

// ---- mentors ----

function NewMentor({ me, onCreated }) {
  const names = useLookup(competences);
  const [staffId, setStaffId] = useState('');
  const [form, setForm] = useState({ certified: false, certifiedOn: '', certificationAct: '', maxMentees: '2', competences: [] });
  const act = useAction();
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const body = { staffId, maxMentees: Number(form.maxMentees), certified: form.certified };
      if (form.certified) Object.assign(body, { certifiedOn: form.certifiedOn, certificationAct: form.certificationAct });
      if (form.competences.length) body.competences = form.competences;
      const m = await api('POST', '/mentors', { body });
      onCreated(m);
      return m;
    }, (m) => `Профиль наставника: ${m.fullName}`);
  };
  const options = names ? [...names.entries()] : [];
  return html`<form class="card form" onSubmit=${submit}>
    <h2>Новый профиль наставника</h2>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    <${StaffPicker} me=${me} label="Наставник" value=${staffId} onChange=${setStaffId} />
    <${Input} label="Наставляемых не больше" type="number" min="1" max="10" value=${form.maxMentees} onInput=${set('maxMentees')} required />
    <${Checkbox} label="Прошёл конкурсный отбор (сертифицирован)" checked=${form.certified} onChange=${set('certified')} />
    ${form.certified ? html`<${Input} label="Дата отбора" type="date" value=${form.certifiedOn} onInput=${set('certifiedOn')} required />
      <${Input} label="Акт отбора" value=${form.certificationAct} onInput=${set('certificationAct')} required />` : null}
    <div class="field"><label for="mentor-competences">Предлагаемые компетенции</label>
      <select id="mentor-competences" multiple size="6"
        onChange=${(e) => set('competences')([...e.currentTarget.selectedOptions].map((o) => o.value))}>
        ${options.map(([c, n]) => html`<option value=${c} selected=${form.competences.includes(c)}>${n}</option>`)}
      </select>
      <small class="hint">ничего не выбрано — сильные стороны последней диагностики</small></div>
    <button type="submit" disabled=${act.busy || !staffId}>Создать профиль</button>
  </form>`;
}

export function Mentors({ me }) {
  const [certified, setCertified] = useState('');
  const [subject, setSubject] = useState('');
  const names = useLookup(competences);
  const list = useList('/mentors', { certified, subject });
  return html`<${Page} title="Наставники">
    <div class="filter-row">
      <${Select} label="Отбор" value=${certified} onChange=${setCertified} empty="все"
        options=${[['true', 'сертифицированные'], ['false', 'без сертификата']]} />
      <${Select} label="Предмет" value=${subject} onChange=${setSubject} empty="все" options=${Object.entries(SUBJECTS)} />
    </div>
    <${ErrorBox} error=${list.error} />
    <${Table} columns=${[
      { title: 'Наставник', render: (m) => html`<${Link} href=${`/staff/${m.staffId}`}>${m.fullName || m.staffId}</${Link}>` },
      { title: 'Предметы', render: (m) => (m.subjects || []).map((s) => label(SUBJECTS, s)).join(', ') || '—' },
      { title: 'Отбор', render: (m) => (m.certified ? `да, ${fmtDate(m.certifiedOn)}` : 'нет') },
      { title: 'Мест', num: true, render: (m) => fmtNum(m.maxMentees) },
      { title: 'Компетенции', render: (m) => (m.competences || []).map((c) => (names && names.get(c)) || c).join('; ') || '—' },
      { title: 'Доступен', render: (m) => (m.available ? 'да' : `нет${m.availabilityNote ? `: ${m.availabilityNote}` : ''}`) },
    ]} rows=${list.items} />
    <${Pager} list=${list} />
    ${can.manageMentoring(me) ? html`<${NewMentor} me=${me} onCreated=${() => list.reload()} />` : null}
  </${Page}>`;
}

// ---- matching ----

function Parts({ parts }) {
  return html`<ul class="parts">${(parts || []).map((p) => html`<li>
    <span class="part-name">${label(MATCH_PARTS, p.name)}</span>
    <span class="part-bar" aria-hidden="true"><span style=${{ width: `${Math.round(100 * (p.value || 0))}%` }}></span></span>
    <span class="num">${fmtNum(p.points || 0)} из ${fmtNum(p.weight)}</span></li>`)}</ul>`;
}

export function Matching({ me }) {
  const params = new URLSearchParams(location.search);
  const programmes = useProgrammes();
  const names = useLookup(competences);
  const [menteeId, setMenteeId] = useState(params.get('menteeId') || '');
  const [programmeId, setProgrammeId] = useState('');
  const [form, setForm] = useState('young_specialist');
  const [result, setResult] = useState(null);
  const act = useAction();
  const create = useAction();
  useEffect(() => {
    if (!programmeId && programmes.data && programmes.data.length) setProgrammeId(programmes.data[0].id);
  }, [programmes.data]);
  const mentee = useLoad(() => (menteeId ? api('GET', `/staff/${menteeId}`) : Promise.resolve(null)), [menteeId]);
  const find = (e) => {
    e.preventDefault();
    act.run(async () => setResult(await api('GET', '/mentoring/matches', { query: { menteeId, programmeId, limit: 10 } })));
  };
  const propose = (c) => create.run(async () => {
    const p = await api('POST', '/mentoring-pairs', { body: {
      programmeId, form, mentorStaffId: c.staffId, menteeStaffId: menteeId, startsOn: todayIso(),
      competences: c.coveredDeficits && c.coveredDeficits.length ? c.coveredDeficits : (result.deficits || []),
    } });
    navigate(`/mentoring-pairs/${p.id}`);
  });
  const name = (c) => (names && names.get(c)) || c;
  return html`<${Page} title="Подбор наставника">
    <form class="card form" onSubmit=${find}>
      <${ErrorBox} error=${act.error || programmes.error} />
      ${params.get('menteeId') && mentee.data ? html`<p>Наставляемый: <strong>${personName(mentee.data)}</strong></p>`
        : html`<${StaffPicker} me=${me} label="Наставляемый" value=${menteeId} onChange=${setMenteeId} />`}
      <${Select} label="Программа" value=${programmeId} onChange=${setProgrammeId} required
        options=${(programmes.data || []).map((p) => [p.id, p.title])} />
      <${Select} label="Форма наставничества" value=${form} onChange=${setForm} options=${Object.entries(PAIR_FORMS)} />
      <button type="submit" disabled=${act.busy || !menteeId || !programmeId}>${act.busy ? 'Подбираю…' : 'Подобрать наставника'}</button>
      ${act.busy ? html`<${Progress} value=${null} label="Подбор наставника" />` : null}
    </form>
    ${result ? html`<section class="card"><h2>Кандидаты</h2>
      <p>${`Дефициты наставляемого: ${(result.deficits || []).map(name).join('; ') || 'нет'}. Рассмотрено кандидатов: ${fmtNum(result.candidatesConsidered || 0)}.`}</p>
      <p class="muted">${`Балл 0–100 — сумма составляющих: ${(result.weights || []).map((w) => `${label(MATCH_PARTS, w.name)} ${fmtNum(w.weight)}`).join(', ')}.`}</p>
      <${ErrorBox} error=${create.error} />
      <${Table} caption="Кандидаты по убыванию балла" rowKey=${(c) => c.staffId} empty="Подходящих наставников нет" columns=${[
        { title: 'Наставник', render: (c) => html`<${Link} href=${`/staff/${c.staffId}`}>${c.fullName}</${Link}>${c.certified ? html` <span class="tag strength">сертифицирован</span>` : null}` },
        { title: 'Балл', num: true, render: (c) => fmtNum(c.score) },
        { title: 'Составляющие', render: (c) => html`<${Parts} parts=${c.parts} />` },
        { title: 'Почему', render: (c) => named(c.explanation, names) },
        { title: '', render: (c) => (can.manageMentoring(me) ? html`<button type="button" class="small" disabled=${create.busy}
          aria-label=${`Предложить пару: ${c.fullName}`} onClick=${() => propose(c)}>Предложить пару</button>` : null) },
      ]} rows=${result.items || []} />
    </section>` : null}
  </${Page}>`;
}

// ---- pairs ----

export function Pairs() {
  const params = new URLSearchParams(location.search);
  const programmes = useLoad(() => listAll('/support-programmes'), []);
  const [programmeId, setProgrammeId] = useState(params.get('programmeId') || '');
  const [status, setStatus] = useState('');
  const list = useList('/mentoring-pairs', { programmeId, status });
  return html`<${Page} title="Наставнические пары">
    <div class="filter-row">
      <${Select} label="Программа" value=${programmeId} onChange=${setProgrammeId} empty="все"
        options=${(programmes.data || []).map((p) => [p.id, p.title])} />
      <${Select} label="Состояние" value=${status} onChange=${setStatus} empty="все" options=${Object.entries(PAIR_STATUSES)} />
    </div>
    <${ErrorBox} error=${list.error} />
    <${PairTable} list=${list} />
    <${Pager} list=${list} />
    <p><${Link} href="/mentoring/match">Подобрать наставника</${Link}></p>
  </${Page}>`;
}

function PairTable({ list, staffId }) {
  return html`<${Table} empty="Пар нет" columns=${[
    { title: 'Пара', render: (p) => html`<${Link} href=${`/mentoring-pairs/${p.id}`}>${staffId
      ? (p.mentorStaffId === staffId ? `наставляемый: ${p.menteeName}` : `наставник: ${p.mentorName}`)
      : `${p.mentorName} → ${p.menteeName}`}</${Link}>` },
    { title: 'Форма', render: (p) => label(PAIR_FORMS, p.form) },
    { title: 'Состояние', render: (p) => label(PAIR_STATUSES, p.status) },
    { title: 'С', render: (p) => fmtDate(p.startsOn) },
    { title: 'Встреч', num: true, render: (p) => fmtNum((p.meetings || []).length) },
    { title: 'Последняя встреча', render: (p) => { const m = (p.meetings || []).slice(-1)[0]; return m ? `${fmtDate(m.heldOn)}: ${m.topic}` : '—'; } },
  ]} rows=${list.items} />`;
}

function LogMeeting({ pair, onDone }) {
  const [form, setForm] = useState({ heldOn: todayIso(), topic: '', durationMinutes: '45', notes: '' });
  const act = useAction();
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const meeting = { heldOn: form.heldOn, topic: form.topic, durationMinutes: Number(form.durationMinutes) };
      if (form.notes) meeting.notes = form.notes;
      const p = await api('POST', `/mentoring-pairs/${pair.id}/meetings`, { body: { meeting }, ifMatch: pair.version });
      setForm({ ...form, topic: '', notes: '' });
      onDone(p, `Встреча ${fmtDate(meeting.heldOn)} записана в журнал`);
    });
  };
  return html`<form class="form sub" onSubmit=${submit}>
    <h3>Записать встречу</h3>
    <${ErrorBox} error=${act.error} />
    <${Input} label="Дата встречи" type="date" value=${form.heldOn} onInput=${set('heldOn')} required />
    <${Input} label="Тема встречи" value=${form.topic} onInput=${set('topic')} required />
    <${Input} label="Длительность, минут" type="number" min="1" max="600" value=${form.durationMinutes} onInput=${set('durationMinutes')} required />
    <${Input} label="Заметки" value=${form.notes} onInput=${set('notes')} />
    <button type="submit" disabled=${act.busy}>Записать встречу</button>
  </form>`;
}

export function PairPage({ me, params }) {
  const [id] = params;
  const loaded = useLoad(() => api('GET', `/mentoring-pairs/${id}`), [id]);
  const names = useLookup(competences);
  const [current, setCurrent] = useState(null);
  const [message, setMessage] = useState('');
  const [reason, setReason] = useState('');
  const [result, setResultText] = useState('');
  const act = useAction();
  const p = (current && current.id === id && current) || loaded.data;
  const done = (out, text) => { setCurrent(out); setMessage(text); };
  const verb = (v, body, text) => act.run(async () => done(await api('POST', `/mentoring-pairs/${id}/${v}`, { body, ifMatch: p.version }), text));
  const manage = can.manageMentoring(me);
  const mentor = p && me.staffId && me.staffId === p.mentorStaffId;
  const name = (c) => (names && names.get(c)) || c;
  return html`<${Page} title=${p ? `Пара: ${p.mentorName} → ${p.menteeName}` : 'Наставническая пара'}>
    <${ErrorBox} error=${loaded.error} /><${ErrorBox} error=${act.error} /><${Notice} text=${message} />
    ${p ? html`<section class="card">
      <dl class="facts">
        <dt>Наставник</dt><dd>${me.role === 'teacher' ? p.mentorName : html`<${Link} href=${`/staff/${p.mentorStaffId}`}>${p.mentorName}</${Link}>`}</dd>
        <dt>Наставляемый</dt><dd>${me.role === 'teacher' ? p.menteeName : html`<${Link} href=${`/staff/${p.menteeStaffId}`}>${p.menteeName}</${Link}>`}</dd>
        <dt>Форма</dt><dd>${label(PAIR_FORMS, p.form)}</dd>
        <dt>Состояние</dt><dd><strong class=${`status ${p.status}`}>${label(PAIR_STATUSES, p.status)}</strong></dd>
        <dt>Сроки</dt><dd>${fmtDate(p.startsOn)} – ${fmtDate(p.plannedEndOn)}</dd>
        <dt>Компетенции</dt><dd>${(p.competences || []).map(name).join('; ') || '—'}</dd>
        ${p.outcome ? html`<dt>Результат</dt><dd>${p.outcome.result}${(p.outcome.competencesClosed || []).length
          ? ` (закрыты: ${p.outcome.competencesClosed.map(name).join('; ')})` : ''}</dd>` : null}
      </dl>
      ${manage ? html`<div class="actions">
        ${p.status === 'proposed' ? html`<button type="button" disabled=${act.busy}
          onClick=${() => verb('activate', {}, 'Пара начала работу')}>Утвердить и начать</button>` : null}
      </div>
      ${p.status === 'active' ? html`<form class="inline-form labelled" onSubmit=${(e) => {
        e.preventDefault(); verb('complete', { outcome: { result } }, 'Пара завершена');
      }}><${Input} label="Итог работы пары" value=${result} onInput=${setResultText} required />
        <button type="submit" class="secondary" disabled=${act.busy}>Завершить</button></form>` : null}
      ${p.status === 'proposed' || p.status === 'active' ? html`<form class="inline-form labelled" onSubmit=${(e) => {
        e.preventDefault(); verb('cancel', { reason }, 'Пара отменена');
      }}><${Input} label="Причина отмены" value=${reason} onInput=${setReason} required />
        <button type="submit" class="danger" disabled=${act.busy}>Отменить пару</button></form>` : null}` : null}
    </section>
    <section class="card"><h2>План работы</h2>
      <${Table} rowKey=${(s) => s.title} empty="План не составлен" columns=${[
        { title: 'Шаг', key: 'title' },
        { title: 'Срок', render: (s) => fmtDate(s.dueOn) },
        { title: 'Выполнен', render: (s) => (s.done ? 'да' : 'нет') },
      ]} rows=${p.plan || []} />
    </section>
    <section class="card"><h2>Журнал встреч</h2>
      <${Table} rowKey=${(m) => `${m.heldOn}-${m.topic}`} empty="Встреч ещё не было" columns=${[
        { title: 'Дата', render: (m) => fmtDate(m.heldOn) },
        { title: 'Тема', key: 'topic' },
        { title: 'Минут', num: true, render: (m) => fmtNum(m.durationMinutes) },
        { title: 'Заметки', render: (m) => m.notes || '—' },
      ]} rows=${p.meetings || []} />
      ${p.status === 'active' && (manage || mentor) ? html`<${LogMeeting} pair=${p} onDone=${done} />` : null}
    </section>
    <section class="card"><h2>История</h2>
      <${Table} rowKey=${(h) => `${h.status}-${h.at}`} columns=${[
        { title: 'Состояние', render: (h) => label(PAIR_STATUSES, h.status) },
        { title: 'Когда', render: (h) => fmtDate(h.at, true) },
        { title: 'Причина', render: (h) => h.reason || '—' },
      ]} rows=${p.history || []} />
    </section>` : null}
  </${Page}>`;
}

// ---- bulk assignment ----

export function Assignments({ me }) {
  const programmes = useProgrammes();
  const muns = useLookup(municipalities);
  const names = useLookup(competences);
  const fixed = me.scope && me.scope.kind === 'municipality' ? me.scope.id : '';
  const [municipalityId, setMunicipalityId] = useState(fixed);
  const [programmeId, setProgrammeId] = useState('');
  const [form, setForm] = useState('young_specialist');
  const [preview, setPreview] = useState(null);
  const [created, setCreated] = useState(null);
  const [elapsed, setElapsed] = useState(0);
  const act = useAction();
  useEffect(() => {
    if (!programmeId && programmes.data && programmes.data.length) setProgrammeId(programmes.data[0].id);
  }, [programmes.data]);
  useEffect(() => {
    if (!act.busy) return undefined;
    const t0 = Date.now();
    setElapsed(0);
    const timer = setInterval(() => setElapsed((Date.now() - t0) / 1000), 250);
    return () => clearInterval(timer);
  }, [act.busy]);
  const run = (dryRun) => act.run(async () => {
    const out = await api('POST', '/mentoring/assignments', { body: { programmeId, municipalityId, form, dryRun } });
    if (dryRun) { setPreview(out); setCreated(null); } else { setCreated(out); setPreview(null); }
    return out;
  });
  const shown = created || preview;
  return html`<${Page} title="Распределение наставников">
    <form class="card form" onSubmit=${(e) => { e.preventDefault(); run(true); }}>
      <p class="muted">Все молодые (моложе 35 лет) учителя муниципалитета без пары в программе получают наставника:
        одно распределение с наибольшей суммой баллов при свободных местах наставников.</p>
      <${ErrorBox} error=${act.error || programmes.error} />
      <${Select} label="Программа" value=${programmeId} onChange=${setProgrammeId} required
        options=${(programmes.data || []).map((p) => [p.id, p.title])} />
      ${fixed ? html`<p>Муниципалитет: <strong>${(muns && muns.get(fixed)?.name) || fixed}</strong></p>`
        : html`<${Select} label="Муниципалитет" value=${municipalityId} onChange=${setMunicipalityId} empty="выберите" required
          options=${muns ? [...muns.values()].map((m) => [m.id, m.name]) : []} />`}
      <${Select} label="Форма наставничества" value=${form} onChange=${setForm} options=${Object.entries(PAIR_FORMS)} />
      <button type="submit" disabled=${act.busy || !programmeId || !municipalityId}>Предварительный расчёт</button>
      ${act.busy ? html`<div role="status"><${Progress} value=${null} label="Распределение наставников" />
        <p class="muted">${`Считаю распределение… ${fmtNum(Math.floor(elapsed))} с (сбор данных из реестра и диагностики может занять несколько секунд)`}</p></div>` : null}
    </form>
    ${shown ? html`<section class="card"><h2>${created ? `Пары созданы: ${fmtNum(created.created || 0)}` : 'Предварительный расчёт'}</h2>
      <dl class="counts">
        <div><dt>Наставляемых</dt><dd>${fmtNum(shown.mentees || 0)}</dd></div>
        <div><dt>Кандидатов</dt><dd>${fmtNum(shown.candidates || 0)}</dd></div>
        <div><dt>Распределено</dt><dd>${fmtNum((shown.assignments || []).length)}</dd></div>
        <div><dt>Без наставника</dt><dd class=${(shown.unmatched || []).length ? 'bad' : ''}>${fmtNum((shown.unmatched || []).length)}</dd></div>
        <div><dt>Сумма баллов</dt><dd>${fmtNum(shown.totalScore || 0)}</dd></div>
        <div><dt>Жадный подбор дал бы</dt><dd>${fmtNum(shown.greedyTotalScore || 0)}</dd></div>
      </dl>
      ${preview && (preview.assignments || []).length && can.assignMentors(me) ? html`<div class="actions">
        <button type="button" disabled=${act.busy} onClick=${() => run(false)}>${`Создать пары (${fmtNum(preview.assignments.length)})`}</button></div>` : null}
      <${Table} caption="Распределение" rowKey=${(a) => a.menteeId} empty="Распределять некого" columns=${[
        { title: 'Наставляемый', key: 'menteeName' },
        { title: 'Наставник', key: 'mentorName' },
        { title: 'Балл', num: true, render: (a) => fmtNum(a.score) },
        { title: 'Почему', render: (a) => named(a.explanation, names) },
        ...(created ? [{ title: 'Пара', render: (a) => (a.pairId ? html`<${Link} href=${`/mentoring-pairs/${a.pairId}`}>${a.pairId}</${Link}>` : '—') }] : []),
      ]} rows=${shown.assignments || []} />
      ${(shown.unmatched || []).length ? html`<${Table} caption="Без наставника" rowKey=${(u) => u.menteeId} columns=${[
        { title: 'Наставляемый', key: 'menteeName' },
        { title: 'Причина', key: 'reason' },
      ]} rows=${shown.unmatched} />` : null}
    </section>` : null}
  </${Page}>`;
}

// ---- panel of the teacher's card and the cabinet ----

export function StaffMentoring({ me, staffId }) {
  const list = useList(`/staff/${staffId}/mentoring`, {});
  return html`<${ErrorBox} error=${list.error} />
    <${PairTable} list=${list} staffId=${staffId} />
    <${Pager} list=${list} />
    ${can.manageMentoring(me) && me.staffId !== staffId ? html`<p><${Link} href=${`/mentoring/match?menteeId=${encodeURIComponent(staffId)}`}>Подобрать наставника</${Link}></p>` : null}`;
}
