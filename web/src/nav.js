// nav.js — the console's navigation: sections of screens, each screen with the roles that see it. The
// screens of events, mentoring and indicators are added here as their services land (issue 13): a new
// section (or item) with its path, roles and screen component, nothing else changes.
import { can } from './roles.js';
import { Dashboard } from './screens/dashboard.js';
import { Municipalities, Organizations, Catalogue } from './screens/registry.js';
import { StaffSearch, StaffCard } from './screens/staff.js';
import { ImportScreen, ExportScreen } from './screens/data.js';
import { Campaigns, CampaignPage, TakeDiagnostics, Deficits } from './screens/diagnostics.js';
import { Users, ApiKeys, Audit } from './screens/admin.js';
import { Cabinet } from './screens/cabinet.js';
import { Plans, PlanPage, Events, EventPage } from './screens/events.js';
import { Programmes, Mentors, Matching, Pairs, PairPage, Assignments } from './screens/mentoring.js';
import { IndicatorsScreen, Recommendations } from './screens/indicators.js';
import { MonitoringCampaigns, MonitoringCampaignPage } from './screens/monitoring.js';
import { Webhooks, WebhookPage, Notifications } from './screens/webhooks.js';
import { HelpRequests, Consultations, CouncilDecisions } from './screens/support.js';

export const SECTIONS = [
  {
    title: 'Работа',
    items: [
      { path: '/', label: 'Обзор', show: (me) => me.role !== 'teacher', screen: Dashboard },
      { path: '/', label: 'Мой кабинет', show: (me) => me.role === 'teacher', screen: Cabinet },
    ],
  },
  {
    title: 'Реестр',
    items: [
      { path: '/municipalities', label: 'Муниципалитеты', show: (me) => me.role === 'region_admin', screen: Municipalities },
      { path: '/organizations', label: 'Организации', show: can.seeRegistry, screen: Organizations },
      { path: '/staff', label: 'Кадры', show: can.seeRegistry, screen: StaffSearch },
      { path: '/qualification', label: 'Повышение квалификации', show: can.seeRegistry, screen: Catalogue, kind: 'qualification' },
      { path: '/associations', label: 'Объединения', show: () => true, screen: Catalogue, kind: 'associations' },
      { path: '/councils', label: 'Методические советы', show: can.seeRegistry, screen: Catalogue, kind: 'councils' },
      { path: '/council-decisions', label: 'Решения советов', show: can.seeRegistry, screen: CouncilDecisions },
      { path: '/programmes', label: 'Программы ДПП', show: () => true, screen: Catalogue, kind: 'programmes' },
      { path: '/practices', label: 'Банк практик', show: () => true, screen: Catalogue, kind: 'practices' },
    ],
  },
  {
    title: 'Методическая помощь',
    items: [
      { path: '/help-requests', label: 'Запросы на помощь', show: () => true, screen: HelpRequests },
      { path: '/consultations', label: 'Журнал консультаций', show: () => true, screen: Consultations },
    ],
  },
  {
    title: 'Диагностика',
    items: [
      { path: '/campaigns', label: 'Кампании', show: can.seeCampaigns, screen: Campaigns },
      { path: '/deficits', label: 'Сводка дефицитов', show: can.seeDeficits, screen: Deficits },
    ],
  },
  {
    title: 'Мероприятия',
    items: [
      { path: '/events', label: 'Мероприятия', show: () => true, screen: Events },
      { path: '/event-plans', label: 'Планы мероприятий', show: can.organizeEvents, screen: Plans },
      { path: '/notifications', label: 'Уведомления', show: () => true, screen: Notifications },
    ],
  },
  {
    title: 'Наставничество',
    items: [
      { path: '/mentoring/match', label: 'Подбор наставника', show: can.manageMentoring, screen: Matching },
      { path: '/mentoring-pairs', label: 'Пары', show: can.manageMentoring, screen: Pairs },
      { path: '/mentors', label: 'Наставники', show: can.manageMentoring, screen: Mentors },
      { path: '/support-programmes', label: 'Программы поддержки', show: can.manageMentoring, screen: Programmes },
      { path: '/mentoring/assignments', label: 'Распределение', show: can.assignMentors, screen: Assignments },
    ],
  },
  {
    title: 'Показатели и мониторинг',
    items: [
      { path: '/indicators', label: 'Показатели', show: can.seeIndicators, screen: IndicatorsScreen },
      { path: '/recommendations', label: 'Рекомендации', show: can.seeIndicators, screen: Recommendations },
      { path: '/monitoring', label: 'Мониторинг', show: can.seeMonitoring, screen: MonitoringCampaigns },
    ],
  },
  {
    title: 'Данные',
    items: [
      { path: '/import', label: 'Импорт CSV', show: can.importData, screen: ImportScreen },
      { path: '/export', label: 'Выгрузки', show: can.seeRegistry, screen: ExportScreen },
    ],
  },
  {
    title: 'Администрирование',
    items: [
      { path: '/users', label: 'Пользователи', show: can.manageUsers, screen: Users },
      { path: '/api-keys', label: 'API-ключи', show: can.manageApiKeys, screen: ApiKeys },
      { path: '/webhooks', label: 'Подписки (вебхуки)', show: can.manageWebhooks, screen: Webhooks },
      { path: '/audit', label: 'Журнал аудита', show: can.seeAudit, screen: Audit },
    ],
  },
];

// Screens reached from others (a card, a campaign), not from the menu.
const DETAILS = [
  { pattern: /^\/staff\/([^/]+)$/, show: () => true, screen: StaffCard },
  { pattern: /^\/campaigns\/([^/]+)$/, show: can.seeCampaigns, screen: CampaignPage },
  { pattern: /^\/take\/([^/]+)$/, show: can.takeDiagnostics, screen: TakeDiagnostics },
  { pattern: /^\/events\/([^/]+)$/, show: () => true, screen: EventPage },
  { pattern: /^\/event-plans\/([^/]+)$/, show: can.organizeEvents, screen: PlanPage },
  { pattern: /^\/mentoring-pairs\/([^/]+)$/, show: () => true, screen: PairPage },
  { pattern: /^\/monitoring\/([^/]+)$/, show: can.seeMonitoring, screen: MonitoringCampaignPage },
  { pattern: /^\/webhooks\/([^/]+)$/, show: can.manageWebhooks, screen: WebhookPage },
];

export function menuFor(me) {
  return SECTIONS.map((s) => ({ ...s, items: s.items.filter((i) => i.show(me)) })).filter((s) => s.items.length);
}

export function resolve(me, path) {
  for (const s of SECTIONS) {
    for (const i of s.items) if (i.path === path && i.show(me)) return { screen: i.screen, params: [], item: i };
  }
  for (const d of DETAILS) {
    const m = d.pattern.exec(path);
    if (m && d.show(me)) return { screen: d.screen, params: m.slice(1).map(decodeURIComponent), item: d };
  }
  return null;
}
