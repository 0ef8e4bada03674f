// staff.js — staff search and the teacher's card: organizations, subjects, qualification history,
// memberships, the competence profile as a chart, and the route (ИОМ) with its items' states; building,
// approving and working through the route for the roles that may.
import { useState } from 'preact/hooks';
import { api, listAll } from '../api.js';
import { html, Page, Table, Pager, useList, ErrorBox, Notice, Input, Select, useAction, Link, Checkbox } from '../ui.js';
import { RoutePanel } from './route.js';
import { ChartBox } from '../charts.js';
import { fmtDate, fmtNum, fmtPercent, personName, todayIso } from '../format.js';
import { useLoad, useLookup } from '../hooks.js';
import { organizations, competences, associations } from '../lookups.js';
import {
  CATEGORIES, POSITIONS, QUALIFICATION, SUBJECTS, label,
} from '../labels.js';
import { can } from '../roles.js';
import { ExportLink } from './registry.js';
import { StaffRegistrations } from './events.js';
import { StaffMentoring } from './mentoring.js';

export function StaffSearch({ me }) {
  const [q, setQ] = useState('');
  const [draft, setDraft] = useState('');
  const [org, setOrg] = useState('');
  const [category, setCategory] = useState('');
  const [reserve, setReserve] = useState('');
  const [due, setDue] = useState('');
  const orgs = useLookup(organizations);
  const query = { q, organizationId: org, category, personnelReserve: reserve, attestationDueBefore: due };
  const list = useList('/staff', query);
  const orgOptions = orgs ? [...orgs.values()].map((o) => [o.id, o.shortName || o.name]) : [];
  return html`<${Page} title="Кадры" actions=${html`<${ExportLink} kind="staff" query=${query} />`}>
    <form class="filter-row" role="search" onSubmit=${(e) => { e.preventDefault(); setQ(draft); }}>
      <${Input} label="Начало фамилии" hint="например «Кажар»" value=${draft} onInput=${setDraft} type="search" />
      <${Select} label="Организация" value=${org} onChange=${setOrg} empty="все организации" options=${orgOptions} />
      <${Select} label="Категория" value=${category} onChange=${setCategory} empty="все" options=${Object.entries(CATEGORIES)} />
      <${Select} label="Кадровый резерв" value=${reserve} onChange=${setReserve} empty="все" options=${[['true', 'в резерве'], ['false', 'не в резерве']]} />
      <${Input} label="Аттестация не позже" type="date" value=${due} onInput=${setDue} />
      <button type="submit">Найти</button>
    </form>
    <${ErrorBox} error=${list.error} />
    <${Table} columns=${[
      { title: 'ФИО', render: (s) => html`<${Link} href=${`/staff/${s.id}`}>${personName(s)}</${Link}>` },
      { title: 'Должность', render: (s) => label(POSITIONS, s.position) },
      { title: 'Предметы', render: (s) => (s.subjects || []).map((c) => label(SUBJECTS, c)).join(', ') || '—' },
      { title: 'Организация', render: (s) => (s.organizationIds || []).map((id) => (orgs && orgs.get(id)?.shortName) || id).join(', ') },
      { title: 'Аттестация до', render: (s) => fmtDate(s.nextAttestationDue) },
    ]} rows=${list.items} />
    <${Pager} list=${list} />
  </${Page}>`;
}

export function CompetenceProfile({ staffId }) {
  const profile = useLoad(() => api('GET', `/staff/${staffId}/competence-profile`), [staffId]);
  const names = useLookup(competences);
  if (profile.loading && profile.data === undefined) return html`<p class="loading" role="status">Загрузка профиля…</p>`;
  if (profile.error) {
    return profile.error.status === 404
      ? html`<p class="empty">Диагностику ещё не проходил(а): профиля компетенций нет.</p>`
      : html`<${ErrorBox} error=${profile.error} />`;
  }
  const p = profile.data;
  const latest = p.latest;
  if (!latest) return html`<p class="empty">Диагностику ещё не проходил(а): профиля компетенций нет.</p>`;
  const name = (c) => (names && names.get(c)) || c;
  const scores = latest.scores || [];
  const previous = (p.history || [])[1];
  const datasets = [{ label: `Результат ${fmtDate(latest.completedAt)}`, data: scores.map((s) => s.percent || 0) }];
  if (previous) {
    const prev = new Map((previous.scores || []).map((s) => [s.competence, s.percent || 0]));
    datasets.push({ label: `Предыдущий ${fmtDate(previous.completedAt)}`, data: scores.map((s) => prev.get(s.competence) ?? 0) });
  }
  datasets.push({ label: 'Порог дефицита', data: scores.map((s) => s.thresholdPercent || 0), color: '#c0392b' });
  return html`<div class="profile">
    <${ChartBox} title="Профиль компетенций, % от максимума" labels=${scores.map((s) => name(s.competence))}
      datasets=${datasets} unit="%" max=${100} horizontal=${true} />
    <div class="tags">
      <h3>Дефициты</h3>
      ${(p.deficits || []).length ? html`<ul>${p.deficits.map((c) => html`<li class="tag deficit">${name(c)}</li>`)}</ul>` : html`<p class="muted">нет</p>`}
      <h3>Сильные стороны</h3>
      ${(p.strengths || []).length ? html`<ul>${p.strengths.map((c) => html`<li class="tag strength">${name(c)}</li>`)}</ul>` : html`<p class="muted">нет</p>`}
    </div>
    <${Table} caption="Баллы по компетенциям" columns=${[
      { title: 'Компетенция', render: (s) => name(s.competence) },
      { title: 'Баллы', num: true, render: (s) => `${fmtNum(s.points || 0)} из ${fmtNum(s.maxPoints)}` },
      { title: 'Процент', num: true, render: (s) => fmtPercent(s.percent || 0) },
      { title: 'Оценка', render: (s) => (s.deficit ? 'дефицит' : s.strength ? 'сильная сторона' : 'норма') },
    ]} rows=${scores} rowKey=${(s) => s.competence} />
  </div>`;
}

export { RoutePanel } from './route.js';

function NewQualification({ staffId, onCreated }) {
  const programmes = useLookup(() => listAll('/programmes'));
  const [form, setForm] = useState({ programmeId: '', programmeTitle: '', completedOn: todayIso(), hours: '', documentNumber: '' });
  const act = useAction();
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const record = { staffId, completedOn: form.completedOn, source: 'manual' };
      if (form.programmeId) record.programmeId = form.programmeId;
      if (form.programmeTitle) record.programmeTitle = form.programmeTitle;
      if (form.hours) record.hours = Number(form.hours);
      if (form.documentNumber) record.documentNumber = form.documentNumber;
      const r = await api('POST', '/qualification-records', { body: record });
      setForm({ ...form, programmeTitle: '', documentNumber: '', hours: '' });
      onCreated();
      return r;
    }, 'Запись о повышении квалификации добавлена');
  };
  return html`<form class="form sub" onSubmit=${submit}>
    <h3>Добавить запись</h3>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    <${Select} label="Программа из каталога" value=${form.programmeId} onChange=${set('programmeId')}
      empty="вне каталога" options=${(programmes || []).map((p) => [p.id, `${p.title} (${fmtNum(p.hours)} ч)`])} />
    ${form.programmeId ? null : html`<${Input} label="Название программы" value=${form.programmeTitle} onInput=${set('programmeTitle')} required />`}
    <${Input} label="Дата окончания" type="date" value=${form.completedOn} onInput=${set('completedOn')} required />
    <${Input} label="Часов" type="number" min="1" max="3000" value=${form.hours} onInput=${set('hours')}
      required=${!form.programmeId} hint=${form.programmeId ? 'по умолчанию — объём программы' : undefined} />
    <${Input} label="Номер удостоверения" value=${form.documentNumber} onInput=${set('documentNumber')} />
    <button type="submit" disabled=${act.busy}>Добавить запись</button>
  </form>`;
}

export function Qualification({ staffId, canAdd }) {
  const list = useList(`/staff/${staffId}/qualification-records`, {});
  return html`<${ErrorBox} error=${list.error} />
    <${Table} caption="История повышения квалификации" empty="Записей о повышении квалификации нет" columns=${[
      { title: 'Программа', key: 'programmeTitle' },
      { title: 'Окончено', render: (q) => fmtDate(q.completedOn) },
      { title: 'Часов', num: true, render: (q) => fmtNum(q.hours) },
      { title: 'Удостоверение', render: (q) => q.documentNumber || '—' },
    ]} rows=${list.items} />
    <${Pager} list=${list} />
    ${canAdd ? html`<${NewQualification} staffId=${staffId} onCreated=${list.reload} />` : null}`;
}

export function Person({ s, orgs }) {
  return html`<dl class="facts">
    <dt>Должность</dt><dd>${label(POSITIONS, s.position)} (${label(CATEGORIES, s.category)})</dd>
    <dt>Организации</dt><dd>${(s.organizationIds || []).map((id) => (orgs && orgs.get(id)?.name) || id).join('; ') || '—'}</dd>
    <dt>Предметы</dt><dd>${(s.subjects || []).map((c) => label(SUBJECTS, c)).join(', ') || '—'}</dd>
    <dt>Квалификационная категория</dt><dd>${label(QUALIFICATION, s.qualificationCategory)}</dd>
    <dt>Дата рождения</dt><dd>${fmtDate(s.birthDate)}</dd>
    <dt>Педагогический стаж с</dt><dd>${fmtDate(s.professionStartDate)}</dd>
    <dt>Категория присвоена</dt><dd>${fmtDate(s.qualificationCategoryDate)}</dd>
    <dt>Следующая аттестация</dt><dd>${s.nextAttestationDue ? `до ${fmtDate(s.nextAttestationDue)}` : '—'}</dd>
    ${s.category === 'manager' ? html`<dt>Назначен руководителем</dt><dd>${fmtDate(s.appointedOn)}</dd>` : null}
    <dt>Кадровый резерв руководителей</dt><dd>${s.personnelReserve ? 'в резерве' : 'нет'}</dd>
  </dl>`;
}

// The history of posts (employment) and the attestation fields a school or the municipality keeps
// (PATCH /staff/{id} with If-Match; the next attestation date is the registry's own).
function Attestation({ s, orgs, canEdit, onSaved }) {
  const [form, setForm] = useState({
    qualificationCategory: s.qualificationCategory || 'none', qualificationCategoryDate: s.qualificationCategoryDate || '',
    personnelReserve: Boolean(s.personnelReserve),
  });
  const act = useAction();
  const save = (e) => {
    e.preventDefault();
    act.run(async () => {
      const u = await api('PATCH', `/staff/${s.id}`, { body: form, ifMatch: s.version });
      onSaved(u);
      return u;
    },
      (u) => (u.nextAttestationDue ? `Сохранено: следующая аттестация до ${fmtDate(u.nextAttestationDue)}` : 'Сохранено'));
  };
  return html`<${Table} caption="История должностей" empty="История должностей не заполнена" rowKey=${(e) => `${e.organizationId}${e.from}`}
      rows=${s.employment || []} columns=${[
      { title: 'Организация', render: (e) => (orgs && orgs.get(e.organizationId)?.name) || e.organizationId },
      { title: 'Должность', render: (e) => label(POSITIONS, e.position) },
      { title: 'С', render: (e) => fmtDate(e.from) },
      { title: 'По', render: (e) => (e.to ? fmtDate(e.to) : 'по настоящее время') },
    ]} />
    ${canEdit ? html`<form class="form" onSubmit=${save}>
      <h3>Аттестация и резерв</h3>
      <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
      <${Select} label="Квалификационная категория" value=${form.qualificationCategory}
        onChange=${(v) => setForm({ ...form, qualificationCategory: v })} options=${Object.entries(QUALIFICATION)} />
      <${Input} label="Дата присвоения категории" type="date" value=${form.qualificationCategoryDate}
        onInput=${(v) => setForm({ ...form, qualificationCategoryDate: v })} />
      <${Checkbox} label="В кадровом резерве руководителей" checked=${form.personnelReserve}
        onChange=${(v) => setForm({ ...form, personnelReserve: v })} />
      <button type="submit" disabled=${act.busy}>Сохранить аттестацию</button>
    </form>` : null}`;
}

function Memberships({ staffId }) {
  const list = useList(`/staff/${staffId}/memberships`, {});
  const names = useLookup(associations);
  return html`<${Table} caption="Членство в объединениях" empty="Не состоит в объединениях" columns=${[
    { title: 'Объединение', render: (m) => (names && names.get(m.associationId)?.name) || m.associationId },
    { title: 'С', render: (m) => fmtDate(m.joinedOn) },
    { title: 'По', render: (m) => (m.leftOn ? fmtDate(m.leftOn) : 'состоит') },
  ]} rows=${list.items} />`;
}

export function StaffCard({ me, params }) {
  const [id] = params;
  const staff = useLoad(() => api('GET', `/staff/${id}`), [id]);
  const orgs = useLookup(can.seeRegistry(me) ? organizations : async () => null);
  const [saved, setSaved] = useState(null);
  const s = saved || staff.data;
  return html`<${Page} title=${s ? personName(s) : 'Карточка сотрудника'}>
    <${ErrorBox} error=${staff.error} />
    ${s ? html`
      <section class="card"><h2>Сведения</h2><${Person} s=${s} orgs=${orgs} /></section>
      <section class="card"><h2>Должности и аттестация</h2><${Attestation} s=${s} orgs=${orgs}
        canEdit=${can.editStaff(me)} onSaved=${setSaved} /></section>
      <section class="card"><h2>Профиль компетенций</h2><${CompetenceProfile} staffId=${id} /></section>
      <section class="card"><h2>Индивидуальный образовательный маршрут</h2><${RoutePanel} me=${me} staffId=${id} /></section>
      <section class="card"><h2>Повышение квалификации</h2><${Qualification} staffId=${id} canAdd=${can.editStaff(me)} /></section>
      <section class="card"><h2>Объединения</h2><${Memberships} staffId=${id} /></section>
      <section class="card"><h2>Наставничество</h2><${StaffMentoring} me=${me} staffId=${id} /></section>
      <section class="card"><h2>Мероприятия</h2><${StaffRegistrations} staffId=${id} /></section>` : null}
  </${Page}>`;
}
