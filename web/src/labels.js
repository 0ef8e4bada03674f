// labels.js — Russian names of the API's enum values and roles (the API speaks lower_snake words).
import subjects from './subjects.gen.js';

export const ROLES = {
  region_admin: 'Администратор региона',
  municipal_methodologist: 'Методист муниципалитета',
  school_admin: 'Администратор школы',
  teacher: 'Педагог',
  school_system: 'Школьная система (API-ключ)',
};
export const SCOPE_KINDS = { region: 'регион', municipality: 'муниципалитет', organization: 'организация', self: 'свой профиль' };
export const MUNICIPALITY_KINDS = {
  district: 'муниципальный район / округ', city: 'городской округ', city_district: 'внутригородской район', zato: 'ЗАТО',
};
export const ORGANIZATION_KINDS = {
  school: 'школа (СОШ, ООШ)', lyceum: 'лицей', gymnasium: 'гимназия', progymnasium: 'прогимназия',
  primary_school_kindergarten: 'НШДС', preschool: 'ДОУ', additional_education: 'учреждение ДО', vocational: 'СПО',
  methodological_centre: 'ИМЦ / ММС', regional_centre: 'ЦНППМ / ИРО',
};
export const CATEGORIES = { teacher: 'педагогический работник', manager: 'управленческий кадр' };
export const POSITIONS = {
  teacher: 'учитель', educator: 'воспитатель', senior_educator: 'старший воспитатель',
  additional_education_teacher: 'педагог дополнительного образования', methodologist: 'методист',
  deputy_director: 'заместитель директора', director: 'директор / заведующий', psychologist: 'педагог-психолог',
  speech_therapist: 'учитель-логопед', social_pedagogue: 'социальный педагог', tutor: 'тьютор',
  music_director: 'музыкальный руководитель', lecturer: 'преподаватель',
};
export const QUALIFICATION = {
  none: 'без категории', position_match: 'соответствие занимаемой должности', first: 'первая', highest: 'высшая',
};
export const FORMATS = { in_person: 'очно', distance: 'дистанционно', blended: 'очно-заочно' };
export const LEVELS = { institutional: 'школьный', municipal: 'муниципальный', regional: 'региональный' };
export const ASSOCIATION_KINDS = {
  methodological_association: 'методическое объединение', professional_community: 'профессиональное сообщество',
  network_community: 'сетевое сообщество', creative_group: 'творческая группа', project_group: 'проектная группа',
};
export const PRACTICE_STATUSES = {
  submitted: 'подана', under_review: 'на экспертизе', published: 'опубликована', rejected: 'отклонена',
};
export const CAMPAIGN_KINDS = { self: 'самодиагностика', independent: 'независимая диагностика (ЦНППМ)' };
export const CAMPAIGN_STATUSES = { draft: 'черновик', open: 'идёт', closed: 'завершена' };
export const ROUTE_STATUSES = {
  draft: 'черновик', proposed: 'предложен педагогу', agreed: 'согласован педагогом', approved: 'утверждён',
};
export const ITEM_CONFIRMATIONS = { pending: 'ждёт подтверждения', confirmed: 'подтверждён', returned: 'возвращён на доработку' };
export const ITEM_KINDS = {
  programme: 'программа ДПП', internship: 'стажировка', self_education: 'самообразование', event: 'мероприятие',
  mentoring: 'наставничество', master_class: 'мастер-класс', experience_exchange: 'обмен опытом',
  lesson_visit: 'посещение учебных занятий',
};
export const ITEM_STATUSES = { planned: 'запланирован', in_progress: 'выполняется', done: 'выполнен', cancelled: 'отменён' };
export const EVENT_TYPES = {
  seminar: 'семинар', practice_seminar: 'практико-ориентированный семинар', master_class: 'мастер-класс',
  webinar: 'вебинар', conference: 'конференция', pedagogical_readings: 'педагогические чтения', contest: 'конкурс',
  internship: 'стажировка', open_lesson: 'открытый урок', creative_workshop: 'творческая мастерская', forum: 'форум',
  methodical_day: 'методический день', council_meeting: 'заседание методического совета', round_table: 'круглый стол',
  experience_exchange: 'обмен опытом',
};
export const EVENT_STATUSES = { draft: 'черновик', published: 'опубликовано', cancelled: 'отменено', finished: 'завершено' };
export const PLAN_STATUSES = { draft: 'черновик', approved: 'утверждён' };
export const REGISTRATION_STATUSES = {
  registered: 'записан(а)', waitlisted: 'в листе ожидания', cancelled: 'запись отменена', attended: 'посетил(а)',
  absent: 'не пришёл(ла)',
};
export const SUPPORT_KINDS = {
  mentoring: 'программа наставничества', young_support: 'поддержка молодых педагогов',
  association_support: 'поддержка объединений',
};
export const SUPPORT_STATUSES = { active: 'действует', closed: 'закрыта' };
export const PAIR_FORMS = {
  young_specialist: 'наставник – молодой специалист', peer: 'педагог – педагог', subject: 'предметная пара',
  reverse: 'обратное наставничество', manager: 'руководитель – руководитель',
};
export const PAIR_STATUSES = { proposed: 'предложена', active: 'действует', completed: 'завершена', cancelled: 'отменена' };
export const MATCH_PARTS = {
  deficit: 'дефициты', subject: 'предмет', proximity: 'близость', certified: 'сертификат', capacity: 'места',
  experience: 'стаж',
};
// indicators (services/indicators)
export const RECOMMENDATION_STATUSES = { sent: 'направлена', accepted: 'принята к исполнению', done: 'выполнена' };
export const ADDRESSEE_KINDS = { municipal_service: 'муниципальная методическая служба', school_head: 'руководитель ОО' };
// monitoring (services/monitoring)
export const REPORT_STATUSES = {
  not_started: 'не начат', draft: 'черновик', submitted: 'на проверке', approved: 'утверждён', returned: 'возвращён',
};
export const FIELD_TYPES = {
  number: 'число', share: 'доля, %', text: 'текст', choice: 'выбор варианта', expert_score: 'экспертная оценка',
};
// notifications (services/notify)
export const WEBHOOK_STATUSES = { enabled: 'включена', disabled: 'отключена' };
export const DELIVERY_STATUSES = {
  pending: 'ждёт попытки', succeeded: 'доставлено', failed: 'не доставлено', cancelled: 'отменено',
};
export const NOTIFICATION_TYPES = {
  'event.published': 'мероприятие опубликовано', 'event.changed': 'мероприятие изменено',
  'event.cancelled': 'мероприятие отменено', 'event.finished': 'мероприятие завершено',
  'eventPlan.approved': 'план мероприятий утверждён', 'eventPlan.changed': 'план мероприятий изменён',
};
// the registry's fields of this session: founders, help requests, consultations, council decisions
export const FOUNDERS = {
  municipal: 'муниципальная', regional: 'региональная', federal: 'федеральная', private: 'частная', unspecified: 'не указан',
};
export const HELP_URGENCY = { low: 'в течение года', normal: 'в течение месяца', high: 'срочно' };
export const HELP_STATUSES = { open: 'подан', answered: 'есть ответ', closed: 'закрыт' };
export const HELP_ANSWER_KINDS = {
  consultation: 'консультация', event: 'мероприятие', route_item: 'пункт маршрута', mentoring_pair: 'пара наставничества',
  other: 'иное',
};
export const ASKERS = {
  teacher: 'педагог', manager: 'руководитель или заместитель', school: 'образовательная организация',
  parent: 'родитель (законный представитель)', other: 'иное лицо',
};
export const CONSULTATION_FORMS = {
  in_person: 'очно, индивидуально', group: 'групповая', online: 'дистанционно', phone: 'по телефону', written: 'письменно',
};
export const DECISION_KINDS = { decision: 'решение', recommendation: 'рекомендация' };
export const DECISION_STATUSES = {
  assigned: 'поручено', in_progress: 'исполняется', done: 'исполнено', not_done: 'не исполнено',
};
export const SUBJECTS = subjects;

export function label(dict, value) {
  return (value && dict[value]) || value || '—';
}
