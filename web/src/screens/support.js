// support.js — the registry's records of methodological help (docs/regulations.md): requests for help
// (a school or a teacher asks, the methodologist answers — POST /help-requests/{id}/status), the journal of
// consultations, and the decisions and recommendations of methodological councils with their execution.
// Lists with the API's cursors and filters, create forms for the roles that write them.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, Page, Table, Pager, useList, ErrorBox, Notice, Input, Select, useAction, Link } from '../ui.js';
import { fmtDate, fmtNum, todayIso } from '../format.js';
import { useLoad, useLookup } from '../hooks.js';
import { organizations } from '../lookups.js';
import { can } from '../roles.js';
import {
  HELP_URGENCY, HELP_STATUSES, HELP_ANSWER_KINDS, ASKERS, CONSULTATION_FORMS, DECISION_KINDS, DECISION_STATUSES, label,
} from '../labels.js';
import { ExportLink } from './registry.js';
import { StaffPicker } from './events.js';

const orgName = (orgs, id) => (id ? (orgs && (orgs.get(id)?.shortName || orgs.get(id)?.name)) || id : '—');

// ---- requests for methodological help ----

function NewHelpRequest({ me, onCreated }) {
  const [form, setForm] = useState({ topic: '', description: '', urgency: 'normal' });
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const act = useAction();
  const create = (e) => {
    e.preventDefault();
    act.run(async () => {
      const body = { ...form };
      if (me.role === 'teacher') body.staffId = me.staffId;
      else body.organizationId = me.scope.id;
      const r = await api('POST', '/help-requests', { body });
      setForm({ ...form, topic: '', description: '' });
      onCreated(r);
      return r;
    }, 'Запрос на методическую помощь подан');
  };
  return html`<form class="card form" onSubmit=${create}>
    <h2>Запросить методическую помощь</h2>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    <${Input} label="Тема запроса" value=${form.topic} onInput=${set('topic')} required />
    <${Input} label="Что нужно" value=${form.description} onInput=${set('description')} />
    <${Select} label="Срочность" value=${form.urgency} onChange=${set('urgency')} options=${Object.entries(HELP_URGENCY)} />
    <button type="submit" disabled=${act.busy}>Подать запрос</button>
  </form>`;
}

function HelpActions({ me, r, onChanged }) {
  const [kind, setKind] = useState('consultation');
  const [refId, setRefId] = useState('');
  const [note, setNote] = useState('');
  const act = useAction();
  const run = (body, message) => act.run(async () => {
    const out = await api('POST', `/help-requests/${r.id}/status`, { body, ifMatch: r.version });
    setNote('');
    setRefId('');
    onChanged(out);
  }, message);
  const answerable = can.answerHelp(me) && r.status !== 'closed';
  return html`<div>
    ${answerable ? html`<form class="inline-form" onSubmit=${(e) => { e.preventDefault(); run({ action: 'answer', kind, refId, note }, 'Ответ записан'); }}>
      <${Select} label=${`Чем ответить: ${r.topic}`} value=${kind} onChange=${setKind} options=${Object.entries(HELP_ANSWER_KINDS)} />
      <${Input} label="Номер записи (консультации, мероприятия…)" value=${refId} onInput=${setRefId} placeholder="номер записи, напр. 07-n3" />
      <${Input} label="Пояснение к ответу" value=${note} onInput=${setNote} placeholder="пояснение к ответу" />
      <button type="submit" class="secondary" disabled=${act.busy}>Ответить</button>
    </form>` : null}
    ${r.status !== 'closed'
      ? html`<button type="button" class="secondary" disabled=${act.busy} onClick=${() => run({ action: 'close' }, 'Запрос закрыт')}>${`Закрыть запрос: ${r.topic}`}</button>`
      : html`<button type="button" class="secondary" disabled=${act.busy} onClick=${() => run({ action: 'reopen' }, 'Запрос открыт снова')}>${`Открыть снова: ${r.topic}`}</button>`}
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
  </div>`;
}

export function HelpRequests({ me }) {
  const [status, setStatus] = useState('');
  const query = { status, staffId: me.role === 'teacher' ? me.staffId : undefined };
  const list = useList('/help-requests', query);
  const orgs = useLookup(can.seeRegistry(me) ? organizations : async () => null);
  const [changed, setChanged] = useState({});
  const rows = list.items && list.items.map((r) => changed[r.id] || r);
  const [open, setOpen] = useState('');
  const current = rows && rows.find((r) => r.id === open);
  return html`<${Page} title="Запросы на методическую помощь" actions=${can.seeRegistry(me) ? html`<${ExportLink} kind="help-requests" query=${{ status }} />` : null}>
    <${Select} label="Состояние" value=${status} onChange=${setStatus} empty="все" options=${Object.entries(HELP_STATUSES)} />
    <${ErrorBox} error=${list.error} />
    <${Table} caption="Запросы" empty="Запросов нет" rows=${rows} columns=${[
      { title: 'Тема', render: (r) => html`${r.topic}${r.description ? html`<small class="hint">${r.description}</small>` : null}` },
      { title: 'Кто просит', render: (r) => (r.staffId ? html`<${Link} href=${`/staff/${r.staffId}`}>педагог ${r.staffId}</${Link}>` : orgName(orgs, r.organizationId)) },
      { title: 'Срочность', render: (r) => label(HELP_URGENCY, r.urgency) },
      { title: 'Подан', render: (r) => fmtDate(r.createdAt) },
      { title: 'Состояние', render: (r) => label(HELP_STATUSES, r.status) },
      { title: 'Ответы', render: (r) => ((r.answers || []).length
        ? html`<ul class="plain">${r.answers.map((a) => html`<li>${label(HELP_ANSWER_KINDS, a.kind)}${a.refId ? ` ${a.refId}` : ''}${a.note ? `: ${a.note}` : ''} (${fmtDate(a.at)})</li>`)}</ul>` : '—') },
      { title: '', render: (r) => html`<button type="button" class="secondary" aria-expanded=${open === r.id}
        onClick=${() => setOpen(open === r.id ? '' : r.id)}>${`Действия: ${r.topic}`}</button>` },
    ]} />
    <${Pager} list=${list} />
    ${current ? html`<section class="card"><h2>${current.topic}</h2>
      <${HelpActions} me=${me} r=${current} onChanged=${(u) => setChanged({ ...changed, [u.id]: u })} /></section>` : null}
    ${can.askHelp(me) ? html`<${NewHelpRequest} me=${me} onCreated=${() => list.reload()} />` : null}
  </${Page}>`;
}

// ---- the journal of consultations ----

function NewConsultation({ me, onCreated }) {
  const orgs = useLookup(organizations);
  const [form, setForm] = useState({
    asker: 'teacher', organizationId: '', askerStaffId: '', askerName: '', topic: '', form: 'in_person', consultantName: me.fullName,
    heldOn: todayIso(), durationMinutes: '30', summary: '',
  });
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const act = useAction();
  const create = (e) => {
    e.preventDefault();
    act.run(async () => {
      const body = { ...form, durationMinutes: Number(form.durationMinutes) || 0 };
      const org = orgs && orgs.get(form.organizationId);
      body.municipalityId = (org && org.municipalityId) || me.municipalityId || '';
      if (!['teacher', 'manager'].includes(body.asker)) body.askerStaffId = '';
      for (const k of ['organizationId', 'askerStaffId', 'askerName', 'summary']) if (!body[k]) delete body[k];
      if (!body.municipalityId) delete body.municipalityId;
      const c = await api('POST', '/consultations', { body });
      setForm({ ...form, topic: '', summary: '', askerName: '' });
      onCreated(c);
      return c;
    }, 'Консультация записана в журнал');
  };
  const options = orgs ? [...orgs.values()].filter((o) => !me.municipalityId || o.municipalityId === me.municipalityId)
    .map((o) => [o.id, o.shortName || o.name]) : [];
  return html`<form class="card form" onSubmit=${create}>
    <h2>Записать консультацию</h2>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    <${Select} label="Кто обратился" value=${form.asker} onChange=${set('asker')} options=${Object.entries(ASKERS)} />
    <${Select} label="Организация" value=${form.organizationId} onChange=${set('organizationId')} empty="не указана" options=${options} />
    ${['teacher', 'manager'].includes(form.asker) ? html`<${StaffPicker} me=${me} label="Обратившийся работник"
      value=${form.askerStaffId} onChange=${set('askerStaffId')} />` : null}
    <${Input} label="ФИО обратившегося (если его нет в реестре)" value=${form.askerName} onInput=${set('askerName')} />
    <${Input} label="Тема консультации" value=${form.topic} onInput=${set('topic')} required />
    <${Select} label="Форма" value=${form.form} onChange=${set('form')} options=${Object.entries(CONSULTATION_FORMS)} />
    <${Input} label="Кто консультировал" value=${form.consultantName} onInput=${set('consultantName')} required />
    <${Input} label="Дата" type="date" value=${form.heldOn} onInput=${set('heldOn')} required />
    <${Input} label="Продолжительность, мин" type="number" min="0" max="480" value=${form.durationMinutes} onInput=${set('durationMinutes')} />
    <${Input} label="Итог" value=${form.summary} onInput=${set('summary')} />
    <button type="submit" disabled=${act.busy}>Записать</button>
  </form>`;
}

export function Consultations({ me }) {
  const [form, setForm] = useState('');
  const list = useList('/consultations', { form });
  const orgs = useLookup(can.seeRegistry(me) ? organizations : async () => null);
  return html`<${Page} title="Журнал консультаций" actions=${can.seeRegistry(me) ? html`<${ExportLink} kind="consultations" query=${{ form }} />` : null}>
    <${Select} label="Форма консультации" value=${form} onChange=${setForm} empty="все" options=${Object.entries(CONSULTATION_FORMS)} />
    <${ErrorBox} error=${list.error} />
    <${Table} caption="Консультации" empty="Записей нет" rows=${list.items} columns=${[
      { title: 'Дата', render: (c) => fmtDate(c.heldOn) },
      { title: 'Тема', render: (c) => html`${c.topic}${c.summary ? html`<small class="hint">${c.summary}</small>` : null}` },
      { title: 'Кто обратился', render: (c) => `${label(ASKERS, c.asker)}${c.askerName ? `: ${c.askerName}` : ''}` },
      { title: 'Организация', render: (c) => orgName(orgs, c.organizationId) },
      { title: 'Форма', render: (c) => label(CONSULTATION_FORMS, c.form) },
      { title: 'Консультант', render: (c) => c.consultantName || c.consultantStaffId || '—' },
      { title: 'Мин', num: true, render: (c) => fmtNum(c.durationMinutes) },
    ]} />
    <${Pager} list=${list} />
    ${can.writeConsultations(me) ? html`<${NewConsultation} me=${me} onCreated=${() => list.reload()} />` : null}
  </${Page}>`;
}

// ---- the decisions and recommendations of methodological councils ----

function DecisionStatus({ d, onChanged }) {
  const [status, setStatus] = useState(d.status || 'assigned');
  const [note, setNote] = useState(d.executionNote || '');
  const act = useAction();
  const save = (e) => {
    e.preventDefault();
    act.run(async () => {
      const body = { status, executionNote: note };
      if (status === 'done') body.doneOn = d.doneOn || todayIso();
      onChanged(await api('PATCH', `/council-decisions/${d.id}`, { body, ifMatch: d.version }));
    }, 'Исполнение записано');
  };
  return html`<form class="inline-form" onSubmit=${save}>
    <${Select} label=${`Исполнение: ${d.text.slice(0, 40)}`} value=${status} onChange=${setStatus} options=${Object.entries(DECISION_STATUSES)} />
    <${Input} label="Как исполнено или почему нет" value=${note} onInput=${setNote} placeholder="как исполнено" />
    <button type="submit" class="secondary" disabled=${act.busy}>Сохранить</button>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
  </form>`;
}

function NewDecision({ councils, onCreated }) {
  const [form, setForm] = useState({ councilId: '', kind: 'decision', text: '', addressee: '', dueOn: '' });
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const act = useAction();
  const create = (e) => {
    e.preventDefault();
    act.run(async () => {
      const d = await api('POST', '/council-decisions', { body: form });
      setForm({ ...form, text: '', addressee: '' });
      onCreated(d);
      return d;
    }, (d) => `${label(DECISION_KINDS, d.kind)[0].toUpperCase()}${label(DECISION_KINDS, d.kind).slice(1)} записано, срок ${fmtDate(d.dueOn)}`);
  };
  return html`<form class="card form" onSubmit=${create}>
    <h2>Новое решение или рекомендация совета</h2>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    <${Select} label="Совет" value=${form.councilId} onChange=${set('councilId')} empty="выберите" required
      options=${councils.map((c) => [c.id, c.name])} />
    <${Select} label="Вид" value=${form.kind} onChange=${set('kind')} options=${Object.entries(DECISION_KINDS)} />
    <${Input} label="Текст решения" value=${form.text} onInput=${set('text')} required />
    <${Input} label="Адресат" value=${form.addressee} onInput=${set('addressee')} required hint="например, «руководители ОО», «РМО учителей математики»" />
    <${Input} label="Срок исполнения" type="date" value=${form.dueOn} onInput=${set('dueOn')} required />
    <button type="submit" disabled=${act.busy}>Записать решение</button>
  </form>`;
}

export function CouncilDecisions({ me }) {
  const [status, setStatus] = useState('');
  const [overdue, setOverdue] = useState('');
  const list = useList('/council-decisions', { status, overdue });
  const councils = useLoad(() => api('GET', '/councils', { query: { limit: 100 } }), []);
  const names = new Map(((councils.data && councils.data.items) || []).map((c) => [c.id, c.name]));
  const [changed, setChanged] = useState({});
  const rows = list.items && list.items.map((d) => changed[d.id] || d);
  return html`<${Page} title="Решения методических советов" actions=${html`<${ExportLink} kind="council-decisions" query=${{ status, overdue }} />`}>
    <div class="filter-row">
      <${Select} label="Исполнение" value=${status} onChange=${setStatus} empty="все" options=${Object.entries(DECISION_STATUSES)} />
      <${Select} label="Срок" value=${overdue} onChange=${setOverdue} empty="любой" options=${[['true', 'просрочены']]} />
    </div>
    <${ErrorBox} error=${list.error || councils.error} />
    <${Table} caption="Решения и рекомендации" empty="Решений нет" rows=${rows} columns=${[
      { title: 'Совет', render: (d) => names.get(d.councilId) || d.councilId },
      { title: 'Вид', render: (d) => label(DECISION_KINDS, d.kind) },
      { title: 'Текст', key: 'text' },
      { title: 'Адресат', key: 'addressee' },
      { title: 'Срок', render: (d) => fmtDate(d.dueOn) },
      { title: 'Исполнение', render: (d) => html`${label(DECISION_STATUSES, d.status)}${d.doneOn ? ` ${fmtDate(d.doneOn)}` : ''}` },
      ...(can.writeDecisions(me) ? [{ title: 'Отметить', render: (d) => html`<${DecisionStatus} d=${d} onChanged=${(u) => setChanged({ ...changed, [u.id]: u })} />` }] : []),
    ]} />
    <${Pager} list=${list} />
    ${can.writeDecisions(me) && councils.data ? html`<${NewDecision} councils=${councils.data.items || []} onCreated=${() => list.reload()} />` : null}
  </${Page}>`;
}
