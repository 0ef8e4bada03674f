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
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const tag = Date.now().toString(36);
const report = { screenshots: [], firstPaintMs: null };
const problems = [];
const DOC_SHOTS = ['methodologist-dashboard', 'methodologist-teacher-card', 'methodologist-campaign-progress',
  'school-admin-import', 'teacher-cabinet', 'teacher-phone-menu', 'methodologist-events-calendar', 'methodologist-match',
  'methodologist-attendance'];
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

async function session(role, login, viewport = { width: 1280, height: 900 }, keyboard = false) {
  const context = await browser.newContext({ viewport, locale: 'ru-RU', timezoneId: 'Europe/Moscow' });
  const page = await context.newPage();
  page.on('console', (m) => {
    const url = (m.location() && m.location().url) || '';
    if (m.type() === 'error' && m.text().includes('status of 404') && EXPECTED_404.test(url.replace(fx.base, ''))) return;
    if (m.type() === 'error') problems.push(`${role}: ошибка в консоли браузера: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() === 404 && EXPECTED_404.test(r.url().replace(fx.base, ''))) return;
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
    await page.getByRole('button', { name: 'Утвердить маршрут' }).click();
    await expectNotice(page, 'Маршрут утверждён');
    await check(page, role, 'teacher-card');
  });
  await step(role, 'campaigns', async () => {
    await go(page, 'Кампании');
    await page.getByRole('link', { name: fx.campaign.title }).waitFor();
    await check(page, role, 'campaigns');
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
  await step(role, 'menu', () => walkMenu(page, role));
  await context.close();
}

// ---- администратор школы ----
{
  const role = 'school-admin';
  log('администратор школы:');
  const { context, page } = await session(role, 'direktor.sosh1');
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
  await step(role, 'menu', () => walkMenu(page, role));
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
