// console.mjs — the web console in a real browser (Debian's chromium driven by playwright-core, no
// browser download): each demo role logs in, walks its screens and performs one real action per screen;
// no console errors; axe-core finds no serious or critical violations; a screenshot of every screen.
// Run by tests/integration/test_console.py with a fixture file (the demo stack's address, users, ids);
// prints one JSON line (what was created, for the Python side to check through the API).
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const fx = JSON.parse(readFileSync(process.argv[2], 'utf8'));
if (fx.other_login) fx.users[fx.other_login.login] = fx.other_login.password;
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const tag = Date.now().toString(36);
const report = { screenshots: [], firstPaintMs: null };
const problems = [];
const DOC_SHOTS = ['methodologist-dashboard', 'methodologist-teacher-card', 'methodologist-campaign-progress',
  'school-admin-import', 'teacher-cabinet', 'teacher-phone-menu', 'methodologist-events-calendar', 'methodologist-match',
  'methodologist-attendance', 'methodologist-indicators', 'methodologist-recommendations', 'methodologist-monitoring-review',
  'school-admin-monitoring-form', 'school-admin-webhooks', 'school-admin-deliveries', 'school-admin-notifications',
  'region-admin-indicators', 'methodologist-council-decisions', 'school-admin-phone-monitoring',
  'methodologist-deficits', 'teacher-route-evidence', 'region-admin-own-indicator'];
const pad2 = (n) => String(n).padStart(2, '0');
function localDay(days) {
  const d = new Date(Date.now() + days * 86400000);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

const browser = await chromium.launch({
  executablePath: fx.chromium,
  headless: true,
  args: ['--no-sandbox', '--lang=ru-RU', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

function log(msg) {
  process.stderr.write(`${msg}\n`);
}

// The API's answer for «nothing yet» (no route, no competence profile) is 404: the screen says so, and the
// browser logs the status; those and only those are expected.
const EXPECTED_404 = /\/api\/v1\/staff\/[^/]+\/(route|competence-profile)$/;

// An error answer a step provokes on purpose (a wrong formula): only that status on that path is expected.
let expectedError = null;

async function session(role, login, viewport = { width: 1280, height: 900 }, keyboard = false) {
  const context = await browser.newContext({ viewport, locale: 'ru-RU', timezoneId: 'Europe/Moscow' });
  const page = await context.newPage();
  page.on('console', (m) => {
    const url = (m.location() && m.location().url) || '';
    if (m.type() === 'error' && m.text().includes('status of 404') && EXPECTED_404.test(url.replace(fx.base, ''))) return;
    if (m.type() === 'error' && expectedError && m.text().includes(`status of ${expectedError.status}`)) return;
    if (m.type() === 'error') problems.push(`${role}: ошибка в консоли браузера: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() === 404 && EXPECTED_404.test(r.url().replace(fx.base, ''))) return;
    if (expectedError && r.status() === expectedError.status && expectedError.path.test(r.url().replace(fx.base, ''))) return;
    if (r.status() >= 400) problems.push(`${role}: HTTP ${r.status()} на ${r.request().method()} ${r.url().replace(fx.base, '')}`);
  });
  page.on('pageerror', (e) => problems.push(`${role}: исключение на странице: ${e.message}`));
  page.setDefaultTimeout(15000);
  currentPage = page;
  await page.goto(`${fx.base}/`);
  if (keyboard) {
    // the login form by keyboard alone: Tab from the page's start to the field, Tab on, Enter
    await page.getByLabel('Логин').waitFor();
    await page.keyboard.press('Tab');
    if (!(await page.getByLabel('Логин').evaluate((el) => el === document.activeElement))) {
      problems.push(`${role}: Tab не ведёт в поле «Логин»`);
    }
    await page.keyboard.type(login);
    await page.keyboard.press('Tab');
    await page.keyboard.type(fx.users[login]);
    await page.keyboard.press('Enter');
  } else {
    await page.getByLabel('Логин').fill(login);
    await page.getByLabel('Пароль').fill(fx.users[login]);
    await page.getByRole('button', { name: 'Войти' }).click();
  }
  await page.getByRole('button', { name: 'Выйти' }).waitFor();
  return { context, page };
}

async function go(page, label) {
  await page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: label, exact: true }).click();
}

async function settle(page) {
  await page.waitForLoadState('networkidle');
  await page.waitForFunction(() => !document.querySelector('.loading'), null, { timeout: 15000 });
}

async function axeCheck(page, role, name) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')})`);
  });
  for (const v of result) problems.push(`${role}/${name}: доступность: ${v}`);
}

async function check(page, role, name) {
  await settle(page);
  await axeCheck(page, role, name);
  const file = `${role}-${name}.png`;
  // the docs' pictures (docs/console/): the visible part of a few screens, when asked
  if (process.env.METODNET_CONSOLE_DOCS && DOC_SHOTS.includes(`${role}-${name}`)) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(process.env.METODNET_CONSOLE_DOCS, file) });
  }
  await page.screenshot({ path: join(fx.screenshots, file), fullPage: true });
  report.screenshots.push(file);
  log(`  ${role}: ${name} ✓`);
}

// A screen with the notifications stream open: the network is never idle (the stream stays open), so
// only the screen's own loading marks are awaited.
async function checkLive(page, role, name) {
  await page.waitForFunction(() => !document.querySelector('.loading'), null, { timeout: 15000 });
  await axeCheck(page, role, name);
  const file = `${role}-${name}.png`;
  if (process.env.METODNET_CONSOLE_DOCS && DOC_SHOTS.includes(`${role}-${name}`)) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(process.env.METODNET_CONSOLE_DOCS, file) });
  }
  await page.screenshot({ path: join(fx.screenshots, file), fullPage: true });
  report.screenshots.push(file);
  log(`  ${role}: ${name} ✓`);
}

// The API through the page's own session (the cookie and the CSRF header, as the console sends them).
async function apiCall(page, method, path, body, ifMatch) {
  const headers = { 'X-Metodnet-CSRF': '1', 'Content-Type': 'application/json' };
  if (ifMatch !== undefined) headers['If-Match'] = `"${ifMatch}"`;
  const r = await page.request.fetch(`${fx.base}/api/v1${path}`, { method, headers, data: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok()) throw new Error(`${method} ${path}: HTTP ${r.status()} ${await r.text()}`);
  return r.json();
}

async function noWiderThanScreen(page, role, what) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  if (wide) problems.push(`${role}: ${what} шире экрана телефона`);
}

async function expectNotice(page, text) {
  await page.getByRole('status').filter({ hasText: text }).first().waitFor();
}

// Every screen of the role's menu opens without an error from the API (the response listener catches
// any HTTP error; an alert on the screen is one too).
async function walkMenu(page, role) {
  const nav = page.getByRole('navigation', { name: 'Разделы' });
  const labels = await nav.getByRole('link').allInnerTexts();
  for (const label of labels) {
    await nav.getByRole('link', { name: label, exact: true }).click();
    await page.getByRole('heading', { level: 1 }).waitFor();
    await settle(page);
    if (await page.getByRole('alert').count()) problems.push(`${role}: экран «${label}» показывает ошибку`);
    await axeCheck(page, role, `меню «${label}»`);
  }
  log(`  ${role}: все экраны меню (${labels.length}) открываются, axe без серьёзных нарушений`);
}

let currentPage = null; // the page of the latest session, for a screenshot of a failed step

async function step(role, name, fn) {
  try {
    await fn();
  } catch (e) {
    problems.push(`${role}/${name}: ${e.message.split('\n')[0]}`);
    if (currentPage) {
      await currentPage.screenshot({ path: join(fx.screenshots, `FAILED-${role}-${name}.png`), fullPage: true })
        .catch(() => {});
    }
  }
}

// ---- методист муниципалитета ----
{
  const role = 'methodologist';
  log('методист:');
  const { context, page } = await session(role, 'metodist.terek');
  await step(role, 'dashboard', async () => {
    // the dashboard's first paint, from a fresh navigation with the session cookie
    const t0 = Date.now();
    await page.goto(`${fx.base}/`);
    await page.getByRole('heading', { name: 'Обзор', level: 1 }).waitFor();
    report.firstPaintMs = Date.now() - t0;
    await page.getByRole('heading', { name: 'Кампании в работе' }).waitFor();
    await page.locator('figure.chart canvas').first().waitFor();
    await check(page, role, 'dashboard');
  });
  await step(role, 'organizations', async () => {
    await go(page, 'Организации');
    // markup in a value is shown as text, never parsed
    const name = `МКОУ СОШ № 99 с. Проверочное <i>${tag}</i>`;
    await page.getByLabel('Полное название').fill(name);
    await page.getByLabel('Краткое название').fill(`СОШ № 99 ${tag}`);
    await page.getByLabel('Муниципалитет').selectOption(fx.municipality.id);
    const form = page.locator('form', { hasText: 'Новая организация' });
    await form.getByLabel('Учредитель').selectOption('municipal');
    await form.getByLabel('Низкие образовательные результаты (ШНОР)').check();
    await form.getByLabel('Функционирует в сложных социальных условиях').check();
    await page.getByRole('button', { name: 'Создать организацию' }).click();
    await expectNotice(page, 'Организация создана');
    report.createdOrganization = name;
    await page.getByLabel('Начало названия').fill('МКОУ СОШ № 99 с. Проверочное');
    await page.getByRole('button', { name: 'Найти' }).click();
    await page.getByRole('cell', { name }).waitFor();
    if (await page.locator('td i').count()) problems.push(`${role}: разметка из данных попала в страницу`);
    await check(page, role, 'organizations');
  });
  await step(role, 'staff', async () => {
    await go(page, 'Кадры');
    await page.getByRole('table').waitFor();
    await page.getByLabel('Категория').selectOption('teacher');
    await page.getByRole('table').getByRole('link').first().waitFor();
    // the next page by the API's cursor
    const rows = page.getByRole('table').locator('tbody tr');
    const first = await rows.count();
    await page.getByRole('button', { name: 'Показать ещё' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('table tbody tr').length > n, first);
    await page.getByText(`Показано: ${first * 2}`).waitFor();
    await check(page, role, 'staff');
  });
  await step(role, 'teacher-card', async () => {
    await page.goto(`${fx.base}/staff/${fx.other_teacher}`);
    await page.getByRole('heading', { name: 'Профиль компетенций' }).waitFor();
    await page.locator('figure.chart canvas').first().waitFor();
    await page.getByRole('button', { name: 'Составить маршрут' }).click();
    await expectNotice(page, 'Маршрут составлен');
    // a regeneration keeps the previous route among the versions
    await page.getByRole('button', { name: 'Составить заново' }).click();
    await expectNotice(page, 'Маршрут составлен');
    await page.getByRole('button', { name: 'Прежние версии' }).click();
    await page.getByRole('table').filter({ hasText: 'Прежние версии маршрута' }).locator('tbody tr').first().waitFor();
    // the period and the tutor (the demo teacher, found by surname), then the proposal to the teacher
    await page.getByLabel('Окончание периода').fill(localDay(364));
    await page.getByLabel('Фамилия тьютора').fill(fx.teacher_name);
    await page.getByRole('button', { name: 'Найти тьютора' }).click();
    await page.locator(`option[value="${fx.teacher}"]`).waitFor({ state: 'attached' });
    await page.getByLabel('Тьютор', { exact: true }).selectOption(fx.teacher);
    await page.getByRole('button', { name: 'Сохранить период и тьютора' }).click();
    await expectNotice(page, 'Период и тьютор маршрута сохранены');
    await page.getByRole('button', { name: 'Предложить педагогу' }).click();
    await expectNotice(page, 'Маршрут предложен педагогу');
    await page.getByText('предложен педагогу', { exact: true }).waitFor();
    // a proposed route waits for the teacher: no approval offered
    if (await page.getByRole('button', { name: 'Утвердить маршрут' }).count()) problems.push(`${role}: предложенный маршрут можно утвердить до согласия`);
    report.routeTutorEnd = localDay(364);
    await check(page, role, 'teacher-card');
  });
  await step(role, 'campaigns', async () => {
    await go(page, 'Кампании');
    await page.getByRole('link', { name: fx.campaign.title }).waitFor();
    // the municipality's own self-diagnostics, by the schools' nominations, opened at once
    const title = `Самодиагностика по выдвижению ${tag}`;
    await page.getByLabel('Название').fill(title);
    await page.getByLabel('Инструмент').selectOption(fx.instrument.id);
    await page.getByLabel('Окончание').fill('2099-12-31');
    await page.getByLabel(/^По выдвижению/).check();
    await page.getByRole('button', { name: 'Создать черновик' }).click();
    await expectNotice(page, 'создана');
    await page.getByRole('link', { name: title }).click();
    await page.getByRole('button', { name: 'Открыть кампанию' }).click();
    await expectNotice(page, 'Кампания открыта');
    await page.getByText('муниципальная кампания, по выдвижению школ').waitFor();
    report.nominationCampaign = title;
    await go(page, 'Кампании');
    await page.getByRole('link', { name: title }).waitFor();
    await check(page, role, 'campaigns');
  });
  await step(role, 'deficits', async () => {
    // the summary of deficits of the district (the fixture's two results), then by campaign; its CSV
    await go(page, 'Сводка дефицитов');
    await page.getByText('Оценено человек').waitFor();
    await page.getByLabel('Кампания').selectOption(fx.campaign.id);
    await page.getByRole('table').filter({ hasText: 'Дефициты по убыванию' }).locator('tbody tr').first().waitFor();
    const href = await page.getByRole('link', { name: 'Выгрузить в CSV' }).getAttribute('href');
    const csv = await page.request.get(`${fx.base}${href}`);
    if (!csv.ok() || !(csv.headers()['content-type'] || '').includes('text/csv')) problems.push(`${role}: CSV сводки дефицитов не скачивается`);
    report.deficitsCsv = (await csv.text()).split('\n')[0];
    await check(page, role, 'deficits');
  });
  await step(role, 'campaign-progress', async () => {
    await page.goto(`${fx.base}/campaigns/${fx.campaign.id}`);
    await page.getByRole('heading', { name: 'Ход кампании' }).waitFor();
    await page.getByRole('table').filter({ hasText: 'По организациям' }).waitFor();
    await check(page, role, 'campaign-progress');
  });
  await step(role, 'event-plan', async () => {
    // a plan of events: created (draft), approved by an order, then changed with a reason
    await go(page, 'Планы мероприятий');
    const title = `План методических мероприятий ${tag}`;
    await page.getByLabel('Название плана').fill(title);
    await page.getByRole('button', { name: 'Создать план' }).click();
    await expectNotice(page, 'создан (черновик)');
    await page.getByRole('link', { name: title }).click();
    await page.getByLabel('Номер приказа').fill(`${tag}-о`);
    await page.getByRole('button', { name: 'Утвердить' }).click();
    await expectNotice(page, `План утверждён приказом № ${tag}-о`);
    await page.getByLabel('Название плана').fill(`${title} (с изменениями)`);
    await page.getByLabel('Причина изменения').fill('Перенос семинара по решению методического совета');
    await page.getByRole('button', { name: 'Сохранить изменение' }).click();
    await expectNotice(page, 'записано с причиной');
    await page.getByRole('heading', { name: 'Изменения после утверждения' }).waitFor();
    report.plan = { title: `${title} (с изменениями)`, orderNumber: `${tag}-о` };
    await check(page, role, 'event-plan');
  });
  await step(role, 'events', async () => {
    // the month's calendar, then a new event (draft) published from its card
    await go(page, 'Мероприятия');
    await page.locator('table.calendar').waitFor();
    await check(page, role, 'events-calendar');
    const title = `Семинар «Оценивание» <b>${tag}</b>`;
    await page.getByLabel('Название мероприятия').fill(title);
    await page.getByLabel('Вид мероприятия', { exact: true }).selectOption('practice_seminar');
    await page.getByLabel('План', { exact: true }).selectOption(fx.events.planId);
    await page.getByLabel('Начало', { exact: true }).fill(`${localDay(2)}T10:00`);
    await page.getByLabel('Окончание', { exact: true }).fill(`${localDay(2)}T13:00`);
    await page.getByLabel('Место проведения').fill('ИМЦ, ауд. 12');
    await page.getByLabel('Число мест').fill('25');
    await page.getByRole('button', { name: 'Создать черновик' }).click();
    await expectNotice(page, 'создано (черновик)');
    await page.getByRole('button', { name: 'Список' }).click();
    await page.getByLabel('Состояние', { exact: true }).selectOption('draft');
    await page.getByRole('link', { name: title }).click();
    await page.getByRole('button', { name: 'Опубликовать' }).click();
    await expectNotice(page, 'опубликовано');
    // more seats after publication: the card's edit form (PATCH with If-Match)
    await page.getByRole('button', { name: 'Изменить' }).click();
    await page.getByLabel('Число мест').fill('30');
    await page.getByRole('button', { name: 'Сохранить', exact: true }).click();
    await expectNotice(page, 'Мероприятие изменено');
    await page.getByText('0 из 30').waitFor();
    if (await page.locator('h1 b').count()) problems.push(`${role}: разметка из названия мероприятия попала в страницу`);
    report.createdEvent = title;
    await check(page, role, 'event');
  });
  await step(role, 'attendance', async () => {
    // the webinar on now: everyone marked present at once; the participants' CSV downloads
    await page.goto(`${fx.base}/events/${fx.webinar.id}`);
    await page.getByRole('heading', { name: 'Участники' }).waitFor();
    await page.getByRole('button', { name: 'Отметить всех' }).click();
    await page.getByRole('button', { name: /^Сохранить посещение/ }).click();
    await expectNotice(page, 'Посещение отмечено');
    const href = await page.getByRole('link', { name: 'Участники в CSV' }).getAttribute('href');
    const csv = await page.request.get(`${fx.base}${href}`);
    if (csv.status() !== 200 || !(await csv.text()).includes('Сертификат')) problems.push(`${role}: CSV участников не выгрузился`);
    await check(page, role, 'attendance');
  });
  await step(role, 'mentor-profile', async () => {
    await go(page, 'Наставники');
    await page.getByLabel('Наставник: начало фамилии').fill(fx.teacher_name);
    await page.getByRole('button', { name: 'Найти' }).click();
    await page.getByLabel('Наставник', { exact: true }).selectOption(fx.teacher);
    await page.getByLabel('Наставляемых не больше').fill('3');
    await page.getByLabel('Прошёл конкурсный отбор (сертифицирован)').check();
    await page.getByLabel('Дата отбора').fill(localDay(-30));
    await page.getByLabel('Акт отбора').fill(`Акт конкурсного отбора № ${tag}`);
    await page.getByLabel('Предлагаемые компетенции').selectOption(fx.other_deficits);
    await page.getByRole('button', { name: 'Создать профиль' }).click();
    await expectNotice(page, 'Профиль наставника');
    await check(page, role, 'mentors');
  });
  await step(role, 'match', async () => {
    // the other teacher's card links to the matching; the ranking is explained; the pair is proposed and activated
    await page.goto(`${fx.base}/staff/${fx.other_teacher}`);
    await page.getByRole('link', { name: 'Подобрать наставника' }).click();
    await page.getByRole('button', { name: 'Подобрать наставника' }).click();
    const table = page.getByRole('table').filter({ hasText: 'Кандидаты по убыванию балла' });
    await table.waitFor();
    const row = table.locator('tbody tr').filter({ hasText: fx.teacher_name }).first();
    await row.waitFor();
    if (/«t\.[a-z]+\.\d+»/.test(await row.innerText())) problems.push(`${role}: в объяснении подбора коды компетенций`);
    await check(page, role, 'match');
    await row.getByRole('button', { name: /^Предложить пару/ }).click();
    await page.getByRole('button', { name: 'Утвердить и начать' }).click();
    await expectNotice(page, 'Пара начала работу');
    report.pairId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
    await check(page, role, 'pair');
  });
  await step(role, 'assignments', async () => {
    // the municipality's bulk assignment: a dry run with progress, then the pairs
    await go(page, 'Распределение');
    await page.getByRole('button', { name: 'Предварительный расчёт' }).click();
    await page.getByRole('heading', { name: 'Предварительный расчёт' }).waitFor({ timeout: 60000 });
    const create = page.getByRole('button', { name: /^Создать пары/ });
    if (await create.count()) {
      await create.click();
      await page.getByRole('heading', { name: /^Пары созданы/ }).waitFor({ timeout: 60000 });
      report.assignedPairs = Number((await page.getByRole('heading', { name: /^Пары созданы/ }).innerText()).replace(/\D/g, ''));
    }
    await check(page, role, 'assignments');
  });
  await step(role, 'indicators', async () => {
    // I1–I13 against the targets, this year and last; by school; a snapshot of the year
    await go(page, 'Показатели');
    await page.getByRole('heading', { name: 'Показатели против целей' }).waitFor();
    await page.locator('figure.chart canvas').first().waitFor();
    await page.getByRole('table').filter({ hasText: 'Показатели за' }).getByRole('cell', { name: 'I9', exact: true }).waitFor();
    await page.getByLabel('Показатель', { exact: true }).selectOption('I9');
    await page.getByRole('table').filter({ hasText: 'I9: числитель и знаменатель по школам' }).waitFor();
    await page.getByLabel('Основание снимка').fill(`Итоги года ${tag}`);
    await page.getByRole('button', { name: /^Сделать снимок за/ }).click();
    await expectNotice(page, 'сохранён (версия');
    report.snapshotReason = `Итоги года ${tag}`;
    await check(page, role, 'indicators');
  });
  await step(role, 'recommendations', async () => {
    // the first recommendation: sent → accepted → done
    await go(page, 'Рекомендации');
    const accept = page.getByRole('button', { name: /^Принять к исполнению: I9, / }).first();
    const name = (await accept.getAttribute('aria-label')).replace(/^Принять к исполнению: I9, /, '');
    await accept.click();
    await expectNotice(page, 'принята к исполнению');
    await page.getByRole('button', { name: `Отметить выполненной: I9, ${name}` }).click();
    await expectNotice(page, 'выполнена');
    report.recommendationAddressee = name;
    await check(page, role, 'recommendations');
  });
  await step(role, 'monitoring-create', async () => {
    // a campaign from the default template, then opened
    await go(page, 'Мониторинг');
    const title = `Мониторинг эффективности руководителей ${tag}`;
    await page.getByLabel('Название кампании').fill(title);
    await page.getByLabel('Срок сдачи').fill('2099-05-31');
    await page.getByRole('button', { name: 'Создать кампанию' }).click();
    await expectNotice(page, 'создана (черновик)');
    await page.getByRole('link', { name: title }).click();
    await page.getByRole('button', { name: 'Открыть кампанию' }).click();
    await expectNotice(page, 'Кампания открыта');
    await page.getByRole('heading', { name: 'Ход кампании' }).waitFor();
    report.monitoringCampaign = title;
    await check(page, role, 'monitoring-campaign');
  });
  await step(role, 'monitoring-review', async () => {
    // the other school has submitted its report: the methodologist reads it and approves it
    await page.goto(`${fx.base}/monitoring/${fx.monitoring.id}`);
    await page.getByRole('table').filter({ hasText: 'Отчёты по школам' }).waitFor();
    await page.getByRole('button', { name: `Проверить: ${fx.monitoring_other.name}` }).click();
    await page.getByText('Приказ о кадровом резерве № 12').waitFor();
    await check(page, role, 'monitoring-review');
    await page.getByRole('button', { name: `Утвердить отчёт: ${fx.monitoring_other.name}` }).click();
    await expectNotice(page, 'Отчёт утверждён');
  });
  await step(role, 'consultations', async () => {
    await go(page, 'Журнал консультаций');
    const topic = `Критериальное оценивание в 5 классе ${tag}`;
    await page.getByLabel('Обратившийся работник: начало фамилии').fill(fx.teacher_name);
    await page.getByRole('button', { name: 'Найти' }).click();
    await page.getByLabel('Обратившийся работник', { exact: true }).selectOption(fx.teacher);
    await page.getByLabel('Организация', { exact: true }).selectOption(fx.organization.id);
    await page.getByLabel('Тема консультации').fill(topic);
    await page.getByLabel('Форма', { exact: true }).selectOption('phone');
    await page.getByLabel('Итог').fill('Разобраны листы самооценки');
    await page.getByRole('button', { name: 'Записать', exact: true }).click();
    await expectNotice(page, 'Консультация записана в журнал');
    await page.getByRole('cell', { name: new RegExp(topic) }).waitFor();
    report.consultationTopic = topic;
    await check(page, role, 'consultations');
  });
  await step(role, 'council-decisions', async () => {
    await go(page, 'Решения советов');
    const text = `Провести методический день по оцениванию ${tag}`;
    await page.getByLabel('Совет', { exact: true }).selectOption(fx.council.id);
    await page.getByLabel('Вид', { exact: true }).selectOption('recommendation');
    await page.getByLabel('Текст решения').fill(text);
    await page.getByLabel('Адресат').fill('руководители ОО');
    await page.getByLabel('Срок исполнения').fill(localDay(30));
    await page.getByRole('button', { name: 'Записать решение' }).click();
    await expectNotice(page, 'записано, срок');
    const row = page.getByRole('row').filter({ hasText: text });
    await row.getByLabel(/^Исполнение: /).selectOption('in_progress');
    await row.getByLabel('Как исполнено или почему нет').fill('Подготовлена программа дня');
    await row.getByRole('button', { name: 'Сохранить' }).click();
    await expectNotice(page, 'Исполнение записано');
    report.decisionText = text;
    await check(page, role, 'council-decisions');
  });
  await step(role, 'menu', () => walkMenu(page, role));
  await context.close();
}

// ---- администратор школы ----
{
  const role = 'school-admin';
  log('администратор школы:');
  const { context, page } = await session(role, 'direktor.sosh1');
  await step(role, 'nomination', async () => {
    // the school nominates the other teacher to the municipality's campaign
    await go(page, 'Кампании');
    await page.getByRole('link', { name: report.nominationCampaign }).click();
    await page.getByRole('heading', { name: 'Выдвижение на диагностику' }).waitFor();
    await page.getByLabel(/^Выдвинуть: /).first().waitFor();
    const box = page.getByLabel(/^Выдвинуть: /).first();
    report.nominee = (await box.evaluate((el) => el.labels[0].textContent)).replace(/^Выдвинуть: /, '');
    await box.check();
    await page.getByRole('button', { name: /^Выдвинуть выбранных/ }).click();
    await expectNotice(page, 'Выдвинуто: 1');
    await check(page, role, 'nomination');
  });
  await step(role, 'import', async () => {
    await go(page, 'Импорт CSV');
    const last = `Импортова${tag.replace(/[0-9]/g, '')}`;
    const csv = 'Внешний идентификатор;Фамилия;Имя;Отчество;Дата рождения;Дата начала работы в профессии;Должность;'
      + 'Категория;Предметы;Организация;Квалификационная категория;Работает\n'
      + `CONSOLE-${tag};${last};Анна;Сергеевна;14.03.1991;01.09.2013;учитель;педагог;Математика;${fx.organization.id};первая;да\n`
      + `;Без-идентификатора;Ольга;;99.99.1991;01.09.2013;учитель;педагог;Математика;${fx.organization.id};первая;да\n`;
    await page.getByLabel('Файл CSV').setInputFiles({ name: 'staff.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Проверить файл' }).click();
    await page.getByRole('heading', { name: /Проверка файла/ }).waitFor();
    await page.getByRole('table').filter({ hasText: 'Ошибки по строкам' }).waitFor();
    await page.getByLabel('Только проверить').uncheck();
    await page.getByRole('button', { name: 'Загрузить' }).click();
    await page.getByRole('heading', { name: 'Импорт выполнен' }).waitFor();
    report.importedLastName = last;
    await check(page, role, 'import');
  });
  await step(role, 'staff', async () => {
    await go(page, 'Кадры');
    await page.getByRole('table').getByRole('link').first().waitFor();
    await check(page, role, 'staff');
  });
  await step(role, 'qualification', async () => {
    await page.goto(`${fx.base}/staff/${fx.teacher}`);
    await page.getByRole('heading', { name: 'Добавить запись' }).waitFor();
    await page.getByLabel('Название программы').fill('Обучение по программе вне каталога');
    await page.getByLabel('Часов').fill('16');
    await page.getByLabel('Номер удостоверения').fill(`УД-${tag}`);
    await page.getByRole('button', { name: 'Добавить запись' }).click();
    await expectNotice(page, 'Запись о повышении квалификации добавлена');
    await page.getByRole('cell', { name: `УД-${tag}` }).waitFor();
    report.qualificationDocument = `УД-${tag}`;
    // attestation and the personnel reserve: the next attestation date is the registry's (five years on)
    await page.getByLabel('Квалификационная категория').selectOption('first');
    await page.getByLabel('Дата присвоения категории').fill('2024-03-15');
    await page.getByLabel('В кадровом резерве руководителей').check();
    await page.getByRole('button', { name: 'Сохранить аттестацию' }).click();
    await expectNotice(page, 'следующая аттестация до 15.03.2029');
    await check(page, role, 'qualification');
  });
  await step(role, 'dashboard', async () => {
    await go(page, 'Обзор');
    await page.getByRole('link', { name: 'Кадры школы' }).waitFor();
    await check(page, role, 'dashboard');
  });
  await step(role, 'register-staff', async () => {
    // the school registers the teacher it has just imported for the district's methodical day
    await go(page, 'Мероприятия');
    await page.getByRole('button', { name: 'Список' }).click();
    await page.getByRole('link', { name: fx.event_day.title }).click();
    await page.getByLabel('Сотрудник: начало фамилии').fill(report.importedLastName);
    await page.getByRole('button', { name: 'Найти' }).click();
    await page.getByLabel('Сотрудник', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Записать сотрудника' }).click();
    await expectNotice(page, 'Сотрудник записан');
    await page.getByRole('cell', { name: new RegExp(report.importedLastName) }).waitFor();
    await check(page, role, 'register-staff');
  });
  await step(role, 'monitoring-form', async () => {
    // the open campaign's form: a draft first, then every field and the submit
    await go(page, 'Мониторинг');
    await page.getByRole('link', { name: fx.monitoring.title }).click();
    await page.getByRole('heading', { name: 'Отчёт школы' }).waitFor();
    await page.getByLabel(/^Победители и призёры/).fill('4');
    await page.getByRole('button', { name: 'Сохранить черновик' }).click();
    await expectNotice(page, 'не заполнено обязательных полей: 3');
    await page.getByLabel(/^Доля молодых педагогов/).fill('37,5');
    await page.getByLabel(/^Лучшая практика года/).fill(`Практика <b>${tag}</b>`);
    await page.getByLabel(/^План работы с кадровым резервом/).selectOption('утверждён');
    await page.getByLabel('Оценка (0–3)').selectOption('2');
    await page.getByLabel('Подтверждение (документ, ссылка или описание)').fill('Приказ № 45 от 01.09.2025');
    await check(page, role, 'monitoring-form');
    await page.getByRole('button', { name: 'Отправить отчёт' }).click();
    await expectNotice(page, 'Отчёт отправлен на проверку');
    await page.getByText('на проверке').first().waitFor();
  });
  await step(role, 'help-request', async () => {
    await go(page, 'Запросы на помощь');
    const topic = `Помощь с формирующим оцениванием ${tag}`;
    await page.getByLabel('Тема запроса').fill(topic);
    await page.getByLabel('Срочность').selectOption('high');
    await page.getByRole('button', { name: 'Подать запрос' }).click();
    await expectNotice(page, 'Запрос на методическую помощь подан');
    await page.getByRole('cell', { name: topic, exact: true }).waitFor();
    report.helpTopic = topic;
    await check(page, role, 'help-requests');
  });
  await step(role, 'webhooks', async () => {
    // a subscription of the school's system (the secret shown once), and one more deleted again
    await go(page, 'Подписки (вебхуки)');
    await page.getByLabel('Адрес получателя (URL)').fill(fx.sink_url);
    await page.getByLabel('Описание').fill('Электронный журнал СОШ № 1');
    await page.getByLabel('мероприятие опубликовано').check();
    await page.getByRole('button', { name: 'Подписаться' }).click();
    await page.getByText('скопируйте его сейчас').waitFor();
    report.webhookSecret = (await page.locator('code.secret-value').innerText()).trim();
    await page.getByRole('link', { name: fx.sink_url, exact: true }).waitFor();
    await check(page, role, 'webhooks');
    const spare = `${fx.sink_url}-lishnyaya`;
    await page.getByLabel('Адрес получателя (URL)').fill(spare);
    await page.getByRole('button', { name: 'Подписаться' }).click();
    await page.getByRole('link', { name: spare, exact: true }).waitFor();
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: `Удалить подписку ${spare}` }).click();
    await page.getByRole('link', { name: spare, exact: true }).waitFor({ state: 'detached' });
    report.deletedWebhook = spare;
  });
  await step(role, 'notifications', async () => {
    // the live stream: the school publishes an event of its own (through the API, with the page's session);
    // it appears on the open screen, and the subscription's delivery log shows it delivered
    await go(page, 'Уведомления');
    await page.getByText('Поток: подключено').waitFor();
    const title = `Открытый урок «Дроби» ${tag}`;
    const start = `${localDay(5)}T10:00:00+03:00`;
    const ev = await apiCall(page, 'POST', '/events', { type: 'open_lesson', level: 'institutional', title, startsAt: start,
      endsAt: `${localDay(5)}T11:00:00+03:00`, capacity: 10, venue: 'Кабинет 12', organizerOrganizationId: fx.organization.id });
    await apiCall(page, 'POST', `/events/${ev.id}/publish`, {});
    await page.locator('ul.feed').getByRole('link', { name: title }).waitFor({ timeout: 20000 });
    report.publishedEvent = title;
    await checkLive(page, role, 'notifications');
    await go(page, 'Подписки (вебхуки)');
    await page.getByRole('link', { name: fx.sink_url, exact: true }).click();
    await page.getByRole('heading', { name: 'Журнал доставок' }).waitFor();
    const delivered = page.getByRole('cell', { name: 'доставлено', exact: true });
    for (let i = 0; i < 40 && !(await delivered.count()); i++) {
      await page.waitForTimeout(500);
      await page.getByRole('button', { name: 'Обновить журнал' }).click();
      await settle(page);
    }
    await delivered.first().waitFor({ timeout: 1000 });
    await check(page, role, 'deliveries');
    // paused by hand (the receiver's maintenance), then it shows as switched off with the reason
    await page.getByRole('link', { name: '← Все подписки' }).click();
    await page.getByRole('button', { name: `Приостановить подписку ${fx.sink_url}` }).click();
    await expectNotice(page, 'Подписка приостановлена');
    await page.getByRole('button', { name: `Включить подписку ${fx.sink_url}` }).waitFor();
  });
  await step(role, 'menu', () => walkMenu(page, role));
  await context.close();
}

// ---- методист: проверка отчёта школы и ответ на её запрос ----
{
  const role = 'methodologist';
  log('методист (проверка):');
  const { context, page } = await session(role, 'metodist.terek');
  await step(role, 'monitoring-return', async () => {
    await page.goto(`${fx.base}/monitoring/${fx.monitoring.id}`);
    await page.getByRole('button', { name: `Проверить: ${fx.school_short}` }).click();
    await page.getByText('Приказ № 45 от 01.09.2025').waitFor();
    const comment = `Уточните число победителей: приложите приказы ${tag}`;
    await page.getByLabel(`Что исправить (${fx.school_short})`).fill(comment);
    await page.getByRole('button', { name: 'Вернуть на доработку' }).click();
    await expectNotice(page, 'Отчёт возвращён на доработку');
    report.returnComment = comment;
    await check(page, role, 'monitoring-return');
  });
  await step(role, 'help-answer', async () => {
    await go(page, 'Запросы на помощь');
    await page.getByRole('button', { name: `Действия: ${report.helpTopic}` }).click();
    await page.getByLabel(`Чем ответить: ${report.helpTopic}`).selectOption('other');
    await page.getByLabel('Пояснение к ответу').fill('Приглашены на семинар по оцениванию');
    await page.getByRole('button', { name: 'Ответить' }).click();
    await expectNotice(page, 'Ответ записан');
    await page.getByText('Приглашены на семинар по оцениванию').first().waitFor();
    await check(page, role, 'help-answer');
  });
  await context.close();
}

// ---- администратор школы с телефона: возвращённый отчёт исправлен и отправлен снова ----
{
  const role = 'school-admin';
  log('администратор школы (телефон):');
  const { context, page } = await session(role, 'direktor.sosh1', { width: 390, height: 844 });
  await step(role, 'phone-monitoring', async () => {
    await page.getByRole('button', { name: 'Меню' }).click();
    await page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: 'Мониторинг', exact: true }).click();
    await page.getByRole('link', { name: fx.monitoring.title }).click();
    await page.getByText(report.returnComment || 'Возвращён на доработку').waitFor();
    await page.getByLabel(/^Победители и призёры/).fill('5');
    await check(page, role, 'phone-monitoring');
    await noWiderThanScreen(page, role, 'форма мониторинга');
    await page.getByRole('button', { name: 'Отправить отчёт' }).click();
    await expectNotice(page, 'Отчёт отправлен на проверку');
  });
  await context.close();
}

// ---- a wrong password: the API's Russian message on the form ----
{
  const context = await browser.newContext({ locale: 'ru-RU' });
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`вход: исключение на странице: ${e.message}`));
  await step('login', 'wrong-password', async () => {
    await page.goto(`${fx.base}/`);
    await page.getByLabel('Логин').fill('uchitel.sosh1');
    await page.getByLabel('Пароль').fill('неверный-пароль');
    await page.getByRole('button', { name: 'Войти' }).click();
    const text = await page.getByRole('alert').innerText();
    if (!/[а-яё]/i.test(text)) problems.push(`вход: ошибка не по-русски: ${text}`);
    log(`  вход с неверным паролем: «${text.trim()}» ✓`);
  });
  await context.close();
}

// ---- педагог ----
{
  const role = 'teacher';
  log('педагог:');
  const { context, page } = await session(role, 'uchitel.sosh1', undefined, true);
  await step(role, 'cabinet', async () => {
    await page.getByRole('heading', { name: 'Мой кабинет', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Мои компетенции' }).waitFor();
    await page.locator('figure.chart canvas').first().waitFor();
    const select = page.getByLabel(/^Состояние пункта/).first();
    await select.selectOption('in_progress');
    await page.getByRole('button', { name: 'Сохранить' }).first().click();
    await page.waitForFunction(() => [...document.querySelectorAll('select')].some((s) => s.value === 'in_progress'
      && s.closest('.inline-form').querySelector('button').disabled));
    await check(page, role, 'cabinet');
  });
  await step(role, 'route-evidence', async () => {
    // a programme item marked done needs the teacher's proof; then it waits for the methodologist
    const row = page.getByRole('table').filter({ hasText: 'Пункты маршрута' }).locator('tbody tr')
      .filter({ hasText: 'программа ДПП' }).last();
    await row.getByLabel(/^Состояние пункта/).selectOption('done');
    await row.getByLabel(/^Подтверждающий документ/).fill(`Удостоверение о ПК ${tag}`);
    await row.getByLabel(/^Номер удостоверения/).fill(`ПК-${tag}`);
    await row.getByRole('button', { name: 'Сохранить' }).click();
    await page.getByText('ждёт подтверждения').first().waitFor();
    report.routeEvidence = `Удостоверение о ПК ${tag}`;
    report.routeDocument = `ПК-${tag}`;
    await check(page, role, 'route-evidence');
  });
  await step(role, 'take-diagnostics', async () => {
    // the second open campaign: b (2 of 2), a+b (2 of 2), 4 on the 1..5 scale (3 of 4)
    const row = page.getByRole('row').filter({ hasText: fx.second_campaign.title });
    await row.getByRole('link', { name: 'Пройти' }).click();
    await page.getByRole('button', { name: 'Сдать диагностику' }).waitFor();
    await page.getByLabel('С мотивации и актуализации').check();
    await page.getByLabel('Обратная связь по критериям').check();
    await page.getByLabel('Самооценка по рубрике').check();
    await page.getByRole('group', { name: /ФГИС/ }).getByLabel('4', { exact: true }).check();
    await check(page, role, 'take-diagnostics');
    await page.getByRole('button', { name: 'Сдать диагностику' }).click();
    await page.getByRole('heading', { name: 'Мой кабинет', level: 1 }).waitFor();
  });
  await step(role, 'associations', async () => {
    // every screen of the teacher's menu opens without an error from the API
    await go(page, 'Объединения');
    await page.getByRole('heading', { name: 'Методические объединения и сообщества' }).waitFor();
    await settle(page);
    await go(page, 'Банк практик');
    await page.getByRole('heading', { name: 'Банк эффективных практик' }).waitFor();
    await settle(page);
    if (await page.getByRole('alert').count()) problems.push(`${role}: экран меню показывает ошибку API`);
  });
  await step(role, 'programmes', async () => {
    await go(page, 'Программы ДПП');
    await page.getByLabel('Слова названия').fill('урок');
    await page.getByRole('button', { name: 'Найти' }).click();
    await check(page, role, 'programmes');
  });
  await step(role, 'cabinet-events', async () => {
    // «Мой кабинет»: an event open for registration, and then it is among «Мои мероприятия»
    await go(page, 'Мой кабинет');
    const open = page.getByRole('table').filter({ hasText: 'Можно записаться' });
    await open.getByRole('button', { name: `Записаться: ${fx.event_day.title}` }).click();
    await expectNotice(page, 'вы записаны');
    await page.getByRole('table').filter({ hasText: 'Записи на мероприятия' }).getByRole('link', { name: fx.event_day.title }).waitFor();
    await check(page, role, 'cabinet-events');
  });
  await step(role, 'meeting', async () => {
    // the teacher is the mentor of the pair the methodologist made: a meeting logged in its card
    await page.getByRole('row').filter({ hasText: 'действует' }).getByRole('link', { name: /^наставляемый:/ }).first().click();
    await page.getByLabel('Тема встречи').fill(`Разбор урока ${tag}`);
    await page.getByRole('button', { name: 'Записать встречу' }).click();
    await expectNotice(page, 'записана в журнал');
    await page.getByRole('cell', { name: `Разбор урока ${tag}` }).waitFor();
    report.meetingTopic = `Разбор урока ${tag}`;
    await check(page, role, 'pair');
  });
  await step(role, 'menu', () => walkMenu(page, role));
  await context.close();
  // phone width: the menu folds behind a button
  const phone = await session(role, 'uchitel.sosh1', { width: 390, height: 844 });
  await step(role, 'phone', async () => {
    await phone.page.getByRole('heading', { name: 'Мои компетенции' }).waitFor();
    await phone.page.getByRole('button', { name: 'Меню' }).click();
    await phone.page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: 'Банк практик' }).waitFor();
    await check(phone.page, role, 'phone-menu');
    // the events' calendar at phone width: only the days with events, as a list
    await phone.page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: 'Мероприятия' }).click();
    await phone.page.locator('table.calendar').waitFor();
    const wide = await phone.page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    if (wide) problems.push(`${role}: календарь мероприятий шире экрана телефона`);
    await check(phone.page, role, 'phone-events');
  });
  await phone.context.close();
}

// ---- другой педагог: маршрут, предложенный методистом ----
{
  const role = 'other-teacher';
  log('другой педагог:');
  const { context, page } = await session(role, fx.other_login.login);
  await step(role, 'route-agreement', async () => {
    // sent back with a reason, then proposed by the teacher (their own proposal is their agreement)
    await page.getByText('предложен педагогу', { exact: true }).waitFor();
    await page.getByLabel('Причина возврата').fill(`Добавьте стажировку ${tag}`);
    await page.getByRole('button', { name: 'Вернуть с причиной' }).click();
    await expectNotice(page, 'возвращён методисту');
    await page.getByText(`Добавьте стажировку ${tag}`).waitFor();
    report.routeDeclined = `Добавьте стажировку ${tag}`;
    await page.getByRole('button', { name: 'Предложить', exact: true }).click();
    await expectNotice(page, 'это и ваше согласие');
    await page.getByText('согласован педагогом', { exact: true }).waitFor();
    await check(page, role, 'route-agreed');
  });
  await context.close();
}

// ---- методист: утверждение и подтверждение выполнения ----
{
  const role = 'methodologist';
  log('методист (маршруты):');
  const { context, page } = await session(role, 'metodist.terek');
  await step(role, 'route-approve', async () => {
    await page.goto(`${fx.base}/staff/${fx.other_teacher}`);
    await page.getByText('согласован педагогом', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Утвердить маршрут' }).click();
    await expectNotice(page, 'Маршрут утверждён');
  });
  await step(role, 'route-confirm', async () => {
    await page.goto(`${fx.base}/staff/${fx.teacher}`);
    await page.getByText(/Ждут подтверждения/).waitFor();
    await page.getByRole('button', { name: 'Подтвердить выполнение' }).first().click();
    await page.getByText('выполнен · подтверждён').first().waitFor();
    // the confirmation made the qualification record
    await page.reload();
    await page.getByRole('table').filter({ hasText: 'История повышения квалификации' })
      .getByRole('cell', { name: report.routeDocument }).waitFor();
    await check(page, role, 'route-confirm');
  });
  await context.close();
}

// ---- администратор региона ----
{
  const role = 'region-admin';
  log('администратор региона:');
  const admin = Object.keys(fx.users)[0];
  const { context, page } = await session(role, admin);
  await step(role, 'dashboard', async () => {
    await page.getByRole('heading', { name: 'Муниципалитеты рядом' }).waitFor();
    await check(page, role, 'dashboard');
  });
  await step(role, 'users', async () => {
    await go(page, 'Пользователи');
    const login = `metodist.${tag}`;
    const form = page.locator('form', { hasText: 'Новый пользователь' });
    await form.getByLabel('Логин').fill(login);
    await form.getByLabel('ФИО').fill('Методист для проверки консоли');
    await form.getByLabel('Роль', { exact: true }).selectOption('municipal_methodologist');
    await form.getByLabel(/^Область/).selectOption(fx.municipality.id);
    await form.getByLabel('Пароль').fill(`Пароль-консоли-${tag}`);
    await form.getByRole('button', { name: 'Создать пользователя' }).click();
    await expectNotice(page, `Пользователь ${login} создан`);
    report.createdUser = login;
    await check(page, role, 'users');
  });
  await step(role, 'campaigns', async () => {
    await go(page, 'Кампании');
    const title = `Диагностика управленцев ${tag}`;
    await page.getByLabel('Название').fill(title);
    await page.getByLabel('Инструмент').selectOption(fx.instrument.id);
    await page.getByLabel('Окончание').fill('2099-12-31');
    await page.getByRole('button', { name: 'Создать черновик' }).click();
    await expectNotice(page, 'создана');
    await page.getByRole('link', { name: title }).waitFor();
    report.createdCampaign = title;
    await check(page, role, 'campaigns');
  });
  await step(role, 'api-keys', async () => {
    await go(page, 'API-ключи');
    const name = `Электронный журнал ${tag}`;
    await page.getByLabel('Название системы').fill(name);
    await page.getByLabel('Организация или муниципалитет').selectOption(fx.organization.id);
    await page.getByRole('button', { name: 'Выдать ключ' }).click();
    await page.getByText('Скопируйте его сейчас').waitFor();
    report.createdApiKey = name;
    await check(page, role, 'api-keys');
  });
  await step(role, 'indicators', async () => {
    // the municipalities side by side; a target of the region
    await go(page, 'Показатели');
    await page.getByRole('heading', { name: 'Муниципалитеты рядом' }).waitFor();
    await page.getByLabel('Цель I4').fill('40,5');
    await page.locator('form.inline-form').filter({ has: page.getByLabel('Цель I4') }).getByRole('button', { name: 'Сохранить' }).click();
    await expectNotice(page, 'Цель I4 сохранена');
    await check(page, role, 'indicators');
  });
  await step(role, 'own-indicator', async () => {
    // the region's own indicator: a wrong formula is refused with its position under the field, then saved
    const code = `NET_${tag.toUpperCase()}`;
    const form = page.locator('form', { hasText: 'Новый собственный показатель' });
    await form.getByLabel('Код показателя').fill(code);
    await form.getByLabel('Название показателя').fill(`Доля педагогов в сетевых сообществах ${tag}`);
    await form.getByLabel('Единица').selectOption('share');
    await form.getByLabel('Формула числителя').fill('I9.num +');
    await form.getByLabel('Формула знаменателя').fill('teachers');
    expectedError = { status: 400, path: /^\/api\/v1\/indicators$/ };
    await form.getByRole('button', { name: 'Создать показатель' }).click();
    await form.locator('.field-error').filter({ hasText: 'позиция' }).waitFor();
    expectedError = null;
    await form.getByLabel('Формула числителя').fill('I9.num');
    await form.getByRole('button', { name: 'Создать показатель' }).click();
    await expectNotice(page, `Показатель ${code} создан`);
    // its value is a row of the values table; then its name is changed
    await page.getByRole('table').filter({ hasText: 'Показатели за' }).getByRole('cell', { name: code, exact: true }).waitFor();
    await page.getByRole('button', { name: `Изменить ${code}` }).click();
    const edit = page.locator('form', { hasText: `Изменить показатель ${code}` });
    await edit.getByLabel('Название показателя').fill(`Доля педагогов в сетевых сообществах, изм. ${tag}`);
    await edit.getByRole('button', { name: 'Сохранить показатель' }).click();
    await page.getByRole('cell', { name: `Доля педагогов в сетевых сообществах, изм. ${tag}` }).first().waitFor();
    report.ownIndicator = { code, name: `Доля педагогов в сетевых сообществах, изм. ${tag}` };
    await check(page, role, 'own-indicator');
  });
  await step(role, 'indicator-files', async () => {
    // the values as CSV and XLSX; the yearly report opens in a new tab (HTML) and downloads as XLSX
    const csv = await page.request.get(`${fx.base}${await page.getByRole('link', { name: 'Значения в CSV' }).getAttribute('href')}`);
    if (!csv.ok() || !(await csv.text()).includes(report.ownIndicator.code)) problems.push(`${role}: CSV значений без своего показателя`);
    const xlsx = await page.request.get(`${fx.base}${await page.getByRole('link', { name: 'Значения в XLSX' }).getAttribute('href')}`);
    if (!xlsx.ok() || (await xlsx.body()).subarray(0, 2).toString() !== 'PK') problems.push(`${role}: XLSX значений не скачивается`);
    const [tab] = await Promise.all([page.context().waitForEvent('page'), page.getByRole('link', { name: 'Открыть годовой отчёт' }).click()]);
    await tab.waitForLoadState();
    report.yearlyReportTitle = await tab.title();
    if (!(await tab.content()).includes('I1')) problems.push(`${role}: годовой отчёт без показателей`);
    await tab.close();
    const book = await page.request.get(`${fx.base}${await page.getByRole('link', { name: 'Годовой отчёт в XLSX' }).getAttribute('href')}`);
    if (!book.ok() || (await book.body()).subarray(0, 2).toString() !== 'PK') problems.push(`${role}: годовой отчёт в XLSX не скачивается`);
  });
  await step(role, 'monitoring-close', async () => {
    // the region closes the district's campaign: the approved values are frozen in snapshot 1
    await go(page, 'Мониторинг');
    await page.getByRole('link', { name: report.monitoringCampaign }).click();
    await page.getByRole('button', { name: 'Закрыть кампанию' }).click();
    await expectNotice(page, 'заморожены в снимке');
    await page.getByRole('table').filter({ hasText: 'Утверждённые значения на момент закрытия' }).waitFor();
    await check(page, role, 'monitoring-closed');
  });
  await step(role, 'municipalities', async () => {
    await go(page, 'Муниципалитеты');
    await page.getByRole('table').waitFor();
    await check(page, role, 'municipalities');
  });
  await step(role, 'menu', () => walkMenu(page, role));
  await step(role, 'logout', async () => {
    await page.getByRole('button', { name: 'Выйти' }).click();
    await page.getByRole('button', { name: 'Войти' }).waitFor();
    const cookies = await context.cookies();
    if (cookies.some((c) => c.name === 'metodnet_session' && c.value)) problems.push('после выхода cookie сеанса осталась');
  });
  await context.close();
}

await browser.close();
if (problems.length) {
  for (const p of problems) log(`ПРОБЛЕМА: ${p}`);
  process.exitCode = 1;
}
process.stdout.write(`${JSON.stringify(report)}\n`);
