// registry.js — the registry's lists: municipalities, organizations, and the catalogue kinds
// (qualification records, associations, councils, programmes, practices) with search, cursor pages,
// CSV export, and the create forms the role may use.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, Page, Table, Pager, useList, ErrorBox, Notice, Input, Select, Checkbox, useAction, Link } from '../ui.js';
import { fmtDate, fmtNum } from '../format.js';
import { useLookup } from '../hooks.js';
import { organizations, municipalities } from '../lookups.js';
import {
  MUNICIPALITY_KINDS, ORGANIZATION_KINDS, label, FORMATS, LEVELS, ASSOCIATION_KINDS, PRACTICE_STATUSES, SUBJECTS, FOUNDERS,
} from '../labels.js';
import { can } from '../roles.js';
import { qs } from '../api.js';

export function ExportLink({ kind, query, text = 'Выгрузить в CSV' }) {
  return html`<a class="button secondary" href=${`/api/v1/export/${kind}${qs(query)}`} download>${text}</a>`;
}

function SearchBox({ value, onSearch, label: text = 'Поиск' }) {
  const [q, setQ] = useState(value || '');
  return html`<form class="filters" role="search" onSubmit=${(e) => { e.preventDefault(); onSearch(q); }}>
    <${Input} label=${text} value=${q} onInput=${setQ} type="search" />
    <button type="submit">Найти</button>
  </form>`;
}

export function Municipalities({ me }) {
  const list = useList('/municipalities', {});
  const [name, setName] = useState('');
  const [kind, setKind] = useState('district');
  const act = useAction();
  const create = (e) => {
    e.preventDefault();
    act.run(async () => {
      const m = await api('POST', '/municipalities', { body: { regionId: me.regionId, name, kind } });
      setName('');
      list.reload();
      return m;
    }, (m) => `Создано: ${m.name}`);
  };
  return html`<${Page} title="Муниципальные образования" actions=${html`<${ExportLink} kind="municipalities" />`}>
    <${ErrorBox} error=${list.error} />
    <${Table} columns=${[
      { title: 'Название', key: 'name' },
      { title: 'Вид', render: (m) => label(MUNICIPALITY_KINDS, m.kind) },
      { title: 'Код', key: 'id' },
    ]} rows=${list.items} />
    <${Pager} list=${list} />
    ${can.createMunicipality(me) ? html`<form class="card form" onSubmit=${create}>
      <h2>Новое муниципальное образование</h2>
      <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
      <${Input} label="Название" value=${name} onInput=${setName} required />
      <${Select} label="Вид" value=${kind} onChange=${setKind} options=${Object.entries(MUNICIPALITY_KINDS)} />
      <button type="submit" disabled=${act.busy}>Создать</button>
    </form>` : null}
  </${Page}>`;
}

export function Organizations({ me }) {
  const [q, setQ] = useState('');
  const [kind, setKind] = useState('');
  const [founder, setFounder] = useState('');
  const [flag, setFlag] = useState('');
  const query = { q, kind, founder, lowResults: flag === 'low' ? 'true' : '', difficultConditions: flag === 'difficult' ? 'true' : '' };
  const list = useList('/organizations', query);
  const muns = useLookup(municipalities);
  const [form, setForm] = useState({
    name: '', shortName: '', kind: 'school', municipalityId: me.municipalityId || '', founder: 'municipal', lowResults: false,
    difficultConditions: false,
  });
  const act = useAction();
  const create = (e) => {
    e.preventDefault();
    act.run(async () => {
      const body = { ...form };
      if (!body.shortName) delete body.shortName;
      const o = await api('POST', '/organizations', { body });
      setForm({ ...form, name: '', shortName: '' });
      list.reload();
      return o;
    }, (o) => `Организация создана: ${o.name}`);
  };
  const munOptions = muns ? [...muns.values()].map((m) => [m.id, m.name]) : [];
  return html`<${Page} title="Образовательные организации" actions=${html`<${ExportLink} kind="organizations" query=${query} />`}>
    <div class="filter-row">
      <${SearchBox} value=${q} onSearch=${setQ} label="Начало названия" />
      <${Select} label="Вид" value=${kind} onChange=${setKind} empty="все виды" options=${Object.entries(ORGANIZATION_KINDS)} />
      <${Select} label="Учредитель" value=${founder} onChange=${setFounder} empty="любой"
        options=${Object.entries(FOUNDERS).filter(([k]) => k !== 'unspecified')} />
      <${Select} label="Признак" value=${flag} onChange=${setFlag} empty="все школы"
        options=${[['low', 'низкие результаты (ШНОР)'], ['difficult', 'сложные социальные условия']]} />
    </div>
    <${ErrorBox} error=${list.error} />
    <${Table} columns=${[
      { title: 'Название', key: 'name' },
      { title: 'Вид', render: (o) => label(ORGANIZATION_KINDS, o.kind) },
      { title: 'Муниципалитет', render: (o) => (muns && muns.get(o.municipalityId)?.name) || o.municipalityId },
      { title: 'Учредитель', render: (o) => label(FOUNDERS, o.founder || 'unspecified') },
      { title: 'Признаки', render: (o) => [o.lowResults ? 'ШНОР' : '', o.difficultConditions ? 'сложные условия' : ''].filter(Boolean).join(', ') },
    ]} rows=${list.items} />
    <${Pager} list=${list} />
    ${can.createOrganization(me) ? html`<form class="card form" onSubmit=${create}>
      <h2>Новая организация</h2>
      <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
      <${Input} label="Полное название" value=${form.name} onInput=${(v) => setForm({ ...form, name: v })} required />
      <${Input} label="Краткое название" value=${form.shortName} onInput=${(v) => setForm({ ...form, shortName: v })} />
      <${Select} label="Вид" value=${form.kind} onChange=${(v) => setForm({ ...form, kind: v })} options=${Object.entries(ORGANIZATION_KINDS)} />
      <${Select} label="Муниципалитет" value=${form.municipalityId} onChange=${(v) => setForm({ ...form, municipalityId: v })}
        empty="выберите" options=${munOptions} required />
      <${Select} label="Учредитель" value=${form.founder} onChange=${(v) => setForm({ ...form, founder: v })}
        options=${Object.entries(FOUNDERS).filter(([k]) => k !== 'unspecified')} />
      <${Checkbox} label="Низкие образовательные результаты (ШНОР)" checked=${form.lowResults} onChange=${(v) => setForm({ ...form, lowResults: v })} />
      <${Checkbox} label="Функционирует в сложных социальных условиях" checked=${form.difficultConditions}
        onChange=${(v) => setForm({ ...form, difficultConditions: v })} />
      <button type="submit" disabled=${act.busy}>Создать организацию</button>
    </form>` : null}
  </${Page}>`;
}

const subjectName = (c) => label(SUBJECTS, c);

const KINDS = {
  qualification: {
    title: 'Повышение квалификации', path: '/qualification-records', exportKind: 'qualification-records', search: false,
    columns: (orgs) => [
      { title: 'Программа', key: 'programmeTitle' },
      { title: 'Сотрудник', render: (r) => html`<${Link} href=${`/staff/${r.staffId}`}>${r.staffId}</${Link}>` },
      { title: 'Окончено', render: (r) => fmtDate(r.completedOn) },
      { title: 'Часов', num: true, render: (r) => fmtNum(r.hours) },
      { title: 'Удостоверение', key: 'documentNumber' },
      { title: 'Организация', render: (r) => (orgs && orgs.get((r.organizationIds || [])[0])?.shortName) || '—' },
    ],
  },
  associations: {
    title: 'Методические объединения и сообщества', path: '/associations', exportKind: 'associations', search: false,
    columns: () => [
      { title: 'Название', key: 'name' },
      { title: 'Вид', render: (a) => label(ASSOCIATION_KINDS, a.kind) },
      { title: 'Уровень', render: (a) => label(LEVELS, a.level) },
      { title: 'Предмет или тема', render: (a) => (a.subject ? subjectName(a.subject) : a.theme || '—') },
    ],
  },
  councils: {
    title: 'Методические советы', path: '/councils', exportKind: 'councils', search: false,
    columns: () => [
      { title: 'Название', key: 'name' },
      { title: 'Уровень', render: (c) => label(LEVELS, c.level) },
      { title: 'Членов', num: true, render: (c) => fmtNum((c.memberStaffIds || []).length) },
      { title: 'Утверждён', key: 'approvedBy' },
    ],
  },
  programmes: {
    title: 'Каталог программ повышения квалификации', path: '/programmes', exportKind: 'programmes', search: true,
    columns: () => [
      { title: 'Программа', key: 'title' },
      { title: 'Организатор', key: 'provider' },
      { title: 'Часов', num: true, render: (p) => fmtNum(p.hours) },
      { title: 'Форма', render: (p) => label(FORMATS, p.format) },
      { title: 'ФР ДПП', render: (p) => (p.federalRegistry ? 'да' : '') },
    ],
  },
  practices: {
    title: 'Банк эффективных практик', path: '/practices', exportKind: 'practices', search: true,
    columns: () => [
      { title: 'Практика', key: 'title' },
      { title: 'Предмет', render: (p) => (p.subject ? subjectName(p.subject) : '—') },
      { title: 'Состояние', render: (p) => label(PRACTICE_STATUSES, p.status) },
      { title: 'Опубликована', render: (p) => fmtDate(p.publishedAt) },
    ],
  },
};

export function Catalogue({ me, kind }) {
  const k = KINDS[kind];
  const [q, setQ] = useState('');
  const query = k.search ? { q } : {};
  const list = useList(k.path, query);
  const orgs = useLookup(can.seeRegistry(me) ? organizations : async () => null);
  return html`<${Page} title=${k.title} actions=${can.seeRegistry(me) ? html`<${ExportLink} kind=${k.exportKind} query=${query} />` : null}>
    ${k.search ? html`<${SearchBox} value=${q} onSearch=${setQ} label="Слова названия" />` : null}
    <${ErrorBox} error=${list.error} />
    <${Table} columns=${k.columns(orgs)} rows=${list.items} />
    <${Pager} list=${list} />
  </${Page}>`;
}

export { Checkbox };
