// cabinet.js — «Мой кабинет» of a teacher: the profile, deficits and strengths, the route with the
// items they work through, open diagnostics to take, their mentor / mentees with the meetings, their
// registrations («Мои мероприятия») and the events open for registration.
import { api } from '../api.js';
import { html, Page, ErrorBox, Table, Link, useList } from '../ui.js';
import { fmtDate, personName } from '../format.js';
import { useLoad } from '../hooks.js';
import { CAMPAIGN_KINDS, label } from '../labels.js';
import { useState } from 'preact/hooks';
import { CompetenceProfile, RoutePanel, Person, Qualification } from './staff.js';
import { StaffRegistrations, EventsToRegister } from './events.js';
import { StaffMentoring } from './mentoring.js';

function OpenDiagnostics() {
  const list = useList('/diagnostics/campaigns', { status: 'open' });
  return html`<${ErrorBox} error=${list.error} />
    <${Table} empty="Открытых диагностик нет" columns=${[
      { title: 'Диагностика', key: 'title' },
      { title: 'Вид', render: (c) => label(CAMPAIGN_KINDS, c.kind) },
      { title: 'До', render: (c) => fmtDate(c.endsOn) },
      { title: '', render: (c) => html`<${Link} href=${`/take/${c.id}`} class="button small">Пройти</${Link}>` },
    ]} rows=${list.items} />`;
}

export function Cabinet({ me }) {
  const staff = useLoad(() => (me.staffId ? api('GET', `/staff/${me.staffId}`) : Promise.resolve(null)), [me.staffId]);
  const s = staff.data;
  const [registered, setRegistered] = useState(0);
  return html`<${Page} title="Мой кабинет">
    <${ErrorBox} error=${staff.error} />
    ${s ? html`
      <section class="card"><h2>${personName(s)}</h2><${Person} s=${s} orgs=${null} /></section>
      <section class="card"><h2>Мои компетенции</h2><${CompetenceProfile} staffId=${me.staffId} /></section>
      <section class="card"><h2>Мой образовательный маршрут</h2><${RoutePanel} me=${me} staffId=${me.staffId} /></section>
      <section class="card"><h2>Диагностика</h2><${OpenDiagnostics} /></section>
      <section class="card"><h2>Наставничество</h2><${StaffMentoring} me=${me} staffId=${me.staffId} /></section>
      <section class="card"><h2>Мои мероприятия</h2><${StaffRegistrations} key=${registered} staffId=${me.staffId} />
        <${EventsToRegister} me=${me} subjects=${s.subjects || []} onRegistered=${() => setRegistered((n) => n + 1)} /></section>
      <section class="card"><h2>Повышение квалификации</h2><${Qualification} staffId=${me.staffId} /></section>` : null}
    ${!me.staffId ? html`<p>Учётная запись не связана с карточкой сотрудника.</p>` : null}
  </${Page}>`;
}
