// diagnostics.js — diagnostics campaigns: the list, a new campaign (draft) and opening/closing it, the
// progress by school as a table and a chart; a municipal self-diagnostic campaign of a methodologist
// (optionally «по выдвижению»), the nominations of a school's staff, the summary of deficits; and taking a
// diagnostic (a person with a staff record).
import { useState } from 'preact/hooks';
import { api, listAll, qs } from '../api.js';
import {
  html, Page, Table, Pager, useList, ErrorBox, Notice, Input, Select, useAction, Link, Progress, navigate, Checkbox,
} from '../ui.js';
import { ChartBox } from '../charts.js';
import { fmtDate, fmtNum, fmtPercent, todayIso, personName } from '../format.js';
import { useLoad, useLookup } from '../hooks.js';
import { organizations, competences } from '../lookups.js';
import { CAMPAIGN_KINDS, CAMPAIGN_STATUSES, CATEGORIES, POSITIONS, SUBJECTS, label } from '../labels.js';
import { can } from '../roles.js';

function NewCampaign({ me, onCreated }) {
  const instruments = useLoad(() => listAll('/instruments'), []);
  const municipal = me.role === 'municipal_methodologist';
  const [form, setForm] = useState({
    title: '', instrumentId: '', kind: 'self', startsOn: todayIso(), endsOn: '', category: 'teacher', byNomination: false,
  });
  const act = useAction();
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const target = { categories: [form.category] };
      if (me.scope && me.scope.kind === 'municipality') target.municipalityIds = [me.scope.id];
      const c = await api('POST', '/diagnostics/campaigns', {
        body: {
          title: form.title, instrumentId: form.instrumentId, kind: municipal ? 'self' : form.kind, startsOn: form.startsOn,
          endsOn: form.endsOn, target, byNomination: form.byNomination,
        },
      });
      setForm({ ...form, title: '' });
      onCreated(c);
      return c;
    }, (c) => `Кампания «${c.title}» создана (черновик): откройте её, чтобы назначить диагностику`);
  };
  const options = (instruments.data || []).map((i) => [i.id, i.title]);
  return html`<form class="card form" onSubmit=${submit}>
    <h2>${municipal ? 'Новая муниципальная самодиагностика' : 'Новая кампания'}</h2>
    <${ErrorBox} error=${act.error || instruments.error} /><${Notice} text=${act.done} />
    <${Input} label="Название" value=${form.title} onInput=${set('title')} required />
    <${Select} label="Инструмент" value=${form.instrumentId} onChange=${set('instrumentId')} empty="выберите" options=${options} required />
    ${municipal ? html`<p class="muted">Вид: самодиагностика педагогов своего муниципалитета</p>`
      : html`<${Select} label="Вид" value=${form.kind} onChange=${set('kind')} options=${Object.entries(CAMPAIGN_KINDS)} />`}
    <${Select} label="Кого диагностируем" value=${form.category} onChange=${set('category')} options=${Object.entries(CATEGORIES)} />
    <${Input} label="Начало" type="date" value=${form.startsOn} onInput=${set('startsOn')} required />
    <${Input} label="Окончание" type="date" value=${form.endsOn} onInput=${set('endsOn')} required
      hint="Ответы принимаются до этого дня включительно" />
    <${Checkbox} label="По выдвижению: школы выдвигают работников, открытие никого не назначает"
      checked=${form.byNomination} onChange=${set('byNomination')} />
    <button type="submit" disabled=${act.busy}>Создать черновик</button>
  </form>`;
}

export function Campaigns({ me }) {
  const [status, setStatus] = useState('');
  const list = useList('/diagnostics/campaigns', { status });
  return html`<${Page} title="Диагностические кампании">
    <div class="filter-row">
      <${Select} label="Состояние" value=${status} onChange=${setStatus} empty="все" options=${Object.entries(CAMPAIGN_STATUSES)} />
    </div>
    <${ErrorBox} error=${list.error} />
    <${Table} columns=${[
      { title: 'Кампания', render: (c) => html`<${Link} href=${`/campaigns/${c.id}`}>${c.title}</${Link}>` },
      { title: 'Вид', render: (c) => label(CAMPAIGN_KINDS, c.kind) },
      { title: 'Состояние', render: (c) => label(CAMPAIGN_STATUSES, c.status) },
      { title: 'Сроки', render: (c) => `${fmtDate(c.startsOn)} – ${fmtDate(c.endsOn)}` },
      { title: 'Назначено', num: true, render: (c) => fmtNum(c.assigned || 0) },
      { title: 'Порядок', render: (c) => `${c.municipalityId ? 'муниципальная' : 'региональная'}${c.byNomination ? ', по выдвижению' : ''}` },
    ]} rows=${list.items} />
    <${Pager} list=${list} />
    ${can.createCampaign(me) ? html`<${NewCampaign} me=${me} onCreated=${() => list.reload()} />` : null}
  </${Page}>`;
}

export function ProgressBySchool({ campaignId, compact }) {
  const progress = useLoad(() => api('GET', `/diagnostics/campaigns/${campaignId}/progress`), [campaignId]);
  const orgs = useLookup(organizations);
  if (progress.error) return html`<${ErrorBox} error=${progress.error} />`;
  if (!progress.data) return html`<p class="loading" role="status">Загрузка хода кампании…</p>`;
  const p = progress.data;
  const rows = p.organizations || [];
  const name = (id) => (orgs && (orgs.get(id)?.shortName || orgs.get(id)?.name)) || id;
  const pct = (r) => (r.assigned ? (100 * (r.completed || 0)) / r.assigned : 0);
  return html`<div>
    <p>Завершили ${fmtNum(p.completed || 0)} из ${fmtNum(p.assigned || 0)} (начали ${fmtNum(p.started || 0)}).</p>
    <${Progress} value=${p.assigned ? (p.completed || 0) / p.assigned : 0} label="Доля завершивших" />
    ${rows.length ? html`<${ChartBox} title="Ход по организациям: человек" horizontal=${true} stacked=${true}
      labels=${rows.map((r) => name(r.organizationId))}
      datasets=${[
        { label: 'Завершили', data: rows.map((r) => r.completed || 0), color: '#2e8540' },
        { label: 'Начали', data: rows.map((r) => Math.max(0, (r.started || 0) - (r.completed || 0))), color: '#e07a1f' },
        { label: 'Не начинали', data: rows.map((r) => Math.max(0, (r.assigned || 0) - (r.started || 0))), color: '#adb5bd' },
      ]} />` : null}
    ${compact ? null : html`<${Table} caption="По организациям" rowKey=${(r) => r.organizationId} columns=${[
      { title: 'Организация', render: (r) => name(r.organizationId) },
      { title: 'Назначено', num: true, render: (r) => fmtNum(r.assigned || 0) },
      { title: 'Начали', num: true, render: (r) => fmtNum(r.started || 0) },
      { title: 'Завершили', num: true, render: (r) => fmtNum(r.completed || 0) },
      { title: 'Доля', num: true, render: (r) => fmtPercent(pct(r)) },
    ]} rows=${rows} />`}
  </div>`;
}

export function CampaignPage({ me, params }) {
  const [id] = params;
  const campaign = useLoad(() => api('GET', `/diagnostics/campaigns/${id}`), [id]);
  const act = useAction();
  const c = campaign.data;
  const action = (verb, message) => act.run(async () => {
    await api('POST', `/diagnostics/campaigns/${id}/${verb}`, { ifMatch: c.version });
    campaign.reload();
  }, message);
  return html`<${Page} title=${c ? c.title : 'Кампания'}>
    <${ErrorBox} error=${campaign.error} /><${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    ${c ? html`<section class="card">
      <dl class="facts">
        <dt>Состояние</dt><dd>${label(CAMPAIGN_STATUSES, c.status)}</dd>
        <dt>Вид</dt><dd>${label(CAMPAIGN_KINDS, c.kind)}</dd>
        <dt>Сроки</dt><dd>${fmtDate(c.startsOn)} – ${fmtDate(c.endsOn)}</dd>
        <dt>Назначено</dt><dd>${fmtNum(c.assigned || 0)}</dd>
        <dt>Порядок</dt><dd>${c.municipalityId ? 'муниципальная кампания' : 'кампания региона'}${
          c.byNomination ? ', по выдвижению школ' : ', назначается всем адресатам'}</dd>
      </dl>
      ${can.manageCampaign(me, c) ? html`<div class="actions">
        ${c.status === 'draft' ? html`<button type="button" disabled=${act.busy}
          onClick=${() => action('open', 'Кампания открыта: диагностика назначена адресатам')}>Открыть кампанию</button>` : null}
        ${c.status === 'open' ? html`<button type="button" class="danger" disabled=${act.busy}
          onClick=${() => action('close', 'Кампания закрыта')}>Закрыть кампанию</button>` : null}
      </div>` : null}
    </section>
    ${c.status === 'open' && can.nominateStaff(me) ? html`<section class="card"><h2>Выдвижение на диагностику</h2>
      <${Nominate} campaignId=${id} onDone=${campaign.reload} /></section>` : null}
    ${c.status !== 'draft' ? html`<section class="card"><h2>Ход кампании</h2><${ProgressBySchool} campaignId=${id} /></section>` : null}` : null}
  </${Page}>`;
}

// The school administrator (or the methodologist) names the people they send: all or nothing.
function Nominate({ campaignId, onDone }) {
  const [q, setQ] = useState('');
  const [draft, setDraft] = useState('');
  const list = useList('/staff', { q }, { limit: 50 });
  const [chosen, setChosen] = useState([]);
  const act = useAction();
  const toggle = (id, on) => setChosen(on ? [...chosen, id] : chosen.filter((x) => x !== id));
  const submit = () => act.run(async () => {
    const r = await api('POST', `/diagnostics/campaigns/${campaignId}/nominations`, { body: { staffIds: chosen } });
    setChosen([]);
    onDone();
    return r;
  }, (r) => `Выдвинуто: ${fmtNum((r.nominated || []).length)}; уже были в кампании: ${fmtNum((r.already || []).length)}`);
  return html`<div>
    <form class="filter-row" role="search" onSubmit=${(e) => { e.preventDefault(); setQ(draft); }}>
      <${Input} label="Начало фамилии работника" value=${draft} onInput=${setDraft} type="search" />
      <button type="submit" class="secondary">Найти</button>
    </form>
    <${ErrorBox} error=${list.error || act.error} /><${Notice} text=${act.done} />
    <${Table} caption="Работники" columns=${[
      { title: 'Выдвинуть', render: (s) => html`<${Checkbox} label=${`Выдвинуть: ${personName(s)}`}
        checked=${chosen.includes(s.id)} onChange=${(on) => toggle(s.id, on)} />` },
      { title: 'Должность', render: (s) => label(POSITIONS, s.position) },
    ]} rows=${list.items} />
    <${Pager} list=${list} />
    <button type="button" onClick=${submit} disabled=${act.busy || chosen.length === 0}>
      Выдвинуть выбранных (${fmtNum(chosen.length)})</button>
  </div>`;
}

// The summary of deficits (002 задача 1): by campaign or over the caller's territory; ranked overall, by
// organization and by subject; the same as CSV.
export function Deficits({ me }) {
  const [campaignId, setCampaignId] = useState('');
  const campaigns = useLoad(() => listAll('/diagnostics/campaigns'), []);
  const names = useLookup(competences);
  const orgs = useLookup(organizations);
  const scope = me.scope || {};
  const query = campaignId ? { campaignId }
    : scope.kind === 'municipality' ? { municipalityId: scope.id }
      : scope.kind === 'organization' ? { organizationId: scope.id } : {};
  const summary = useLoad(() => api('GET', '/diagnostics/deficits', { query }), [JSON.stringify(query)]);
  const name = (c) => (names && names.get(c)) || c;
  const orgName = (id) => (orgs && (orgs.get(id)?.shortName || orgs.get(id)?.name)) || id;
  const d = summary.data;
  const top = (g) => (g.deficits || []).slice(0, 3).map((x) => `${name(x.competence)} — ${fmtNum(x.people)}`).join('; ') || 'нет';
  return html`<${Page} title="Сводка дефицитов" actions=${html`<a class="button secondary"
      href=${`/api/v1/export/deficits${qs(query)}`} download>Выгрузить в CSV</a>`}>
    <div class="filter-row">
      <${Select} label="Кампания" value=${campaignId} onChange=${setCampaignId} empty="последние результаты по моей территории"
        options=${(campaigns.data || []).map((c) => [c.id, c.title])} />
    </div>
    <${ErrorBox} error=${summary.error || campaigns.error} />
    ${summary.loading && !d ? html`<p class="loading" role="status">Загрузка сводки…</p>` : null}
    ${d ? html`<p>Оценено человек: <strong>${fmtNum(d.people || 0)}</strong></p>
      ${(d.deficits || []).length ? html`<${ChartBox} title="Дефициты: доля оценённых, %" horizontal=${true} unit="%" max=${100}
        labels=${d.deficits.map((x) => name(x.competence))} datasets=${[{ label: 'Доля с дефицитом', data: d.deficits.map((x) => x.percent || 0) }]} />` : null}
      <${Table} caption="Дефициты по убыванию" empty="Дефицитов не выявлено" rowKey=${(x) => x.competence} columns=${[
        { title: 'Место', num: true, render: (x) => fmtNum(d.deficits.indexOf(x) + 1) },
        { title: 'Компетенция', render: (x) => name(x.competence) },
        { title: 'Человек', num: true, render: (x) => fmtNum(x.people) },
        { title: 'Доля', num: true, render: (x) => fmtPercent(x.percent || 0) },
      ]} rows=${d.deficits || []} />
      <${Table} caption="По организациям" empty="Нет данных по организациям" rowKey=${(g) => g.organizationId} columns=${[
        { title: 'Организация', render: (g) => orgName(g.organizationId) },
        { title: 'Оценено', num: true, render: (g) => fmtNum(g.people || 0) },
        { title: 'Главные дефициты', render: top },
      ]} rows=${d.organizations || []} />
      <${Table} caption="По предметам" empty="Нет данных по предметам" rowKey=${(g) => g.subject || '-'} columns=${[
        { title: 'Предмет', render: (g) => (g.subject ? label(SUBJECTS, g.subject) : 'не указан') },
        { title: 'Оценено', num: true, render: (g) => fmtNum(g.people || 0) },
        { title: 'Главные дефициты', render: top },
      ]} rows=${d.subjects || []} />` : null}
  </${Page}>`;
}

function ItemInput({ item, value, onChange }) {
  const name = `q-${item.id}`;
  if (item.kind === 'single_choice' || item.kind === 'multiple_choice') {
    const multi = item.kind === 'multiple_choice';
    const chosen = value || [];
    return html`<fieldset class="question"><legend>${item.text}</legend>
      ${(item.options || []).map((o) => html`<div class="check">
        <input type=${multi ? 'checkbox' : 'radio'} id=${`${name}-${o.id}`} name=${name} checked=${chosen.includes(o.id)}
          onChange=${(e) => onChange(multi ? (e.currentTarget.checked ? [...chosen, o.id] : chosen.filter((x) => x !== o.id)) : [o.id])} />
        <label for=${`${name}-${o.id}`}>${o.text}</label></div>`)}
    </fieldset>`;
  }
  if (item.kind === 'scale') {
    const values = [];
    for (let v = item.scaleMin ?? 1; v <= (item.scaleMax ?? 5); v++) values.push(v);
    return html`<fieldset class="question"><legend>${item.text}</legend><div class="scale">
      ${values.map((v) => html`<div class="check"><input type="radio" id=${`${name}-${v}`} name=${name} checked=${value === v}
        onChange=${() => onChange(v)} /><label for=${`${name}-${v}`}>${v}</label></div>`)}
    </div></fieldset>`;
  }
  return html`<div class="field question"><label for=${name}>${item.text}</label>
    <input id=${name} type="text" inputmode="decimal" value=${value ?? ''}
      onInput=${(e) => onChange(e.currentTarget.value)} /></div>`;
}

export function TakeDiagnostics({ me, params }) {
  const [campaignId] = params;
  const state = useLoad(async () => {
    const attempt = await api('POST', '/diagnostics/attempts', { body: { campaignId } });
    const instrument = await api('GET', `/instruments/${attempt.instrumentId}`);
    return { attempt, instrument };
  }, [campaignId]);
  const [answers, setAnswers] = useState({});
  const act = useAction();
  if (state.error) return html`<${Page} title="Диагностика"><${ErrorBox} error=${state.error} /></${Page}>`;
  if (!state.data) return html`<${Page} title="Диагностика"><p class="loading" role="status">Загрузка…</p></${Page}>`;
  const { attempt, instrument } = state.data;
  if (attempt.status === 'completed') {
    return html`<${Page} title=${instrument.title}><p>Диагностика уже пройдена. Результат — в «Моём кабинете».</p>
      <${Link} href="/">В кабинет</${Link}></${Page}>`;
  }
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const list = (instrument.items || []).filter((i) => answers[i.id] !== undefined).map((i) => {
        const v = answers[i.id];
        if (Array.isArray(v)) return { itemId: i.id, optionIds: v };
        return { itemId: i.id, value: typeof v === 'number' ? v : Number(String(v).replace(',', '.')) };
      });
      await api('POST', `/diagnostics/attempts/${attempt.id}/submit`, { body: { answers: list } });
      navigate('/');
    });
  };
  return html`<${Page} title=${instrument.title}>
    <form class="card form" onSubmit=${submit}>
      ${(instrument.items || []).map((i) => html`<${ItemInput} item=${i} value=${answers[i.id]}
        onChange=${(v) => setAnswers({ ...answers, [i.id]: v })} />`)}
      <${ErrorBox} error=${act.error} />
      <button type="submit" disabled=${act.busy}>Сдать диагностику</button>
    </form>
  </${Page}>`;
}
