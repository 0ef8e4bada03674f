// dashboard.js — the landing screen of a methodologist, a school administrator and a region
// administrator: campaigns in progress with their progress by school as a chart, the municipalities
// side by side (region), this month's events, and the day's shortcuts. Indicators against targets and
// recommendations join here as the indicators service lands.
import { api, listAll } from '../api.js';
import { html, Page, ErrorBox, Link } from '../ui.js';
import { ChartBox } from '../charts.js';
import { fmtDate, fmtNum } from '../format.js';
import { useLoad } from '../hooks.js';
import { can } from '../roles.js';
import { ROLES, ORGANIZATION_KINDS, label } from '../labels.js';
import { ProgressBySchool } from './diagnostics.js';
import { MonthEvents } from './events.js';
import { IndicatorsCard } from './indicators.js';

function Municipalities() {
  const data = useLoad(async () => {
    const [muns, orgs] = await Promise.all([listAll('/municipalities'), listAll('/organizations')]);
    return muns.map((m) => {
      const mine = orgs.filter((o) => o.municipalityId === m.id);
      return { ...m, orgs: mine.length, low: mine.filter((o) => o.lowResults).length };
    });
  }, []);
  if (data.error) return html`<${ErrorBox} error=${data.error} />`;
  if (!data.data) return html`<p class="loading" role="status">Загрузка…</p>`;
  const rows = data.data;
  return html`<section class="card wide"><h2>Муниципалитеты рядом</h2>
    <${ChartBox} title="Организаций в муниципалитете" labels=${rows.map((m) => m.name)} horizontal=${true}
      datasets=${[{ label: 'Всего', data: rows.map((m) => m.orgs) }, { label: 'ШНОР', data: rows.map((m) => m.low), color: '#c0392b' }]} />
  </section>`;
}

function Registry() {
  const orgs = useLoad(() => listAll('/organizations'), []);
  if (orgs.error) return html`<${ErrorBox} error=${orgs.error} />`;
  if (!orgs.data) return html`<p class="loading" role="status">Загрузка…</p>`;
  const byKind = new Map();
  for (const o of orgs.data) byKind.set(o.kind, (byKind.get(o.kind) || 0) + 1);
  const kinds = [...byKind.entries()].sort((a, b) => b[1] - a[1]);
  return html`<section class="card wide"><h2>Организации</h2>
    <p>${`Всего ${fmtNum(orgs.data.length)}, из них школ с низкими результатами (ШНОР): ${fmtNum(orgs.data.filter((o) => o.lowResults).length)}. `}<${Link} href="/organizations">Список</${Link}></p>
    <${ChartBox} title="Организации по видам" horizontal=${true} labels=${kinds.map(([k]) => label(ORGANIZATION_KINDS, k))}
      datasets=${[{ label: 'Организаций', data: kinds.map(([, n]) => n) }]} />
  </section>`;
}

function MySchool({ me }) {
  const data = useLoad(async () => {
    const [org, staff] = await Promise.all([api('GET', `/organizations/${me.scope.id}`),
      listAll('/staff', { organizationId: me.scope.id, active: 'true' })]);
    return { org, staff };
  }, [me.scope.id]);
  if (data.error) return html`<${ErrorBox} error=${data.error} />`;
  if (!data.data) return html`<p class="loading" role="status">Загрузка…</p>`;
  const { org, staff } = data.data;
  const teachers = staff.filter((s) => s.category === 'teacher').length;
  return html`<section class="card wide"><h2>${org.name}</h2>
    <p>${`Работают ${fmtNum(staff.length)}: педагогов ${fmtNum(teachers)}, руководителей ${fmtNum(staff.length - teachers)}. `}
      <${Link} href="/staff">Кадры школы</${Link}></p>
    ${org.lowResults ? html`<p class="tag deficit">Школа с низкими результатами (ШНОР)</p>` : null}
  </section>`;
}

function OpenCampaigns({ me }) {
  const campaigns = useLoad(() => api('GET', '/diagnostics/campaigns', { query: { status: 'open', limit: 5 } }), []);
  if (campaigns.error) return html`<${ErrorBox} error=${campaigns.error} />`;
  const items = (campaigns.data && campaigns.data.items) || [];
  return html`<section class="card wide"><h2>Кампании в работе</h2>
    ${campaigns.loading && !campaigns.data ? html`<p class="loading" role="status">Загрузка…</p>` : null}
    ${campaigns.data && !items.length ? html`<p class="empty">Открытых кампаний нет.
      ${can.manageCampaigns(me) ? html` <${Link} href="/campaigns">Создать кампанию</${Link}>` : null}</p>` : null}
    ${items.map((c) => html`<div class="campaign"><h3><${Link} href=${`/campaigns/${c.id}`}>${c.title}</${Link}></h3>
      <${ProgressBySchool} campaignId=${c.id} compact=${true} /></div>`)}
  </section>`;
}

function OpenMonitoring({ me }) {
  const list = useLoad(() => api('GET', '/monitoring/campaigns', { query: { status: 'open', limit: 5 } }), []);
  if (list.error) return html`<${ErrorBox} error=${list.error} />`;
  const items = (list.data && list.data.items) || [];
  return html`<section class="card wide"><h2>Мониторинг</h2>
    ${list.loading && !list.data ? html`<p class="loading" role="status">Загрузка…</p>` : null}
    ${list.data && !items.length ? html`<p class="empty">Открытых кампаний мониторинга нет. <${Link} href="/monitoring">Все кампании</${Link}></p>` : null}
    ${items.length ? html`<ul>${items.map((c) => html`<li><${Link} href=${`/monitoring/${c.id}`}>${c.title}</${Link}>${` — срок ${fmtDate(c.deadline)}`}
      ${me.role === 'school_admin' ? ' (заполнить форму)' : ` (школ: ${fmtNum(c.requiredCount)})`}</li>`)}</ul>` : null}
  </section>`;
}

export function Dashboard({ me }) {
  const links = [
    ['/staff', 'Найти сотрудника', can.seeRegistry(me)],
    ['/import', 'Загрузить CSV', can.importData(me)],
    ['/campaigns', 'Диагностические кампании', can.seeCampaigns(me)],
    ['/events', 'Календарь мероприятий', true],
    ['/mentoring/match', 'Подобрать наставника', can.manageMentoring(me)],
    ['/indicators', 'Показатели', can.seeIndicators(me)],
    ['/monitoring', me.role === 'school_admin' ? 'Заполнить мониторинг' : 'Мониторинг', can.seeMonitoring(me)],
    ['/users', 'Пользователи', can.manageUsers(me)],
    ['/export', 'Выгрузки', can.seeRegistry(me)],
  ].filter((l) => l[2]);
  return html`<${Page} title="Обзор">
    <p class="muted">${ROLES[me.role]} · ${me.fullName}</p>
    <nav class="shortcuts" aria-label="Быстрые действия"><ul>${links.map(([href, text]) => html`<li><${Link} href=${href} class="button secondary">${text}</${Link}></li>`)}</ul></nav>
    <div class="grid">
      ${can.seeIndicators(me) ? html`<${IndicatorsCard} me=${me} />` : null}
      ${can.seeMonitoring(me) ? html`<${OpenMonitoring} me=${me} />` : null}
      ${can.seeCampaigns(me) ? html`<${OpenCampaigns} me=${me} />` : null}
      <${MonthEvents} />
      ${me.role === 'region_admin' ? html`<${Municipalities} />` : null}
      ${me.role !== 'school_admin' ? html`<${Registry} />` : html`<${MySchool} me=${me} />`}
    </div>
  </${Page}>`;
}
