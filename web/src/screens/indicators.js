// indicators.js — the indicators I1–I13 of the caller's territory (services/indicators): against the
// region's targets as charts (this year and last year — two periods of GET /indicator-values; by school or
// by municipality; I1 by subject), numerators and denominators in a table, the region administrator's
// targets (PUT /indicator-targets), snapshots of a period, and the recommendations with their state
// (sent → accepted → done); the region's own indicators with formulas (created, changed, deleted by the
// region administrator, a formula's error shown under its field), the values table as CSV and XLSX and
// the yearly analytical report (HTML in a new tab, XLSX).
import { useState } from 'preact/hooks';
import { api, listAll, qs } from '../api.js';
import { html, Page, Table, Pager, useList, ErrorBox, Notice, Input, Select, useAction, Link } from '../ui.js';
import { ChartBox } from '../charts.js';
import { fmtDate, fmtNum, fmtPercent } from '../format.js';
import { useLoad } from '../hooks.js';
import { can } from '../roles.js';
import { RECOMMENDATION_STATUSES, ADDRESSEE_KINDS, SUBJECTS, label } from '../labels.js';

const thisYear = () => new Date().getFullYear();

// The caller's territory and the children shown beside it: the region by municipalities, a municipality
// by its organizations, a school alone.
export function scopeOf(me) {
  if (me.role === 'region_admin') return { scopeKind: 'region', scopeId: me.regionId, by: 'municipality', children: 'муниципалитетам' };
  if (me.role === 'municipal_methodologist') return { scopeKind: 'municipality', scopeId: me.scope.id, by: 'organization', children: 'школам' };
  return { scopeKind: 'organization', scopeId: me.scope.id, by: '', children: '' };
}

function shown(v, unit) {
  if (!v || !v.hasValue) return '—';
  return unit === 'share' ? fmtPercent(v.value) : fmtNum(v.value);
}

async function loadValues(me, period, indicator) {
  const sc = scopeOf(me);
  const q = { scopeKind: sc.scopeKind, scopeId: sc.scopeId, period, indicator };
  const [now, before, bySubject, catalogue] = await Promise.all([
    api('GET', '/indicator-values', { query: { ...q, by: sc.by } }),
    api('GET', '/indicator-values', { query: { ...q, period: String(Number(period) - 1) } }),
    api('GET', '/indicator-values', { query: { ...q, indicator: 'I1', by: 'subject' } }),
    api('GET', '/indicators'),
  ]);
  return { now, before, bySubject, catalogue: catalogue.items || [] };
}

// The indicators against their targets, this year and last (shares only: counts have no common scale).
export function TargetsChart({ catalogue, now, before, title }) {
  const shares = catalogue.filter((i) => i.unit === 'share');
  const val = (list, code) => {
    const v = (list || []).find((x) => x.indicator === code && !x.subject);
    return v && v.hasValue ? v.value : null;
  };
  return html`<${ChartBox} title=${title} unit="%" max=${100}
    labels=${shares.map((i) => i.code)}
    datasets=${[
      { label: `${now.period}`, data: shares.map((i) => val(now.items, i.code)) },
      ...(before ? [{ label: `${before.period}`, data: shares.map((i) => val(before.items, i.code)), color: '#9fb6d6' }] : []),
      { label: 'Цель', data: shares.map((i) => (i.hasTarget ? i.target : null)), color: '#e07a1f' },
    ]} />`;
}

function TargetForm({ indicator, onSaved }) {
  const [value, setValue] = useState(indicator.hasTarget ? String(indicator.target).replace('.', ',') : '');
  const act = useAction();
  const save = (e) => {
    e.preventDefault();
    act.run(async () => {
      await api('PUT', `/indicator-targets/${indicator.code}`, { body: { target: Number(value.replace(',', '.')) } });
      onSaved();
    }, `Цель ${indicator.code} сохранена`);
  };
  return html`<form class="inline-form" onSubmit=${save}>
    <${Input} label=${`Цель ${indicator.code}`} value=${value} onInput=${setValue} inputmode="decimal" required />
    <button type="submit" class="secondary" disabled=${act.busy}>Сохранить</button>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
  </form>`;
}

function ValuesTable({ me, data, onTarget }) {
  const { catalogue, now, before } = data;
  const own = (list, code) => (list.items || []).find((v) => v.indicator === code && !v.subject);
  const rows = catalogue.map((i) => ({ ...i, now: own(now, i.code), before: own(before, i.code) }));
  return html`<${Table} caption=${`Показатели за ${now.period} (${fmtDate(now.periodStart)} — ${fmtDate(now.periodEnd)})`}
    rowKey=${(r) => r.code} rows=${rows} columns=${[
      { title: 'Код', key: 'code' },
      { title: 'Показатель', render: (r) => html`<span>${r.name}</span><small class="hint">${r.numerator}${r.denominator ? ` / ${r.denominator}` : ''}</small>` },
      { title: 'Числитель', num: true, render: (r) => fmtNum(r.now && r.now.numerator) },
      { title: 'Знаменатель', num: true, render: (r) => (r.unit === 'share' ? fmtNum(r.now && r.now.denominator) : '—') },
      { title: now.period, num: true, render: (r) => shown(r.now, r.unit) },
      { title: before.period, num: true, render: (r) => shown(r.before, r.unit) },
      { title: 'Цель', num: true, render: (r) => (r.hasTarget ? (r.unit === 'share' ? fmtPercent(r.target) : fmtNum(r.target)) : 'не задана') },
      { title: 'Выполнено', render: (r) => (!r.hasTarget ? '—' : r.now && r.now.met ? html`<span class="tag ok">да</span>` : html`<span class="tag deficit">нет</span>`) },
      ...(can.setTargets(me) ? [{ title: 'Изменить цель', render: (r) => html`<${TargetForm} indicator=${r} onSaved=${onTarget} />` }] : []),
    ]} />`;
}

function Breakdown({ me, data, indicator, setIndicator }) {
  const sc = scopeOf(me);
  const info = data.catalogue.find((i) => i.code === indicator) || {};
  const rows = (data.now.breakdown || []).filter((v) => v.indicator === indicator && !v.subject)
    .sort((a, b) => (a.scopeName || '').localeCompare(b.scopeName || '', 'ru'));
  const unit = info.unit === 'share' ? '%' : '';
  return html`<section class="card wide"><h2>${`По ${sc.children}`}</h2>
    <${Select} label="Показатель" value=${indicator} onChange=${setIndicator}
      options=${data.catalogue.map((i) => [i.code, `${i.code} — ${i.name}`])} />
    ${rows.length ? html`<${ChartBox} title=${`${indicator} по ${sc.children}, ${data.now.period}`} horizontal=${true} unit=${unit}
      max=${unit ? 100 : undefined} labels=${rows.map((r) => r.scopeName || r.scopeId)}
      datasets=${[{ label: data.now.period, data: rows.map((r) => (r.hasValue ? r.value : null)) },
        ...(info.hasTarget ? [{ label: 'Цель', data: rows.map(() => info.target), color: '#e07a1f' }] : [])]} />
      <${Table} caption=${`${indicator}: числитель и знаменатель по ${sc.children}`} rowKey=${(r) => r.scopeId} rows=${rows} columns=${[
        { title: sc.by === 'municipality' ? 'Муниципалитет' : 'Организация', render: (r) => r.scopeName || r.scopeId },
        { title: 'Числитель', num: true, render: (r) => fmtNum(r.numerator) },
        { title: 'Знаменатель', num: true, render: (r) => (info.unit === 'share' ? fmtNum(r.denominator) : '—') },
        { title: 'Значение', num: true, render: (r) => shown(r, info.unit) },
        { title: 'Цель выполнена', render: (r) => (r.hasTarget ? (r.met ? 'да' : 'нет') : '—') },
      ]} />` : html`<p class="empty">Нет данных по ${sc.children}.</p>`}
  </section>`;
}

function BySubject({ data }) {
  const rows = (data.bySubject.breakdown || []).filter((v) => v.subject && v.denominator > 0)
    .sort((a, b) => label(SUBJECTS, a.subject).localeCompare(label(SUBJECTS, b.subject), 'ru'));
  if (!rows.length) return null;
  return html`<section class="card wide"><h2>I1 по предметам</h2>
    <${ChartBox} title=${`Доля педагогов, прошедших диагностику, по предметам, ${data.now.period}`} horizontal=${true}
      unit="%" max=${100} labels=${rows.map((r) => label(SUBJECTS, r.subject))}
      datasets=${[{ label: 'Прошли диагностику', data: rows.map((r) => r.value) }]} />
  </section>`;
}

function Snapshots({ me, period }) {
  const sc = scopeOf(me);
  const list = useList('/indicator-snapshots', { scopeKind: sc.scopeKind, scopeId: sc.scopeId }, { limit: 10 });
  const [reason, setReason] = useState('');
  const act = useAction();
  const create = (e) => {
    e.preventDefault();
    act.run(async () => {
      const s = await api('POST', '/indicator-snapshots', { body: { scopeKind: sc.scopeKind, scopeId: sc.scopeId, period, reason } });
      setReason('');
      list.reload();
      return s;
    }, (s) => `Снимок за ${s.period} сохранён (версия ${fmtNum(s.version)})`);
  };
  return html`<section class="card wide"><h2>Снимки значений</h2>
    <${ErrorBox} error=${list.error} />
    <${Table} caption="Замороженные значения периодов" empty="Снимков пока нет" rows=${list.items} columns=${[
      { title: 'Период', key: 'period' },
      { title: 'Версия', num: true, render: (s) => fmtNum(s.version) },
      { title: 'Сделан', render: (s) => fmtDate(s.createdAt, true) },
      { title: 'Основание', render: (s) => s.reason || (s.campaignId ? `закрытие мониторинга ${s.campaignId}` : '—') },
      { title: 'Значений', num: true, render: (s) => fmtNum((s.values || []).length) },
    ]} />
    <${Pager} list=${list} />
    ${can.snapshotIndicators(me) ? html`<form class="form" onSubmit=${create}>
      <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
      <${Input} label="Основание снимка" value=${reason} onInput=${setReason} hint="например, «Итоги года для отчёта»" />
      <button type="submit" disabled=${act.busy}>${`Сделать снимок за ${period}`}</button>
    </form>` : null}
  </section>`;
}

// The values table as files and the yearly analytical report of the caller's territory.
function Downloads({ me, period }) {
  const sc = scopeOf(me);
  const values = (format) => `/api/v1/indicator-values${qs({ scopeKind: sc.scopeKind, scopeId: sc.scopeId, period, by: sc.by, format })}`;
  const report = (format) => `/api/v1/reports/yearly${qs({ scopeKind: sc.scopeKind, scopeId: sc.scopeId, year: period, format })}`;
  return html`<section class="card wide"><h2>Выгрузки и годовой отчёт</h2>
    <p>Таблица значений за ${period}${sc.children ? ` по ${sc.children}` : ''}:</p>
    <div class="actions">
      <a class="button secondary" href=${values('csv')} download>Значения в CSV</a>
      <a class="button secondary" href=${values('xlsx')} download>Значения в XLSX</a>
    </div>
    <p>Годовой аналитический отчёт за ${period}: значения против целей и прошлого года, рекомендации, полнота мониторинга.</p>
    <div class="actions">
      <a class="button" href=${report('html')} target="_blank" rel="noopener">Открыть годовой отчёт</a>
      <a class="button secondary" href=${report('xlsx')} download>Годовой отчёт в XLSX</a>
    </div>
  </section>`;
}

const OWN_UNITS = { share: 'доля, %', count: 'количество', number: 'число' };
const EMPTY_OWN = { code: '', name: '', numerator: '', denominator: '', unit: 'share' };

function fieldError(error, field) {
  if (!error) return null;
  const d = (error.details || []).find((x) => x.field === field || (x.field || '').endsWith(`.${field}`));
  return d ? html`<p class="field-error" id=${`own-${field}-error`}>${d.description}</p>` : null;
}

// One own indicator's form: a new one, or the change of an existing one (PUT with its version).
function OwnForm({ initial, onSaved, onCancel }) {
  const editing = Boolean(initial);
  const [form, setForm] = useState(initial ? {
    code: initial.code, name: initial.name, numerator: initial.numerator, denominator: initial.denominator || '', unit: initial.unit,
  } : EMPTY_OWN);
  const act = useAction();
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const body = { ...form };
      if (body.unit === 'count') body.denominator = '';
      const saved = editing
        ? await api('PUT', `/indicators/${encodeURIComponent(initial.code)}`, { body, ifMatch: initial.version })
        : await api('POST', '/indicators', { body });
      if (!editing) setForm(EMPTY_OWN);
      onSaved(saved);
      return saved;
    }, (x) => `Показатель ${x.code} ${editing ? 'изменён' : 'создан'}`);
  };
  const formula = (k, text, hint) => html`<div>
    <${Input} label=${text} value=${form[k]} onInput=${set(k)} required=${k === 'numerator' || form.unit === 'share'}
      hint=${hint} spellcheck="false" aria-describedby=${fieldError(act.error, k) ? `own-${k}-error` : undefined} />
    ${fieldError(act.error, k)}</div>`;
  return html`<form class="form sub" onSubmit=${submit}>
    <h3>${editing ? `Изменить показатель ${initial.code}` : 'Новый собственный показатель'}</h3>
    <${ErrorBox} error=${act.error ? { message: act.error.message } : null} /><${Notice} text=${act.done} />
    ${editing ? null : html`<div><${Input} label="Код показателя" value=${form.code} onInput=${set('code')} required
      hint="латинские буквы, цифры, «_», например NET" />${fieldError(act.error, 'code')}</div>`}
    <div><${Input} label="Название показателя" value=${form.name} onInput=${set('name')} required />${fieldError(act.error, 'name')}</div>
    <${Select} label="Единица" value=${form.unit} onChange=${set('unit')} options=${Object.entries(OWN_UNITS)} />
    ${formula('numerator', 'Формула числителя', 'например I9.num или (I1.num + I2.num)')}
    ${form.unit === 'count' ? null : formula('denominator', 'Формула знаменателя', 'например teachers')}
    <div class="actions"><button type="submit" disabled=${act.busy}>${editing ? 'Сохранить показатель' : 'Создать показатель'}</button>
      ${editing ? html`<button type="button" class="secondary" onClick=${onCancel}>Отмена</button>` : null}</div>
  </form>`;
}

function OwnIndicators({ catalogue, onChanged }) {
  const own = catalogue.filter((i) => i.own);
  const [editing, setEditing] = useState(null);
  const act = useAction();
  const remove = (i) => act.run(async () => {
    await api('DELETE', `/indicators/${encodeURIComponent(i.code)}`, { ifMatch: i.version });
    onChanged();
  }, `Показатель ${i.code} удалён`);
  return html`<section class="card wide full"><h2>Собственные показатели региона</h2>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    <${Table} caption="Свои показатели с формулами" empty="Собственных показателей пока нет" rowKey=${(i) => i.code} rows=${own} columns=${[
      { title: 'Код', key: 'code' },
      { title: 'Название', key: 'name' },
      { title: 'Формула', render: (i) => html`<code>${i.numerator}${i.denominator ? ` / ${i.denominator}` : ''}</code>` },
      { title: 'Единица', render: (i) => label(OWN_UNITS, i.unit) },
      { title: 'Изменён', render: (i) => fmtDate(i.updatedAt) },
      { title: 'Действие', render: (i) => html`<div class="inline-form">
        <button type="button" class="secondary" onClick=${() => setEditing(i)} aria-label=${`Изменить ${i.code}`}>Изменить</button>
        <button type="button" class="danger" disabled=${act.busy} onClick=${() => remove(i)} aria-label=${`Удалить ${i.code}`}>Удалить</button>
      </div>` },
    ]} />
    ${editing ? html`<${OwnForm} key=${editing.code} initial=${editing} onCancel=${() => setEditing(null)}
      onSaved=${() => { setEditing(null); onChanged(); }} />` : null}
    <${OwnForm} onSaved=${onChanged} />
  </section>`;
}

// The municipalities side by side (region administrator): each indicator's value per municipality.
function SideBySide({ data }) {
  const muns = [...new Map((data.now.breakdown || []).map((v) => [v.scopeId, v.scopeName || v.scopeId])).entries()];
  if (!muns.length) return null;
  const shares = data.catalogue.filter((i) => i.unit === 'share');
  const cell = (code, id) => (data.now.breakdown || []).find((v) => v.indicator === code && v.scopeId === id && !v.subject);
  return html`<section class="card wide full"><h2>Муниципалитеты рядом</h2>
    <${ChartBox} title=${`Доли по муниципалитетам, ${data.now.period}`} unit="%" max=${100}
      labels=${shares.map((i) => i.code)}
      datasets=${muns.slice(0, 5).map(([id, name]) => ({ label: name, data: shares.map((i) => { const v = cell(i.code, id); return v && v.hasValue ? v.value : null; }) }))} />
    <${Table} caption="Все показатели по муниципалитетам" rowKey=${(r) => r[0]} rows=${muns} columns=${[
      { title: 'Муниципалитет', render: (r) => r[1] },
      ...data.catalogue.map((i) => ({ title: i.code, num: true, render: (r) => shown(cell(i.code, r[0]), i.unit) })),
    ]} />
  </section>`;
}

export function IndicatorsScreen({ me }) {
  const [period, setPeriod] = useState(String(thisYear()));
  const [indicator, setIndicator] = useState('I1');
  const data = useLoad(() => loadValues(me, period, ''), [period]);
  const years = [0, 1, 2, 3].map((d) => String(thisYear() - d));
  return html`<${Page} title="Показатели" actions=${html`<${Link} href="/recommendations" class="button secondary">Рекомендации</${Link}>`}>
    <div class="filter-row">
      <${Select} label="Год" value=${period} onChange=${setPeriod} options=${years.map((y) => [y, `${y} (с прошлым — ${Number(y) - 1})`])} />
    </div>
    <${ErrorBox} error=${data.error} />
    ${data.loading && !data.data ? html`<p class="loading" role="status">Загрузка…</p>` : null}
    ${data.data ? html`<div class="grid">
      <section class="card wide full"><h2>Показатели против целей</h2>
        <${TargetsChart} title=${`Доли I1–I13: ${data.data.now.period} и ${data.data.before.period} против цели`} ...${data.data} />
        <${ValuesTable} me=${me} data=${data.data} onTarget=${data.reload} />
      </section>
      ${me.role === 'region_admin' ? html`<${SideBySide} data=${data.data} />` : null}
      ${scopeOf(me).by ? html`<${Breakdown} me=${me} data=${data.data} indicator=${indicator} setIndicator=${setIndicator} />` : null}
      <${BySubject} data=${data.data} />
      <${Downloads} me=${me} period=${period} />
      ${can.manageOwnIndicators(me) ? html`<${OwnIndicators} catalogue=${data.data.catalogue} onChanged=${data.reload} />` : null}
      <${Snapshots} me=${me} period=${period} />
    </div>` : null}
  </${Page}>`;
}

// ---- recommendations ----

const NEXT = { sent: ['accepted', 'Принять к исполнению'], accepted: ['done', 'Отметить выполненной'] };

function RecommendationActions({ me, r, onChanged }) {
  const act = useAction();
  const next = NEXT[r.status || 'sent'];
  if (!can.actOnRecommendations(me)) return null;
  return html`<div>
    ${next ? html`<button type="button" class="secondary" disabled=${act.busy} aria-label=${`${next[1]}: ${r.indicator}, ${r.addresseeName}`}
      onClick=${() => act.run(async () => {
        const updated = await api('POST', `/recommendations/${r.id}/status`, { body: { status: next[0] }, ifMatch: r.version });
        onChanged(updated);
      }, `Рекомендация: ${label(RECOMMENDATION_STATUSES, next[0])}`)}>${next[1]}</button>` : null}
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
  </div>`;
}

export function Recommendations({ me }) {
  const sc = scopeOf(me);
  const [status, setStatus] = useState('');
  const [period, setPeriod] = useState(String(thisYear()));
  const list = useList('/recommendations', { scopeKind: sc.scopeKind, scopeId: sc.scopeId, period, status });
  const [changed, setChanged] = useState({});
  const rows = (list.items || []).map((r) => changed[r.id] || r);
  return html`<${Page} title="Рекомендации по показателям">
    <p class="muted">Адресные рекомендации по каждому показателю ниже цели: кому, что сделать и к какому сроку.</p>
    <div class="filter-row">
      <${Select} label="Год" value=${period} onChange=${setPeriod} options=${[0, 1].map((d) => String(thisYear() - d)).map((y) => [y, y])} />
      <${Select} label="Состояние" value=${status} onChange=${setStatus} empty="все" options=${Object.entries(RECOMMENDATION_STATUSES)} />
    </div>
    <${ErrorBox} error=${list.error} />
    <${Table} caption="Рекомендации" empty="Рекомендаций нет: показатели не ниже целей (или цели не заданы)" rows=${list.items ? rows : null} columns=${[
      { title: 'Показатель', render: (r) => html`<strong>${r.indicator}</strong><small class="hint">${`${fmtPercent(r.value)} при цели ${fmtPercent(r.target)}`}</small>` },
      { title: 'Адресат', render: (r) => html`${r.addresseeName}<small class="hint">${label(ADDRESSEE_KINDS, r.addresseeKind)}${r.shnor ? ' · ШНОР' : ''}</small>` },
      { title: 'Что сделать', key: 'text' },
      { title: 'Не хватает, чел.', num: true, render: (r) => fmtNum(r.peopleToReach) },
      { title: 'Срок', render: (r) => fmtDate(r.deadline) },
      { title: 'Состояние', render: (r) => label(RECOMMENDATION_STATUSES, r.status || 'sent') },
      { title: 'Действие', render: (r) => html`<${RecommendationActions} me=${me} r=${r} onChanged=${(u) => setChanged({ ...changed, [u.id]: u })} />` },
    ]} />
    <${Pager} list=${list} />
  </${Page}>`;
}

// The dashboard's card: this year against the targets and the open recommendations' count.
export function IndicatorsCard({ me }) {
  const sc = scopeOf(me);
  const period = String(thisYear());
  const data = useLoad(async () => {
    const [now, catalogue, recs] = await Promise.all([
      api('GET', '/indicator-values', { query: { scopeKind: sc.scopeKind, scopeId: sc.scopeId, period } }),
      api('GET', '/indicators'),
      listAll('/recommendations', { scopeKind: sc.scopeKind, scopeId: sc.scopeId, period }, 200),
    ]);
    return { now, catalogue: catalogue.items || [], open: recs.filter((r) => (r.status || 'sent') !== 'done').length };
  }, []);
  if (data.error) return html`<${ErrorBox} error=${data.error} />`;
  if (!data.data) return html`<section class="card wide"><h2>Показатели</h2><p class="loading" role="status">Загрузка…</p></section>`;
  const { now, catalogue, open } = data.data;
  const met = (now.items || []).filter((v) => v.met).length;
  const targets = catalogue.filter((i) => i.hasTarget).length;
  return html`<section class="card wide"><h2>Показатели</h2>
    <p>${`Цели выполнены: ${fmtNum(met)} из ${fmtNum(targets)} заданных. Открытых рекомендаций: ${fmtNum(open)}. `}
      <${Link} href="/indicators">Все показатели</${Link}> · <${Link} href="/recommendations">Рекомендации</${Link}></p>
    <${TargetsChart} title=${`Доли I1–I13 за ${now.period} против цели`} catalogue=${catalogue} now=${now} />
  </section>`;
}
