// route.js — the individual educational route (ИОМ) on the teacher's card and in «Мой кабинет», as the
// regulations have it (docs/regulations.md): the period and the tutor, the agreement (the methodologist
// proposes, the teacher agrees or sends it back with a reason, or proposes it themselves), the approval
// (of a proposed-and-agreed route, or a draft), the items with the teacher's proof of completion, the
// confirmation of done items by the methodologist or the tutor, and the versions kept by regenerations.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, Table, ErrorBox, Notice, Input, Select, useAction } from '../ui.js';
import { fmtDate, fmtNum, personName, todayIso } from '../format.js';
import { useLoad, useLookup } from '../hooks.js';
import { competences } from '../lookups.js';
import { ITEM_KINDS, ITEM_STATUSES, ITEM_CONFIRMATIONS, ROUTE_STATUSES, label } from '../labels.js';
import { can } from '../roles.js';

function ItemStatus({ item, route, staffId, onChanged }) {
  const [status, setStatus] = useState(item.status || 'planned');
  const [documentNumber, setDocumentNumber] = useState(item.documentNumber || '');
  const [evidenceName, setEvidenceName] = useState(item.evidenceName || '');
  const [evidenceUrl, setEvidenceUrl] = useState(item.evidenceUrl || '');
  const act = useAction();
  const marking = status === 'done' && item.status !== 'done';
  const save = () => act.run(async () => {
    const body = { status };
    if (marking) {
      body.completedOn = todayIso();
      if (documentNumber) body.documentNumber = documentNumber;
      if (evidenceName) body.evidenceName = evidenceName;
      if (evidenceUrl) body.evidenceUrl = evidenceUrl;
    }
    const r = await api('POST', `/staff/${staffId}/route/items/${item.id}/status`, { body, ifMatch: route.version });
    onChanged(r);
  });
  return html`<div class="inline-form">
    <${Select} label=${`Состояние пункта «${item.title}»`} value=${status} onChange=${setStatus}
      options=${Object.entries(ITEM_STATUSES)} />
    ${marking ? html`
      <${Input} label=${`Подтверждающий документ для «${item.title}»`} value=${evidenceName} onInput=${setEvidenceName}
        placeholder="например, удостоверение о ПК" hint="название документа или ссылка — обязательно для педагога" />
      <${Input} label=${`Ссылка на подтверждение для «${item.title}»`} type="url" value=${evidenceUrl}
        onInput=${setEvidenceUrl} placeholder="https://" />
      ${item.kind === 'programme' ? html`<${Input} label=${`Номер удостоверения для «${item.title}»`}
        value=${documentNumber} onInput=${setDocumentNumber} placeholder="номер удостоверения" />` : null}` : null}
    <button type="button" class="secondary" onClick=${save} disabled=${act.busy || status === item.status}>Сохранить</button>
    <${ErrorBox} error=${act.error} />
  </div>`;
}

// A done item waiting for the methodologist's or the tutor's word: confirm (the qualification record is
// made) or return it with a comment.
function ItemConfirm({ item, route, staffId, onChanged }) {
  const [comment, setComment] = useState('');
  const act = useAction();
  const send = (returned) => act.run(async () => {
    const body = returned ? { returned: true, comment } : (comment ? { comment } : {});
    onChanged(await api('POST', `/staff/${staffId}/route/items/${item.id}/confirm`, { body, ifMatch: route.version }));
  });
  return html`<div class="inline-form">
    <${Input} label=${`Комментарий к «${item.title}»`} value=${comment} onInput=${setComment}
      hint="обязателен, если возвращаете" />
    <button type="button" onClick=${() => send(false)} disabled=${act.busy}>Подтвердить выполнение</button>
    <button type="button" class="secondary" onClick=${() => send(true)} disabled=${act.busy || !comment.trim()}>Вернуть на доработку</button>
    <${ErrorBox} error=${act.error} />
  </div>`;
}

function evidenceOf(i) {
  const parts = [];
  if (i.evidenceName) parts.push(i.evidenceName);
  if (i.evidenceUrl) parts.push(html`<a href=${i.evidenceUrl} target="_blank" rel="noopener noreferrer">${i.evidenceUrl}</a>`);
  if (i.evidence) parts.push(i.evidence);
  return parts.length ? parts.map((p, n) => html`${n ? ' · ' : ''}${p}`) : '—';
}

function confirmationOf(i) {
  if (!i.confirmation) return '';
  const text = label(ITEM_CONFIRMATIONS, i.confirmation);
  return `${text}${i.confirmationComment ? `: ${i.confirmationComment}` : ''}`;
}

// The period and the tutor, set by the methodologist on a route not yet approved (the edit returns it to
// the draft: the teacher agrees to the changed route again).
function RouteSettings({ r, staffId, onChanged, run }) {
  const [startsOn, setStartsOn] = useState(r.startsOn || '');
  const [endsOn, setEndsOn] = useState(r.endsOn || '');
  const [tutor, setTutor] = useState(r.tutorStaffId || '');
  const [q, setQ] = useState('');
  const [found, setFound] = useState(null);
  const act = useAction();
  const search = () => act.run(async () => {
    const page = await api('GET', '/staff', { query: { q, limit: 20 } });
    setFound((page.items || []).filter((s) => s.id !== staffId));
  });
  const options = [...(found || []).map((s) => [s.id, personName(s)])];
  if (r.tutorStaffId && !options.some(([id]) => id === r.tutorStaffId)) options.unshift([r.tutorStaffId, r.tutorName || r.tutorStaffId]);
  const save = (e) => {
    e.preventDefault();
    // the panel's action: its notice outlives this form (remade for the route's new version)
    run(async () => {
      onChanged(await api('PATCH', `/staff/${staffId}/route`, { body: { startsOn, endsOn, tutorStaffId: tutor }, ifMatch: r.version }));
    }, 'Период и тьютор маршрута сохранены');
  };
  return html`<form class="form sub" onSubmit=${save}>
    <h3>Период и тьютор</h3>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    <${Input} label="Начало периода" type="date" value=${startsOn} onInput=${setStartsOn} required />
    <${Input} label="Окончание периода" type="date" value=${endsOn} onInput=${setEndsOn} />
    <div class="inline-form">
      <${Input} label="Фамилия тьютора" type="search" value=${q} onInput=${setQ} hint="найдите сотрудника региона" />
      <button type="button" class="secondary" onClick=${search} disabled=${act.busy || !q.trim()}>Найти тьютора</button>
    </div>
    <${Select} label="Тьютор" value=${tutor} onChange=${setTutor} empty="без тьютора" options=${options} />
    <button type="submit" disabled=${act.busy}>Сохранить период и тьютора</button>
  </form>`;
}

function RouteVersions({ staffId }) {
  const versions = useLoad(() => api('GET', `/staff/${staffId}/route/versions`), [staffId]);
  if (versions.loading && versions.data === undefined) return html`<p class="loading" role="status">Загрузка версий…</p>`;
  return html`<${ErrorBox} error=${versions.error} />
    <${Table} caption="Прежние версии маршрута" empty="Маршрут не пересоставлялся: прежних версий нет"
      rowKey=${(v) => v.version} rows=${versions.data ? versions.data.items || [] : null} columns=${[
      { title: 'Версия', num: true, render: (v) => fmtNum(v.version) },
      { title: 'Заменена', render: (v) => fmtDate(v.replacedAt, true) },
      { title: 'Состояние', render: (v) => label(ROUTE_STATUSES, v.route && v.route.status) },
      { title: 'Пунктов', num: true, render: (v) => fmtNum(((v.route && v.route.items) || []).length) },
      { title: 'Пункты', render: (v) => ((v.route && v.route.items) || []).map((i) => i.title).join('; ') || '—' },
    ]} />`;
}

export function RoutePanel({ me, staffId }) {
  const route = useLoad(() => api('GET', `/staff/${staffId}/route`), [staffId]);
  const names = useLookup(competences);
  const act = useAction();
  const [current, setCurrent] = useState(null);
  const [reason, setReason] = useState('');
  const [showVersions, setShowVersions] = useState(0);
  const r = current || route.data;
  const name = (c) => (names && names.get(c)) || c;
  const builder = can.buildRoutes(me);
  const person = me.role === 'teacher' && me.staffId === staffId;
  const tutor = Boolean(r && me.staffId && r.tutorStaffId === me.staffId);
  const step = (path, body, message) => act.run(async () => {
    const out = await api('POST', `/staff/${staffId}/route${path}`, { body, ifMatch: r ? r.version : undefined });
    setCurrent(out);
    if (showVersions) setShowVersions((n) => n + 1);
    return out;
  }, message);
  const generate = () => step('', { startsOn: todayIso() }, 'Маршрут составлен по дефицитам последнего результата (черновик)');
  const missing = route.error && route.error.status === 404;
  if (route.loading && route.data === undefined) return html`<p class="loading" role="status">Загрузка маршрута…</p>`;
  const itemState = (i) => {
    if (i.confirmation === 'pending' && (builder || tutor)) {
      return html`${label(ITEM_STATUSES, i.status)} · ${confirmationOf(i)}
        <${ItemConfirm} item=${i} route=${r} staffId=${staffId} onChanged=${setCurrent} />`;
    }
    if (r.status === 'approved' && can.setItemStatus(me, staffId) && i.confirmation !== 'pending' && i.confirmation !== 'confirmed') {
      return html`${i.confirmation ? html`<p class="muted">${confirmationOf(i)}</p>` : null}
        <${ItemStatus} key=${`${i.id}-${r.version}`} item=${i} route=${r} staffId=${staffId} onChanged=${setCurrent} />`;
    }
    const c = confirmationOf(i);
    return `${label(ITEM_STATUSES, i.status || 'planned')}${c ? ` · ${c}` : ''}`;
  };
  const pending = r ? (r.items || []).filter((i) => i.confirmation === 'pending') : [];
  return html`<div class="route">
    <${ErrorBox} error=${missing ? null : route.error} />
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    ${!r ? html`<p class="empty">Индивидуального образовательного маршрута ещё нет.</p>` : html`
      <p>Состояние: <strong class=${`status ${r.status}`}>${label(ROUTE_STATUSES, r.status)}</strong>${
        `${r.approvedAt ? ` · утверждён ${fmtDate(r.approvedAt)}` : ''}${r.agreedAt ? ` · согласован ${fmtDate(r.agreedAt)}` : ''}`}</p>
      <dl class="facts">
        <dt>Период</dt><dd>${r.startsOn ? `с ${fmtDate(r.startsOn)}` : '—'}${r.endsOn ? ` по ${fmtDate(r.endsOn)}` : ''}</dd>
        <dt>Тьютор</dt><dd>${r.tutorStaffId ? r.tutorName || r.tutorStaffId : 'не назначен'}</dd>
        <dt>Дефициты</dt><dd>${(r.deficits || []).map((d) => `${name(d.competence)}${d.closed ? ' (закрыт)' : ''}`).join(', ') || 'нет'}</dd>
        ${r.declinedComment ? html`<dt>Возвращён педагогом</dt><dd class="declined">${r.declinedComment}</dd>` : null}
      </dl>
      ${pending.length && (builder || tutor) ? html`<p class="notice-inline">Ждут подтверждения: ${fmtNum(pending.length)}</p>` : null}
      <${Table} caption="Пункты маршрута" columns=${[
        { title: 'Пункт', render: (i) => html`${i.title}${i.overdue ? html` <span class="tag deficit">просрочен</span>` : null}` },
        { title: 'Вид', render: (i) => label(ITEM_KINDS, i.kind) },
        { title: 'Компетенция', render: (i) => name(i.competence) },
        { title: 'Срок', render: (i) => fmtDate(i.dueOn) },
        { title: 'Часов', num: true, render: (i) => (i.hours ? fmtNum(i.hours) : '—') },
        { title: 'Подтверждение', render: evidenceOf },
        { title: 'Состояние', render: itemState },
      ]} rows=${r.items || []} />`}
    ${builder && r && r.status !== 'approved' ? html`<${RouteSettings} key=${r.version} r=${r} staffId=${staffId}
      onChanged=${setCurrent} run=${act.run} />` : null}
    <div class="actions">
      ${builder && (!r || r.status === 'draft') ? html`<button type="button" onClick=${generate} disabled=${act.busy}>
        ${r ? 'Составить заново' : 'Составить маршрут'}</button>` : null}
      ${(builder || person) && r && r.status === 'draft' ? html`<button type="button" onClick=${() => step('/propose', undefined,
        person ? 'Маршрут предложен вами: это и ваше согласие' : 'Маршрут предложен педагогу')} disabled=${act.busy}>
        ${person ? 'Предложить' : 'Предложить педагогу'}</button>` : null}
      ${builder && r && (r.status === 'draft' || r.status === 'agreed') ? html`<button type="button"
        onClick=${() => step('/approve', undefined, 'Маршрут утверждён')} disabled=${act.busy}>Утвердить маршрут</button>` : null}
      ${person && r && r.status === 'proposed' ? html`<button type="button"
        onClick=${() => step('/agree', {}, 'Маршрут согласован')} disabled=${act.busy}>Согласовать</button>` : null}
      ${r ? html`<button type="button" class="secondary" aria-expanded=${showVersions ? 'true' : 'false'}
        onClick=${() => setShowVersions(showVersions ? 0 : 1)}>${showVersions ? 'Скрыть версии' : 'Прежние версии'}</button>` : null}
    </div>
    ${person && r && r.status === 'proposed' ? html`<form class="inline-form" onSubmit=${(e) => {
      e.preventDefault();
      step('/agree', { decline: true, comment: reason }, 'Маршрут возвращён методисту на доработку').then((out) => out && setReason(''));
    }}>
      <${Input} label="Причина возврата" value=${reason} onInput=${setReason} required hint="что изменить в маршруте" />
      <button type="submit" class="secondary" disabled=${act.busy || !reason.trim()}>Вернуть с причиной</button>
    </form>` : null}
    ${showVersions ? html`<${RouteVersions} key=${showVersions} staffId=${staffId} />` : null}
  </div>`;
}
