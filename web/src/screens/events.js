// events.js — the events service's screens (services/events, docs/events.md): the yearly plans of events
// (draft → approved by an order; a change after approval needs a reason), events on a month calendar and
// as a filtered list, an event's card (edit, publish, cancel, finish; registration of oneself or of one's
// staff with the waitlist position; participants, bulk attendance, the participants' CSV), and the
// panels other screens show: «Мои мероприятия», events to register for, this month's events.
import { useState } from 'preact/hooks';
import { api, listAll, qs } from '../api.js';
import { html, Page, Table, Pager, useList, ErrorBox, Notice, Input, Select, Checkbox, useAction, Link, Field, useId } from '../ui.js';
import { fmtDate, fmtNum, personName, todayIso } from '../format.js';
import { useLoad, useLookup, useRecords } from '../hooks.js';
import { competences, record, forgetRecord } from '../lookups.js';
import {
  EVENT_TYPES, EVENT_STATUSES, PLAN_STATUSES, REGISTRATION_STATUSES, LEVELS, SUBJECTS, label,
} from '../labels.js';
import { can } from '../roles.js';

const MONTHS = ['январь', 'февраль', 'март', 'апрель', 'май', 'июнь', 'июль', 'август', 'сентябрь', 'октябрь',
  'ноябрь', 'декабрь'];
const WEEKDAYS = ['Пн', 'Вт', 'Ср', 'Чт', 'Пт', 'Сб', 'Вс'];
const pad = (n) => String(n).padStart(2, '0');
const isoDay = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

// Where a new plan or event of the caller belongs: their scope decides the level and the owner.
export function ownerOf(me) {
  const s = me.scope || {};
  if (s.kind === 'organization') return { level: 'institutional', organizationId: s.id };
  if (s.kind === 'municipality') return { level: 'municipal', municipalityId: s.id };
  return { level: 'regional' };
}

// The plan's school year: 2026 → «2026/27».
export function schoolYear(y) {
  return y ? `${y}/${String((Number(y) + 1) % 100).padStart(2, '0')}` : '—';
}

function currentSchoolYear() {
  const d = new Date();
  return d.getMonth() >= 7 ? d.getFullYear() : d.getFullYear() - 1;
}

// datetime-local ("2026-12-16T10:00", the browser's time) → RFC 3339 with the offset; and back.
function toInstant(local) {
  if (!local) return '';
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) return local;
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return `${local.length === 16 ? `${local}:00` : local}${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
}
function toLocal(instant) {
  if (!instant) return '';
  const d = new Date(instant);
  if (Number.isNaN(d.getTime())) return '';
  return `${isoDay(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function when(e) {
  const a = fmtDate(e.startsAt, true);
  const b = fmtDate(e.endsAt, true);
  return a.slice(0, 10) === b.slice(0, 10) ? `${a}–${b.slice(11)}` : `${a} – ${b}`;
}

function seats(e) {
  const taken = `${fmtNum(e.registeredCount || 0)}${e.capacity ? ` из ${fmtNum(e.capacity)}` : ''}`;
  return e.waitlistedCount ? `${taken}, ожидают ${fmtNum(e.waitlistedCount)}` : taken;
}

// ---- plans ----

function NewPlan({ me, onCreated }) {
  const [form, setForm] = useState({ title: '', year: String(currentSchoolYear()) });
  const act = useAction();
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const p = await api('POST', '/event-plans', { body: { ...ownerOf(me), title: form.title, year: Number(form.year) } });
      setForm({ ...form, title: '' });
      onCreated(p);
      return p;
    }, (p) => `План «${p.title}» создан (черновик)`);
  };
  return html`<form class="card form" onSubmit=${submit}>
    <h2>Новый план мероприятий</h2>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    <${Input} label="Название плана" value=${form.title} onInput=${set('title')} required />
    <${Input} label="Учебный год (год начала)" type="number" min="2000" max="2100" value=${form.year}
      onInput=${set('year')} required hint=${`${schoolYear(form.year)} учебный год`} />
    <button type="submit" disabled=${act.busy}>Создать план</button>
  </form>`;
}

export function Plans({ me }) {
  const [status, setStatus] = useState('');
  const [year, setYear] = useState('');
  const list = useList('/event-plans', { status, year });
  return html`<${Page} title="Планы мероприятий" actions=${html`<a class="button secondary"
      href=${`/api/v1/export/event-plans${qs({ status, year })}`} download>Выгрузить в CSV</a>`}>
    <div class="filter-row">
      <${Select} label="Состояние" value=${status} onChange=${setStatus} empty="все" options=${Object.entries(PLAN_STATUSES)} />
      <${Input} label="Учебный год" type="number" min="2000" max="2100" value=${year} onInput=${setYear} />
    </div>
    <${ErrorBox} error=${list.error} />
    <${Table} columns=${[
      { title: 'План', render: (p) => html`<${Link} href=${`/event-plans/${p.id}`}>${p.title}</${Link}>` },
      { title: 'Учебный год', render: (p) => schoolYear(p.year) },
      { title: 'Уровень', render: (p) => label(LEVELS, p.level) },
      { title: 'Состояние', render: (p) => label(PLAN_STATUSES, p.status) },
      { title: 'Приказ', render: (p) => (p.orderNumber ? `№ ${p.orderNumber} от ${fmtDate(p.orderDate)}` : '—') },
    ]} rows=${list.items} />
    <${Pager} list=${list} />
    ${can.organizeEvents(me) ? html`<${NewPlan} me=${me} onCreated=${() => list.reload()} />` : null}
  </${Page}>`;
}

function ApprovePlan({ plan, onDone }) {
  const [orderNumber, setNumber] = useState('');
  const [orderDate, setDate] = useState(todayIso());
  const act = useAction();
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => onDone(await api('POST', `/event-plans/${plan.id}/approve`, {
      body: { orderNumber, orderDate }, ifMatch: plan.version }), `План утверждён приказом № ${orderNumber}`));
  };
  return html`<form class="form sub" onSubmit=${submit}>
    <h3>Утвердить план приказом</h3>
    <${ErrorBox} error=${act.error} />
    <${Input} label="Номер приказа" value=${orderNumber} onInput=${setNumber} required />
    <${Input} label="Дата приказа" type="date" value=${orderDate} onInput=${setDate} required />
    <button type="submit" disabled=${act.busy}>Утвердить</button>
  </form>`;
}

function ChangePlan({ plan, onDone }) {
  const [title, setTitle] = useState(plan.title);
  const [reason, setReason] = useState('');
  const act = useAction();
  const approved = plan.status === 'approved';
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const body = { title };
      if (approved) body.changeReason = reason;
      const p = await api('PATCH', `/event-plans/${plan.id}`, { body, ifMatch: plan.version });
      setReason('');
      onDone(p, approved ? 'Изменение утверждённого плана записано с причиной' : 'План изменён');
    });
  };
  return html`<form class="form sub" onSubmit=${submit}>
    <h3>${approved ? 'Изменить утверждённый план' : 'Изменить план'}</h3>
    <${ErrorBox} error=${act.error} />
    <${Input} label="Название плана" value=${title} onInput=${setTitle} required />
    ${approved ? html`<${Input} label="Причина изменения" value=${reason} onInput=${setReason} required
      hint="Утверждённый план меняется только с причиной: она попадёт в историю изменений" />` : null}
    <button type="submit" class="secondary" disabled=${act.busy}>Сохранить изменение</button>
  </form>`;
}

export function PlanPage({ me, params }) {
  const [id] = params;
  const plan = useLoad(() => api('GET', `/event-plans/${id}`), [id]);
  const [current, setCurrent] = useState(null);
  const [message, setMessage] = useState('');
  const done = (out, text) => { setCurrent(out); setMessage(text); };
  const p = (current && current.id === id && current) || plan.data;
  const events = useList('/events', { planId: id });
  return html`<${Page} title=${p ? p.title : 'План мероприятий'}>
    <${ErrorBox} error=${plan.error} /><${Notice} text=${message} />
    ${p ? html`<section class="card">
      <dl class="facts">
        <dt>Учебный год</dt><dd>${schoolYear(p.year)}</dd>
        <dt>Уровень</dt><dd>${label(LEVELS, p.level)}</dd>
        <dt>Состояние</dt><dd><strong class=${`status ${p.status}`}>${label(PLAN_STATUSES, p.status)}</strong></dd>
        <dt>Приказ</dt><dd>${p.orderNumber ? `№ ${p.orderNumber} от ${fmtDate(p.orderDate)}` : 'не утверждён'}</dd>
        ${p.approvedAt ? html`<dt>Утверждён</dt><dd>${fmtDate(p.approvedAt, true)}</dd>` : null}
      </dl>
      ${can.organizeEvents(me) && p.status === 'draft' ? html`<${ApprovePlan} plan=${p} onDone=${done} />` : null}
      ${can.organizeEvents(me) ? html`<${ChangePlan} plan=${p} onDone=${done} />` : null}
    </section>
    ${(p.revisions || []).length ? html`<section class="card"><h2>Изменения после утверждения</h2>
      <${Table} rowKey=${(r) => r.planVersion} columns=${[
        { title: 'Версия', key: 'planVersion' },
        { title: 'Когда', render: (r) => fmtDate(r.changedAt, true) },
        { title: 'Причина', key: 'reason' },
      ]} rows=${p.revisions} /></section>` : null}
    <section class="card"><h2>Мероприятия плана</h2>
      <${ErrorBox} error=${events.error} />
      <${EventTable} list=${events} />
      <${Pager} list=${events} />
      ${can.organizeEvents(me) ? html`<p><${Link} href=${`/events?new=1&planId=${encodeURIComponent(id)}`}>Добавить мероприятие в план</${Link}></p>` : null}
    </section>` : null}
  </${Page}>`;
}

// ---- events ----

function EventTable({ list, empty }) {
  return html`<${Table} empty=${empty || 'Мероприятий нет'} columns=${[
    { title: 'Мероприятие', render: (e) => html`<${Link} href=${`/events/${e.id}`}>${e.title}</${Link}>` },
    { title: 'Вид', render: (e) => label(EVENT_TYPES, e.type) },
    { title: 'Когда', render: when },
    { title: 'Записано', num: true, render: seats },
    { title: 'Состояние', render: (e) => label(EVENT_STATUSES, e.status) },
  ]} rows=${list.items} />`;
}

function MultiSelect({ label: text, values, onChange, options, hint }) {
  const id = useId();
  return html`<${Field} label=${text} hint=${hint} id=${id}>
    <select id=${id} multiple size=${Math.min(6, options.length)}
      onChange=${(e) => onChange([...e.currentTarget.selectedOptions].map((o) => o.value))}>
      ${options.map(([v, t]) => html`<option value=${v} selected=${values.includes(v)}>${t}</option>`)}
    </select>
  </${Field}>`;
}

export function EventForm({ me, event, onSaved, planId = '' }) {
  const plans = useLoad(() => (can.organizeEvents(me) ? listAll('/event-plans') : Promise.resolve([])), []);
  const names = useLookup(competences);
  const e0 = event || {};
  const [form, setForm] = useState({
    title: e0.title || '', type: e0.type || 'seminar', planId: e0.planId || planId, startsAt: toLocal(e0.startsAt),
    endsAt: toLocal(e0.endsAt), venue: e0.venue || '', onlineUrl: e0.onlineUrl || '',
    capacity: e0.capacity ? String(e0.capacity) : '', registrationDeadline: toLocal(e0.registrationDeadline),
    subjects: (e0.audience && e0.audience.subjects) || [], competences: e0.competences || [],
    youngTeachersOnly: Boolean(e0.audience && e0.audience.youngTeachersOnly), description: e0.description || '',
  });
  const act = useAction();
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const submit = (ev) => {
    ev.preventDefault();
    act.run(async () => {
      const body = {
        title: form.title, type: form.type, startsAt: toInstant(form.startsAt), endsAt: toInstant(form.endsAt),
        venue: form.venue, onlineUrl: form.onlineUrl, capacity: Number(form.capacity || 0),
        audience: { subjects: form.subjects, youngTeachersOnly: form.youngTeachersOnly },
        competences: form.competences, description: form.description,
      };
      if (form.registrationDeadline) body.registrationDeadline = toInstant(form.registrationDeadline);
      if (form.planId) body.planId = form.planId;
      let out;
      if (event) {
        out = await api('PATCH', `/events/${event.id}`, { body, ifMatch: event.version });
      } else {
        const owner = ownerOf(me);
        Object.assign(body, owner);
        if (owner.organizationId) body.organizerOrganizationId = owner.organizationId;
        out = await api('POST', '/events', { body });
      }
      onSaved(out);
      return out;
    }, event ? 'Мероприятие изменено' : (e) => `Мероприятие «${e.title}» создано (черновик): опубликуйте его, чтобы открыть запись`);
  };
  const planOptions = (plans.data || []).map((p) => [p.id, `${p.title} (${schoolYear(p.year)})`]);
  const compOptions = names ? [...names.entries()].map(([c, n]) => [c, n]) : [];
  return html`<form class="card form" onSubmit=${submit}>
    <h2>${event ? 'Изменить мероприятие' : 'Новое мероприятие'}</h2>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    <${Input} label="Название мероприятия" value=${form.title} onInput=${set('title')} required />
    <${Select} label="Вид мероприятия" value=${form.type} onChange=${set('type')} options=${Object.entries(EVENT_TYPES)} />
    <${Select} label="План" value=${form.planId} onChange=${set('planId')} empty="вне плана" options=${planOptions} />
    <${Input} label="Начало" type="datetime-local" value=${form.startsAt} onInput=${set('startsAt')} required />
    <${Input} label="Окончание" type="datetime-local" value=${form.endsAt} onInput=${set('endsAt')} required />
    <${Input} label="Место проведения" value=${form.venue} onInput=${set('venue')} hint="или ссылка для дистанционного участия" />
    <${Input} label="Ссылка на трансляцию" type="url" value=${form.onlineUrl} onInput=${set('onlineUrl')} />
    <${Input} label="Число мест" type="number" min="0" max="100000" value=${form.capacity} onInput=${set('capacity')}
      hint="0 или пусто — без ограничения; сверх мест — лист ожидания" />
    <${Input} label="Запись до" type="datetime-local" value=${form.registrationDeadline} onInput=${set('registrationDeadline')} />
    <${MultiSelect} label="Для учителей предметов" values=${form.subjects} onChange=${set('subjects')}
      options=${Object.entries(SUBJECTS)} hint="ничего не выбрано — для всех; несколько — с Ctrl" />
    <${Checkbox} label="Только для молодых педагогов (до 35 лет)" checked=${form.youngTeachersOnly} onChange=${set('youngTeachersOnly')} />
    <${MultiSelect} label="Компетенции" values=${form.competences} onChange=${set('competences')} options=${compOptions}
      hint="по ним служба диагностики предлагает мероприятие в маршруты" />
    <button type="submit" disabled=${act.busy}>${event ? 'Сохранить' : 'Создать черновик'}</button>
  </form>`;
}

// The month's grid: weeks from Monday, each day with its events (links).
function Calendar({ month, setMonth, status, type }) {
  const first = new Date(month.y, month.m, 1);
  const last = new Date(month.y, month.m + 1, 0);
  const events = useLoad(() => listAll('/events', { from: isoDay(first), to: isoDay(last), status, type }),
    [month.y, month.m, status, type]);
  const byDay = new Map();
  for (const e of events.data || []) {
    const d = isoDay(new Date(e.startsAt));
    if (!byDay.has(d)) byDay.set(d, []);
    byDay.get(d).push(e);
  }
  const weeks = [];
  let day = new Date(first);
  day.setDate(day.getDate() - ((day.getDay() + 6) % 7));
  while (day <= last || weeks.length === 0 || day.getDay() !== 1) {
    const week = [];
    for (let i = 0; i < 7; i++) {
      week.push(new Date(day));
      day.setDate(day.getDate() + 1);
    }
    weeks.push(week);
    if (day > last) break;
  }
  const shift = (n) => {
    const d = new Date(month.y, month.m + n, 1);
    setMonth({ y: d.getFullYear(), m: d.getMonth() });
  };
  const today = todayIso();
  const title = `${MONTHS[month.m]} ${month.y}`;
  return html`<div class="calendar-wrap">
    <div class="actions">
      <button type="button" class="secondary" onClick=${() => shift(-1)} aria-label="Предыдущий месяц">←</button>
      <h2 class="month" aria-live="polite">${title[0].toUpperCase() + title.slice(1)}</h2>
      <button type="button" class="secondary" onClick=${() => shift(1)} aria-label="Следующий месяц">→</button>
    </div>
    <${ErrorBox} error=${events.error} />
    ${events.loading && !events.data ? html`<p class="loading" role="status">Загрузка…</p>` : null}
    <table class="calendar">
      <caption class="sr-only">Мероприятия на ${title}</caption>
      <thead><tr>${WEEKDAYS.map((w) => html`<th scope="col">${w}</th>`)}</tr></thead>
      <tbody>${weeks.map((w) => html`<tr>${w.map((d) => {
        const key = isoDay(d);
        const list = byDay.get(key) || [];
        const other = d.getMonth() !== month.m;
        return html`<td class=${`${other ? 'other' : ''} ${key === today ? 'today' : ''} ${list.length ? 'busy' : 'free'}`}>
          <span class="day">${fmtDate(key)}</span>
          ${list.length ? html`<ul>${list.map((e) => html`<li class=${`ev ${e.status}`}>
            <${Link} href=${`/events/${e.id}`}>${fmtDate(e.startsAt, true).slice(11)} ${e.title}</${Link}></li>`)}</ul>` : null}
        </td>`;
      })}</tr>`)}</tbody>
    </table>
  </div>`;
}

export function Events({ me }) {
  const params = new URLSearchParams(location.search);
  const [view, setView] = useState('calendar');
  const [status, setStatus] = useState('');
  const [type, setType] = useState('');
  const [subject, setSubject] = useState('');
  const [from, setFrom] = useState('');
  const now = new Date();
  const [month, setMonth] = useState({ y: now.getFullYear(), m: now.getMonth() });
  const list = useList('/events', { status, type, subject, from }, { enabled: view === 'list' });
  const [tick, setTick] = useState(0);
  return html`<${Page} title="Мероприятия" actions=${html`<a class="button secondary"
      href=${`/api/v1/export/events${qs({ status, type, subject, from })}`} download>Выгрузить в CSV</a>`}>
    <div class="filter-row">
      <div class="toggle" role="group" aria-label="Показать как">
        <button type="button" class=${view === 'calendar' ? '' : 'secondary'} aria-pressed=${view === 'calendar'}
          onClick=${() => setView('calendar')}>Календарь</button>
        <button type="button" class=${view === 'list' ? '' : 'secondary'} aria-pressed=${view === 'list'}
          onClick=${() => setView('list')}>Список</button>
      </div>
      <${Select} label="Состояние" value=${status} onChange=${setStatus} empty="все" options=${Object.entries(EVENT_STATUSES)} />
      <${Select} label="Вид" value=${type} onChange=${setType} empty="все" options=${Object.entries(EVENT_TYPES)} />
      ${view === 'list' ? html`<${Select} label="Предмет" value=${subject} onChange=${setSubject} empty="все"
        options=${Object.entries(SUBJECTS)} />
        <${Input} label="Начало не раньше" type="date" value=${from} onInput=${setFrom} />` : null}
    </div>
    ${view === 'calendar' ? html`<${Calendar} key=${tick} month=${month} setMonth=${setMonth} status=${status} type=${type} />` : html`
      <${ErrorBox} error=${list.error} />
      <${EventTable} list=${list} />
      <${Pager} list=${list} />`}
    ${can.organizeEvents(me) ? html`<${EventForm} me=${me} planId=${params.get('planId') || ''}
      onSaved=${() => { setTick((t) => t + 1); list.reload(); }} />` : null}
  </${Page}>`;
}

function Register({ event, staffId, who, onDone }) {
  const act = useAction();
  const go = () => act.run(async () => {
    const body = staffId ? { staffId } : {};
    const r = await api('POST', `/events/${event.id}/registrations`, { body });
    onDone(r);
    return r;
  }, (r) => (r.status === 'waitlisted'
    ? `${who} в листе ожидания: место № ${fmtNum(r.waitlistPosition)}`
    : `${who} записан(а) на мероприятие`));
  return html`<div><button type="button" onClick=${go} disabled=${act.busy}>Записаться</button>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} /></div>`;
}

// A person of the caller's scope by the start of the surname (GET /staff?q=).
export function StaffPicker({ me, label: text, value, onChange, query = {} }) {
  const [q, setQ] = useState('');
  const [found, setFound] = useState(null);
  const act = useAction();
  const search = () => act.run(async () => {
    const extra = me.scope && me.scope.kind === 'organization' ? { organizationId: me.scope.id } : {};
    const page = await api('GET', '/staff', { query: { q, active: 'true', limit: 30, ...extra, ...query } });
    setFound(page.items || []);
    if ((page.items || []).length) onChange(page.items[0].id);
  });
  return html`<div class="picker">
    <div class="inline-form labelled">
      <${Input} label=${`${text}: начало фамилии`} value=${q} onInput=${setQ} type="search"
        onKeyDown=${(e) => { if (e.key === 'Enter') { e.preventDefault(); search(); } }} />
      <button type="button" class="secondary" onClick=${search} disabled=${act.busy}>Найти</button>
    </div>
    <${ErrorBox} error=${act.error} />
    ${found ? (found.length ? html`<${Select} label=${text} value=${value} onChange=${onChange}
      options=${found.map((s) => [s.id, `${personName(s)}${s.birthDate ? `, ${fmtDate(s.birthDate)}` : ''}`])} />`
      : html`<p class="empty">Никого не нашлось</p>`) : null}
  </div>`;
}

function RegisterStaff({ me, event, onDone }) {
  const [staffId, setStaffId] = useState('');
  const [override, setOverride] = useState(false);
  const act = useAction();
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const body = { staffId };
      if (override) body.audienceOverride = true;
      const r = await api('POST', `/events/${event.id}/registrations`, { body });
      onDone(r);
      return r;
    }, (r) => (r.status === 'waitlisted' ? `Сотрудник в листе ожидания: место № ${fmtNum(r.waitlistPosition)}` : 'Сотрудник записан'));
  };
  return html`<form class="form sub" onSubmit=${submit}>
    <h3>Записать сотрудника</h3>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    <${StaffPicker} me=${me} label="Сотрудник" value=${staffId} onChange=${setStaffId} />
    ${can.organizeEvents(me) && me.role !== 'school_admin'
      ? html`<${Checkbox} label="Записать вне аудитории мероприятия" checked=${override} onChange=${setOverride} />` : null}
    <button type="submit" disabled=${act.busy || !staffId}>Записать сотрудника</button>
  </form>`;
}

function Participants({ me, event, organizer }) {
  const query = me.role === 'school_admin' ? { organizationId: me.scope.id } : {};
  const [status, setStatus] = useState('');
  const list = useList(`/events/${event.id}/registrations`, { ...query, status }, { limit: 50 });
  const people = useRecords((list.items || []).map((r) => r.staffId), (id) => `/staff/${id}`, record);
  const [marks, setMarks] = useState({});
  const act = useAction();
  const started = new Date(event.startsAt) <= new Date();
  const canMark = organizer && started && (event.status === 'published' || event.status === 'finished');
  const markable = (list.items || []).filter((r) => ['registered', 'attended', 'absent'].includes(r.status));
  const attended = (r) => (marks[r.id] !== undefined ? marks[r.id] : r.status === 'attended');
  const save = () => act.run(async () => {
    const out = await api('POST', `/events/${event.id}/attendance`, {
      body: { marks: markable.map((r) => ({ registrationId: r.id, attended: attended(r) })) } });
    setMarks({});
    list.reload();
    return out;
  }, (out) => `Посещение отмечено: ${fmtNum((out.items || []).length)}${(out.failures || []).length
    ? `, не отмечено ${fmtNum(out.failures.length)}: ${out.failures.map((f) => f.message).join('; ')}` : ''}${
    out.routeItemsDone ? `; закрыто пунктов маршрутов: ${fmtNum(out.routeItemsDone)}` : ''}`);
  return html`<section class="card"><h2>Участники</h2>
    <div class="filter-row">
      <${Select} label="Состояние записи" value=${status} onChange=${setStatus} empty="все"
        options=${Object.entries(REGISTRATION_STATUSES)} />
      <a class="button secondary" href=${`/api/v1/events/${event.id}/registrations.csv${qs(query)}`} download>Участники в CSV</a>
    </div>
    <${ErrorBox} error=${list.error || act.error} /><${Notice} text=${act.done} />
    <${Table} empty="Записей нет" columns=${[
      { title: 'Участник', render: (r) => { const s = people.get(r.staffId); return s ? personName(s) : r.staffId; } },
      { title: 'Запись', render: (r) => `${label(REGISTRATION_STATUSES, r.status)}${r.status === 'waitlisted' ? ` (№ ${fmtNum(r.waitlistPosition)})` : ''}` },
      { title: 'Когда', render: (r) => fmtDate(r.createdAt, true) },
      ...(canMark ? [{ title: 'Посетил(а)', render: (r) => (['registered', 'attended', 'absent'].includes(r.status)
        ? html`<input type="checkbox" checked=${attended(r)} aria-label=${`Посетил(а): ${people.get(r.staffId) ? personName(people.get(r.staffId)) : r.staffId}`}
          onChange=${(e) => setMarks({ ...marks, [r.id]: e.currentTarget.checked })} />` : '—') }] : []),
    ]} rows=${list.items} />
    <${Pager} list=${list} />
    ${canMark && markable.length ? html`<div class="actions">
      <button type="button" class="secondary" onClick=${() => setMarks(Object.fromEntries(markable.map((r) => [r.id, true])))}>Отметить всех</button>
      <button type="button" onClick=${save} disabled=${act.busy}>Сохранить посещение (${fmtNum(markable.length)})</button>
    </div>` : null}
    ${organizer && !started ? html`<p class="muted">Посещение отмечается после начала мероприятия.</p>` : null}
  </section>`;
}

export function EventPage({ me, params }) {
  const [id] = params;
  const loaded = useLoad(() => api('GET', `/events/${id}`), [id]);
  const [current, setCurrent] = useState(null);
  const [editing, setEditing] = useState(false);
  const [reason, setReason] = useState('');
  const names = useLookup(competences);
  const mine = useLoad(() => (me.staffId
    ? api('GET', `/staff/${me.staffId}/registrations`, { query: { eventId: id } }) : Promise.resolve({ items: [] })), [id, current && current.version]);
  const act = useAction();
  const e = (current && current.id === id && current) || loaded.data;
  const organizer = can.organizeEvents(me);
  const planId = e && e.planId;
  const plan = useLoad(() => (planId ? record(`/event-plans/${planId}`) : Promise.resolve(null)), [planId]);
  const [message, setMessage] = useState('');
  const update = (out, text) => {
    forgetRecord(`/events/${id}`);
    setCurrent(out);
    setEditing(false);
    setMessage(text || '');
  };
  const verb = (v, body, text) => act.run(async () => update(await api('POST', `/events/${id}/${v}`, { body, ifMatch: e.version }), text));
  const refresh = () => act.run(async () => setCurrent(await api('GET', `/events/${id}`)));
  const myReg = ((mine.data && mine.data.items) || []).find((r) => r.status !== 'cancelled');
  const cancelMine = () => act.run(async () => {
    await api('POST', `/registrations/${myReg.id}/cancel`, { body: {}, ifMatch: myReg.version });
    update(await api('GET', `/events/${id}`), 'Запись отменена');
  });
  const started = e && new Date(e.startsAt) <= new Date();
  return html`<${Page} title=${e ? e.title : 'Мероприятие'}>
    <${ErrorBox} error=${loaded.error} /><${ErrorBox} error=${act.error} /><${Notice} text=${message} />
    ${e ? html`<section class="card">
      <dl class="facts">
        <dt>Вид</dt><dd>${label(EVENT_TYPES, e.type)}, ${label(LEVELS, e.level)} уровень</dd>
        <dt>Состояние</dt><dd><strong class=${`status ${e.status}`}>${label(EVENT_STATUSES, e.status)}</strong>${e.cancelReason ? ` — ${e.cancelReason}` : ''}</dd>
        <dt>Когда</dt><dd>${when(e)}</dd>
        <dt>Где</dt><dd>${e.venue || ''}${e.venue && e.onlineUrl ? '; ' : ''}${e.onlineUrl ? html`<a href=${e.onlineUrl} rel="noopener noreferrer">${e.onlineUrl}</a>` : ''}${!e.venue && !e.onlineUrl ? '—' : ''}</dd>
        <dt>Записано</dt><dd>${seats(e)}</dd>
        ${e.registrationDeadline ? html`<dt>Запись до</dt><dd>${fmtDate(e.registrationDeadline, true)}</dd>` : null}
        <dt>Для кого</dt><dd>${((e.audience && e.audience.subjects) || []).map((s) => label(SUBJECTS, s)).join(', ') || 'для всех предметов'}${e.audience && e.audience.youngTeachersOnly ? '; молодые педагоги до 35 лет' : ''}</dd>
        <dt>Компетенции</dt><dd>${(e.competences || []).map((c) => (names && names.get(c)) || c).join('; ') || '—'}</dd>
        ${e.planId ? html`<dt>План</dt><dd>${organizer ? html`<${Link} href=${`/event-plans/${e.planId}`}>${(plan.data && plan.data.title) || e.planId}</${Link}>`
          : (plan.data && plan.data.title) || 'план мероприятий'}</dd>` : null}
        ${e.description ? html`<dt>Описание</dt><dd>${e.description}</dd>` : null}
      </dl>
      ${organizer ? html`<div class="actions">
        ${e.status === 'draft' ? html`<button type="button" disabled=${act.busy}
          onClick=${() => verb('publish', {}, 'Мероприятие опубликовано: запись открыта')}>Опубликовать</button>` : null}
        ${e.status === 'published' && started ? html`<button type="button" class="secondary" disabled=${act.busy}
          onClick=${() => verb('finish', {}, 'Мероприятие завершено')}>Завершить</button>` : null}
        ${e.status === 'draft' || e.status === 'published' ? html`<button type="button" class="secondary"
          onClick=${() => setEditing(!editing)} aria-expanded=${editing}>Изменить</button>` : null}
      </div>
      ${e.status === 'published' ? html`<form class="inline-form labelled" onSubmit=${(ev) => {
        ev.preventDefault(); verb('cancel', { reason }, 'Мероприятие отменено');
      }}><${Input} label="Причина отмены" value=${reason} onInput=${setReason} required />
        <button type="submit" class="danger" disabled=${act.busy}>Отменить мероприятие</button></form>` : null}` : null}
      ${myReg ? html`<p>Ваша запись: <strong>${label(REGISTRATION_STATUSES, myReg.status)}</strong>${myReg.status === 'waitlisted'
        ? `, место в листе ожидания № ${fmtNum(myReg.waitlistPosition)}` : ''}
        ${['registered', 'waitlisted'].includes(myReg.status) ? html` <button type="button" class="secondary small"
          onClick=${cancelMine} disabled=${act.busy}>Отменить запись</button>` : null}</p>` : null}
      ${can.registerSelf(me) && !myReg && e.status === 'published' && !started && mine.data
        ? html`<${Register} event=${e} who="Вы" onDone=${refresh} />` : null}
      ${can.registerStaff(me) && e.status === 'published' ? html`<${RegisterStaff} me=${me} event=${e} onDone=${refresh} />` : null}
    </section>
    ${editing ? html`<${EventForm} me=${me} event=${e} onSaved=${(out) => update(out, 'Мероприятие изменено')} />` : null}
    ${can.registerStaff(me) && e.status !== 'draft' ? html`<${Participants} key=${e.version} me=${me} event=${e}
      organizer=${organizer} />` : null}` : null}
  </${Page}>`;
}

// ---- panels of other screens ----

// A person's registrations with their events (the cabinet, the teacher's card).
export function StaffRegistrations({ staffId }) {
  const list = useList(`/staff/${staffId}/registrations`, {});
  const events = useRecords((list.items || []).map((r) => r.eventId), (id) => `/events/${id}`, record);
  return html`<${ErrorBox} error=${list.error} />
    <${Table} caption="Записи на мероприятия" empty="Записей на мероприятия нет" columns=${[
      { title: 'Мероприятие', render: (r) => { const e = events.get(r.eventId); return html`<${Link} href=${`/events/${r.eventId}`}>${e ? e.title : r.eventId}</${Link}>`; } },
      { title: 'Когда', render: (r) => { const e = events.get(r.eventId); return e ? when(e) : '—'; } },
      { title: 'Запись', render: (r) => `${label(REGISTRATION_STATUSES, r.status)}${r.status === 'waitlisted' ? ` (место № ${fmtNum(r.waitlistPosition)})` : ''}` },
    ]} rows=${list.items} />
    <${Pager} list=${list} />`;
}

// Published events not yet begun, to register for (the teacher's cabinet).
export function EventsToRegister({ me, subjects = [], onRegistered }) {
  const list = useList('/events', { status: 'published', from: todayIso() }, { limit: 10 });
  const [tick, setTick] = useState(0);
  const mine = useLoad(() => listAll(`/staff/${me.staffId}/registrations`), [me.staffId, tick]);
  const [done, setDone] = useState('');
  const act = useAction();
  const register = (e) => act.run(async () => {
    const r = await api('POST', `/events/${e.id}/registrations`, { body: {} });
    setDone(r.status === 'waitlisted' ? `«${e.title}»: вы в листе ожидания, место № ${fmtNum(r.waitlistPosition)}`
      : `«${e.title}»: вы записаны`);
    setTick((t) => t + 1);
    onRegistered();
  });
  // not begun, not already registered for, and for one of the person's subjects (or for all)
  const taken = new Set((mine.data || []).filter((r) => r.status !== 'cancelled').map((r) => r.eventId));
  const fits = (e) => {
    const want = (e.audience && e.audience.subjects) || [];
    return !want.length || want.some((x) => subjects.includes(x));
  };
  const upcoming = (list.items || []).filter((e) => new Date(e.startsAt) > new Date() && !taken.has(e.id) && fits(e));
  return html`<${ErrorBox} error=${list.error || act.error} /><${Notice} text=${done} />
    <${Table} caption="Можно записаться" empty="Открытых для записи мероприятий нет" columns=${[
      { title: 'Мероприятие', render: (e) => html`<${Link} href=${`/events/${e.id}`}>${e.title}</${Link}>` },
      { title: 'Когда', render: when },
      { title: 'Места', num: true, render: seats },
      { title: '', render: (e) => html`<button type="button" class="small" disabled=${act.busy}
        aria-label=${`Записаться: ${e.title}`} onClick=${() => register(e)}>Записаться</button>` },
    ]} rows=${list.items && mine.data ? upcoming : null} />
    ${list.loading ? html`<p class="loading" role="status">Загрузка…</p>` : null}
    ${list.next && !list.loading ? html`<p class="count"><button type="button" class="secondary" onClick=${list.more}>Показать ещё</button></p>` : null}`;
}

// This month's events (the dashboard).
export function MonthEvents() {
  const now = new Date();
  const first = new Date(now.getFullYear(), now.getMonth(), 1);
  const last = new Date(now.getFullYear(), now.getMonth() + 1, 0);
  const events = useLoad(() => listAll('/events', { from: isoDay(first), to: isoDay(last) }), []);
  if (events.error) return html`<section class="card wide"><h2>Мероприятия месяца</h2><${ErrorBox} error=${events.error} /></section>`;
  const items = (events.data || []).filter((e) => e.status !== 'cancelled');
  return html`<section class="card wide"><h2>Мероприятия месяца: ${MONTHS[now.getMonth()]}</h2>
    ${events.loading && !events.data ? html`<p class="loading" role="status">Загрузка…</p>` : html`
      <${Table} empty="В этом месяце мероприятий нет" columns=${[
        { title: 'Дата', render: (e) => fmtDate(e.startsAt) },
        { title: 'Мероприятие', render: (e) => html`<${Link} href=${`/events/${e.id}`}>${e.title}</${Link}>${e.status === 'draft' ? html` <span class="tag">черновик</span>` : null}` },
        { title: 'Записано', num: true, render: seats },
      ]} rows=${items} />
      <p><${Link} href="/events">Календарь мероприятий</${Link}></p>`}
  </section>`;
}
