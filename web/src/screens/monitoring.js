// monitoring.js — monitoring campaigns (services/monitoring, docs/monitoring.md): the region or the
// municipality creates a campaign from a form template, opens and closes it; the municipality's
// methodologist follows the progress per school and approves a report or returns it with a comment; a
// school administrator fills in the form of an open campaign (number, share, text, choice, expert score
// with its evidence), saves the draft, submits it and reads the returned comment.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, Page, Table, Pager, useList, ErrorBox, Notice, Input, Select, useAction, Link, useId, Field } from '../ui.js';
import { ChartBox } from '../charts.js';
import { fmtDate, fmtNum } from '../format.js';
import { useLoad, useLookup } from '../hooks.js';
import { organizations, municipalities } from '../lookups.js';
import { can } from '../roles.js';
import { CAMPAIGN_STATUSES, REPORT_STATUSES, ORGANIZATION_KINDS, FIELD_TYPES, label } from '../labels.js';

const reportStatus = (r) => (r && r.status) || 'not_started';

function schoolYear() {
  const d = new Date();
  const y = d.getMonth() >= 8 ? d.getFullYear() : d.getFullYear() - 1;
  return `${y}/${String((y + 1) % 100).padStart(2, '0')}`;
}

function NewCampaign({ me, onCreated }) {
  const templates = useLoad(() => api('GET', '/monitoring/form-templates'), []);
  const muns = useLookup(municipalities);
  const [form, setForm] = useState({
    title: '', period: schoolYear(), deadline: '', organizationKind: 'school', template: 'school-heads',
    municipalityId: me.role === 'municipal_methodologist' ? me.scope.id : '',
  });
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const act = useAction();
  const create = (e) => {
    e.preventDefault();
    act.run(async () => {
      const body = { ...form, deadline: `${form.deadline}T23:59:59+03:00` };
      if (!body.municipalityId) delete body.municipalityId;
      const c = await api('POST', '/monitoring/campaigns', { body });
      setForm({ ...form, title: '' });
      onCreated(c);
      return c;
    }, (c) => `Кампания «${c.title}» создана (черновик): откройте её, чтобы школы начали заполнять форму`);
  };
  const tpl = (templates.data && templates.data.items) || [];
  return html`<form class="card form" onSubmit=${create}>
    <h2>Новая кампания мониторинга</h2>
    <${ErrorBox} error=${act.error || templates.error} /><${Notice} text=${act.done} />
    <${Input} label="Название кампании" value=${form.title} onInput=${set('title')} required />
    <${Input} label="Период" value=${form.period} onInput=${set('period')} required hint="учебный год «2025/26» или календарный «2026»" />
    <${Input} label="Срок сдачи" type="date" value=${form.deadline} onInput=${set('deadline')} required hint="до 23:59 по Москве" />
    ${me.role === 'region_admin' ? html`<${Select} label="Муниципалитет" value=${form.municipalityId} onChange=${set('municipalityId')}
      empty="весь регион (региональная кампания)" options=${muns ? [...muns.values()].map((m) => [m.id, m.name]) : []} />` : null}
    <${Select} label="Охват: вид организаций" value=${form.organizationKind} onChange=${set('organizationKind')}
      empty="все организации" options=${Object.entries(ORGANIZATION_KINDS)} />
    <${Select} label="Форма (шаблон)" value=${form.template} onChange=${set('template')} options=${tpl.map((t) => [t.code, t.title])} />
    <button type="submit" disabled=${act.busy}>Создать кампанию</button>
  </form>`;
}

export function MonitoringCampaigns({ me }) {
  const [status, setStatus] = useState('');
  const list = useList('/monitoring/campaigns', { status });
  const muns = useLookup(municipalities);
  return html`<${Page} title="Мониторинг">
    <p class="muted">${me.role === 'school_admin'
      ? 'Кампании, в которых ваша школа заполняет форму мониторинга.'
      : 'Кампании мониторинга: школы заполняют форму, муниципалитет утверждает отчёты, при закрытии значения замораживаются в снимке.'}</p>
    <${Select} label="Состояние" value=${status} onChange=${setStatus} empty="все" options=${Object.entries(CAMPAIGN_STATUSES)} />
    <${ErrorBox} error=${list.error} />
    <${Table} caption="Кампании мониторинга" empty="Кампаний пока нет" rows=${list.items} columns=${[
      { title: 'Кампания', render: (c) => html`<${Link} href=${`/monitoring/${c.id}`}>${c.title}</${Link}>` },
      { title: 'Период', key: 'period' },
      { title: 'Чья', render: (c) => (c.municipalityId ? (muns && muns.get(c.municipalityId)?.name) || c.municipalityId : 'региональная') },
      { title: 'Срок сдачи', render: (c) => fmtDate(c.deadline, true) },
      { title: 'Состояние', render: (c) => label(CAMPAIGN_STATUSES, c.status) },
      { title: 'Школ в охвате', num: true, render: (c) => (c.status === 'draft' ? '—' : fmtNum(c.requiredCount)) },
    ]} />
    <${Pager} list=${list} />
    ${can.manageMonitoring(me) ? html`<${NewCampaign} me=${me} onCreated=${() => list.reload()} />` : null}
  </${Page}>`;
}

// ---- a school's form ----

function FieldInput({ field, value, onChange, disabled }) {
  const id = useId('mf');
  const v = value || { code: field.code, value: '', evidence: '' };
  const set = (k) => (x) => onChange({ ...v, [k]: x });
  const title = `${field.title}${field.required ? ' *' : ''}`;
  if (field.type === 'choice') {
    return html`<${Field} label=${title} id=${id} hint=${field.hint}>
      <select id=${id} value=${v.value} disabled=${disabled} onChange=${(e) => set('value')(e.currentTarget.value)}>
        <option value="">не выбрано</option>
        ${(field.options || []).map((o) => html`<option value=${o}>${o}</option>`)}
      </select></${Field}>`;
  }
  if (field.type === 'text') {
    return html`<${Field} label=${title} id=${id} hint=${field.hint}>
      <textarea id=${id} value=${v.value} disabled=${disabled} maxlength="4000" onInput=${(e) => set('value')(e.currentTarget.value)}></textarea></${Field}>`;
  }
  if (field.type === 'expert_score') {
    const eid = `${id}-e`;
    return html`<fieldset class="expert"><legend>${title}</legend>
      ${field.hint ? html`<small class="hint">${field.hint}</small>` : null}
      <${Field} label=${`Оценка (0–${field.maxScore})`} id=${id}>
        <select id=${id} value=${v.value} disabled=${disabled} onChange=${(e) => set('value')(e.currentTarget.value)}>
          <option value="">не выбрана</option>
          ${Array.from({ length: (field.maxScore || 0) + 1 }, (_, i) => html`<option value=${String(i)}>${i}</option>`)}
        </select></${Field}>
      <${Field} label="Подтверждение (документ, ссылка или описание)" id=${eid}>
        <textarea id=${eid} value=${v.evidence} disabled=${disabled} onInput=${(e) => set('evidence')(e.currentTarget.value)}></textarea></${Field}>
    </fieldset>`;
  }
  const hint = field.type === 'share' ? 'от 0 до 100 %' : field.min < field.max ? `от ${fmtNum(field.min)} до ${fmtNum(field.max)}` : field.hint;
  return html`<${Field} label=${`${title}${field.type === 'share' ? ', %' : ''}`} id=${id} hint=${hint}>
    <input id=${id} inputmode="decimal" value=${v.value} disabled=${disabled} onInput=${(e) => set('value')(e.currentTarget.value)} /></${Field}>`;
}

function SchoolReport({ campaign, organizationId }) {
  const report = useLoad(() => api('GET', `/monitoring/campaigns/${campaign.id}/reports/${organizationId}`), [campaign.id]);
  const [values, setValues] = useState(null);
  const act = useAction();
  if (report.error) return html`<${ErrorBox} error=${report.error} />`;
  if (!report.data) return html`<p class="loading" role="status">Загрузка…</p>`;
  const r = report.data;
  const current = values || Object.fromEntries((r.values || []).map((v) => [v.code, v]));
  const status = reportStatus(r);
  const editable = campaign.status === 'open' && ['not_started', 'draft', 'returned'].includes(status);
  // numbers with a comma are accepted by the service («12,5»)
  const payload = () => Object.values(current).filter((v) => v.value !== '' || v.evidence)
    .map((v) => ({ code: v.code, value: v.value, evidence: v.evidence || '' }));
  const save = () => act.run(async () => {
    const out = await api('PUT', `/monitoring/campaigns/${campaign.id}/reports/${organizationId}`, { body: { values: payload() } });
    report.reload();
    return out;
  }, (out) => ((out.missing || []).length ? `Черновик сохранён; не заполнено обязательных полей: ${fmtNum(out.missing.length)}` : 'Черновик сохранён: все обязательные поля заполнены'));
  const submit = () => act.run(async () => {
    await api('POST', `/monitoring/campaigns/${campaign.id}/reports/${organizationId}/submit`, { body: { values: payload() } });
    setValues(null);
    report.reload();
  }, 'Отчёт отправлен на проверку в муниципалитет');
  const titleOf = (code) => (campaign.fields.find((f) => f.code === code) || {}).title || code;
  return html`<section class="card wide"><h2>Отчёт школы</h2>
    <p>Состояние: <strong>${label(REPORT_STATUSES, status)}</strong>${r.late ? ' (после срока)' : ''}
      ${r.submittedAt ? ` · отправлен ${fmtDate(r.submittedAt, true)}` : ''}${r.reviewedAt ? ` · проверен ${fmtDate(r.reviewedAt, true)}` : ''}</p>
    ${status === 'returned' && r.comment ? html`<div class="notice warn" role="note"><strong>Возвращён на доработку: </strong>${r.comment}</div>` : null}
    ${(r.missing || []).length && editable ? html`<p class="hint">Ещё не заполнены: ${r.missing.map(titleOf).join('; ')}</p>` : null}
    <form class="form monitoring-form" onSubmit=${(e) => { e.preventDefault(); submit(); }}>
      ${campaign.fields.map((f) => html`<${FieldInput} key=${f.code} field=${f} value=${current[f.code]} disabled=${!editable}
        onChange=${(v) => setValues({ ...current, [f.code]: v })} />`)}
      <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
      ${editable ? html`<div class="actions">
        <button type="button" class="secondary" disabled=${act.busy} onClick=${save}>Сохранить черновик</button>
        <button type="submit" disabled=${act.busy}>Отправить отчёт</button></div>` : null}
    </form>
  </section>`;
}

// ---- the municipality's review ----

function Review({ campaign, report, orgName, onDone }) {
  const [comment, setComment] = useState('');
  const act = useAction();
  // the notice is the caller's: this card closes once the report is reviewed
  const review = (what, body, message) => act.run(async () => {
    await api('POST', `/monitoring/campaigns/${campaign.id}/reports/${report.organizationId}/${what}`, { body });
    onDone(message);
  });
  // the list carries the reports' states; the values are the report's own
  const full = useLoad(() => api('GET', `/monitoring/campaigns/${campaign.id}/reports/${report.organizationId}`), [report.organizationId]);
  if (full.error) return html`<${ErrorBox} error=${full.error} />`;
  if (!full.data) return html`<p class="loading" role="status">Загрузка…</p>`;
  const byCode = Object.fromEntries((full.data.values || []).map((v) => [v.code, v]));
  return html`<div class="card review"><h3>${orgName}</h3>
    <p class="muted">${`Отправлен ${fmtDate(full.data.submittedAt, true)}${full.data.late ? ' (после срока)' : ''}`}</p>
    <dl class="facts">${campaign.fields.map((f) => html`<dt>${f.title}</dt><dd>${byCode[f.code] ? byCode[f.code].value : '—'}
      ${byCode[f.code] && byCode[f.code].evidence ? html`<small class="hint">${`Подтверждение: ${byCode[f.code].evidence}`}</small>` : null}</dd>`)}</dl>
    <${ErrorBox} error=${act.error} />
    <div class="actions">
      <button type="button" disabled=${act.busy} onClick=${() => review('approve', {}, `Отчёт утверждён: ${orgName}`)}>${`Утвердить отчёт: ${orgName}`}</button>
    </div>
    <form class="inline-form" onSubmit=${(e) => { e.preventDefault(); review('return', { comment }, `Отчёт возвращён на доработку: ${orgName}`); }}>
      <${Input} label=${`Что исправить (${orgName})`} value=${comment} onInput=${setComment} required placeholder="что исправить" />
      <button type="submit" class="secondary" disabled=${act.busy}>Вернуть на доработку</button>
    </form>
  </div>`;
}

function Progress({ me, campaign }) {
  const progress = useLoad(() => api('GET', `/monitoring/campaigns/${campaign.id}/progress`), [campaign.id, campaign.version]);
  const reports = useLoad(() => api('GET', `/monitoring/campaigns/${campaign.id}/reports`), [campaign.id, campaign.version]);
  const orgs = useLookup(organizations);
  const muns = useLookup(municipalities);
  const [open, setOpen] = useState('');
  const [reviewed, setReviewed] = useState('');
  if (progress.error || reports.error) return html`<${ErrorBox} error=${progress.error || reports.error} />`;
  if (!progress.data || !reports.data) return html`<p class="loading" role="status">Загрузка…</p>`;
  const p = progress.data;
  const orgName = (id) => (orgs && orgs.get(id)?.shortName) || (orgs && orgs.get(id)?.name) || id;
  const rows = (reports.data.items || []).slice().sort((a, b) => orgName(a.organizationId).localeCompare(orgName(b.organizationId), 'ru'));
  const parts = [['notStarted', 'не начат'], ['draft', 'черновик'], ['submitted', 'на проверке'], ['returned', 'возвращён'], ['approved', 'утверждён']];
  const reviewing = rows.find((r) => r.organizationId === open);
  const reload = (message) => { progress.reload(); reports.reload(); setOpen(''); setReviewed(message); };
  return html`<section class="card wide"><h2>Ход кампании</h2>
    <p>${`Школ в охвате: ${fmtNum(p.total ? p.total.required : 0)}; утверждено: ${fmtNum(p.total ? p.total.approved : 0)}; на проверке: ${fmtNum(p.total ? p.total.submitted : 0)}.`}
      ${p.pastDeadline ? html` <strong>Срок прошёл; не отчитались: ${fmtNum((p.late || []).length)}.</strong>` : null}</p>
    <${ChartBox} title="Отчёты по муниципалитетам" horizontal=${true} stacked=${true}
      labels=${(p.municipalities || []).map((m) => (muns && muns.get(m.municipalityId)?.name) || m.municipalityId)}
      datasets=${parts.map(([k, text], i) => ({ label: text, data: (p.municipalities || []).map((m) => m[k] || 0),
        color: ['#adb5bd', '#9fb6d6', '#e07a1f', '#c0392b', '#2e8540'][i] }))} />
    <${Notice} text=${reviewed} />
    <${Table} caption="Отчёты по школам" rowKey=${(r) => r.organizationId} rows=${rows} columns=${[
      { title: 'Организация', render: (r) => orgName(r.organizationId) },
      { title: 'Состояние', render: (r) => html`${label(REPORT_STATUSES, reportStatus(r))}${r.late ? ' (после срока)' : ''}` },
      { title: 'Проверка', render: (r) => (reportStatus(r) === 'submitted' && can.reviewMonitoring(me)
        ? html`<button type="button" class="secondary" aria-expanded=${open === r.organizationId}
            onClick=${() => setOpen(open === r.organizationId ? '' : r.organizationId)}>${`Проверить: ${orgName(r.organizationId)}`}</button>` : '—') },
    ]} />
    ${reviewing ? html`<${Review} key=${reviewing.organizationId} campaign=${campaign} report=${reviewing} orgName=${orgName(reviewing.organizationId)} onDone=${reload} />` : null}
  </section>`;
}

function CampaignActions({ me, campaign, onChanged }) {
  const act = useAction();
  if (!can.manageMonitoring(me)) return null;
  const action = (what, message) => act.run(async () => {
    const c = await api('POST', `/monitoring/campaigns/${campaign.id}/${what}`, { body: {}, ifMatch: campaign.version });
    onChanged(c);
  }, message);
  return html`<div class="actions">
    ${campaign.status === 'draft' ? html`<button type="button" disabled=${act.busy} onClick=${() => action('open', 'Кампания открыта: школы заполняют форму')}>Открыть кампанию</button>` : null}
    ${campaign.status === 'open' ? html`<button type="button" class="secondary" disabled=${act.busy}
      onClick=${() => action('close', 'Кампания закрыта: утверждённые значения заморожены в снимке')}>Закрыть кампанию</button>` : null}
    ${campaign.status === 'closed' ? html`<button type="button" class="secondary" disabled=${act.busy}
      onClick=${() => action('reopen', 'Кампания открыта повторно')}>Открыть повторно</button>` : null}
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
  </div>`;
}

function CampaignSnapshots({ campaign }) {
  const snaps = useLoad(() => api('GET', `/monitoring/campaigns/${campaign.id}/snapshots`), [campaign.id, campaign.version]);
  if (snaps.error) return html`<${ErrorBox} error=${snaps.error} />`;
  const items = (snaps.data && snaps.data.items) || [];
  if (!items.length) return null;
  return html`<section class="card wide"><h2>Снимки кампании</h2>
    <${Table} caption="Утверждённые значения на момент закрытия" rowKey=${(s) => s.version} rows=${items} columns=${[
      { title: 'Версия', num: true, render: (s) => fmtNum(s.version) },
      { title: 'Сделан', render: (s) => fmtDate(s.createdAt, true) },
      { title: 'Утверждено отчётов', num: true, render: (s) => `${fmtNum(s.approved)} из ${fmtNum(s.required)}` },
      { title: 'Снимок показателей', render: (s) => (s.indicatorSnapshot === 'pending' ? 'ожидается' : (s.indicatorSnapshot || '').replace('created:', '') || '—') },
    ]} />
  </section>`;
}

export function MonitoringCampaignPage({ me, params }) {
  const [updated, setUpdated] = useState(null);
  const data = useLoad(() => api('GET', `/monitoring/campaigns/${params[0]}`), [params[0]]);
  const campaign = updated || data.data;
  return html`<${Page} title=${campaign ? campaign.title : 'Кампания мониторинга'}>
    <p><${Link} href="/monitoring">← Все кампании мониторинга</${Link}></p>
    <${ErrorBox} error=${data.error} />
    ${campaign ? html`<dl class="facts">
        <dt>Период</dt><dd>${campaign.period}</dd>
        <dt>Срок сдачи</dt><dd>${fmtDate(campaign.deadline, true)}</dd>
        <dt>Состояние</dt><dd>${label(CAMPAIGN_STATUSES, campaign.status)}${campaign.reopened ? ' (открыта повторно)' : ''}</dd>
        <dt>Охват</dt><dd>${campaign.organizationKind ? label(ORGANIZATION_KINDS, campaign.organizationKind) : 'все организации'}</dd>
        <dt>Поля формы</dt><dd>${campaign.fields.map((f) => `${f.title} (${label(FIELD_TYPES, f.type)})`).join('; ')}</dd>
      </dl>
      <${CampaignActions} me=${me} campaign=${campaign} onChanged=${setUpdated} />
      ${me.role === 'school_admin'
        ? (campaign.status === 'draft' ? html`<p class="empty">Кампания ещё не открыта.</p>` : html`<${SchoolReport} campaign=${campaign} organizationId=${me.scope.id} />`)
        : campaign.status !== 'draft' ? html`<${Progress} me=${me} campaign=${campaign} />` : null}
      ${me.role !== 'school_admin' ? html`<${CampaignSnapshots} campaign=${campaign} />` : null}` : null}
  </${Page}>`;
}
